/**
 * Query's metric API read from InfluxDB 1.x (and 1.8's, 2.x's v1-compatible) InfluxQL API, `GET /query`, with the
 * answers of the embedded store (storage/sqlite/metric-query.ts): the database the collector's InfluxDB output writes
 * to (INFLUXDB_BUCKET, `database/retention-policy`), read with the same INFLUXDB_TOKEN (`user:password`: Basic auth;
 * anything else: `Token <token>`).
 *
 * - measurements: `SHOW MEASUREMENTS`, `SHOW FIELD KEYS` and `SHOW TAG KEYS` over the database; InfluxDB's field types
 *   are named as the store names them (`integer` → `int`, `unsigned` → `uint`, `boolean` → `bool`).
 * - tag values: `SHOW TAG VALUES … WITH KEY = …`, sorted.
 * - series: one `SELECT <aggregate>(field) … GROUP BY time(step, offset), * fill(none) SLIMIT n`, the buckets starting
 *   at `start` as the store's do; tags InfluxDB reports empty (a series without the key) are left out. Booleans are
 *   0/1 as in the store: InfluxQL has no mean or sum of booleans, so `avg` and `sum` of a boolean field are counted
 *   from the true values and all values per bucket.
 *
 * InfluxDB out of reach, not answering within the timeout, or answering 429/5xx: SW_STORAGE_UNAVAILABLE (503).
 * Any other refusal (a 4xx, an InfluxQL error, credentials): SW_STORAGE_FAILED (502), with InfluxDB's words.
 */
import { describe, swError, type ShipwatchError } from '../../platform/errors.js';
import type { Aggregate, MeasurementInfo, MetricReader, SeriesQuery, SeriesResult } from '../sqlite/metric-query.js';

export interface InfluxMetricReaderOptions {
  /** Base URL, e.g. `http://influxdb:8086`. */
  url: string;
  /** `user:password` (InfluxDB 1.x), a 2.x token, or empty for no authentication. */
  token: string;
  /** `database` or `database/retention-policy`. */
  bucket: string;
  /** One request at most. */
  timeoutMs: number;
}

/** How long a /health probe waits: below the one second a readiness probe waits by default. */
const PROBE_TIMEOUT_MS = 800;
const MAX_REASON_CHARS = 300;

const FUNCTION: Readonly<Record<Aggregate, string>> = { avg: 'mean', min: 'min', max: 'max', sum: 'sum', count: 'count', last: 'last' };
const FIELD_TYPE: Readonly<Record<string, string>> = { float: 'float', integer: 'int', unsigned: 'uint', string: 'string', boolean: 'bool' };

interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}
interface InfluxAnswer {
  results?: Array<{ statement_id?: number; series?: InfluxSeries[]; error?: string }>;
  error?: string;
}

/** An InfluxQL identifier, double-quoted. */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An InfluxQL string literal, single-quoted. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function reason(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > MAX_REASON_CHARS ? `${one.slice(0, MAX_REASON_CHARS)}…` : one;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 0/1 for booleans, as the embedded store keeps them. */
function pointValue(v: unknown): number | string | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return null;
}

export class InfluxMetricReader implements MetricReader {
  private readonly base: string;
  private readonly db: string;
  private readonly rp: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: InfluxMetricReaderOptions) {
    this.base = options.url.replace(/\/+$/, '');
    const slash = options.bucket.indexOf('/');
    this.db = slash < 0 ? options.bucket : options.bucket.slice(0, slash);
    this.rp = slash < 0 ? '' : options.bucket.slice(slash + 1);
    const token = options.token;
    this.headers =
      token === ''
        ? {}
        : { authorization: token.includes(':') ? `Basic ${Buffer.from(token).toString('base64')}` : `Token ${token}` };
  }

  /** The measurement as a FROM clause (of the request's database): `"rp"."m"`, or `"m"` in the default policy. */
  private from(measurement: string): string {
    return this.rp === '' ? ident(measurement) : `${ident(this.rp)}.${ident(measurement)}`;
  }

  async measurements(): Promise<MeasurementInfo[]> {
    // One statement per request: InfluxDB 2.x's v1 API takes one at a time.
    const [[names], [fields], [keys]] = await Promise.all(['SHOW MEASUREMENTS', 'SHOW FIELD KEYS', 'SHOW TAG KEYS'].map((q) => this.statements(q, 1)));
    const out = new Map<string, MeasurementInfo>();
    for (const s of names!) for (const [name] of s.values ?? []) out.set(String(name), { measurement: String(name), fields: [], tagKeys: [] });
    for (const s of fields!) {
      const m = out.get(s.name);
      if (!m) continue;
      for (const [name, type] of s.values ?? []) {
        // A field written with two types (in two shards) is listed twice: the first type is kept, as a read sees it.
        if (m.fields.some((f) => f.name === name)) continue;
        m.fields.push({ name: String(name), type: FIELD_TYPE[String(type)] ?? String(type) });
      }
    }
    for (const s of keys!) {
      const m = out.get(s.name);
      if (m) m.tagKeys.push(...(s.values ?? []).map(([k]) => String(k)));
    }
    for (const m of out.values()) {
      m.fields.sort((a, b) => byName(a.name, b.name));
      m.tagKeys.sort(byName);
    }
    return [...out.values()].sort((a, b) => byName(a.measurement, b.measurement));
  }

  async tagValues(measurement: string, key: string, limit: number): Promise<string[]> {
    const [found] = await this.statements(
      `SHOW TAG VALUES FROM ${this.from(measurement)} WITH KEY = ${ident(key)} LIMIT ${Math.max(1, Math.floor(limit))}`,
      1,
    );
    return [...new Set(found!.flatMap((s) => (s.values ?? []).map((row) => String(row[1]))))].sort(byName).slice(0, limit);
  }

  async fieldType(measurement: string, field: string): Promise<string | undefined> {
    const [found] = await this.statements(`SHOW FIELD KEYS FROM ${this.from(measurement)}`, 1);
    for (const s of found!) {
      for (const [name, type] of s.values ?? []) if (name === field) return FIELD_TYPE[String(type)] ?? String(type);
    }
    return undefined;
  }

  async series(q: SeriesQuery): Promise<SeriesResult | undefined> {
    const type = await this.fieldType(q.measurement, q.field);
    if (type === undefined) return undefined;
    const step = Math.max(1, Math.floor(q.stepMs));
    const startMs = Math.floor(q.startMs);
    const where = [
      `time >= ${startMs}ms`,
      `time < ${Math.floor(q.endMs)}ms`,
      ...Object.entries(q.tags).map(([k, v]) => `${ident(k)} = ${literal(v)}`),
    ];
    // Buckets start at `start` (InfluxDB's start at multiples of the step from the epoch, moved by the offset).
    const groupBy = `GROUP BY time(${step}ms, ${startMs % step}ms), * fill(none) SLIMIT ${q.maxSeries + 1}`;
    const select = (fn: string, extra: string[] = []): string =>
      `SELECT ${fn}(${ident(q.field)}) FROM ${this.from(q.measurement)} WHERE ${[...where, ...extra].join(' AND ')} ${groupBy}`;

    let found: InfluxSeries[];
    if (type === 'bool' && (q.aggregate === 'avg' || q.aggregate === 'sum')) {
      const [[all], [trues]] = await Promise.all([this.statements(select('count'), 1), this.statements(select('count', [`${ident(q.field)} = true`]), 1)]);
      found = combineBooleans(all!, trues!, q.aggregate);
    } else {
      [found] = (await this.statements(select(FUNCTION[q.aggregate]), 1)) as [InfluxSeries[]];
    }
    const truncated = found.length > q.maxSeries;
    const series: SeriesResult['series'] = [];
    for (const s of found.slice(0, q.maxSeries)) {
      const points = (s.values ?? []).map((row): [number, number | string | null] => [Number(row[0]), pointValue(row[1])]);
      if (points.length === 0) continue;
      const tags = Object.fromEntries(Object.entries(s.tags ?? {}).filter(([, v]) => v !== ''));
      series.push({ tags, points });
    }
    return { measurement: q.measurement, field: q.field, type, aggregate: q.aggregate, stepMs: q.stepMs, series, truncated };
  }

  /** For /health: whether InfluxDB answers `/ping` within `timeoutMs`. */
  async probe(timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
    try {
      const res = await fetch(`${this.base}/ping`, { headers: this.headers, signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer();
      return res.ok ? undefined : `influxdb: answered ${res.status}`;
    } catch (err) {
      return `influxdb: ${problem(err)}`;
    }
  }

  /**
   * Runs `q` (`count` statements separated by `;`) and answers each statement's series; throws when InfluxDB cannot
   * be reached or answers an error for the request or any statement.
   */
  private async statements(q: string, count: number): Promise<InfluxSeries[][]> {
    const params = new URLSearchParams({ db: this.db, epoch: 'ms', q });
    if (this.rp !== '') params.set('rp', this.rp);
    const what = `InfluxDB query on ${this.base} (database "${this.db}")`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.base}/query`, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: params.toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw swError('SW_STORAGE_UNAVAILABLE', `${what}: ${problem(err)}`, err);
    }
    let body: InfluxAnswer | undefined;
    try {
      body = JSON.parse(text) as InfluxAnswer;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const detail = `${what}: answered ${res.status} (${reason(body?.error ?? text)})`;
      throw failure(res.status === 429 || res.status >= 500 ? 'SW_STORAGE_UNAVAILABLE' : 'SW_STORAGE_FAILED', detail);
    }
    if (body === undefined || !Array.isArray(body.results)) throw failure('SW_STORAGE_FAILED', `${what}: answered 200 with no results (${reason(text)})`);
    if (body.error) throw failure('SW_STORAGE_FAILED', `${what}: ${reason(body.error)}`);
    const out: InfluxSeries[][] = [];
    for (let i = 0; i < count; i++) {
      const r = body.results[i];
      if (r?.error) throw failure('SW_STORAGE_FAILED', `${what}: ${reason(r.error)}`);
      out.push(r?.series ?? []);
    }
    return out;
  }
}

function failure(code: 'SW_STORAGE_UNAVAILABLE' | 'SW_STORAGE_FAILED', detail: string): ShipwatchError {
  return swError(code, detail);
}

/** `unreachable (connect ECONNREFUSED …)` or `no answer in time (…)`. */
function problem(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer in time (${reason(describe(err))})`;
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  return `unreachable (${reason(cause ? describe(cause) : describe(err))})`;
}

/** Per series and bucket: the count of true values (`sum`) or its share of all values (`avg`). */
function combineBooleans(all: InfluxSeries[], trues: InfluxSeries[], aggregate: 'avg' | 'sum'): InfluxSeries[] {
  const key = (s: InfluxSeries): string => JSON.stringify(Object.entries(s.tags ?? {}).sort(([a], [b]) => byName(a, b)));
  const trueCounts = new Map<string, Map<number, number>>();
  for (const s of trues) trueCounts.set(key(s), new Map((s.values ?? []).map((row) => [Number(row[0]), Number(row[1])])));
  return all.map((s) => {
    const counts = trueCounts.get(key(s));
    return {
      ...s,
      values: (s.values ?? []).map((row) => {
        const t = counts?.get(Number(row[0])) ?? 0;
        return [row[0], aggregate === 'sum' ? t : t / Number(row[1])];
      }),
    };
  });
}
