/**
 * The Monitor tab's figures from spans (query/monitor/span-metrics.ts): windows, rates, error fractions, quantiles,
 * grouping, and Jaeger's answer shape.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleRangeUs, spanMetrics, type SpanMetricsParams } from '../../../query/monitor/span-metrics.js';
import type { SpanMetricSample } from '../../../storage/span-storage.js';

const END = Date.UTC(2026, 0, 1, 12, 0, 0);
const base: SpanMetricsParams = { services: ['shop'], groupByOperation: false, endMs: END, lookbackMs: 300_000, stepMs: 60_000, ratePerMs: 60_000 };

function sample(msBeforeEnd: number, durationMs: number, error = false, operation = 'GET /cart', service = 'shop'): SpanMetricSample {
  return { service, operation, startUs: (END - msBeforeEnd) * 1000, durationUs: durationMs * 1000, error };
}

// Six spans in the last minute (two failed), one two minutes earlier, one outside the range.
const samples = [
  sample(1_000, 1), sample(10_000, 2, true), sample(20_000, 3), sample(30_000, 4), sample(40_000, 5, true), sample(59_999, 6),
  sample(150_000, 100, false, 'POST /pay'),
  sample(3_600_000, 7),
];

test('points from end − lookback to end, step apart, in protobuf JSON timestamps', () => {
  const f = spanMetrics('calls', base, samples);
  assert.equal(f.name, 'service_call_rate');
  assert.equal(f.type, 'GAUGE');
  assert.equal(f.help, 'calls/sec, grouped by service');
  assert.deepEqual(f.metrics.map((m) => m.labels), [[{ name: 'service_name', value: 'shop' }]]);
  assert.deepEqual(f.metrics[0]!.metricPoints.map((p) => p.timestamp), [
    '2026-01-01T11:55:00Z', '2026-01-01T11:56:00Z', '2026-01-01T11:57:00Z', '2026-01-01T11:58:00Z', '2026-01-01T11:59:00Z', '2026-01-01T12:00:00Z',
  ]);
});

test('calls per second over the window, rounded to 2 decimals as Jaeger does', () => {
  const values = spanMetrics('calls', base, samples).metrics[0]!.metricPoints.map((p) => p.gaugeValue.doubleValue);
  // 11:57:30 falls in the window of 11:58 (11:57, 11:58]; the last minute's six in that of 12:00.
  assert.deepEqual(values, [0, 0, 0, 0.02, 0, 0.1]);
  const wide = spanMetrics('calls', { ...base, ratePerMs: 180_000 }, samples).metrics[0]!.metricPoints.map((p) => p.gaugeValue.doubleValue);
  // Three steps a window: the 11:57:30 span counts at 11:58, 11:59 and 12:00 (1/180 s → 0.01); 7 spans by 12:00.
  assert.deepEqual(wide, [0, 0, 0, 0.01, 0.01, 0.04]);
});

test('errors as a fraction of the window\'s calls; NaN where there were none', () => {
  const values = spanMetrics('errors', base, samples).metrics[0]!.metricPoints.map((p) => p.gaugeValue.doubleValue);
  assert.deepEqual(values, ['NaN', 'NaN', 'NaN', 0, 'NaN', 2 / 6]);
});

test('a latency quantile in milliseconds, within the histogram\'s 4.4%', () => {
  const f = spanMetrics('latencies', { ...base, quantile: 0.5 }, samples);
  assert.equal(f.name, 'service_latencies');
  assert.equal(f.help, '0.50th quantile latency, grouped by service');
  const values = f.metrics[0]!.metricPoints.map((p) => p.gaugeValue.doubleValue);
  assert.deepEqual(values.slice(0, 3), ['NaN', 'NaN', 'NaN']);
  assert.ok(Math.abs((values[3] as number) - 100) <= 4.4, `median of one 100 ms span: ${values[3]}`);
  assert.ok(Math.abs((values[5] as number) - 3) <= 3 * 0.044, `median of 1…6 ms: ${values[5]}`);
  const p95 = spanMetrics('latencies', { ...base, quantile: 0.95 }, samples).metrics[0]!.metricPoints[5]!.gaugeValue.doubleValue as number;
  assert.ok(p95 > 5 * 0.956 && p95 <= 6 * 1.044, `p95 of 1…6 ms: ${p95}`);
});

test('grouped by operation: a series per operation, named and labelled as Jaeger names them', () => {
  const f = spanMetrics('calls', { ...base, groupByOperation: true }, samples);
  assert.equal(f.name, 'service_operation_call_rate');
  assert.equal(f.help, 'calls/sec, grouped by service & operation');
  assert.deepEqual(f.metrics.map((m) => m.labels.map((l) => `${l.name}=${l.value}`).join(',')), ['service_name=shop,operation=GET /cart', 'service_name=shop,operation=POST /pay']);
  assert.deepEqual(f.metrics[1]!.metricPoints.map((p) => p.gaugeValue.doubleValue), [0, 0, 0, 0.02, 0, 0]);
});

test('a service without spans in the range has no series; the range asked of the storage covers the first window', () => {
  assert.deepEqual(spanMetrics('calls', { ...base, services: ['nobody'] }, []).metrics, []);
  const { fromUs, toUs } = sampleRangeUs({ ...base, ratePerMs: 120_000 });
  assert.equal(toUs, END * 1000);
  assert.equal(fromUs, (END - 300_000 - 120_000) * 1000 + 1);
});
