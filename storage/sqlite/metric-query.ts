/**
 * Reading the embedded store's metrics (tables in metric-store.ts): what is there (measurements, their fields and
 * tag keys, the values of a tag) and time series aggregated over steps, for query's `/api/metrics/…`.
 *
 * better-sqlite3 is synchronous and `shipwatch all` serves everything from one thread, so a series read is cut in
 * statements over windows of its buckets, sized to take about WINDOW_MS each, with the event loop's turn between
 * them once SLICE_MS have gone; past SERIES_QUERY_MS the answer stops where it is and says `truncated`.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

export type Aggregate = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'last';
export const AGGREGATES: readonly Aggregate[] = ['avg', 'min', 'max', 'sum', 'count', 'last'];
/** What makes sense on string fields (booleans are 0/1, so the others work: avg is the share of true). */
export const STRING_AGGREGATES: readonly Aggregate[] = ['count', 'last'];

export interface MeasurementInfo {
  measurement: string;
  fields: Array<{ name: string; type: string }>;
  tagKeys: string[];
}

export interface SeriesQuery {
  measurement: string;
  field: string;
  /** Every tag must have this value. */
  tags: Readonly<Record<string, string>>;
  /** [startMs, endMs) */
  startMs: number;
  endMs: number;
  stepMs: number;
  aggregate: Aggregate;
  /** Series returned at most (the first by id); `truncated` says when there were more. */
  maxSeries: number;
}

export interface SeriesResult {
  measurement: string;
  field: string;
  type: string;
  aggregate: Aggregate;
  stepMs: number;
  /** Each series with its points `[bucket start ms, value]`, buckets without a value left out. */
  series: Array<{ tags: Record<string, string>; points: Array<[number, number | string | null]> }>;
  truncated: boolean;
}

/**
 * What query's metric API (query/metrics/metric-routes.ts) reads: the embedded store (MetricQueries below) or InfluxDB
 * (storage/influxdb/metric-reader.ts), with the same answers. A storage that cannot answer throws a ShipwatchError
 * (SW_STORAGE_UNAVAILABLE, SW_STORAGE_FAILED).
 */
export interface MetricReader {
  /** Every measurement with its fields (and their types) and tag keys, by name. */
  measurements(): Promise<MeasurementInfo[]>;
  /** The values tag `key` has in the series of `measurement`, sorted, at most `limit`. */
  tagValues(measurement: string, key: string, limit: number): Promise<string[]>;
  /** The type of a field ('float', 'int', 'uint', 'string', 'bool'), undefined when the measurement has no such field. */
  fieldType(measurement: string, field: string): Promise<string | undefined>;
  /** The matching series' values of one field, aggregated per step; undefined when there is no such field. */
  series(q: SeriesQuery): Promise<SeriesResult | undefined>;
  /** For /health: a problem in a few words, undefined when the storage answers (the store needs no probe). */
  probe?(): Promise<string | undefined>;
}

/** What one statement of a series read should take, and the longest run of them before other work gets a turn. */
const WINDOW_MS = 10;
const SLICE_MS = 10;
/** Buckets of a series' first statement. */
const FIRST_WINDOW_BUCKETS = 256;
/** Longest a series read goes on; past it the answer holds the series read so far and `truncated`. */
const SERIES_QUERY_MS = 10_000;

const AGGREGATE_SQL: Readonly<Record<Aggregate, string>> = {
  avg: 'avg(value) AS v',
  min: 'min(value) AS v',
  max: 'max(value) AS v',
  sum: 'sum(value) AS v',
  count: 'count(value) AS v',
  // SQLite takes a bare column from the row that gave max(): the value of the latest point of the bucket.
  last: 'value AS v, max(ts_ns) AS latest',
};

export class MetricQueries implements MetricReader {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  /** Every measurement with its fields (and their types) and tag keys, by name. */
  async measurements(): Promise<MeasurementInfo[]> {
    const byName = new Map<string, MeasurementInfo>();
    const entry = (m: string): MeasurementInfo => {
      let e = byName.get(m);
      if (!e) {
        e = { measurement: m, fields: [], tagKeys: [] };
        byName.set(m, e);
      }
      return e;
    };
    const fields = this.stmt('SELECT measurement, field, type FROM metric_fields ORDER BY measurement, field').all() as Array<{ measurement: string; field: string; type: string }>;
    for (const f of fields) entry(f.measurement).fields.push({ name: f.field, type: f.type });
    const keys = this.stmt(
      'SELECT DISTINCT s.measurement AS measurement, t.key AS key FROM metric_series s JOIN metric_series_tags t ON t.series = s.id ORDER BY 1, 2',
    ).all() as Array<{ measurement: string; key: string }>;
    for (const k of keys) entry(k.measurement).tagKeys.push(k.key);
    return [...byName.values()].sort((a, b) => (a.measurement < b.measurement ? -1 : a.measurement > b.measurement ? 1 : 0));
  }

  /** The values tag `key` has in the series of `measurement`, sorted, at most `limit`. */
  async tagValues(measurement: string, key: string, limit: number): Promise<string[]> {
    return this.stmt(
      `SELECT DISTINCT t.value FROM metric_series_tags t JOIN metric_series s ON s.id = t.series
       WHERE t.key = ? AND s.measurement = ? ORDER BY t.value LIMIT ?`,
    ).pluck().all(key, measurement, Math.max(0, limit)) as string[];
  }

  /** The type of a field ('float', 'int', 'uint', 'string', 'bool'), undefined when the measurement has no such field. */
  async fieldType(measurement: string, field: string): Promise<string | undefined> {
    return this.stmt('SELECT type FROM metric_fields WHERE measurement = ? AND field = ?').pluck().get(measurement, field) as string | undefined;
  }

  /** The matching series' values of one field, aggregated per step; undefined when there is no such field. */
  async series(q: SeriesQuery): Promise<SeriesResult | undefined> {
    const field = this.stmt('SELECT id, type FROM metric_fields WHERE measurement = ? AND field = ?').get(q.measurement, q.field) as
      | { id: number; type: string }
      | undefined;
    if (field === undefined) return undefined;
    const tagFilters = Object.entries(q.tags);
    const where = ['measurement = ?', ...tagFilters.map(() => 'id IN (SELECT series FROM metric_series_tags WHERE key = ? AND value = ?)')];
    const found = this.stmt(`SELECT id, tags FROM metric_series WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(
      q.measurement,
      ...tagFilters.flat(),
      q.maxSeries + 1,
    ) as Array<{ id: number; tags: string }>;
    const startNs = BigInt(Math.floor(q.startMs)) * 1_000_000n;
    const endNs = BigInt(Math.floor(q.endMs)) * 1_000_000n;
    const stepNs = BigInt(Math.max(1, Math.floor(q.stepMs))) * 1_000_000n;
    const points = this.stmt(
      `SELECT (ts_ns - ?) / ? AS bucket, ${AGGREGATE_SQL[q.aggregate]} FROM metric_points
       WHERE series = ? AND field = ? AND ts_ns >= ? AND ts_ns < ? GROUP BY bucket ORDER BY bucket`,
    );
    const series: SeriesResult['series'] = [];
    const startedMs = performance.now();
    let sliceStart = startedMs;
    let windowBuckets = BigInt(FIRST_WINDOW_BUCKETS);
    let truncated = found.length > q.maxSeries;
    reading: for (const s of found.slice(0, q.maxSeries)) {
      const rows: Array<{ bucket: number; v: number | string | null }> = [];
      // Windows start on a bucket, so no bucket is split between two statements.
      for (let from = startNs; from < endNs; ) {
        const to = from + windowBuckets * stepNs < endNs ? from + windowBuckets * stepNs : endNs;
        const statementStart = performance.now();
        rows.push(...(points.all(startNs, stepNs, s.id, field.id, from, to) as typeof rows));
        const tookMs = performance.now() - statementStart;
        if (tookMs > 2 * WINDOW_MS && windowBuckets > 1n) windowBuckets /= 2n;
        else if (tookMs < WINDOW_MS / 4) windowBuckets *= 2n;
        from = to;
        if (performance.now() - sliceStart >= SLICE_MS) {
          if (performance.now() - startedMs >= SERIES_QUERY_MS) {
            truncated = true;
            break reading;
          }
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
      if (rows.length === 0) continue;
      series.push({ tags: JSON.parse(s.tags) as Record<string, string>, points: rows.map((r) => [q.startMs + r.bucket * q.stepMs, r.v]) });
    }
    return { measurement: q.measurement, field: q.field, type: field.type, aggregate: q.aggregate, stepMs: q.stepMs, series, truncated };
  }

  protected stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
