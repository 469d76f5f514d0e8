/**
 * The metric API over a MetricReader, the embedded store (storage/sqlite/metric-query.ts) or InfluxDB
 * (storage/influxdb/metric-reader.ts, METRIC_STORAGE_TYPE), in the v1 envelope (`data`, `total`):
 * - `GET /api/timeseries/measurements`: every measurement with its fields (name, type) and tag keys.
 * - `GET /api/timeseries/tag-values?measurement=&key=[&limit=]`: the values of one tag, sorted.
 * - `GET /api/timeseries/series?measurement=&field=[&tag.<key>=<value>…][&start=&end=][&step=][&aggregate=]`: the
 *   matching series of one field, aggregated per step (`avg` by default, `min`, `max`, `sum`, `count`, `last`;
 *   string fields take `count` and `last`). `start` / `end` are ms since the epoch or RFC 3339 (default: the last
 *   hour), `step` a duration (`15s`, `1m`; a bare number is seconds; default: the range in about 300 steps, at
 *   least 1 s). Each series comes with its tags and `[bucket start ms, value]` points.
 * A bad parameter answers 400 naming it; a field the measurement does not have, 404; InfluxDB out of reach 503
 * (SW_STORAGE_UNAVAILABLE), answering an error 502 (SW_STORAGE_FAILED).
 *
 * `/api/metrics/` is the Jaeger UI's Monitor tab (query/monitor/); the three routes above are still answered there
 * under their old names, marked deprecated (`Deprecation` header), since none of them collides with Jaeger's.
 */
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { parseDurationMs } from '../../platform/config/schema.js';
import { AGGREGATES, STRING_AGGREGATES, type Aggregate, type MetricReader } from '../../storage/sqlite/metric-query.js';
import { envelope, firstValue, sendV1Error } from '../jaeger/envelope.js';
import { parseRfc3339Micros } from '../jaeger/go-params.js';

export interface MetricRouteOptions {
  reader: MetricReader;
  now?: () => number;
  /** Series per answer at most. */
  maxSeries?: number;
}

const DEFAULT_RANGE_MS = 3_600_000;
const DEFAULT_STEPS = 300;
/** Buckets per series at most (what Prometheus allows per query). */
const MAX_STEPS = 11_000;
const DEFAULT_MAX_SERIES = 500;
const DEFAULT_TAG_VALUES = 1_000;

type Check<T> = { value: T } | { error: string };

function timeMs(query: unknown, name: string, fallback: number): Check<number> {
  const raw = firstValue(query, name);
  if (raw === '') return { value: fallback };
  if (/^\d+$/.test(raw)) return { value: Number(raw) };
  const t = parseRfc3339Micros(raw);
  return 'error' in t ? { error: `${name} "${raw}" is neither ms since the epoch nor an RFC 3339 time` } : { value: Math.floor(t.value / 1000) };
}

function stepMs(query: unknown, rangeMs: number): Check<number> {
  const raw = firstValue(query, 'step');
  if (raw === '') return { value: Math.max(1_000, Math.ceil(rangeMs / DEFAULT_STEPS / 1_000) * 1_000) };
  const ms = parseDurationMs(raw);
  if (typeof ms !== 'number') return { error: `step: ${ms.reason}` };
  if (ms < 1) return { error: `step "${raw}" must be at least 1ms` };
  return { value: ms };
}

/** `tag.<key>=<value>` parameters; a key given twice must have one value. */
function tagFilters(query: unknown): Check<Record<string, string>> {
  const tags: Record<string, string> = {};
  for (const [name, raw] of Object.entries(query as Record<string, string | string[] | undefined>)) {
    if (!name.startsWith('tag.')) continue;
    const key = name.slice(4);
    if (key === '') return { error: 'a tag filter needs a key: tag.<key>=<value>' };
    const values = Array.isArray(raw) ? [...new Set(raw)] : [raw ?? ''];
    if (values.length !== 1) return { error: `tag.${key} is given with different values` };
    tags[key] = values[0]!;
  }
  return { value: tags };
}

export function registerMetricRoutes(app: FastifyInstance, options: MetricRouteOptions): void {
  const reader = options.reader;
  const now = options.now ?? Date.now;
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  // Each route under its name, and under its old one saying it is deprecated and where it went (RFC 9745, RFC 8288).
  const route = (name: string, handler: RouteHandlerMethod): void => {
    app.get(`/api/timeseries/${name}`, handler);
    app.get(`/api/metrics/${name}`, function (req, reply) {
      void reply.header('deprecation', 'true').header('link', `</api/timeseries/${name}>; rel="successor-version"`);
      return handler.call(this, req, reply);
    });
  };

  route('measurements', async () => {
    const data = await reader.measurements();
    return envelope(data, { total: data.length });
  });

  route('tag-values', async (req, reply) => {
    const measurement = firstValue(req.query, 'measurement');
    const key = firstValue(req.query, 'key');
    if (measurement === '') return sendV1Error(reply, 400, 'measurement is required');
    if (key === '') return sendV1Error(reply, 400, 'key (the tag key) is required');
    const rawLimit = firstValue(req.query, 'limit');
    const limit = rawLimit === '' ? DEFAULT_TAG_VALUES : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) return sendV1Error(reply, 400, `limit "${rawLimit}" must be a whole number from 1 to 100000`);
    const data = await reader.tagValues(measurement, key, limit);
    return envelope(data, { total: data.length, limit });
  });

  route('series', async (req, reply) => {
    const q = req.query;
    const measurement = firstValue(q, 'measurement');
    const field = firstValue(q, 'field');
    if (measurement === '') return sendV1Error(reply, 400, 'measurement is required');
    if (field === '') return sendV1Error(reply, 400, 'field is required');
    const end = timeMs(q, 'end', now());
    if ('error' in end) return sendV1Error(reply, 400, end.error);
    const start = timeMs(q, 'start', end.value - DEFAULT_RANGE_MS);
    if ('error' in start) return sendV1Error(reply, 400, start.error);
    if (end.value <= start.value) return sendV1Error(reply, 400, `end (${end.value}) must be after start (${start.value})`);
    const step = stepMs(q, end.value - start.value);
    if ('error' in step) return sendV1Error(reply, 400, step.error);
    const steps = Math.ceil((end.value - start.value) / step.value);
    if (steps > MAX_STEPS) return sendV1Error(reply, 400, `${steps} steps of ${step.value}ms from start to end: at most ${MAX_STEPS}, take a longer step`);
    const rawAggregate = firstValue(q, 'aggregate') || 'avg';
    if (!(AGGREGATES as readonly string[]).includes(rawAggregate)) {
      return sendV1Error(reply, 400, `aggregate "${rawAggregate}" is not one of ${AGGREGATES.join(', ')}`);
    }
    const aggregate = rawAggregate as Aggregate;
    const tags = tagFilters(q);
    if ('error' in tags) return sendV1Error(reply, 400, tags.error);
    const type = await reader.fieldType(measurement, field);
    if (type === undefined) return sendV1Error(reply, 404, `measurement "${measurement}" has no field "${field}"`);
    if (type === 'string' && !STRING_AGGREGATES.includes(aggregate)) {
      return sendV1Error(reply, 400, `field "${field}" holds strings: aggregate must be ${STRING_AGGREGATES.join(' or ')}`);
    }
    const data = await reader.series({ measurement, field, tags: tags.value, startMs: start.value, endMs: end.value, stepMs: step.value, aggregate, maxSeries });
    if (data === undefined) return sendV1Error(reply, 404, `measurement "${measurement}" has no field "${field}"`);
    return envelope(data, { total: data.series.length, limit: maxSeries });
  });
}
