/**
 * Jaeger's query API v1, as Jaeger's query service answers it (cmd/query/app/http_handler.go and query_parser.go):
 * `/api/services`, `/api/services/:service/operations`, `/api/operations`, `/api/traces` (search or `traceID=`
 * lookups), `/api/traces/:traceID`, `/api/dependencies`. Bad input answers 400 with the envelope's errors, an
 * unknown trace 404.
 *
 * Beyond Jaeger: a search may omit the service (any service); `offset` pages a search and `total` counts every
 * matching trace; a start after the end, a negative limit, and a limit above QUERY_MAX_TRACES are handled as input
 * (400, 400, lowered) instead of reaching the storage.
 */
import type { FastifyInstance } from 'fastify';
import type { Span } from '../../model/span.js';
import type { SpanReader, TraceQuery } from '../../storage/span-storage.js';
import { allValues, envelope, firstValue, sendV1Error } from './envelope.js';
import { parseGoBool, parseGoDuration, parseGoInt, parseTagParams, parseTraceIdParam, type Parsed } from './go-params.js';
import { adjustTrace } from './adjust.js';
import { toUiTrace } from './jaeger-json.js';

export interface V1Options {
  reader: SpanReader;
  /** Largest `limit` honoured. */
  maxTraces: number;
  /** ms since the epoch; tests pin it. */
  now?: () => number;
}

const DEFAULT_LIMIT = 100;
const DEFAULT_TRACE_LOOKBACK_MS = 2 * 24 * 3600_000;
const DEFAULT_DEPENDENCY_LOOKBACK_MS = 24 * 3600_000;

function paramError(name: string, error: string): { error: string } {
  return { error: `unable to parse param '${name}': ${error}` };
}

/** An integer time parameter (`start`/`end` in µs, `endTs` in ms); `fallback` when absent. */
function timeParam(query: unknown, name: string, fallback: number): Parsed<number> {
  const raw = firstValue(query, name);
  if (raw === '') return { value: fallback };
  const n = parseGoInt(raw);
  return 'error' in n ? paramError(name, n.error) : n;
}

function durationParam(query: unknown, name: string): Parsed<number | undefined> {
  const raw = firstValue(query, name);
  if (raw === '') return { value: undefined };
  const d = parseGoDuration(raw);
  if ('error' in d) return paramError(name, d.error);
  if (d.value < 0) return paramError(name, `negative duration ${JSON.stringify(raw)}`);
  return { value: d.value === 0 ? undefined : d.value / 1000 };
}

interface SearchParams {
  query: TraceQuery;
  traceIds: string[];
  limit: number;
  offset: number;
  /** No adjusters (Jaeger's `raw=true`). */
  raw: boolean;
}

function rawParam(q: unknown): Parsed<boolean> {
  const text = firstValue(q, 'raw');
  if (text === '') return { value: false };
  const b = parseGoBool(text);
  return 'error' in b ? paramError('raw', b.error) : b;
}

export function parseSearchParams(q: unknown, nowMs: number, maxTraces: number): Parsed<SearchParams> {
  const end = timeParam(q, 'end', nowMs * 1000);
  if ('error' in end) return end;
  const start = timeParam(q, 'start', (nowMs - DEFAULT_TRACE_LOOKBACK_MS) * 1000);
  if ('error' in start) return start;
  if (start.value > end.value) return { error: "'start' should not be after 'end'" };
  const tags = parseTagParams(allValues(q, 'tag'), allValues(q, 'tags'));
  if ('error' in tags) return tags;
  let limit = DEFAULT_LIMIT;
  const rawLimit = firstValue(q, 'limit');
  if (rawLimit !== '') {
    const n = parseGoInt(rawLimit, 32);
    if ('error' in n) return n;
    if (n.value < 0) return paramError('limit', 'must not be negative');
    limit = n.value === 0 ? DEFAULT_LIMIT : Math.min(n.value, maxTraces);
  }
  let offset = 0;
  const rawOffset = firstValue(q, 'offset');
  if (rawOffset !== '') {
    const n = parseGoInt(rawOffset, 32);
    if ('error' in n) return paramError('offset', n.error);
    if (n.value < 0) return paramError('offset', 'must not be negative');
    offset = n.value;
  }
  const minDuration = durationParam(q, 'minDuration');
  if ('error' in minDuration) return minDuration;
  const maxDuration = durationParam(q, 'maxDuration');
  if ('error' in maxDuration) return maxDuration;
  if (minDuration.value !== undefined && maxDuration.value !== undefined && maxDuration.value < minDuration.value) {
    return { error: "'maxDuration' should be greater than 'minDuration'" };
  }
  const traceIds: string[] = [];
  for (const raw of allValues(q, 'traceID')) {
    const id = parseTraceIdParam(raw);
    if ('error' in id) return { error: `cannot parse traceID param: ${id.error}` };
    traceIds.push(id.value);
  }
  const raw = rawParam(q);
  if ('error' in raw) return raw;
  const query: TraceQuery = {
    serviceName: firstValue(q, 'service') || undefined,
    operationName: firstValue(q, 'operation') || undefined,
    tags: tags.value,
    startTimeMinMicros: start.value,
    startTimeMaxMicros: end.value,
    durationMinMicros: minDuration.value,
    durationMaxMicros: maxDuration.value,
    numTraces: limit,
    offset,
  };
  return { value: { query, traceIds, limit, offset, raw: raw.value } };
}

export function registerJaegerV1Routes(app: FastifyInstance, options: V1Options): void {
  const { reader } = options;
  const now = options.now ?? Date.now;

  app.get('/api/services', async () => {
    const services = await reader.getServices();
    return envelope(services, { total: services.length });
  });

  app.get<{ Params: { service: string } }>('/api/services/:service/operations', async (req) => {
    const ops = await reader.getOperations({ serviceName: req.params.service });
    const names = [...new Set(ops.map((o) => o.name))];
    // Jaeger builds this list by appending to a nil slice: no operation at all is `null`, not `[]` (unlike
    // /api/operations, which answers `[]`).
    return envelope(names.length > 0 ? names : null, { total: names.length });
  });

  app.get('/api/operations', async (req, reply) => {
    const service = firstValue(req.query, 'service');
    if (service === '') return sendV1Error(reply, 400, "parameter 'service' is required");
    const spanKind = firstValue(req.query, 'spanKind');
    const ops = await reader.getOperations({ serviceName: service, spanKind: spanKind || undefined });
    return envelope(ops.map((o) => ({ name: o.name, spanKind: o.spanKind })), { total: ops.length });
  });

  app.get<{ Params: { traceID: string } }>('/api/traces/:traceID', async (req, reply) => {
    const id = parseTraceIdParam(req.params.traceID);
    if ('error' in id) return sendV1Error(reply, 400, id.error);
    for (const name of ['start', 'end']) {
      const t = timeParam(req.query, name, 0);
      if ('error' in t) return sendV1Error(reply, 400, t.error);
    }
    const raw = rawParam(req.query);
    if ('error' in raw) return sendV1Error(reply, 400, raw.error);
    const spans = await reader.getTrace(id.value);
    if (spans.length === 0) return sendV1Error(reply, 404, 'trace not found');
    return envelope([toUiTrace(adjustTrace(spans, raw.value))]);
  });

  app.get('/api/traces', async (req, reply) => {
    const parsed = parseSearchParams(req.query, now(), options.maxTraces);
    if ('error' in parsed) return sendV1Error(reply, 400, parsed.error);
    const { query, traceIds, limit, offset, raw } = parsed.value;
    const ui = (spans: Span[]) => toUiTrace(adjustTrace(spans, raw));
    if (traceIds.length > 0) {
      const traces: Span[][] = [];
      const errors = [];
      for (const id of traceIds) {
        const spans = await reader.getTrace(id);
        if (spans.length > 0) traces.push(spans);
        else errors.push({ msg: 'trace not found', traceID: id.startsWith('0000000000000000') ? id.slice(16) : id });
      }
      return envelope(traces.map(ui), { errors });
    }
    const traces = await reader.findTraces(query);
    const total = reader.countTraces ? await reader.countTraces(query) : offset + traces.length;
    return envelope(traces.map(ui), { total, limit, offset });
  });

  app.get('/api/dependencies', async (req, reply) => {
    const endTs = timeParam(req.query, 'endTs', now());
    if ('error' in endTs) return sendV1Error(reply, 400, endTs.error);
    const lookback = timeParam(req.query, 'lookback', DEFAULT_DEPENDENCY_LOOKBACK_MS);
    if ('error' in lookback) return sendV1Error(reply, 400, lookback.error);
    if (lookback.value < 0) return sendV1Error(reply, 400, "unable to parse param 'lookback': must not be negative");
    const service = firstValue(req.query, 'service');
    const links = (await reader.getDependencies(endTs.value, lookback.value))
      .filter((l) => service === '' || l.parent === service || l.child === service);
    return envelope(links.map((l) => ({ parent: l.parent, child: l.child, callCount: l.callCount })));
  });
}
