/**
 * The InfluxDB output on the delivery chain against the real VictoriaMetrics (made unreachable only behind a relay)
 * and, for answers VictoriaMetrics never gives (400 for one line, 401, 429), a stand-in HTTP server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InfluxDbOutput, type InfluxDbOutputOptions } from '../../../collector/metrics/influxdb-output.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { float, int, makePoint, type MetricPoint } from '../../../model/metric-point.js';
import type { Cleanup } from '../../helpers/cleanup.js';
import { testServices } from '../../helpers/services.js';
import { startTcpSwitch } from '../../helpers/tcp-switch.js';
import { exportSeries } from '../../helpers/victoria-metrics.js';
import { waitFor } from '../../helpers/wait.js';

/** Numbered points of one series, a millisecond apart, starting an hour ago. */
function numbered(measurement: string, from: number, count: number, baseMs: number): MetricPoint[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return makePoint(measurement, [['host', 'h1']], [['n', int(i)], ['x', float(i / 4)]], BigInt(baseMs + i) * 1_000_000n);
  });
}

function dataDir(t: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-influx-out-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * An output with short waits. The request timeout is not short: a request abandoned after VictoriaMetrics stored it
 * (it can be slow on a busy machine) is sent again, and its raw samples would show twice in the export. It is what
 * ends a request that fetch leaves hanging after its connection attempt was reset (seen now and then when two
 * requests start while the relay is down).
 */
function output(t: Cleanup, dir: string, url: string, registry: Registry, extra: Partial<InfluxDbOutputOptions> = {}): InfluxDbOutput {
  const out = new InfluxDbOutput({
    name: 'influxdb', url, token: 'secret-token', org: 'o', bucket: 'telegraf', batchPoints: 500, batchBytes: 4 << 20, flushIntervalMs: 50,
    concurrency: 2, timeoutMs: 5_000, dataDir: dir, bufferMaxBytes: 64 << 20, whenFull: 'block', closeTimeoutMs: 500,
    retry: { initialDelayMs: 50, maxDelayMs: 200 }, log: silentLogger, registry, ...extra,
  });
  t.after(async () => {
    // Holds the event loop while closing: node:test ends a file whose loop runs empty, and the queue's last
    // acknowledgement was seen to wait on the event loop without holding it (the chain's drain timer is unref'd).
    const hold = setInterval(() => undefined, 1_000);
    try {
      await out.close();
    } finally {
      clearInterval(hold);
    }
  });
  return out;
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((x) => Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want)).reduce((n, x) => n + x.value, 0);
}

/** The `n` values of a measurement in VictoriaMetrics, in time order (a duplicate would show twice). */
async function storedNumbers(vmUrl: string, measurement: string): Promise<number[]> {
  const series = await exportSeries(vmUrl, `{__name__="${measurement}_n"}`);
  return series.flatMap((s) => s.values).sort((a, b) => a - b);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * A stand-in target answering what `answer` says, recording each request. It answers `GET /ping` as VictoriaMetrics
 * does (204, no version header: the output writes through /api/v2/write) without recording it.
 */
async function standIn(t: Cleanup, answer: (n: number, body: string, res: ServerResponse, req: IncomingMessage) => void) {
  const requests: Array<{ atMs: number; url: string; auth: string | undefined; body: string }> = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/ping') {
      res.writeHead(204).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ atMs: Date.now(), url: req.url ?? '', auth: req.headers.authorization, body });
      answer(requests.length, body, res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections(); // the output's idle keep-alive connections too
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

test('points written while VictoriaMetrics is out of reach wait on disk, /health says degraded, and arrive once each when it is back', async (t) => {
  const { vmUrl } = testServices();
  const relay = await startTcpSwitch(vmUrl, false);
  t.after(() => relay.close());
  const registry = createRegistry('collector', false);
  const out = output(t, dataDir(t), relay.url, registry);
  const measurement = `swout_${process.pid}_${Date.now()}`;
  const baseMs = Date.now() - 3_600_000;
  for (let from = 0; from < 3_000; from += 300) out.write(numbered(measurement, from, 300, baseMs));
  assert.equal(await out.settled(), true);
  await waitFor(async () => (await metric(registry, 'shipwatch_retries_total')) >= 2, { what: 'retries against the relay that is down' });
  const problem = await out.healthCheck().check();
  assert.match(String(problem), /influxdb: .*no answer from/);
  assert.equal(out.healthCheck().impact, 'degraded');
  assert.ok((await metric(registry, 'shipwatch_buffer_bytes', { output: 'influxdb' })) > 0);

  relay.setUp(true);
  await waitFor(async () => (await storedNumbers(vmUrl, measurement)).length >= 3_000, { timeoutMs: 30_000, what: 'the 3,000 points in VictoriaMetrics' });
  assert.deepEqual(await storedNumbers(vmUrl, measurement), range(0, 3_000));
  await waitFor(async () => (await metric(registry, 'shipwatch_buffer_bytes', { output: 'influxdb' })) === 0, { what: 'the queue emptied' });
  assert.equal(await out.healthCheck().check(), undefined);
  assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { output: 'influxdb', outcome: 'delivered' }), 3_000);
});

test('what was not delivered before a close is delivered by the next output on the same data folder', async (t) => {
  const { vmUrl } = testServices();
  const relay = await startTcpSwitch(vmUrl, false);
  t.after(() => relay.close());
  const dir = dataDir(t);
  const measurement = `swreplay_${process.pid}_${Date.now()}`;
  const baseMs = Date.now() - 3_600_000;
  const first = output(t, dir, relay.url, createRegistry('collector', false));
  first.write(numbered(measurement, 0, 1_000, baseMs));
  assert.equal(await first.settled(), true);
  await first.close();

  relay.setUp(true);
  output(t, dir, relay.url, createRegistry('collector', false));
  await waitFor(async () => (await storedNumbers(vmUrl, measurement)).length >= 1_000, { timeoutMs: 30_000, what: 'the replayed points' });
  assert.deepEqual(await storedNumbers(vmUrl, measurement), range(0, 1_000));
});

test('a truncated queue segment delivers the good points around it and keeps the torn bytes aside', async (t) => {
  const { vmUrl } = testServices();
  const relay = await startTcpSwitch(vmUrl, false);
  t.after(() => relay.close());
  const dir = dataDir(t);
  const measurement = `swtorn_${process.pid}_${Date.now()}`;
  const baseMs = Date.now() - 3_600_000;
  // Three frames of 100 points in the first segment; the last is cut in half as a crash mid-write leaves it.
  const first = output(t, dir, relay.url, createRegistry('collector', false));
  for (let from = 0; from < 300; from += 100) {
    first.write(numbered(measurement, from, 100, baseMs));
    assert.equal(await first.settled(), true);
  }
  await first.close();
  const queueDir = join(dir, 'buffer', 'influxdb');
  const [segment] = readdirSync(queueDir).filter((f) => f.endsWith('.seg'));
  const size = statSync(join(queueDir, segment!)).size;
  truncateSync(join(queueDir, segment!), size - Math.floor(size / 6));

  // The next start writes a new segment after it.
  relay.setUp(true);
  const second = output(t, dir, relay.url, createRegistry('collector', false));
  second.write(numbered(measurement, 300, 100, baseMs));
  await waitFor(async () => (await storedNumbers(vmUrl, measurement)).length >= 300, { timeoutMs: 30_000, what: 'the good points' });
  assert.deepEqual(await storedNumbers(vmUrl, measurement), [...range(0, 200), ...range(300, 400)]);
  const aside = readdirSync(join(queueDir, 'damaged'));
  assert.equal(aside.length, 1);
});

test('a line the target refuses goes to the dead letter with its reason, and the rest of its batch is delivered', async (t) => {
  const stored = new Set<string>();
  const target = await standIn(t, (_n, body, res) => {
    const lines = body.split('\n').filter((l) => l !== '');
    const bad = lines.find((l) => l.includes('n=13i'));
    if (bad !== undefined) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'invalid', message: `partial write: field type conflict: ${bad}` }));
      return;
    }
    for (const l of lines) stored.add(l);
    res.writeHead(204).end();
  });
  const dir = dataDir(t);
  const registry = createRegistry('collector', false);
  const out = output(t, dir, target.url, registry);
  out.write(numbered('swrefuse', 0, 40, Date.now()));
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'rejected' })) === 1, { what: 'the refused line dead-lettered' });
  assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' }), 39);
  assert.equal(stored.size, 39);
  assert.equal(target.requests[0]!.auth, 'Token secret-token');
  assert.match(target.requests[0]!.url, /^\/api\/v2\/write\?org=o&bucket=telegraf&precision=ns$/);
  const [file] = readdirSync(join(dir, 'dead-letter'));
  const letters = readFileSync(join(dir, 'dead-letter', file!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.status, 400);
  assert.match(String(letters[0]!.reason), /field type conflict/);
  assert.match(String(letters[0]!.record), /^swrefuse,host=h1 n=13i,x=3\.25 \d+$/);
});

test('a 401 is tried again with /health naming the token, and the points go through once it is accepted', async (t) => {
  let accept = false;
  const target = await standIn(t, (_n, _body, res) => {
    if (accept) res.writeHead(204).end();
    else res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'unauthorized', message: 'unauthorized access' }));
  });
  const registry = createRegistry('collector', false);
  const out = output(t, dataDir(t), target.url, registry);
  out.write(numbered('swauth', 0, 10, Date.now()));
  await waitFor(() => target.requests.length >= 3, { what: 'a few tries' });
  const problem = String(await out.healthCheck().check());
  assert.match(problem, /401 unauthorized access \(check INFLUXDB_TOKEN\)/);
  assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'rejected' }), 0);
  accept = true;
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 10, { what: 'the points delivered' });
  assert.equal(await out.healthCheck().check(), undefined);
});

test('a 429 is tried again after the Retry-After the target asks for', async (t) => {
  const target = await standIn(t, (n, _body, res) => {
    if (n === 1) res.writeHead(429, { 'retry-after': '1' }).end();
    else res.writeHead(204).end();
  });
  const registry = createRegistry('collector', false);
  const out = output(t, dataDir(t), target.url, registry);
  out.write(numbered('swthrottle', 0, 3, Date.now()));
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 3, { what: 'the retried write' });
  assert.equal(target.requests.length, 2);
  assert.ok(target.requests[1]!.atMs - target.requests[0]!.atMs >= 950, `waited ${target.requests[1]!.atMs - target.requests[0]!.atMs} ms`);
  assert.equal(target.requests[1]!.body, target.requests[0]!.body);
});

test('a full queue says full with when_full=block, and drops new points, counted, with when_full=drop', async (t) => {
  const { vmUrl } = testServices();
  const relay = await startTcpSwitch(vmUrl, false);
  t.after(() => relay.close());
  const blocking = output(t, dataDir(t), relay.url, createRegistry('collector', false), { bufferMaxBytes: 64 << 10 });
  let written = 0;
  while (!blocking.full() && written < 100_000) {
    blocking.write(numbered('swfull', written, 100, Date.now()));
    written += 100;
    await blocking.settled();
  }
  assert.ok(blocking.full(), 'full after about 64 KiB');
  assert.match(String(await blocking.healthCheck().check()), /disk buffer is full .*INFLUXDB_BUFFER_MAX_SIZE/);

  const registry = createRegistry('collector', false);
  const dropping = output(t, dataDir(t), relay.url, registry, { bufferMaxBytes: 64 << 10, whenFull: 'drop' });
  for (let from = 0; from < written + 2_000; from += 100) {
    dropping.write(numbered('swfull', from, 100, Date.now()));
    assert.equal(await dropping.settled(), true, 'dropped points count as taken');
  }
  assert.equal(dropping.full(), false);
  assert.ok((await metric(registry, 'shipwatch_delivery_refused_records_total', { output: 'influxdb', reason: 'busy' })) >= 2_000);
});
