/**
 * `shipwatch demo` as a newcomer runs it, without a container engine: within 30 s every page has data — the shop's
 * five services and their dependency graph (traces through the OpenTelemetry SDK over OTLP/HTTP), the Monitor tab's
 * call rates, log lines that name the span they were written in (OTLP logs), and the shop's request counters in
 * the metric store (line protocol) — and SIGTERM sends what the SDKs still hold and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.js';

const ENTRY = fileURLToPath(new URL('../../cli/shipwatch.ts', import.meta.url));
/** The acceptance figure: every page filled within 30 s of the start. */
const FILLED_WITHIN_MS = 30_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, untilMs: number): Promise<T> {
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > untilMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('shipwatch demo fills traces, dependencies, the Monitor tab, logs linked to spans and metrics within 30 s', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-demo-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const [query, queryAdmin, pilotAdmin, collectorAdmin, otlp, zipkin, jaegerHttp, jaegerCompact, jaegerBinary] = await Promise.all(Array.from({ length: 9 }, () => freePort()));
  const env = {
    PATH: process.env.PATH ?? '',
    SHIPWATCH_DATA_DIR: dataDir,
    DOCKER_HOST: `unix://${join(dataDir, 'no-engine.sock')}`,
    LOG_FORMAT: 'json',
    QUERY_LISTEN: `127.0.0.1:${query}`, QUERY_ADMIN_LISTEN: `127.0.0.1:${queryAdmin}`,
    PILOT_ADMIN_LISTEN: `127.0.0.1:${pilotAdmin}`, COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${collectorAdmin}`,
    COLLECTOR_OTLP_HTTP_LISTEN: `127.0.0.1:${otlp}`, COLLECTOR_ZIPKIN_LISTEN: `127.0.0.1:${zipkin}`,
    COLLECTOR_JAEGER_HTTP_LISTEN: `127.0.0.1:${jaegerHttp}`,
    // Free TCP port numbers, for UDP: nothing else of this test listens on UDP.
    COLLECTOR_JAEGER_COMPACT_LISTEN: `127.0.0.1:${jaegerCompact}`, COLLECTOR_JAEGER_BINARY_LISTEN: `127.0.0.1:${jaegerBinary}`,
    COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
  };
  const startedAt = Date.now();
  const until = startedAt + FILLED_WITHIN_MS;
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${query}`;
  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(base + path);
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return (await res.json()) as T;
  };

  // Traces: the shop's five services, and the calls between them in the dependency graph.
  const services = await waitFor('the five services', async () => {
    const { data } = await getJson<{ data: string[] }>('/api/services');
    return data.length === 5 ? data : undefined;
  }, until);
  assert.deepEqual([...services].sort(), ['checkout', 'frontend', 'inventory', 'payments', 'postgres']);
  const edges = await waitFor('the dependency graph', async () => {
    const { data } = await getJson<{ data: Array<{ parent: string; child: string; callCount: number }> }>(`/api/dependencies?endTs=${Date.now()}&lookback=3600000`);
    const names = new Set(data.map((e) => `${e.parent}→${e.child}`));
    return ['frontend→checkout', 'checkout→payments', 'inventory→postgres'].every((n) => names.has(n)) ? names : undefined;
  }, until);
  assert.ok(edges.has('frontend→inventory') || edges.has('checkout→inventory'), `inventory is called: ${[...edges].join(', ')}`);

  // A trace as the Jaeger UI shows it: one root, its spans across services.
  const traces = await getJson<{ data: Array<{ traceID: string; spans: Array<{ spanID: string; operationName: string; references: unknown[] }>; processes: Record<string, { serviceName: string }> }> }>('/api/traces?service=frontend&limit=5&lookback=1h');
  assert.ok(traces.data.length > 0);
  for (const trace of traces.data) assert.equal(trace.spans.filter((s) => s.references.length === 0).length, 1, 'one root per request');

  // The Monitor tab: frontend's server calls have a rate.
  const calls = await waitFor('the Monitor tab', async () => {
    const body = await getJson<{ metrics: Array<{ metricPoints: Array<{ gaugeValue: { doubleValue: number } }> }> }>(`/api/metrics/calls?service=frontend&endTs=${Date.now()}&lookback=600000&step=60000&ratePer=60000&spanKind=server`);
    const points = body.metrics.flatMap((m) => m.metricPoints).filter((p) => p.gaugeValue.doubleValue > 0);
    return points.length > 0 ? points : undefined;
  }, until);
  assert.ok(calls.length > 0);

  // Logs over OTLP, each naming the trace and span it was written in; that span is in the trace.
  const logs = await waitFor('log lines linked to spans', async () => {
    const body = await getJson<{ data: Array<Record<string, unknown>>; total: number }>('/api/logs?limit=200&lookback=1h');
    const linked = body.data.filter((r) => typeof r.trace_id === 'string' && typeof r.span_id === 'string');
    return linked.length >= 3 ? linked : undefined;
  }, until);
  const line = logs[0]!;
  const trace = await waitFor('the trace of a log line', async () => {
    const res = await fetch(`${base}/api/traces/${line.trace_id as string}`);
    return res.ok ? ((await res.json()) as { data: Array<{ spans: Array<{ spanID: string }> }> }) : undefined;
  }, Date.now() + 10_000);
  assert.ok(trace.data[0]!.spans.some((s) => s.spanID === line.span_id), `span ${String(line.span_id)} is in trace ${String(line.trace_id)}`);
  const byTrace = await getJson<{ data: Array<{ trace_id: string }> }>(`/api/logs?traceId=${line.trace_id as string}&lookback=1h`);
  assert.ok(byTrace.data.length >= 1 && byTrace.data.every((r) => r.trace_id === line.trace_id));

  // Metrics: the shop's request counters in the metric store.
  const measurements = await waitFor('the shop metrics', async () => {
    const body = await getJson<{ data: Array<{ measurement: string }> }>('/api/timeseries/measurements');
    const names = body.data.map((m) => m.measurement);
    return names.includes('shop_http_requests') ? names : undefined;
  }, until);
  assert.ok(measurements.includes('shop_inventory'));
  t.diagnostic(`every page filled ${Date.now() - startedAt} ms after the start`);

  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr.slice(-2000));
  assert.doesNotMatch(stderr, /"level":"(error|fatal)"/);
});
