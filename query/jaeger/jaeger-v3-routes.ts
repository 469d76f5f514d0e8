/**
 * Jaeger's query API v3 over HTTP, as Jaeger v2 serves it (cmd/jaeger/internal/extension/jaegerquery/internal/
 * apiv3/http_gateway.go, query_parser.go): `/api/v3/services` → `{services}`, `/api/v3/operations` →
 * `{operations: [{name, spanKind}]}`, `/api/v3/traces` and `/api/v3/traces/:trace_id` → `{result: TracesData}` in
 * OTLP JSON, `/api/v3/trace-summaries` → `{summaries}`. Errors are `{error: {httpCode, message}}`; no trace found is
 * a 404 "No traces found". Parameters take Jaeger's current names and their deprecated snake_case aliases.
 * Not supported: `query.filter` (Jaeger's structured filter expressions) answers 400.
 */
import type { FastifyInstance } from 'fastify';
import type { Span } from '../../model/span.js';
import type { SpanReader, TraceQuery } from '../../storage/span-storage.js';
import { firstValue, sendV3Error } from './envelope.js';
import { parseGoBool, parseGoDuration, parseRfc3339Micros, parseTraceIdParam, type Parsed } from './go-params.js';
import { adjustTraceV3 } from './adjust.js';
import { toOtlpTracesData } from './otlp-json.js';
import { summariseTrace } from './trace-summary.js';

export interface V3Options {
  reader: SpanReader;
  maxTraces: number;
}

const DEFAULT_SEARCH_DEPTH = 100;

/** The canonical parameter, else its deprecated alias: [value, the name it came from]. */
function param(q: unknown, canonical: string, deprecated: string): [string, string] {
  const v = firstValue(q, canonical);
  return v !== '' ? [v, canonical] : [firstValue(q, deprecated), deprecated];
}

function malformed(name: string, why: string): { error: string } {
  return { error: `malformed parameter ${name}: ${why}` };
}

export function parseV3Search(q: unknown, maxTraces: number): Parsed<{ query: TraceQuery; raw: boolean }> {
  const query: TraceQuery = { numTraces: DEFAULT_SEARCH_DEPTH };
  const service = param(q, 'query.serviceName', 'query.service_name')[0];
  if (service) query.serviceName = service;
  const operation = param(q, 'query.operationName', 'query.operation_name')[0];
  if (operation) query.operationName = operation;
  const attrs = firstValue(q, 'query.attributes');
  if (attrs !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(attrs);
    } catch (err) {
      return malformed('query.attributes', (err as Error).message);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
      return malformed('query.attributes', 'expecting a JSON object of strings');
    }
    query.tags = parsed as Record<string, string>;
  }
  if (firstValue(q, 'query.filter') !== '') return malformed('query.filter', 'filter expressions are not supported by this server');
  const [minText, minName] = param(q, 'query.startTimeMin', 'query.start_time_min');
  const [maxText, maxName] = param(q, 'query.startTimeMax', 'query.start_time_max');
  // Jaeger names the window by its snake_case parameters (the only ones it reads).
  if (minText === '' || maxText === '') return { error: 'query.start_time_min and query.start_time_max are required' };
  const min = parseRfc3339Micros(minText);
  if ('error' in min) return malformed(minName, min.error);
  const max = parseRfc3339Micros(maxText);
  if ('error' in max) return malformed(maxName, max.error);
  if (!(min.value < max.value)) return { error: 'query.startTimeMin must be before query.startTimeMax' };
  query.startTimeMinMicros = min.value;
  query.startTimeMaxMicros = max.value;
  let [depth, depthName] = param(q, 'query.searchDepth', 'query.search_depth');
  if (depth === '') [depth, depthName] = [firstValue(q, 'query.num_traces'), 'query.num_traces'];
  if (depth !== '') {
    if (!/^[+-]?\d+$/.test(depth)) return malformed(depthName, `strconv.Atoi: parsing ${JSON.stringify(depth)}: invalid syntax`);
    const n = Number(depth);
    if (n < 0) return malformed(depthName, 'must not be negative');
    query.numTraces = n === 0 ? DEFAULT_SEARCH_DEPTH : Math.min(n, maxTraces);
  }
  for (const [canonical, deprecated, key] of [
    ['query.durationMin', 'query.duration_min', 'durationMinMicros'],
    ['query.durationMax', 'query.duration_max', 'durationMaxMicros'],
  ] as const) {
    const [text, name] = param(q, canonical, deprecated);
    if (text === '') continue;
    const d = parseGoDuration(text);
    if ('error' in d) return malformed(name, d.error);
    if (d.value > 0) query[key] = d.value / 1000;
  }
  const [rawText, rawName] = param(q, 'query.rawTraces', 'query.raw_traces');
  let raw = false;
  if (rawText !== '') {
    const b = parseGoBool(rawText);
    if ('error' in b) return malformed(rawName, b.error);
    raw = b.value;
  }
  return { value: { query, raw } };
}

export function registerJaegerV3Routes(app: FastifyInstance, options: V3Options): void {
  const { reader } = options;
  const sendTraces = (reply: Parameters<typeof sendV3Error>[0], found: Span[][], raw: boolean) => {
    if (found.length === 0) return sendV3Error(reply, 404, 'No traces found');
    const traces = found.map((t) => adjustTraceV3(t, raw));
    // As Jaeger does, each trace brings its own resourceSpans, concatenated.
    return reply.send({ result: { resourceSpans: traces.flatMap((t) => toOtlpTracesData(t, !raw).resourceSpans) } });
  };

  app.get('/api/v3/services', async () => ({ services: await reader.getServices() }));

  app.get('/api/v3/operations', async (req) => {
    const service = firstValue(req.query, 'service');
    const spanKind = param(req.query, 'spanKind', 'span_kind')[0];
    const ops = service === '' ? [] : await reader.getOperations({ serviceName: service, spanKind: spanKind || undefined });
    // Jaeger 2.x's JSON leaves out empty strings (protobuf's default values): an operation without a kind has no
    // spanKind, one with an empty name no name.
    return {
      operations: ops.map((o) => ({ ...(o.name !== '' ? { name: o.name } : {}), ...(o.spanKind ? { spanKind: o.spanKind } : {}) })),
    };
  });

  app.get<{ Params: { trace_id: string } }>('/api/v3/traces/:trace_id', async (req, reply) => {
    const id = parseTraceIdParam(req.params.trace_id);
    if ('error' in id) return sendV3Error(reply, 400, `malformed parameter trace_id: ${id.error}`);
    for (const [canonical, deprecated] of [['startTime', 'start_time'], ['endTime', 'end_time']] as const) {
      const [text, name] = param(req.query, canonical, deprecated);
      if (text === '') continue;
      const t = parseRfc3339Micros(text);
      if ('error' in t) return sendV3Error(reply, 400, `malformed parameter ${name}: ${t.error}`);
    }
    const [rawText, rawName] = param(req.query, 'rawTraces', 'raw_traces');
    const raw = rawText === '' ? { value: false } : parseGoBool(rawText);
    if ('error' in raw) return sendV3Error(reply, 400, `malformed parameter ${rawName}: ${raw.error}`);
    const spans = await reader.getTrace(id.value);
    return sendTraces(reply, spans.length > 0 ? [spans] : [], raw.value);
  });

  app.get('/api/v3/traces', async (req, reply) => {
    const parsed = parseV3Search(req.query, options.maxTraces);
    if ('error' in parsed) return sendV3Error(reply, 400, parsed.error);
    return sendTraces(reply, await reader.findTraces(parsed.value.query), parsed.value.raw);
  });

  app.get('/api/v3/trace-summaries', async (req, reply) => {
    const parsed = parseV3Search(req.query, options.maxTraces);
    if ('error' in parsed) return sendV3Error(reply, 400, parsed.error);
    const traces = await reader.findTraces(parsed.value.query);
    return { summaries: traces.map((t) => summariseTrace(adjustTraceV3(t, false))) };
  });
}
