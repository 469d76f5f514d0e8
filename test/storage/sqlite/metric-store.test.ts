import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseLineProtocol } from '../../../collector/metrics/line-protocol-parser.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreMetricStorage } from '../../../storage/sqlite/metric-store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse('2024-05-01T12:00:00Z');
const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

function open(options: { retentionMs?: number; maxQueuedPoints?: number; batchPoints?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-metrics-'));
  dirs.push(dir);
  const registry = createRegistry('collector', false);
  const db = new StoreDatabase({ dataDir: dir, retentionMs: options.retentionMs ?? 0, log: silentLogger, retentionBatchRows: 5 });
  const store = new StoreMetricStorage(db, { log: silentLogger, registry, maxQueuedPoints: options.maxQueuedPoints, batchPoints: options.batchPoints ?? 3 });
  return { dir, db, store, registry };
}

function lines(text: string) {
  const r = parseLineProtocol(text);
  assert.deepEqual(r.failures, []);
  return r.points;
}

/** cpu of two hosts every 10 s for a minute, mem of one host, a string and a boolean field. */
function sample(): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) {
    const t = ns(T0 + i * 10_000);
    out.push(`cpu,host=a,region=eu usage=${10 + i},state="s${i}",busy=${i % 2 === 0 ? 't' : 'f'} ${t}`);
    out.push(`cpu,host=b,region=us usage=${50 + i} ${t}`);
  }
  out.push(`mem,host=a used=1024i,total=9223372036854775807i ${ns(T0)}`);
  return out.join('\n');
}

test('written points are listed by measurement, field and tag, and read back per series and step', async () => {
  const { store, db } = open();
  store.write(lines(sample()));
  await store.close();
  assert.deepEqual(await store.measurements(), [
    { measurement: 'cpu', fields: [{ name: 'busy', type: 'bool' }, { name: 'state', type: 'string' }, { name: 'usage', type: 'float' }], tagKeys: ['host', 'region'] },
    { measurement: 'mem', fields: [{ name: 'total', type: 'int' }, { name: 'used', type: 'int' }], tagKeys: ['host'] },
  ]);
  assert.deepEqual(await store.tagValues('cpu', 'host', 10), ['a', 'b']);
  assert.deepEqual(await store.tagValues('cpu', 'host', 1), ['a']);

  const base = { measurement: 'cpu', field: 'usage', tags: {}, startMs: T0, endMs: T0 + 60_000, stepMs: 30_000, maxSeries: 10 };
  const avg = await store.series({ ...base, aggregate: 'avg' });
  assert.deepEqual(avg?.series, [
    { tags: { host: 'a', region: 'eu' }, points: [[T0, 11], [T0 + 30_000, 14]] },
    { tags: { host: 'b', region: 'us' }, points: [[T0, 51], [T0 + 30_000, 54]] },
  ]);
  const last = await store.series({ ...base, tags: { host: 'a' }, aggregate: 'last', stepMs: 60_000 });
  assert.deepEqual(last?.series, [{ tags: { host: 'a', region: 'eu' }, points: [[T0, 15]] }]);
  const strings = await store.series({ ...base, field: 'state', aggregate: 'last', stepMs: 20_000 });
  assert.deepEqual(strings?.series[0]?.points, [[T0, 's1'], [T0 + 20_000, 's3'], [T0 + 40_000, 's5']]);
  const busy = await store.series({ ...base, field: 'busy', aggregate: 'avg', stepMs: 60_000 });
  assert.deepEqual(busy?.series[0]?.points, [[T0, 0.5]]);
  const inRange = await store.series({ ...base, startMs: T0 + 10_000, endMs: T0 + 30_000, stepMs: 10_000, aggregate: 'count' });
  assert.deepEqual(inRange?.series.map((s) => s.points), [[[T0 + 10_000, 1], [T0 + 20_000, 1]], [[T0 + 10_000, 1], [T0 + 20_000, 1]]]);
  const one = await store.series({ ...base, maxSeries: 1, aggregate: 'max' });
  assert.equal(one?.series.length, 1);
  assert.equal(one?.truncated, true);
  assert.equal(await store.series({ ...base, field: 'nope', aggregate: 'avg' }), undefined);
  // 64-bit integers are kept exactly.
  assert.equal(db.db.prepare("SELECT value FROM metric_points p JOIN metric_fields f ON f.id = p.field WHERE f.field = 'total'").safeIntegers().pluck().get(), 9223372036854775807n);
  db.close();
});

test('a point at the same time replaces the earlier value, also across batches', async () => {
  const { store, db } = open({ batchPoints: 2 });
  store.write(lines(`m,k=v x=1 ${ns(T0)}\nm,k=v x=2 ${ns(T0)}\nm,k=v x=3 ${ns(T0 + 1)}`));
  store.flush();
  const rows = db.db.prepare('SELECT ts_ns, value FROM metric_points ORDER BY ts_ns').raw().all();
  assert.deepEqual(rows, [[Number(ns(T0)), 2], [Number(ns(T0 + 1)), 3]]);
  await store.close();
  db.close();
});

test('points written are flushed by the timer, kept across a restart, and a full queue drops and counts', async () => {
  const { store, db, dir, registry } = open({ maxQueuedPoints: 4, batchPoints: 100 });
  store.write(lines(`m v=1 ${ns(T0)}\nm v=2 ${ns(T0 + 1000)}\nm v=3 ${ns(T0 + 2000)}`));
  store.write(lines(`m v=4 ${ns(T0 + 3000)}\nm v=5 ${ns(T0 + 4000)}`));
  const dropped = (await registry.getSingleMetric('shipwatch_metric_store_dropped_total')?.get())?.values ?? [];
  assert.deepEqual(dropped.map((v) => [v.labels['reason'], v.value]), [['queue_full', 2]]);
  const deadline = Date.now() + 5_000;
  while ((db.db.prepare('SELECT count(*) FROM metric_points').pluck().get() as number) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await store.close();
  store.write(lines(`m v=6 ${ns(T0 + 5000)}`));
  db.close();

  const again = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const reopened = new StoreMetricStorage(again, { log: silentLogger });
  const series = await reopened.series({ measurement: 'm', field: 'v', tags: {}, startMs: T0, endMs: T0 + 10_000, stepMs: 1000, aggregate: 'last', maxSeries: 1 });
  assert.deepEqual(series?.series[0]?.points, [[T0, 1], [T0 + 1000, 2], [T0 + 2000, 3]]);
  await reopened.close();
  again.close();
});

test('retention deletes old points, then the series and fields left without any', async () => {
  const day = 86_400_000;
  const { store, db } = open({ retentionMs: 7 * day });
  const now = T0 + 30 * day;
  const old = Array.from({ length: 12 }, (_, i) => `old,host=h${i % 3} v=${i} ${ns(now - 10 * day + i)}`).join('\n');
  store.write(lines(`${old}\nkept,host=h0 v=1 ${ns(now - day)}\nold,host=h0 w=1 ${ns(now - day)}`));
  store.flush();
  const deleted = db.runRetention(now);
  assert.equal(deleted['metrics'], 12 + 2 + 1);
  const left = await store.measurements();
  assert.deepEqual(left.map((m) => [m.measurement, m.fields.map((f) => f.name), m.tagKeys]), [['kept', ['v'], ['host']], ['old', ['w'], ['host']]]);
  assert.deepEqual(await store.tagValues('old', 'host', 10), ['h0']);
  // Points of a series retention removed get a new series.
  store.write(lines(`old,host=h1 v=5 ${ns(now)}`));
  store.flush();
  assert.deepEqual(await store.tagValues('old', 'host', 10), ['h0', 'h1']);
  await store.close();
  db.close();
});
