import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildAdminApp } from '../../../platform/http/admin-server.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { silentLogger } from '../../../platform/log.js';
import type { MetricPoint, PointRefusal } from '../../../model/metric-point.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreMetricStorage } from '../../../storage/sqlite/metric-store.js';
import { registerLineProtocolPush } from '../../../collector/metrics/line-protocol-push.js';
import { createMetricOutputs } from '../../../collector/metrics/metric-outputs.js';
import { watchEventLoop } from '../../helpers/event-loop-watch.js';

const LIMITS = { maxFieldsPerLine: 3, maxTagValueBytes: 8, maxStringFieldBytes: 8, maxSeriesKeyBytes: 40 };

async function pushApp(admit?: (points: readonly MetricPoint[]) => PointRefusal[]) {
  const registry = createRegistry('collector', false);
  const app = buildAdminApp({ registry, health: [], log: silentLogger });
  const received: MetricPoint[] = [];
  await registerLineProtocolPush(app, { maxBodyBytes: 1 << 20, log: silentLogger, registry, limits: LIMITS, admit, onPoints: (points) => received.push(...points) });
  await app.ready();
  return { app, received, registry };
}

test('a v1 push keeps the lines within the limits and answers a partial write naming the limit and its variable', async (t) => {
  const { app, received, registry } = await pushApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/write?db=d', payload: 'ok v=1\nwide a=1,b=2,c=3,d=4\nbig,t=123456789 v=1\nstr s="123456789"\nok v=2\n' });
  assert.equal(res.statusCode, 400);
  const body = res.json() as { error: string; line: number };
  assert.equal(body.line, 2);
  assert.match(body.error, /^partial write: unable to parse 'wide a=1,b=2,c=3,d=4': more than 3 fields in one line, over the limit of 3 fields per line \(COLLECTOR_WRITE_MAX_FIELDS\) \(line 2, column 18\) \(and 2 more bad lines\) dropped=3$/);
  assert.deepEqual(received.map((p) => p.fieldValues[0]), [1, 2]);
  const metrics = await registry.metrics();
  for (const reason of ['fields_per_line', 'tag_value_bytes', 'field_value_bytes']) {
    assert.match(metrics, new RegExp(`shipwatch_line_protocol_refused_total\\{api="v1",reason="${reason}",program="collector"\\} 1`));
  }
  assert.doesNotMatch(metrics, /shipwatch_line_protocol_bad_lines_total\{/);
});

test('a v2 push drops a line over a limit alone, in the v2 shape, and still refuses a body that does not parse whole', async (t) => {
  const { app, received } = await pushApp();
  t.after(() => app.close());
  const partial = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', payload: `ok v=1\n${'m'.repeat(41)} v=1\nok v=2\n` });
  assert.equal(partial.statusCode, 400);
  const body = partial.json() as { code: string; message: string; line: number };
  assert.equal(body.code, 'invalid');
  assert.equal(body.line, 2);
  assert.match(body.message, /^partial write: unable to parse 'm+ v=1': the series key .* over the limit of 40 bytes \(COLLECTOR_WRITE_MAX_SERIES_KEY\) \(line 2, column 1\) dropped=1$/);
  assert.equal(received.length, 2);

  const none = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', payload: 'wide a=1,b=2,c=3,d=4\n' });
  assert.equal(none.statusCode, 400);
  assert.match((none.json() as { message: string }).message, /^unable to parse 'wide a=1,b=2,c=3,d=4': more than 3 fields/);

  const bad = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=b', payload: 'ok v=3\nwide a=1,b=2,c=3,d=4\nbroken v=\n' });
  assert.equal(bad.statusCode, 400);
  assert.match((bad.json() as { message: string }).message, /^unable to parse 'wide/);
  assert.equal(received.length, 2, 'a body with a line that does not parse is refused whole');
});

test('points an output refuses are dropped from the push and answered as a partial write with its reason', async (t) => {
  const admit = (points: readonly MetricPoint[]): PointRefusal[] =>
    points.flatMap((p, index) => (p.tagValues[0] === 'new' ? [{ index, reason: 'series_per_measurement', message: 'max series per measurement exceeded (2/2): measurement "m"' }] : []));
  const { app, received, registry } = await pushApp(admit);
  t.after(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/write?db=d', payload: 'm,h=old v=1\nm,h=new v=2\nm,h=old v=3\n' });
  assert.equal(res.statusCode, 400);
  assert.deepEqual(res.json(), { error: 'partial write: max series per measurement exceeded (2/2): measurement "m" dropped=1' });
  assert.deepEqual(received.map((p) => p.fieldValues[0]), [1, 3]);
  assert.match(await registry.metrics(), /shipwatch_line_protocol_refused_total\{api="v1",reason="series_per_measurement",program="collector"\} 1/);
});

/** The collector's metric outputs with the embedded store, on a real admin server, configured as `all` is by default. */
async function collectorWithStore(t: { after(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-push-limits-'));
  const config = loadConfig({}, 'all');
  const registry = createRegistry('collector', false);
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const store = new StoreMetricStorage(db, { log: silentLogger, registry, maxSeriesPerMeasurement: config.collector.metricsStoreMaxSeries });
  const outputs = createMetricOutputs(config.collector, { log: silentLogger, registry, dataDir: dir, extra: [store] });
  const app = buildAdminApp({ registry, health: outputs.health, log: silentLogger });
  await outputs.configureAdmin(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  t.after(async () => {
    await app.close();
    await outputs.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { base, store, db, registry };
}

/**
 * POSTs a large body in slices of 256 KiB, the way a client in another process would send it. fetch copies a
 * body whole before sending (20 MB: 40 ms and more of this process's event loop), which the watch would count
 * against the collector.
 */
async function post(url: string, body: string | Buffer): Promise<{ status: number; text: string }> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-length': bytes.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const SLICE = 256 * 1024;
    let at = 0;
    const write = (): void => {
      while (at < bytes.length) {
        const slice = bytes.subarray(at, at + SLICE);
        at += slice.length;
        if (!req.write(slice)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

async function warmUp(base: string): Promise<void> {
  for (let i = 0; i < 20; i++) await fetch(`${base}/write?db=d`, { method: 'POST', body: `warm,h=${i} v=${i},s="x"\n` });
}

test('a line of 100,000 fields is refused naming the limit while /health keeps answering and the event loop never stalls 100 ms', async (t) => {
  const { base, store } = await collectorWithStore(t);
  await warmUp(base);
  const body = `wide,host=a ${Array.from({ length: 100_000 }, (_, i) => `f${i}=${i}`).join(',')}\nkept,host=a v=1\n`;
  const watch = watchEventLoop(`${base}/health`);
  const res = await post(`${base}/write?db=d`, body);
  const text = res.text;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const loop = await watch.stop();
  assert.equal(res.status, 400);
  assert.match(JSON.parse(text).error, /^partial write: unable to parse 'wide,host=a f0=0,.*': more than 10000 fields in one line.*\(COLLECTOR_WRITE_MAX_FIELDS\).* dropped=1$/);
  store.flush();
  assert.deepEqual((await store.measurements()).map((m) => m.measurement), ['kept', 'warm']);
  t.diagnostic(`event loop: held at most ${loop.maxDelayMs.toFixed(1)} ms (wall ${loop.maxWallDelayMs.toFixed(1)} ms), slowest /health ${loop.slowestHealthMs.toFixed(1)} ms of ${loop.healthAnswers}`);
  assert.ok(loop.healthAnswers > 0 && loop.healthFailures === 0);
  assert.ok(loop.maxDelayMs < 100, `event loop held ${loop.maxDelayMs.toFixed(1)} ms`);
});

test('a 20 MB tag value is refused with 400 naming the limit while /health keeps answering and the event loop never stalls 100 ms', async (t) => {
  const { base, store } = await collectorWithStore(t);
  await warmUp(base);
  const body = Buffer.from(`big,tag=${'v'.repeat(20_000_000)} v=1\nkept,host=a v=1\n`);
  const watch = watchEventLoop(`${base}/health`);
  const res = await post(`${base}/api/v2/write?bucket=b`, body);
  const answer = JSON.parse(res.text) as { code: string; message: string };
  await new Promise((resolve) => setTimeout(resolve, 100));
  const loop = await watch.stop();
  assert.equal(res.status, 400);
  assert.equal(answer.code, 'invalid');
  assert.match(answer.message, /^partial write: unable to parse 'big,tag=v+': the value of tag "tag" is more than 131072 bytes, over the limit of 65535 bytes per tag value \(COLLECTOR_WRITE_MAX_TAG_VALUE\) \(line 1, column 9\) dropped=1$/);
  store.flush();
  assert.deepEqual((await store.measurements()).map((m) => m.measurement), ['kept', 'warm']);
  t.diagnostic(`event loop: held at most ${loop.maxDelayMs.toFixed(1)} ms (wall ${loop.maxWallDelayMs.toFixed(1)} ms), slowest /health ${loop.slowestHealthMs.toFixed(1)} ms of ${loop.healthAnswers}`);
  assert.ok(loop.healthAnswers > 0 && loop.healthFailures === 0);
  assert.ok(loop.maxDelayMs < 100, `event loop held ${loop.maxDelayMs.toFixed(1)} ms`);
});

test('a body of 25,000 lines is parsed, handed over and stored in slices while the event loop never stalls 100 ms', async (t) => {
  const { base, store, db, registry } = await collectorWithStore(t);
  await warmUp(base);
  // 100,000 values: about 20 MiB of WAL, below the size at which a commit checkpoints it (a stall of its own).
  const lines: string[] = [];
  for (let i = 0; i < 25_000; i++) lines.push(`cpu,cpu=cpu${i % 4},host=web-${String(i % 500).padStart(3, '0')}.eu-west-1.internal usage_user=${i % 100}.5,usage_system=1.25,usage_idle=${i % 97}.5,usage_iowait=0.5 ${1_700_000_000_000_000_000n + BigInt(i)}`);
  const body = Buffer.from(lines.join('\n'));
  // Waited for by the store's counter of values written, not by counting rows: a count over 100,000 rows on this
  // thread held it 30-90 ms itself.
  const written = async (): Promise<number> => (await registry.getSingleMetric('shipwatch_metric_store_points_total')!.get()).values[0]?.value ?? 0;
  const before = await written();
  const watch = watchEventLoop(`${base}/health`);
  const res = await post(`${base}/api/v2/write?bucket=b`, body);
  assert.equal(res.status, 204);
  const deadline = Date.now() + 60_000;
  while ((await written()) < before + 100_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const loop = await watch.stop();
  const count = db.db.prepare("SELECT count(*) FROM metric_points p JOIN metric_series s ON s.id = p.series WHERE s.measurement = 'cpu'").pluck();
  assert.equal(count.get(), 100_000);
  store.flush();
  t.diagnostic(`${(body.length / 1024 / 1024).toFixed(1)} MiB; event loop: held at most ${loop.maxDelayMs.toFixed(1)} ms (wall ${loop.maxWallDelayMs.toFixed(1)} ms), slowest /health ${loop.slowestHealthMs.toFixed(1)} ms of ${loop.healthAnswers}`);
  assert.ok(loop.healthAnswers > 0 && loop.healthFailures === 0);
  assert.ok(loop.maxDelayMs < 100, `event loop held ${loop.maxDelayMs.toFixed(1)} ms`);
});
