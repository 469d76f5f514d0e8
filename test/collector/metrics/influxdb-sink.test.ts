import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../../platform/log.js';
import { float, int, makePoint, type MetricPoint } from '../../../model/metric-point.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { InfluxDbSink, type InfluxDbSinkOptions } from '../../../collector/metrics/influxdb-sink.js';
import { freePort } from '../../helpers/ports.js';
import { exportSeries, ownVictoriaMetrics } from '../../helpers/victoria-metrics.js';
import { waitFor } from '../../helpers/wait.js';

function points(measurement: string, count: number, startMs: number): MetricPoint[] {
  return Array.from({ length: count }, (_, i) => makePoint(measurement, [['host', 'h1']], [['n', int(i)], ['x', float(i / 4)]], BigInt(startMs + i) * 1_000_000n));
}

function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createLogger({ level: 'warn', sink: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) } }), lines };
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want));
  return v?.value ?? 0;
}

function sinkOptions(url: string, registry: Registry, extra: Partial<InfluxDbSinkOptions> = {}): InfluxDbSinkOptions {
  return {
    url, token: 'secret-token', org: 'o', bucket: 'telegraf', queuePoints: 10_000, batchPoints: 500, flushIntervalMs: 50, timeoutMs: 2_000,
    retry: { initialDelayMs: 100, maxDelayMs: 400 }, log: createLogger({ level: 'silent' }), registry, ...extra,
  };
}

/** A stand-in InfluxDB for faults a real one cannot be made to give: it answers what `answer` says and records. */
async function standIn(t: { after(fn: () => unknown): unknown }, answer: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  const requests: Array<{ atMs: number; url: string; auth: string | undefined; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ atMs: Date.now(), url: req.url ?? '', auth: req.headers.authorization, body: Buffer.concat(chunks).toString() });
      answer(requests.length, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

test('while InfluxDB is down the queue stays bounded and counts its drops; when it is up the newest points arrive', async (t) => {
  const port = await freePort();
  const vm = await ownVictoriaMetrics(t, port);
  const registry = createRegistry('collector', false);
  const { log, lines } = logCapture();
  const sink = new InfluxDbSink(sinkOptions(vm.url, registry, { queuePoints: 1_000, batchPoints: 500, log }));
  t.after(() => sink.close());

  const startMs = Date.now() - 60_000;
  const sent = points('swdown', 5_000, startMs);
  sink.write(sent.slice(0, 2_500));
  sink.write(sent.slice(2_500));
  // Connection refused: retried, never more than the queue plus the batch in flight is held.
  await waitFor(async () => (await metric(registry, 'shipwatch_retries_total', { operation: 'influxdb_write' })) >= 2, { what: 'retries against the refused port' });
  assert.ok(sink.queuedPoints <= 1_000);
  assert.equal(await metric(registry, 'shipwatch_influxdb_points_dropped_total', { reason: 'queue_full' }), 3_500);
  assert.ok((await metric(registry, 'shipwatch_influxdb_write_errors_total', { status: 'network' })) >= 2);
  // One warning per 30 s: the first overflow (1,500 of the first 2,500) is told at once, the rest later.
  assert.deepEqual(lines.filter((l) => l.msg === 'InfluxDB queue full: the oldest points were dropped').map((l) => l.dropped), [1_500]);
  assert.ok(lines.some((l) => l.msg === 'InfluxDB write failed, retrying'));
  assert.match(String(sink.healthCheck().check()), /failing/);

  await vm.start();
  const series = await waitFor(async () => {
    const s = await exportSeries(vm.url, '{__name__="swdown_n"}');
    return s[0]?.values.length === 1_500 && s[0];
  }, { timeoutMs: 20_000, what: 'the queued points in VictoriaMetrics' });
  // The batch in flight since the first write (the oldest of what that write kept), then the 1,000 newest.
  assert.deepEqual(series.values, [...Array.from({ length: 500 }, (_, i) => 1_500 + i), ...Array.from({ length: 1_000 }, (_, i) => 4_000 + i)]);
  assert.equal(await metric(registry, 'shipwatch_influxdb_points_written_total', {}), 1_500);
  assert.equal(sink.healthCheck().check(), undefined);
  await sink.close();
  assert.equal(await metric(registry, 'shipwatch_influxdb_points_dropped_total', { reason: 'shutdown' }), 0);
});

for (const status of [400, 401]) {
  test(`a ${status} from InfluxDB is reported and the batch is not retried`, async (t) => {
    const target = await standIn(t, (_n, _req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: status === 400 ? 'invalid' : 'unauthorized', message: status === 400 ? 'partial write: field type conflict' : 'unauthorized access' }));
    });
    const registry = createRegistry('collector', false);
    const { log, lines } = logCapture();
    const sink = new InfluxDbSink(sinkOptions(target.url, registry, { log }));
    t.after(() => sink.close());
    sink.write(points('swfault', 10, Date.now()));
    await waitFor(async () => (await metric(registry, 'shipwatch_influxdb_points_dropped_total', { reason: 'rejected' })) === 10, { what: 'the rejected batch counted' });
    await sleep(800);
    assert.equal(target.requests.length, 1);
    assert.equal(target.requests[0]!.auth, 'Token secret-token');
    assert.match(target.requests[0]!.url, /^\/api\/v2\/write\?org=o&bucket=telegraf&precision=ns$/);
    assert.equal(target.requests[0]!.body.split('\n').length, 10);
    assert.equal(await metric(registry, 'shipwatch_influxdb_write_errors_total', { status: String(status) }), 1);
    assert.equal(await metric(registry, 'shipwatch_retries_total', {}), 0);
    const error = lines.find((l) => l.code === 'SW_INFLUXDB_REJECTED');
    assert.ok(error, 'an error log with the code');
    assert.equal(error.status, status);
    assert.match(String(error.msg), status === 400 ? /field type conflict/ : /unauthorized access/);
  });
}

test('a 429 is retried after the Retry-After the server asks for', async (t) => {
  const target = await standIn(t, (n, _req, res) => {
    if (n === 1) res.writeHead(429, { 'retry-after': '1' }).end();
    else res.writeHead(204).end();
  });
  const registry = createRegistry('collector', false);
  const sink = new InfluxDbSink(sinkOptions(target.url, registry, { retry: { initialDelayMs: 20, maxDelayMs: 50 } }));
  t.after(() => sink.close());
  sink.write(points('swthrottle', 3, Date.now()));
  await waitFor(async () => (await metric(registry, 'shipwatch_influxdb_points_written_total', {})) === 3, { what: 'the retried write' });
  assert.equal(target.requests.length, 2);
  assert.ok(target.requests[1]!.atMs - target.requests[0]!.atMs >= 950, `waited ${target.requests[1]!.atMs - target.requests[0]!.atMs} ms`);
  assert.equal(target.requests[1]!.body, target.requests[0]!.body);
});

test('write never waits for the target, and close gives up on a dead one in its time bound', async (t) => {
  const port = await freePort();
  const registry = createRegistry('collector', false);
  const sink = new InfluxDbSink(sinkOptions(`http://127.0.0.1:${port}`, registry, { closeTimeoutMs: 300 }));
  const started = performance.now();
  for (let i = 0; i < 20; i++) sink.write(points('swdead', 1_000, Date.now()));
  assert.ok(performance.now() - started < 2_000);
  t.after(() => sink.close());
  const closing = performance.now();
  await sink.close();
  assert.ok(performance.now() - closing < 2_000);
  // 20,000 points: 500 went in flight at the first write, 10,000 wait in the queue, the rest was dropped.
  assert.equal(await metric(registry, 'shipwatch_influxdb_points_dropped_total', { reason: 'queue_full' }), 9_500);
  assert.equal(await metric(registry, 'shipwatch_influxdb_points_dropped_total', { reason: 'shutdown' }), 10_500);
  sink.write(points('swdead', 5, Date.now()));
  assert.equal(await metric(registry, 'shipwatch_influxdb_points_dropped_total', { reason: 'shutdown' }), 10_505);
});
