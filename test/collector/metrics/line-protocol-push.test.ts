import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildAdminApp } from '../../../platform/http/admin-server.js';
import { silentLogger } from '../../../platform/log.js';
import type { MetricPoint } from '../../../model/metric-point.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { InfluxDbOutput } from '../../../collector/metrics/influxdb-output.js';
import { registerLineProtocolPush, type PushContext } from '../../../collector/metrics/line-protocol-push.js';
import { exportSeries } from '../../helpers/victoria-metrics.js';
import { testServices } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';

const MAX_BODY = 64 * 1024;

async function pushApp(
  maxBodyBytes = MAX_BODY, onPoints?: (points: MetricPoint[], context: PushContext) => void, outputs: { full?: () => boolean; settled?: () => Promise<boolean> } = {},
) {
  const registry = createRegistry('collector', false);
  const app = buildAdminApp({ registry, health: [], log: silentLogger });
  const received: Array<{ points: MetricPoint[]; context: PushContext }> = [];
  await registerLineProtocolPush(app, {
    maxBodyBytes, log: silentLogger, registry, ...outputs,
    onPoints: onPoints ?? ((points, context) => received.push({ points, context })),
  });
  await app.ready();
  return { app, received, registry };
}

test('a v2 push of good lines answers 204 and hands the points over with the bucket', async (t) => {
  const { app, received } = await pushApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b1&org=o1&precision=s', payload: 'cpu,host=a v=1 1700000000\nmem,host=a used=5i 1700000000\n' });
  assert.equal(res.statusCode, 204);
  assert.equal(res.body, '');
  assert.equal(received.length, 1);
  assert.deepEqual(received[0]!.context, { api: 'v2', database: 'b1', org: 'o1' });
  assert.deepEqual(received[0]!.points.map((p) => [p.measurement, p.timeNs]), [['cpu', 1_700_000_000_000_000_000n], ['mem', 1_700_000_000_000_000_000n]]);
});

test('a v2 push with a bad line is refused whole, naming the first bad line as InfluxDB does', async (t) => {
  const { app, received, registry } = await pushApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', headers: { 'content-type': 'text/plain; charset=utf-8' }, payload: 'ok v=1\nbad v=\nworse\nok v=2\n' });
  assert.equal(res.statusCode, 400);
  const body = res.json() as { code: string; message: string; line: number };
  assert.equal(body.code, 'invalid');
  assert.equal(body.line, 2);
  assert.match(body.message, /^unable to parse 'bad v=': .*\(line 2, column 7\) \(and 1 more bad line\)$/);
  assert.equal(received.length, 0);
  assert.match(await registry.metrics(), /shipwatch_line_protocol_bad_lines_total\{api="v2",program="collector"\} 2/);
});

test('a v1 push with a bad line keeps the good lines and answers a partial write', async (t) => {
  const { app, received } = await pushApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/write?db=telegraf&precision=h', payload: 'ok v=1 2\nbad,t v=1\nok v=2 3' });
  assert.equal(res.statusCode, 400);
  const body = res.json() as { error: string; line: number };
  assert.match(body.error, /^partial write: unable to parse 'bad,t v=1': .* dropped=1$/);
  assert.equal(body.line, 2);
  assert.deepEqual(received[0]!.points.map((p) => p.timeNs), [7_200_000_000_000n, 10_800_000_000_000n]);
  assert.deepEqual(received[0]!.context, { api: 'v1', database: 'telegraf', org: '' });

  const none = await app.inject({ method: 'POST', url: '/write?db=telegraf', payload: 'bad\n' });
  assert.equal(none.statusCode, 400);
  assert.match((none.json() as { error: string }).error, /^unable to parse 'bad'/);
});

test('gzip bodies are inflated; gzip garbage is a 400; another encoding is a 415', async (t) => {
  const { app, received } = await pushApp();
  t.after(() => app.close());
  const ok = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', headers: { 'content-encoding': 'gzip' }, payload: gzipSync('m v=1 1\n') });
  assert.equal(ok.statusCode, 204);
  assert.equal(received[0]!.points[0]!.measurement, 'm');
  const garbage = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', headers: { 'content-encoding': 'gzip' }, payload: Buffer.from('not gzip at all') });
  assert.equal(garbage.statusCode, 400);
  assert.match((garbage.json() as { message: string }).message, /^unable to read data: gzip: /);
  const truncated = await app.inject({ method: 'POST', url: '/write?db=d', headers: { 'content-encoding': 'gzip' }, payload: gzipSync('m v=1 1\n').subarray(0, 12) });
  assert.equal(truncated.statusCode, 400);
  const deflate = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', headers: { 'content-encoding': 'br' }, payload: 'm v=1' });
  assert.equal(deflate.statusCode, 415);
  assert.equal(received.length, 1);
});

test('a body over the limit is a 413, compressed or once inflated', async (t) => {
  const { app, received } = await pushApp();
  t.after(() => app.close());
  const big = 'm,host=a v=1 1\n'.repeat(Math.ceil((MAX_BODY * 2) / 15));
  const raw = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', payload: big });
  assert.equal(raw.statusCode, 413);
  assert.deepEqual(raw.json(), { code: 'request too large', message: 'unable to read data: points batch is too large' });
  const bomb = gzipSync(big);
  assert.ok(bomb.length < MAX_BODY);
  const inflated = await app.inject({ method: 'POST', url: '/write?db=d', headers: { 'content-encoding': 'gzip' }, payload: bomb });
  assert.equal(inflated.statusCode, 413);
  assert.deepEqual(inflated.json(), { error: 'Request Entity Too Large' });
  assert.equal(received.length, 0);
});

test('an empty body, a bad precision and a missing bucket or db are answered as InfluxDB does', async (t) => {
  const { app, received } = await pushApp();
  t.after(() => app.close());
  const cases: Array<[string, string, number, unknown]> = [
    ['/api/v2/write?bucket=b', '', 400, { code: 'invalid', message: 'writing requires points' }],
    ['/write?db=d', '', 204, undefined],
    ['/api/v2/write?bucket=b&precision=h', 'm v=1', 400, { code: 'invalid', message: 'invalid precision; valid precision units are ns, us, ms, and s' }],
    ['/api/v2/write', 'm v=1', 404, { code: 'not found', message: 'bucket not found' }],
    ['/write', 'm v=1', 400, { error: 'database is required' }],
  ];
  for (const [url, payload, status, body] of cases) {
    const res = await app.inject({ method: 'POST', url, payload });
    assert.equal(res.statusCode, status, url);
    if (body !== undefined) assert.deepEqual(res.json(), body, url);
  }
  assert.equal(received.length, 0);
});

test('while an output is full a push is answered 503 with Retry-After before its body is read, in both APIs', async (t) => {
  const { app, received } = await pushApp(MAX_BODY, undefined, { full: () => true });
  t.after(() => app.close());
  const v2 = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', payload: 'cpu v=1 1\n' });
  assert.equal(v2.statusCode, 503);
  assert.equal(v2.headers['retry-after'], '5');
  assert.equal(v2.json().code, 'unavailable');
  const v1 = await app.inject({ method: 'POST', url: '/write?db=d', payload: 'cpu v=1 1\n' });
  assert.equal(v1.statusCode, 503);
  assert.match(v1.json().error, /full/);
  assert.equal(received.length, 0);
});

test('a push is answered only once the outputs hold its points, and 503 when they could not keep them', async (t) => {
  let kept = false;
  let release: (() => void) | undefined;
  const { app, received } = await pushApp(MAX_BODY, undefined, {
    settled: () => new Promise<boolean>((resolve) => (release = () => resolve(kept))),
  });
  t.after(() => app.close());
  const answer = app.inject({ method: 'POST', url: '/write?db=d', payload: 'cpu v=1 1\n' });
  await waitFor(() => release !== undefined, { what: 'the push waiting for its points to be kept' });
  assert.equal(received.length, 1);
  release!();
  assert.equal((await answer).statusCode, 503);
  kept = true;
  release = undefined;
  const again = app.inject({ method: 'POST', url: '/write?db=d', payload: 'cpu v=1 1\n' });
  await waitFor(() => release !== undefined, { what: 'the second push waiting' });
  release!();
  assert.equal((await again).statusCode, 204);
});

test('points pushed to the endpoint arrive in VictoriaMetrics through the InfluxDB output', async (t) => {
  const { vmUrl } = testServices();
  const registry = createRegistry('collector', false);
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-push-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const sink = new InfluxDbOutput({
    name: 'influxdb', url: vmUrl, token: '', org: 'shipwatch', bucket: 'telegraf', batchPoints: 500, batchBytes: 4 << 20, flushIntervalMs: 100,
    concurrency: 2, timeoutMs: 5_000, dataDir, bufferMaxBytes: 16 << 20, whenFull: 'block', log: silentLogger, registry,
  });
  t.after(() => sink.close());
  const { app } = await pushApp(MAX_BODY, (points) => sink.write(points), { full: () => sink.full(), settled: () => sink.settled() });
  t.after(() => app.close());

  const measurement = `swpush_${randomBytes(4).toString('hex')}`;
  const nowMs = Date.now();
  const lines = Array.from({ length: 50 }, (_, i) => `${measurement},host=h${i % 5},path=/var\\ lib used=${i}i,pct=${i / 2},up=true ${nowMs - (50 - i) * 1000}`);
  const res = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=telegraf&precision=ms', headers: { 'content-encoding': 'gzip' }, payload: gzipSync(lines.join('\n')) });
  assert.equal(res.statusCode, 204);

  const series = await waitFor(async () => {
    const s = await exportSeries(vmUrl, `{__name__=~"${measurement}_.*"}`);
    return s.reduce((n, x) => n + x.values.length, 0) === 150 && s;
  }, { timeoutMs: 20_000, what: 'the pushed samples in VictoriaMetrics' });
  const used = series.filter((s) => s.metric.__name__ === `${measurement}_used`);
  assert.equal(used.length, 5);
  const h3 = used.find((s) => s.metric.host === 'h3')!;
  assert.equal(h3.metric.path, '/var lib');
  assert.deepEqual(h3.values, [3, 8, 13, 18, 23, 28, 33, 38, 43, 48]);
  assert.deepEqual(h3.timestamps, [3, 8, 13, 18, 23, 28, 33, 38, 43, 48].map((i) => nowMs - (50 - i) * 1000));
  assert.ok(series.some((s) => s.metric.__name__ === `${measurement}_up` && s.values.every((v) => v === 1)));
  assert.match(await registry.metrics(), /shipwatch_delivery_records_total\{output="influxdb",outcome="delivered",program="collector"\} 50/);
});
