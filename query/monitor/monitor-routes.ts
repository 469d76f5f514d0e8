/**
 * Jaeger's Service Performance Monitoring API, the Monitor tab of the Jaeger UI, answered from stored spans
 * (./span-metrics.ts): `GET /api/metrics/{calls,errors,latencies}` and `/api/metrics/minstep`, with Jaeger's
 * parameters, defaults, error texts and protobuf-JSON answers. Over a span storage that cannot list its spans
 * (`SpanReader.spanMetricSamples` absent) every route answers 501 "metrics querying is currently disabled", as
 * Jaeger does without a metrics backend, and the UI shows its get-started page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SpanReader } from '../../storage/span-storage.js';
import { allValues, envelope, firstValue, sendV1Error } from '../jaeger/envelope.js';
import { parseGoBool, parseGoInt } from '../jaeger/go-params.js';
import { sampleRangeUs, spanMetrics, type SpanMetricKind, type SpanMetricsParams } from './span-metrics.js';

export interface MonitorRouteOptions {
  reader: SpanReader;
  now?: () => number;
  /** Spans one answer may count at most; past it 400. */
  maxSamples?: number;
}

/** Jaeger's defaults (cmd/query/app/default_params.go). */
const DEFAULT_LOOKBACK_MS = 3_600_000;
const DEFAULT_STEP_MS = 5_000;
const DEFAULT_RATE_PER_MS = 600_000;
/** Points a series may have, Prometheus' own bound on a range query. */
const MAX_POINTS = 11_000;
/** The smallest step answered, in ms (the `minstep` answer). */
const MIN_STEP_MS = 1_000;
const DEFAULT_MAX_SAMPLES = 2_000_000;

/** The UI's kinds; '' stands for spans without one (OpenTelemetry's SPAN_KIND_UNSPECIFIED). */
const KINDS: Record<string, string> = { unspecified: '', internal: 'internal', server: 'server', client: 'client', producer: 'producer', consumer: 'consumer' };

export function registerMonitorRoutes(app: FastifyInstance, options: MonitorRouteOptions): void {
  const now = options.now ?? Date.now;
  const serve = (kind: SpanMetricKind) => async (req: FastifyRequest, reply: FastifyReply) => {
    const reader = options.reader;
    if (reader.spanMetricSamples === undefined) return sendV1Error(reply, 501, 'metrics querying is currently disabled');
    const params = parseParams(req.query, kind, now());
    if ('error' in params) return sendV1Error(reply, 400, params.error);
    const { fromUs, toUs } = sampleRangeUs(params.value);
    const samples = await reader.spanMetricSamples({
      services: params.value.services, kinds: params.kinds, fromUs, toUs, limit: options.maxSamples ?? DEFAULT_MAX_SAMPLES,
    });
    return reply.send(spanMetrics(kind, params.value, samples));
  };
  app.get('/api/metrics/calls', serve('calls'));
  app.get('/api/metrics/errors', serve('errors'));
  app.get('/api/metrics/latencies', serve('latencies'));
  app.get('/api/metrics/minstep', async (_req, reply) => {
    if (options.reader.spanMetricSamples === undefined) return sendV1Error(reply, 501, 'metrics querying is currently disabled');
    return reply.send(envelope(MIN_STEP_MS));
  });
}

type Parsed = { value: SpanMetricsParams; kinds: string[] } | { error: string };

/** Jaeger's `parseMetricsQueryParams` (and the latency route's quantile first), with its messages. */
function parseParams(query: unknown, kind: SpanMetricKind, nowMs: number): Parsed {
  const bad = (name: string, error: string): { error: string } => ({ error: `unable to parse param '${name}': ${error}` });
  let quantile: number | undefined;
  if (kind === 'latencies') {
    const text = firstValue(query, 'quantile');
    quantile = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
    if (Number.isNaN(quantile)) return bad('quantile', `strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
    // Beyond Jaeger, which hands any number to Prometheus: a quantile outside (0, 1] has no meaning.
    if (!(quantile > 0 && quantile <= 1)) return bad('quantile', `${text} is not within (0, 1]`);
  }
  const services = allValues(query, 'service');
  if (services.length === 0) return bad('service', 'please provide at least one service name');
  let groupByOperation = false;
  const group = firstValue(query, 'groupByOperation');
  if (group !== '') {
    const b = parseGoBool(group);
    if ('error' in b) return bad('groupByOperation', b.error);
    groupByOperation = b.value;
  }
  const kindNames = allValues(query, 'spanKind');
  const kinds: string[] = [];
  for (const k of kindNames.length === 0 ? ['server'] : kindNames) {
    const mapped = KINDS[k];
    if (mapped === undefined) return bad('spanKind', `unsupported span kind: '${k}'`);
    kinds.push(mapped);
  }
  const ms = (name: string, fallback: number): { value: number } | { error: string } => {
    const text = firstValue(query, name);
    if (text === '') return { value: fallback };
    const n = parseGoInt(text);
    return 'error' in n ? bad(name, n.error) : n;
  };
  const endMs = ms('endTs', nowMs);
  if ('error' in endMs) return endMs;
  const lookbackMs = ms('lookback', DEFAULT_LOOKBACK_MS);
  if ('error' in lookbackMs) return lookbackMs;
  const stepMs = ms('step', DEFAULT_STEP_MS);
  if ('error' in stepMs) return stepMs;
  const ratePerMs = ms('ratePer', DEFAULT_RATE_PER_MS);
  if ('error' in ratePerMs) return ratePerMs;
  // Beyond Jaeger (its Prometheus answers these with a 500): bounds that make a range.
  if (lookbackMs.value <= 0) return bad('lookback', 'must be positive');
  if (stepMs.value < MIN_STEP_MS) return bad('step', `must be at least ${MIN_STEP_MS} ms (see /api/metrics/minstep)`);
  if (ratePerMs.value <= 0) return bad('ratePer', 'must be positive');
  if (lookbackMs.value / stepMs.value > MAX_POINTS) return bad('step', `lookback / step exceeds ${MAX_POINTS} points`);
  return {
    value: { services, groupByOperation, endMs: endMs.value, lookbackMs: lookbackMs.value, stepMs: stepMs.value, ratePerMs: ratePerMs.value, quantile },
    kinds,
  };
}
