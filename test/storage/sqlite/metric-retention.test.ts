/**
 * Retention of the embedded store's metrics (storage/sqlite/metric-retention.ts) over what made it hold the process
 * for seconds (7–11 s a run before): a series with a 1 MB tag value and 100,000 fields, measured by the event
 * loop's longest delay while a client asks /health every 10 ms.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseLineProtocol } from '../../../collector/metrics/line-protocol-parser.js';
import { buildAdminApp } from '../../../platform/http/admin-server.js';
import { silentLogger } from '../../../platform/log.js';
import { FLOAT, type MetricPoint } from '../../../model/metric-point.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreMetricStorage } from '../../../storage/sqlite/metric-store.js';
import { watchEventLoop } from '../../helpers/event-loop-watch.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const DAY_MS = 86_400_000;
const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

function open() {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-metric-retention-'));
  dirs.push(dir);
  // The timer never fires on its own here: the tests start the pass it would.
  const db = new StoreDatabase({ dataDir: dir, retentionMs: DAY_MS, retentionIntervalMs: 3_600_000, log: silentLogger });
  const store = new StoreMetricStorage(db, { log: silentLogger });
  return { db, store };
}

const points = (text: string): MetricPoint[] => parseLineProtocol(text).points;

/** A point of `fields` float fields at `timeNs`, built directly: the store also takes what no pushed line may hold. */
function widePoint(tagValue: string, fieldKeys: readonly string[], timeNs: bigint): MetricPoint {
  return {
    measurement: 'wide', tagKeys: ['big'], tagValues: [tagValue], fieldKeys,
    fieldTypes: new Uint8Array(fieldKeys.length).fill(FLOAT), fieldValues: fieldKeys.map((_, i) => i + 0.5), timeNs,
  };
}

test('a retention run over a series with a 1 MB tag value and 100,000 fields keeps the event loop under 100 ms while /health answers', async (t) => {
  const { db, store } = open();
  const nowMs = Date.now();
  const fieldKeys = Array.from({ length: 100_000 }, (_, i) => `f${i}`);
  const tagValue = 'v'.repeat(1_000_000);
  const tagValues = [tagValue];
  for (const ageMs of [3 * DAY_MS, 2 * DAY_MS]) store.write([{ ...widePoint(tagValue, fieldKeys, ns(nowMs - ageMs)), tagValues }]);
  store.write(points(`kept,host=a v=1 ${ns(nowMs)}\n`));
  store.flush();
  assert.equal(db.db.prepare('SELECT count(*) FROM metric_points').pluck().get(), 200_001);

  const registry = createRegistry('collector', false);
  const app = buildAdminApp({ registry, health: [], log: silentLogger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const watch = watchEventLoop(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/health`);
  const startMs = performance.now();
  const deleted = await db.runRetentionInSlices(nowMs);
  const tookMs = performance.now() - startMs;
  const loop = await watch.stop();

  assert.deepEqual(deleted, { metrics: 200_000 + 1 + 100_000 });
  assert.deepEqual((await store.measurements()).map((m) => m.measurement), ['kept']);
  assert.equal(db.db.prepare('SELECT count(*) FROM metric_series_tags').pluck().get(), 1);
  t.diagnostic(`retention ${tookMs.toFixed(0)} ms; event loop: held at most ${loop.maxDelayMs.toFixed(1)} ms (wall ${loop.maxWallDelayMs.toFixed(1)} ms), slowest /health ${loop.slowestHealthMs.toFixed(1)} ms of ${loop.healthAnswers}`);
  assert.ok(loop.healthAnswers > 0 && loop.healthFailures === 0);
  assert.ok(loop.maxDelayMs < 100, `event loop held ${loop.maxDelayMs.toFixed(1)} ms`);
  await store.close();
  db.close();
});

test('a retention step visits a bounded number of point ranges, and a pass with nothing old visits each once', async () => {
  const { db, store } = open();
  const nowMs = Date.now();
  const fieldKeys = Array.from({ length: 5_000 }, (_, i) => `f${i}`);
  store.write([widePoint('a', fieldKeys, ns(nowMs - 1000))]);
  store.flush();
  const startMs = performance.now();
  assert.deepEqual(db.runRetention(nowMs), { metrics: 0 });
  const tookMs = performance.now() - startMs;
  assert.equal(db.db.prepare('SELECT count(*) FROM metric_points').pluck().get(), 5_000);
  assert.ok(tookMs < 1_000, `a pass over 5,000 ranges took ${tookMs.toFixed(0)} ms`);
  // Later points of the same ranges are kept, earlier ones deleted, on the next pass.
  store.write([widePoint('a', fieldKeys, ns(nowMs - 2 * DAY_MS))]);
  store.flush();
  assert.deepEqual(db.runRetention(nowMs), { metrics: 5_000 });
  assert.equal(db.db.prepare('SELECT count(*) FROM metric_points').pluck().get(), 5_000);
  await store.close();
  db.close();
});
