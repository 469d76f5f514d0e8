/**
 * The SpanReader over Jaeger's Elasticsearch indices, querying the way Jaeger's ES reader does (./jaeger-query.ts):
 * a search is a trace-id aggregation over the daily span indices of its time range, then the spans of those traces
 * are read (all indices: a trace may cross midnight); services and operations are aggregations over the service
 * indices; a trace by id looks in every span index. Dependencies, which Jaeger leaves to a Spark job, are computed
 * from the spans of the window as Jaeger's memory store counts them (getDependencies).
 *
 * A trace id is looked up in every form it may be stored under: the 32 digits Jaeger 2 and Shipwatch write, and for
 * a 64-bit id the 16 digits older Shipwatch versions wrote and the unpadded form Jaeger 1 once wrote. Span documents
 * are parsed with their integers beyond 2^53 exact (./exact-json.ts): Jaeger writes int64 values as JSON numbers.
 *
 * A call while Elasticsearch is down, hanging (ES_TIMEOUT) or busy fails with SW_STORAGE_UNAVAILABLE (503).
 */
import { errors, type Client } from '@elastic/elasticsearch';
import type { Logger } from '../../platform/log.js';
import { normaliseTraceId, normaliseSpanId, type Span } from '../../model/span.js';
import { parseJsonExact } from './exact-json.js';
import type { DependencyLink, Operation, SpanMetricSample, SpanMetricsQuery, SpanReader, TraceQuery } from '../span-storage.js';
import { esSpanMetricSamples } from './span-metric-samples.js';
import { spanFromDb, type DbSpan } from './jaeger-dbmodel.js';
import { dailyIndices, jaegerIndexNames, type JaegerIndexNames } from './jaeger-indices.js';
import { countTracesBody, findTraceIdsBody, operationsBody, servicesBody, TRACE_ID_AGG } from './jaeger-query.js';
import { esProblem, esReadError, PROBE_TIMEOUT_MS } from './request-failure.js';

export interface EsSpanReaderOptions {
  client: Client;
  indexPrefix: string;
  log: Logger;
  /** Largest aggregation (Jaeger's `max-doc-count`). */
  maxDocCount?: number;
  /** Spans fetched per page when reading traces. */
  pageSize?: number;
  /** Bound on spans scanned for dependencies. */
  maxDependencySpans?: number;
  dotReplacement?: string;
}

interface Hit {
  _source: DbSpan;
  sort?: unknown[];
  _seq_no?: number;
}

interface Bucket {
  key: string;
  doc_count: number;
}

const SEARCH_OPTS = { ignore_unavailable: true, allow_no_indices: true } as const;

export class EsSpanReader implements SpanReader {
  private readonly names: JaegerIndexNames;
  private readonly maxDocCount: number;

  constructor(private readonly opts: EsSpanReaderOptions) {
    this.names = jaegerIndexNames(opts.indexPrefix);
    this.maxDocCount = opts.maxDocCount ?? 10_000;
  }

  private async search(index: string[], body: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      return (await this.opts.client.search({ index, ...SEARCH_OPTS, ...body })) as unknown as Record<string, unknown>;
    } catch (err) {
      throw esReadError(`search on ${index.join(',')}`, err);
    }
  }

  /**
   * A search whose answer is parsed with exact integers: the client's own parse (JSON.parse) rounds an int64 beyond
   * 2^53, so the answer is taken as a stream and parsed here. A failed request throws as the client's would.
   */
  private async searchExact(index: string[], body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const what = `search on ${index.join(',')}`;
    let text: string;
    let statusCode: number;
    let headers: Record<string, unknown>;
    try {
      const resp = await this.opts.client.transport.request(
        { method: 'POST', path: `/${encodeURIComponent(index.join(','))}/_search`, querystring: { ...SEARCH_OPTS }, body },
        { asStream: true, meta: true },
      );
      statusCode = resp.statusCode ?? 0;
      headers = resp.headers ?? {};
      const chunks: Buffer[] = [];
      for await (const chunk of resp.body as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
      text = Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      throw esReadError(what, err);
    }
    let parsed: unknown;
    try {
      parsed = parseJsonExact(text);
    } catch {
      parsed = text;
    }
    if (statusCode >= 400 || typeof parsed !== 'object' || parsed === null) {
      const meta = { body: parsed, statusCode, headers, warnings: null, meta: { context: null, name: 'elasticsearch-js', request: { params: { method: 'POST', path: '' }, options: {}, id: 0 }, connection: null, attempts: 0, aborted: false } };
      throw esReadError(what, new errors.ResponseError(meta as unknown as ConstructorParameters<typeof errors.ResponseError>[0]));
    }
    return parsed as Record<string, unknown>;
  }

  /** The spans the Monitor tab counts (span-metric-samples.ts). */
  spanMetricSamples(query: SpanMetricsQuery): Promise<SpanMetricSample[]> {
    return esSpanMetricSamples((index, body) => this.search(index, body), this.names.spanPrefix, query);
  }

  /** For /health: whether Elasticsearch answers a search on the service indices within `timeoutMs`. */
  async probe(timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
    try {
      await this.opts.client.search({ index: [`${this.names.servicePrefix}*`], ...SEARCH_OPTS, size: 0 }, { requestTimeout: timeoutMs });
      return undefined;
    } catch (err) {
      return `elasticsearch: ${esProblem(err)}`;
    }
  }

  private buckets(resp: Record<string, unknown>, name: string): Bucket[] {
    const aggs = resp.aggregations as Record<string, { buckets?: Bucket[] }> | undefined;
    return aggs?.[name]?.buckets ?? [];
  }

  async getServices(): Promise<string[]> {
    const resp = await this.search([`${this.names.servicePrefix}*`], servicesBody(this.maxDocCount));
    return this.buckets(resp, 'distinct_services').map((b) => b.key);
  }

  async getOperations(query: { serviceName: string; spanKind?: string }): Promise<Operation[]> {
    const resp = await this.search([`${this.names.servicePrefix}*`], operationsBody(query.serviceName, query.spanKind, this.maxDocCount));
    const out: Operation[] = [];
    for (const b of this.buckets(resp, 'distinct_operations') as Array<Bucket & { kinds?: { buckets: Bucket[] } }>) {
      // Jaeger's document of a pair has no kind ('' here); Shipwatch writes one with the kind beside it.
      const kinds = (b.kinds?.buckets ?? []).map((k) => k.key);
      const known = kinds.filter((k) => k !== '');
      for (const k of known.length > 0 ? known : ['']) out.push({ name: b.key, spanKind: k });
    }
    return out;
  }

  async getTrace(traceId: string): Promise<Span[]> {
    const full = normaliseTraceId(traceId);
    if (full === undefined) return [];
    const traces = await this.readTraces([full]);
    return traces.get(full) ?? [];
  }

  async findTraces(query: TraceQuery): Promise<Span[][]> {
    const ids = await this.findTraceIds(query);
    if (ids.length === 0) return [];
    const traces = await this.readTraces(ids);
    const out: Span[][] = [];
    for (const id of ids) {
      const spans = traces.get(id);
      if (spans && spans.length > 0) out.push(spans);
    }
    return out;
  }

  async countTraces(query: TraceQuery): Promise<number> {
    const resp = await this.search(this.spanIndicesOf(query), countTracesBody(query, this.opts.dotReplacement));
    const aggs = resp.aggregations as { traces?: { value?: number } } | undefined;
    return aggs?.traces?.value ?? 0;
  }

  /**
   * The matching traces' ids (32 digits), newest first, after `offset`. A trace stored under two forms of its id
   * (documents of older versions beside new ones) is one trace, at the place of its newest form.
   */
  async findTraceIds(query: TraceQuery): Promise<string[]> {
    if (query.numTraces <= 0) return [];
    const resp = await this.search(this.spanIndicesOf(query), findTraceIdsBody(query, this.opts.dotReplacement));
    const ids = new Set<string>();
    for (const b of this.buckets(resp, TRACE_ID_AGG)) {
      const id = normaliseTraceId(String(b.key));
      if (id !== undefined) ids.add(id);
    }
    return [...ids].slice(Math.max(0, query.offset ?? 0));
  }

  private spanIndicesOf(query: TraceQuery): string[] {
    if (query.startTimeMinMicros === undefined || query.startTimeMaxMicros === undefined) return [`${this.names.spanPrefix}*`];
    return dailyIndices(this.names.spanPrefix, query.startTimeMinMicros, query.startTimeMaxMicros);
  }

  /** Every span of the given (32-digit) trace ids, by trace id, in start order. */
  private async readTraces(traceIds: string[]): Promise<Map<string, Span[]>> {
    const storedIds = traceIds.flatMap(storedForms);
    const out = new Map<string, Span[]>();
    const pageSize = this.opts.pageSize ?? 5_000;
    let after: unknown[] | undefined;
    for (;;) {
      const resp = await this.searchExact([`${this.names.spanPrefix}*`], {
        size: pageSize,
        query: { terms: { traceID: storedIds } },
        sort: [{ startTime: 'asc' }, { spanID: 'asc' }],
        ...(after ? { search_after: after } : {}),
      });
      const hits = ((resp.hits as { hits?: Hit[] } | undefined)?.hits ?? []);
      for (const hit of hits) {
        const decoded = spanFromDb(hit._source, this.opts.dotReplacement);
        if ('problem' in decoded) {
          this.opts.log.warn('unreadable span document skipped', { problem: decoded.problem });
          continue;
        }
        const span = decoded.ok;
        const list = out.get(span.traceId);
        if (list) list.push(span);
        else out.set(span.traceId, [span]);
      }
      if (hits.length < pageSize) break;
      after = hits[hits.length - 1]!.sort;
    }
    return out;
  }

  /**
   * As Jaeger 2.x's memory store counts them (and the embedded store, storage/sqlite/span-dependencies.ts): a trace's
   * calls count when the whole trace lies in the window — its first span starts after the window's start, its last
   * ends before the window's end; a call within one service counts too; the parent of a span id two spans share (a
   * Zipkin client and server half) is the one stored first (its document's sequence number: a bulk request's
   * documents are numbered in their order, which is the order the spans came in). A span stored twice (by two
   * writers) is one call.
   */
  async getDependencies(endTimeMs: number, lookbackMs: number): Promise<DependencyLink[]> {
    const startMicros = (endTimeMs - lookbackMs) * 1000;
    const endMicros = endTimeMs * 1000;
    const indices = dailyIndices(this.names.spanPrefix, startMicros, endMicros);
    const limit = this.opts.maxDependencySpans ?? 1_000_000;
    /** Per trace (normalised id): its id as stored, first start and last end, span id → [sequence number, service] first stored. */
    const traces = new Map<string, { stored: string; startUs: number; endUs: number; services: Map<string, [number, string]> }>();
    const children: Array<{ traceId: string; parentId: string; service: string }> = [];
    const seen = new Set<string>();
    let after: unknown[] | undefined;
    let scanned = 0;
    for (;;) {
      const resp = await this.search(indices, {
        size: 5_000,
        seq_no_primary_term: true,
        // `otlp` but for its events: a span sent over OTLP has one, and its parent is only ever `parentSpanID` (not
        // a link, which its references also hold). An object left empty by the exclusion is left out; one left so
        // had neither parent nor link: its references hold none either.
        _source: {
          includes: ['traceID', 'spanID', 'references', 'process.serviceName', 'startTime', 'duration', 'otlp'],
          excludes: ['otlp.eventNames', 'otlp.eventNanos', 'otlp.dropped'],
        },
        query: { range: { startTime: { gte: startMicros, lte: endMicros } } },
        sort: [{ startTime: 'asc' }, { spanID: 'asc' }],
        ...(after ? { search_after: after } : {}),
      });
      const hits = ((resp.hits as { hits?: Hit[] } | undefined)?.hits ?? []);
      for (const { _source: s, _seq_no: seqNo = 0 } of hits) {
        const traceId = normaliseTraceId(String(s.traceID)) ?? '';
        const spanId = normaliseSpanId(String(s.spanID)) ?? '';
        const service = s.process?.serviceName ?? '';
        const startUs = Number(s.startTime ?? 0);
        const endUs = startUs + Number(s.duration ?? 0);
        let t = traces.get(traceId);
        if (t === undefined) traces.set(traceId, (t = { stored: String(s.traceID), startUs, endUs, services: new Map() }));
        if (startUs < t.startUs) t.startUs = startUs;
        if (endUs > t.endUs) t.endUs = endUs;
        const known = t.services.get(spanId);
        if (known === undefined || seqNo < known[0]) t.services.set(spanId, [seqNo, service]);
        const parentId = dbParentSpanId(s, traceId);
        if (parentId === undefined) continue;
        const key = `${traceId}/${spanId}/${parentId}/${service}/${startUs}`;
        if (seen.has(key)) continue;
        seen.add(key);
        children.push({ traceId, parentId, service });
      }
      scanned += hits.length;
      if (hits.length < 5_000) break;
      if (scanned >= limit) {
        this.opts.log.warn('dependencies computed from a partial window', { spansScanned: scanned });
        break;
      }
      after = hits[hits.length - 1]!.sort;
    }
    const inside = new Set<string>();
    for (const [traceId, t] of traces) if (t.startUs > startMicros && t.endUs < endMicros) inside.add(traceId);
    // A trace with a span outside the window (before it, or a span started after it) does not lie in it.
    const ids = [...inside].map((id) => traces.get(id)!.stored);
    for (let i = 0; i < ids.length; i += 1_000) {
      const resp = await this.search([`${this.names.spanPrefix}*`], {
        size: 0,
        query: { bool: { filter: [{ terms: { traceID: ids.slice(i, i + 1_000) } }], must_not: [{ range: { startTime: { gte: startMicros, lte: endMicros } } }] } },
        aggs: { outside: { terms: { field: 'traceID', size: 1_000 } } },
      });
      const buckets = ((resp.aggregations as { outside?: { buckets?: Bucket[] } } | undefined)?.outside?.buckets ?? []);
      for (const b of buckets) inside.delete(normaliseTraceId(String(b.key)) ?? '');
    }
    const counts = new Map<string, DependencyLink>();
    for (const c of children) {
      if (!inside.has(c.traceId)) continue;
      const parentService = traces.get(c.traceId)!.services.get(c.parentId)?.[1];
      if (parentService === undefined) continue;
      const key = `${parentService}\u0000${c.service}`;
      const link = counts.get(key);
      if (link) link.callCount++;
      else counts.set(key, { parent: parentService, child: c.service, callCount: 1 });
    }
    return [...counts.values()].sort((a, b) => (a.parent === b.parent ? (a.child < b.child ? -1 : 1) : a.parent < b.parent ? -1 : 1));
  }
}

/** The parent span id of a stored span, as model/span.ts's parentSpanId reads a span of the model. */
function dbParentSpanId(s: DbSpan, traceId: string): string | undefined {
  const otlp = (s as { otlp?: { parentSpanID?: unknown } }).otlp;
  if (otlp !== undefined) return otlp.parentSpanID === undefined ? undefined : normaliseSpanId(String(otlp.parentSpanID));
  const refs = s.references ?? [];
  const parent = refs.find((r) => r.refType === 'CHILD_OF' && normaliseTraceId(String(r.traceID)) === traceId) ?? refs[0];
  return parent === undefined ? undefined : normaliseSpanId(String(parent.spanID));
}

/** The forms a trace id may be stored under: 32 digits; for a 64-bit id also 16 digits and without leading zeros. */
function storedForms(traceId: string): string[] {
  if (!traceId.startsWith('0000000000000000')) return [traceId];
  const short = traceId.slice(16);
  const trimmed = traceId.replace(/^0+/, '') || '0';
  return [...new Set([traceId, short, trimmed])];
}
