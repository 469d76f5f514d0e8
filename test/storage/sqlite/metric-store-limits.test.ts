import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseLineProtocol } from '../../../collector/metrics/line-protocol-parser.js';
import { silentLogger } from '../../../platform/log.js';
import type { MetricPoint } from '../../../model/metric-point.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreMetricStorage } from '../../../storage/sqlite/metric-store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function open(options: { maxSeriesPerMeasurement?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-metric-limits-'));
  dirs.push(dir);
  const registry = createRegistry('collector', false);
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const store = new StoreMetricStorage(db, { log: silentLogger, registry, maxSeriesPerMeasurement: options.maxSeriesPerMeasurement });
  return { db, store, registry };
}

const points = (text: string): MetricPoint[] => parseLineProtocol(text).points;

test('a measurement takes new series up to the limit; past it their points are refused and counted, existing series stay writable', async () => {
  const { db, store, registry } = open({ maxSeriesPerMeasurement: 3 });
  const first = points('m,h=a v=1 1\nm,h=b v=1 1\nm,h=c v=1 1\nother,h=x v=1 1\n');
  assert.deepEqual(store.admit(first), []);
  store.write(first);
  store.flush();

  const next = points('m,h=a v=2 2\nm,h=d v=2 2\nm,h=c v=2 2\nm,h=e v=2 2\nother,h=y v=2 2\n');
  const refused = store.admit(next);
  assert.deepEqual(refused.map((r) => [r.index, r.reason]), [[1, 'series_per_measurement'], [3, 'series_per_measurement']]);
  assert.match(refused[0]!.message, /^max series per measurement exceeded \(3\/3\): measurement "m" takes no new series \(METRICS_STORE_MAX_SERIES\)$/);
  store.write(next);
  store.flush();

  assert.deepEqual(await store.tagValues('m', 'h', 10), ['a', 'b', 'c']);
  assert.deepEqual(await store.tagValues('other', 'h', 10), ['x', 'y']);
  const stored = db.db.prepare("SELECT count(*) FROM metric_points p JOIN metric_series s ON s.id = p.series WHERE s.measurement = 'm'").pluck().get();
  assert.equal(stored, 5);
  const dropped = (await registry.getSingleMetric('shipwatch_metric_store_dropped_total')?.get())?.values ?? [];
  assert.deepEqual(dropped.map((v) => [v.labels['reason'], v.value]), [['series_per_measurement', 2]]);
  await store.close();
  db.close();
});

test('the series limit counts what the table holds after a restart, and series admitted but not yet written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-metric-limits-'));
  dirs.push(dir);
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const store = new StoreMetricStorage(db, { log: silentLogger, maxSeriesPerMeasurement: 2 });
  store.write(points('m,h=a v=1 1\n'));
  await store.close();
  db.close();

  const again = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const reopened = new StoreMetricStorage(again, { log: silentLogger, maxSeriesPerMeasurement: 2 });
  // Admitted in one call, not written yet: the second new series is already one too many.
  const refused = reopened.admit(points('m,h=b v=1 2\nm,h=c v=1 2\nm,h=a v=1 2\n'));
  assert.deepEqual(refused.map((r) => r.index), [1]);
  await reopened.close();
  again.close();
});
