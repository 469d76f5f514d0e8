import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../../../platform/log.js';
import { FLOAT, type MetricPoint } from '../../../model/metric-point.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreMetricStorage } from '../../../storage/sqlite/metric-store.js';
import { watchEventLoop } from '../../helpers/event-loop-watch.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0_MS = Date.parse('2024-05-01T00:00:00Z');
const POINTS = 600_000;

test('a series of 600,000 points read in 10,000 buckets answers what one statement gives, the event loop never held 100 ms', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-metric-query-'));
  dirs.push(dir);
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const store = new StoreMetricStorage(db, { log: silentLogger, batchPoints: 50_000 });
  const tagKeys = ['host'];
  const tagValues = ['a'];
  const fieldKeys = ['v'];
  const fieldTypes = new Uint8Array([FLOAT]);
  for (let from = 0; from < POINTS; from += 50_000) {
    const batch: MetricPoint[] = [];
    for (let i = from; i < from + 50_000; i++) batch.push({ measurement: 'm', tagKeys, tagValues, fieldKeys, fieldTypes, fieldValues: [i % 1000], timeNs: BigInt(T0_MS + i * 100) * 1_000_000n });
    store.write(batch);
    store.flush();
  }
  const endMs = T0_MS + POINTS * 100;
  const stepMs = (POINTS * 100) / 10_000;
  const oneStatementStart = performance.now();
  const expected = db.db
    .prepare('SELECT (ts_ns - ?) / ? AS bucket, avg(value) AS v FROM metric_points GROUP BY bucket ORDER BY bucket')
    .all(BigInt(T0_MS) * 1_000_000n, BigInt(stepMs) * 1_000_000n) as Array<{ bucket: number; v: number }>;

  const oneStatementMs = performance.now() - oneStatementStart;
  const watch = watchEventLoop();
  const result = await store.series({ measurement: 'm', field: 'v', tags: {}, startMs: T0_MS, endMs, stepMs, aggregate: 'avg', maxSeries: 10 });
  const loop = await watch.stop();

  assert.equal(result?.truncated, false);
  assert.equal(result?.series.length, 1);
  assert.deepEqual(result!.series[0]!.points, expected.map((r) => [T0_MS + r.bucket * stepMs, r.v]));
  assert.equal(result!.series[0]!.points.length, 10_000);
  t.diagnostic(`one statement ${oneStatementMs.toFixed(0)} ms; read in windows: event loop held at most ${loop.maxDelayMs.toFixed(1)} ms (wall ${loop.maxWallDelayMs.toFixed(1)} ms)`);
  assert.ok(loop.maxDelayMs < 100, `event loop held ${loop.maxDelayMs.toFixed(1)} ms`);
  await store.close();
  db.close();
});
