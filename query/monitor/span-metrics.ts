/**
 * The Jaeger UI's Monitor tab (Service Performance Monitoring) computed from stored spans: request rate, error rate
 * and a latency quantile per service (and operation), in Jaeger's `MetricFamily` answer. Jaeger needs a span-metrics
 * connector and Prometheus (or its Elasticsearch metric store) for this; here the spans themselves are counted.
 *
 * Points are at `end − lookback + k·step` (k = 0 …), as a Prometheus range query evaluates them; each point counts
 * the spans started in the `L = ⌈ratePer / step⌉` steps up to it, as Jaeger's Elasticsearch metric store does (its
 * rate window is L steps):
 * - calls: spans in the window / its seconds, rounded to 2 decimals (Jaeger rounds so);
 * - errors: error spans / spans in the window (NaN without spans, 0 with spans and no errors);
 * - latencies: the quantile of the durations in the window, in milliseconds rounded to 2 decimals, interpolated in a
 *   log-scale histogram (buckets 2^(1/16) apart: within 4.4% of the exact value) so that a window's histogram is
 *   the sum of its steps' and memory stays small; NaN without spans.
 * A group with no span in the whole range is left out, as Prometheus leaves out a series without samples.
 */
import type { SpanMetricSample } from '../../storage/span-storage.js';

export type SpanMetricKind = 'calls' | 'errors' | 'latencies';

export interface SpanMetricsParams {
  services: string[];
  groupByOperation: boolean;
  endMs: number;
  lookbackMs: number;
  stepMs: number;
  ratePerMs: number;
  /** For latencies: 0 < q ≤ 1. */
  quantile?: number;
}

export interface MetricLabel {
  name: string;
  value: string;
}

/** Jaeger's api_v2 metrics.MetricPoint as protobuf JSON renders it (a NaN double is the string "NaN"). */
export interface MetricPoint {
  gaugeValue: { doubleValue: number | 'NaN' };
  timestamp: string;
}

export interface MetricFamily {
  name: string;
  type: 'GAUGE';
  help: string;
  metrics: Array<{ labels: MetricLabel[]; metricPoints: MetricPoint[] }>;
}

/** Steps in the rate window. */
export function windowSteps(p: Pick<SpanMetricsParams, 'stepMs' | 'ratePerMs'>): number {
  return Math.max(1, Math.ceil(p.ratePerMs / p.stepMs));
}

/** The start times (µs) a computation needs spans from: the first point's window to the last point. */
export function sampleRangeUs(p: SpanMetricsParams): { fromUs: number; toUs: number } {
  const first = p.endMs - p.lookbackMs;
  return { fromUs: (first - windowSteps(p) * p.stepMs) * 1000 + 1, toUs: p.endMs * 1000 };
}

/** Histogram buckets per doubling of the duration. */
const BUCKETS_PER_DOUBLING = 16;
const LOG_BASE = Math.log(2) / BUCKETS_PER_DOUBLING;

/** A duration's histogram bucket: bucket b holds durations in (2^((b−1)/16), 2^(b/16)] µs; 0 holds ≤ 1 µs. */
function bucketOf(durationUs: number): number {
  return durationUs <= 1 ? 0 : Math.ceil(Math.log(durationUs) / LOG_BASE);
}

function bucketUpperUs(b: number): number {
  return Math.exp(b * LOG_BASE);
}

interface Group {
  labels: MetricLabel[];
  /** Per point index: spans, error spans, and the duration histogram (bucket → count). */
  calls: Float64Array;
  errors: Float64Array;
  histograms: Array<Map<number, number> | undefined>;
}

/**
 * The metric family of `kind` over the samples (already of the requested services and kinds). Samples outside the
 * range are ignored.
 */
export function spanMetrics(kind: SpanMetricKind, p: SpanMetricsParams, samples: Iterable<SpanMetricSample>): MetricFamily {
  const points = Math.floor(p.lookbackMs / p.stepMs) + 1;
  const window = windowSteps(p);
  const firstMs = p.endMs - p.lookbackMs;
  // Step slot s (0 … points + window − 2) holds the spans started in (t_{s−window+1} − step, t_{s−window+1}]: point k's
  // window is slots k … k + window − 1.
  const slots = points + window - 1;
  const originUs = (firstMs - window * p.stepMs) * 1000;
  const stepUs = p.stepMs * 1000;
  const groups = new Map<string, Group>();
  for (const s of samples) {
    const slot = Math.ceil((s.startUs - originUs) / stepUs) - 1;
    if (slot < 0 || slot >= slots) continue;
    const key = p.groupByOperation ? `${s.service}\u0000${s.operation}` : s.service;
    let g = groups.get(key);
    if (g === undefined) {
      const labels = [{ name: 'service_name', value: s.service }];
      if (p.groupByOperation) labels.push({ name: 'operation', value: s.operation });
      g = { labels, calls: new Float64Array(slots), errors: new Float64Array(slots), histograms: kind === 'latencies' ? new Array(slots) : [] };
      groups.set(key, g);
    }
    g.calls[slot]!++;
    if (s.error) g.errors[slot]!++;
    if (kind === 'latencies') {
      const h = (g.histograms[slot] ??= new Map());
      const b = bucketOf(s.durationUs);
      h.set(b, (h.get(b) ?? 0) + 1);
    }
  }
  const names = { calls: 'call_rate', errors: 'error_rate', latencies: 'latencies' } as const;
  const help = {
    calls: 'calls/sec, grouped by service',
    errors: 'error rate, computed as a fraction of errors/sec over calls/sec, grouped by service',
    latencies: `${(p.quantile ?? 0).toFixed(2)}th quantile latency, grouped by service`,
  }[kind];
  const family: MetricFamily = {
    name: `service_${p.groupByOperation ? 'operation_' : ''}${names[kind]}`,
    type: 'GAUGE',
    help: p.groupByOperation ? `${help} & operation` : help,
    metrics: [],
  };
  const ordered = [...groups.values()].sort((a, b) => compareLabels(a.labels, b.labels));
  for (const g of ordered) {
    const metricPoints: MetricPoint[] = [];
    let calls = 0;
    let errors = 0;
    const histogram = new Map<number, number>();
    for (let slot = 0; slot < slots; slot++) {
      calls += g.calls[slot]!;
      errors += g.errors[slot]!;
      if (kind === 'latencies') addHistogram(histogram, g.histograms[slot], 1);
      const leaving = slot - window;
      if (leaving >= 0) {
        calls -= g.calls[leaving]!;
        errors -= g.errors[leaving]!;
        if (kind === 'latencies') addHistogram(histogram, g.histograms[leaving], -1);
      }
      const k = slot - window + 1;
      if (k < 0) continue;
      let value: number;
      if (kind === 'calls') value = round2(calls / ((window * p.stepMs) / 1000));
      else if (kind === 'errors') value = calls === 0 ? NaN : errors / calls;
      else value = calls === 0 ? NaN : round2(quantileUs(histogram, calls, p.quantile ?? 0.5) / 1000);
      metricPoints.push({ gaugeValue: { doubleValue: Number.isNaN(value) ? 'NaN' : value }, timestamp: protoTimestamp(firstMs + k * p.stepMs) });
    }
    family.metrics.push({ labels: g.labels, metricPoints });
  }
  return family;
}

function addHistogram(into: Map<number, number>, h: Map<number, number> | undefined, sign: 1 | -1): void {
  if (h === undefined) return;
  for (const [b, n] of h) {
    const v = (into.get(b) ?? 0) + sign * n;
    if (v === 0) into.delete(b);
    else into.set(b, v);
  }
}

/** The q-quantile of a histogram of `total` durations, interpolated linearly within its bucket. */
function quantileUs(histogram: Map<number, number>, total: number, q: number): number {
  const rank = q * total;
  let seen = 0;
  for (const b of [...histogram.keys()].sort((x, y) => x - y)) {
    const n = histogram.get(b)!;
    if (seen + n >= rank) {
      const lower = b === 0 ? 0 : bucketUpperUs(b - 1);
      const upper = bucketUpperUs(b);
      return lower + (upper - lower) * Math.max(0, Math.min(1, (rank - seen) / n));
    }
    seen += n;
  }
  return 0;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function compareLabels(a: MetricLabel[], b: MetricLabel[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]!.value !== b[i]!.value) return a[i]!.value < b[i]!.value ? -1 : 1;
  }
  return a.length - b.length;
}

/** google.protobuf.Timestamp in protobuf JSON: RFC 3339 in UTC, fractions only when there are any. */
function protoTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? `${iso.slice(0, 19)}Z` : iso;
}
