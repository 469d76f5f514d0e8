import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../../../platform/log.js';
import type { Span } from '../../../model/span.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { metricSum } from '../../helpers/prometheus-text.js';

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-wal-cap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const CAP = 4 * MiB;
const SPANS_PER_TRACE = 10;

function trace(t: number, startMs: number): Span[] {
  const traceId = (t + 1).toString(16).padStart(32, '0');
  return Array.from({ length: SPANS_PER_TRACE }, (_, i) => ({
    traceId, spanId: (i + 1).toString(16).padStart(16, '0'), operationName: `op-${i % 7}`,
    references: i === 0 ? [] : [{ refType: 'CHILD_OF' as const, traceId, spanId: '0000000000000001' }], flags: 1,
    startTimeMicros: (startMs + i) * 1000, durationMicros: 100 + i,
    tags: [
      { key: 'http.url', type: 'string' as const, value: `https://svc-${t % 5}.internal/api/items/${t * 31 + i}?q=${'x'.repeat(40)}` },
      { key: 'user.id', type: 'string' as const, value: `user-${t}` },
    ],
    logs: [], process: { serviceName: `svc-${t % 5}`, tags: [{ key: 'hostname', type: 'string', value: `host-${t % 3}` }] },
  }));
}

/** Resolves once the checkpoint thread has said it is ready (the main connection stops syncing then). */
async function threadReady(db: StoreDatabase): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((db.checkpointThread === undefined || db.db.pragma('synchronous', { simple: true }) !== 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(db.db.pragma('synchronous', { simple: true }), 0, 'the checkpoint thread is ready');
}

const walSize = (db: StoreDatabase): number => statSync(`${db.path}-wal`, { throwIfNoEntry: false })?.size ?? 0;

describe('the store WAL cap', () => {
  test('writes back to back past the cap: the WAL file stays bounded and every span reads back', async () => {
    const registry = createRegistry('collector', false);
    const db = new StoreDatabase({ dataDir: dir, fileName: 'cap.db', retentionMs: 0, log: silentLogger, registry, walCapBytes: CAP });
    const store = new StoreSpanStorage(db);
    await threadReady(db);
    try {
      const traces = 12_000;
      const perBatch = 50;
      const startMs = Date.now() - 60_000;
      let peak = 0;
      let longestMs = 0;
      // No turn of the event loop between the batches (an await of a settled promise is not one).
      for (let t = 0; t < traces; t += perBatch) {
        const spans = Array.from({ length: perBatch }, (_, k) => trace(t + k, startMs + t)).flat();
        const t0 = performance.now();
        await store.writeSpans(spans);
        longestMs = Math.max(longestMs, performance.now() - t0);
        peak = Math.max(peak, walSize(db));
      }
      const metrics = await registry.metrics();
      const waits = metricSum(metrics, 'shipwatch_store_wal_cap_wait_seconds_count');
      // ≈ 120 MiB went through the WAL: without the cap it would hold them all.
      assert.ok(waits >= 1, `the writer waited at the cap (${waits} waits)`);
      // The cap and what the writer appends while the thread catches up: ≈ 12 MiB measured on a loaded machine,
      // 27.3 MiB once at load 15–20 on two cores (a full test run beside other work); unbounded it is ≈ 120 MiB.
      assert.ok(peak <= 8 * CAP, `WAL file peak ${(peak / MiB).toFixed(1)} MiB with a cap of ${CAP / MiB} MiB`);
      assert.ok(longestMs < 1_500, `longest write ${longestMs.toFixed(0)} ms`);
      assert.ok(metricSum(metrics, 'shipwatch_store_wal_peak_bytes') > 0, 'the WAL file peak is a self-metric');
      assert.match(metrics, /shipwatch_store_wal_bytes\{[^}]*\} \d+/);

      for (let t = 0; t < traces; t++) {
        const spans = await store.getTrace((t + 1).toString(16).padStart(32, '0'));
        assert.equal(spans.length, SPANS_PER_TRACE, `trace ${t}`);
      }
      db.close();
      const reopened = new StoreDatabase({ dataDir: dir, fileName: 'cap.db', retentionMs: 0, log: silentLogger });
      const again = new StoreSpanStorage(reopened);
      for (let t = 0; t < traces; t += 97) assert.equal((await again.getTrace((t + 1).toString(16).padStart(32, '0'))).length, SPANS_PER_TRACE, `trace ${t} after reopening`);
      assert.equal(await again.countTraces({ startTimeMinMicros: (startMs - 1) * 1000, startTimeMaxMicros: Date.now() * 1000, numTraces: 20 }), traces);
      reopened.close();
    } finally {
      db.close();
    }
  });

  test('retention batches and reader-thread queries between writes past the cap meet no SQLITE_BUSY', async () => {
    const registry = createRegistry('collector', false);
    const db = new StoreDatabase({ dataDir: dir, fileName: 'busy.db', retentionMs: 3_600_000, log: silentLogger, registry, walCapBytes: CAP, retentionIntervalMs: 3_600_000 });
    const store = new StoreSpanStorage(db);
    await threadReady(db);
    try {
      const oldMs = Date.now() - 2 * 3_600_000;
      // Old spans for retention to delete while the new ones are written.
      for (let t = 0; t < 2_000; t += 50) await store.writeSpans(Array.from({ length: 50 }, (_, k) => trace(100_000 + t + k, oldMs)).flat());
      const retention = db.runRetentionInSlices();
      const reads: Array<Promise<number>> = [];
      const window = { startTimeMinMicros: (oldMs - 1) * 1000, startTimeMaxMicros: Date.now() * 1000, numTraces: 20 };
      const newMs = Date.now() - 60_000;
      for (let t = 0; t < 4_000; t += 50) {
        await store.writeSpans(Array.from({ length: 50 }, (_, k) => trace(t + k, newMs + t)).flat());
        if (t % 500 === 0) reads.push(store.countTraces(window));
        // A turn of the event loop every other batch: retention slices and read answers come in between.
        if (t % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const deleted = await retention;
      for (const n of await Promise.all(reads)) assert.ok(n > 0);
      const metrics = await registry.metrics();
      assert.equal(metricSum(metrics, 'shipwatch_store_retention_failures_total'), 0);
      assert.equal(deleted.spans, 2_000 * SPANS_PER_TRACE);
      assert.equal(await store.countTraces(window), 4_000);
    } finally {
      db.close();
    }
  });
});
