/**
 * The InfluxDB output against the real InfluxDB 1.x of the test set-up (Debian's package, 1.6: no /api/v2/write):
 * the server is asked which API it has, the points go through `/write` into a database created when missing (and a
 * retention policy named in the bucket), a database dropped under the output is created again, and a server that
 * changes under the URL (VictoriaMetrics, then InfluxDB 1.x) is noticed at the 404 and written with its own API.
 * One stand-in server gives the answers the test InfluxDB (no authentication) never gives: Basic credentials and a
 * user not allowed to create the database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InfluxDbOutput, type InfluxDbOutputOptions } from '../../../collector/metrics/influxdb-output.js';
import { createLogger } from '../../../platform/log.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { float, int, makePoint, type MetricPoint } from '../../../model/metric-point.js';
import type { Cleanup } from '../../helpers/cleanup.js';
import { databases, influxDbUrl, influxQuery, influxRows, NO_INFLUXDB, ownInfluxDb, scratchDatabase } from '../../helpers/influxdb.js';
import { exportSeries } from '../../helpers/victoria-metrics.js';
import { waitFor } from '../../helpers/wait.js';

const INFLUX = influxDbUrl();
const skip = INFLUX === undefined ? NO_INFLUXDB : false;
const VM = process.env.SHIPWATCH_TEST_VM_URL;

function numbered(measurement: string, from: number, count: number, baseMs: number): MetricPoint[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return makePoint(measurement, [['host', 'h1']], [['n', int(i)], ['x', float(i / 4)]], BigInt(baseMs + i) * 1_000_000n);
  });
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

interface Harness {
  out: InfluxDbOutput;
  registry: Registry;
  logs: Array<Record<string, unknown>>;
}

function output(t: Cleanup, url: string, bucket: string, extra: Partial<InfluxDbOutputOptions> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-influx-v1-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'info', sink: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } });
  const registry = createRegistry('collector', false);
  const out = new InfluxDbOutput({
    name: 'influxdb', url, token: '', org: '', bucket, batchPoints: 500, batchBytes: 4 << 20, flushIntervalMs: 50,
    concurrency: 2, timeoutMs: 5_000, dataDir: dir, bufferMaxBytes: 64 << 20, whenFull: 'block', closeTimeoutMs: 500,
    retry: { initialDelayMs: 50, maxDelayMs: 200 }, log, registry, ...extra,
  });
  t.after(async () => {
    const hold = setInterval(() => undefined, 1_000); // see influxdb-output.test.ts: the close must hold the loop
    try {
      await out.close();
    } finally {
      clearInterval(hold);
    }
  });
  return { out, registry, logs };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((x) => Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want)).reduce((n, x) => n + x.value, 0);
}

/** The `n` values of a measurement in InfluxDB, sorted. */
async function storedNumbers(url: string, db: string, from: string): Promise<number[]> {
  return (await influxRows(url, db, `SELECT n FROM ${from}`)).map((r) => Number(r.n)).sort((a, b) => a - b);
}

function apisLogged(logs: Array<Record<string, unknown>>): Array<[unknown, unknown]> {
  return logs.filter((l) => l.msg === 'InfluxDB output writes through the API its server has').map((l) => [l.api, l.server]);
}

test('against InfluxDB 1.6 the points go through /write into the database the output creates, each once at its own time', { skip }, async (t) => {
  const url = INFLUX!;
  const db = scratchDatabase(t, url, 'v1create');
  assert.ok(!(await databases(url)).includes(db));
  const { out, registry, logs } = output(t, url, db);
  const baseMs = Date.now() - 3_600_000;
  for (let from = 0; from < 2_000; from += 250) out.write(numbered('swv1', from, 250, baseMs));
  assert.equal(await out.settled(), true);
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 2_000, { timeoutMs: 30_000, what: '2,000 points delivered' });

  assert.ok((await databases(url)).includes(db), 'the database was created');
  const rows = await influxRows(url, db, 'SELECT n, x, host FROM swv1');
  assert.deepEqual(rows.map((r) => Number(r.n)).sort((a, b) => a - b), range(0, 2_000));
  for (const r of rows) {
    assert.equal(r.time, baseMs + Number(r.n));
    assert.equal(r.x, Number(r.n) / 4);
    assert.equal(r.host, 'h1');
  }
  const [version] = apisLogged(logs);
  assert.equal(version?.[0], '/write');
  assert.match(String(version?.[1]), /^InfluxDB 1\.[0-7]\./);
  assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'rejected' }), 0);
});

test('points written before the server first answers wait on disk, /health names /ping, and they arrive once it is up', { skip }, async (t) => {
  const influx = await ownInfluxDb(t); // not started yet
  const { out, registry } = output(t, influx.url, 'telegraf');
  const baseMs = Date.now() - 3_600_000;
  out.write(numbered('swv1late', 0, 300, baseMs));
  assert.equal(await out.settled(), true);
  await waitFor(async () => (await metric(registry, 'shipwatch_retries_total')) >= 2, { what: 'tries while nothing answers' });
  assert.match(String(await out.healthCheck().check()), /influxdb: .*no answer from http:\/\/127\.0\.0\.1:\d+\/ping/);
  assert.ok((await metric(registry, 'shipwatch_buffer_bytes', { output: 'influxdb' })) > 0, 'the points wait in the queue');

  await influx.start();
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 300, { timeoutMs: 30_000, what: 'the points delivered' });
  assert.deepEqual(await storedNumbers(influx.url, 'telegraf', 'swv1late'), range(0, 300));
  assert.equal(await out.healthCheck().check(), undefined);
});

test('a retention policy named in the bucket (database/policy) is the one written to', { skip }, async (t) => {
  const url = INFLUX!;
  const db = scratchDatabase(t, url, 'v1rp');
  await influxQuery(url, `CREATE DATABASE "${db}"`);
  await influxQuery(url, `CREATE RETENTION POLICY "sw_week" ON "${db}" DURATION 7d REPLICATION 1`);
  const { out, registry } = output(t, url, `${db}/sw_week`);
  out.write(numbered('swv1rp', 0, 100, Date.now() - 60_000));
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 100, { timeoutMs: 30_000, what: 'the points delivered' });
  assert.deepEqual(await storedNumbers(url, db, '"sw_week"."swv1rp"'), range(0, 100));
  assert.deepEqual(await storedNumbers(url, db, '"autogen"."swv1rp"'), [], 'nothing in the default policy');
});

test('a database dropped under the output is created again at the 404, and the points that waited arrive', { skip }, async (t) => {
  const url = INFLUX!;
  const db = scratchDatabase(t, url, 'v1dropped');
  const { out, registry } = output(t, url, db);
  const baseMs = Date.now() - 3_600_000;
  out.write(numbered('swv1drop', 0, 100, baseMs));
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 100, { timeoutMs: 30_000, what: 'the first points' });

  await influxQuery(url, `DROP DATABASE "${db}"`);
  out.write(numbered('swv1drop', 100, 100, baseMs));
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 200, { timeoutMs: 30_000, what: 'the points written after the drop' });
  assert.deepEqual(await storedNumbers(url, db, 'swv1drop'), range(100, 200));
  assert.ok((await metric(registry, 'shipwatch_retries_total')) >= 1, 'the write answered 404 was tried again');
  assert.equal(await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'rejected' }), 0);
});

/** A TCP relay whose target can be changed; the connections open at the change are cut. */
async function switchableRelay(t: Cleanup, targetUrl: string) {
  let target = new URL(targetUrl);
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    open.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of open) s.destroy();
    server.close(() => resolve());
  }));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    retarget(url: string): void {
      target = new URL(url);
      for (const s of open) s.destroy();
    },
  };
}

test('a server that changes under the URL, VictoriaMetrics then InfluxDB 1.6, is asked again at the 404 and written with its API', { skip: skip || (VM === undefined && 'SHIPWATCH_TEST_VM_URL not set') }, async (t) => {
  const url = INFLUX!;
  const db = scratchDatabase(t, url, 'v1moved');
  const relay = await switchableRelay(t, VM!);
  const { out, registry, logs } = output(t, relay.url, db);
  const measurement = `swv1moved_${process.pid}_${Date.now()}`;
  const baseMs = Date.now() - 3_600_000;
  out.write(numbered(measurement, 0, 100, baseMs));
  const inVm = await waitFor(async () => {
    const values = (await exportSeries(VM!, `{__name__="${measurement}_n"}`)).flatMap((s) => s.values);
    return values.length >= 100 && values;
  }, { timeoutMs: 30_000, what: 'the first points in VictoriaMetrics' });
  assert.deepEqual([...inVm].sort((a, b) => a - b), range(0, 100));
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 100, { what: 'the first points acknowledged' });

  relay.retarget(url);
  out.write(numbered(measurement, 100, 100, baseMs));
  await waitFor(async () => (await metric(registry, 'shipwatch_delivery_records_total', { outcome: 'delivered' })) === 200, { timeoutMs: 30_000, what: 'the points written after the change' });
  assert.deepEqual(await storedNumbers(url, db, `"${measurement}"`), range(100, 200));
  const apis = apisLogged(logs);
  assert.deepEqual(apis.map(([api]) => api), ['/api/v2/write', '/write']);
  assert.match(String(apis[0]![1]), /without X-Influxdb-Version/);
  assert.match(String(apis[1]![1]), /^InfluxDB 1\./);
});

test('the 1.x API sends user:password as Basic auth; a user who may not create the database gets a 404 naming the bucket and why', async (t) => {
  // The test InfluxDB runs without authentication: these answers come from a stand-in speaking as InfluxDB 1.7 does.
  const requests: Array<{ method: string; url: string; auth: string | undefined; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body: Buffer.concat(chunks).toString() });
      const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json', 'x-influxdb-version': '1.7.10' }).end(JSON.stringify(body));
      if (req.url === '/ping') res.writeHead(204, { 'x-influxdb-version': '1.7.10' }).end();
      else if (req.url === '/query') json(403, { error: 'error authorizing query: writer not authorized to execute statement \'CREATE DATABASE telegraf\', requires admin privilege' });
      else json(404, { error: 'database not found: "telegraf"' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  const { out } = output(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'telegraf/two_weeks', { token: 'writer:s3cret' });
  out.write(numbered('swv1auth', 0, 5, Date.now()));
  await waitFor(() => requests.filter((r) => r.url.startsWith('/write')).length >= 2, { what: 'two writes' });
  const basic = `Basic ${Buffer.from('writer:s3cret').toString('base64')}`;
  const [ping, create, write] = requests;
  assert.deepEqual([ping!.method, ping!.url], ['GET', '/ping']);
  assert.deepEqual([create!.method, create!.url, create!.auth, new URLSearchParams(create!.body).get('q')], ['POST', '/query', basic, 'CREATE DATABASE "telegraf"']);
  assert.deepEqual([write!.method, write!.url, write!.auth], ['POST', '/write?db=telegraf&rp=two_weeks&precision=ns', basic]);
  assert.match(write!.body, /^swv1auth,host=h1 n=0i,x=0 \d+\n/);
  // Each 404 asks the server again (it may have changed): ping and create come before the next write.
  assert.deepEqual(requests.slice(3, 6).map((r) => r.url.split('?')[0]), ['/ping', '/query', '/write']);
  const problem = String(await out.healthCheck().check());
  assert.match(problem, /\/write \(InfluxDB 1\.7\.10\) answered 404 database not found: "telegraf" \(check INFLUXDB_BUCKET: database or database\/retention-policy\); creating it failed: 403 .*requires admin privilege/);
});
