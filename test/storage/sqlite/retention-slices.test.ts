/**
 * Retention as the timer runs it, measured by what it does to the event loop (the thread that, in `shipwatch all`,
 * also serves the pilot, the collector and the query API): a store holding 200,000 old spans or log rows is emptied
 * of them batch by batch, with the store's own settings (its checkpoint thread running). In one go the pass held
 * the loop for its whole length (≈ 11 s for both on a 2-CPU machine); sliced but with checkpoints, WAL syncs and
 * FTS5 merges inside commits, 130–470 ms. Now a batch's deletes take ≈ 3–20 ms and a merge step of the text index
 * 15–60 ms.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../../../platform/log.js';
import type { LogEvent } from '../../../model/log-record.js';
import type { Span } from '../../../model/span.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreLogStorage } from '../../../storage/sqlite/log-store.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { watchEventLoop } from '../../helpers/event-loop-watch.js';

const ROWS = 200_000;
const LONGEST_GAP_MS = 100;
const NOW_MS = Date.now();
const OLD_MS = NOW_MS - 2 * 3_600_000;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function openStore(): StoreDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-retention-'));
  dirs.push(dir);
  // The timer never fires on its own here: the test starts the pass the timer would.
  return new StoreDatabase({ dataDir: dir, retentionMs: 3_600_000, retentionIntervalMs: 3_600_000, log: silentLogger });
}

function span(k: number, startMs: number): Span {
  const trace = Math.floor(k / 5).toString(16).padStart(32, '0');
  return {
    traceId: trace, spanId: (k + 1).toString(16).padStart(16, '0'), operationName: `op-${k % 20}`, flags: 1,
    references: k % 5 === 0 ? [] : [{ refType: 'CHILD_OF', traceId: trace, spanId: k.toString(16).padStart(16, '0') }],
    startTimeMicros: startMs * 1000 + k, durationMicros: 100 + (k % 1000), logs: [],
    tags: [
      { key: 'http.method', type: 'string', value: 'GET' }, { key: 'http.url', type: 'string', value: `/item/${k}` },
      { key: 'http.status_code', type: 'int64', value: k % 50 === 0 ? 500 : 200 }, { key: 'user', type: 'string', value: `u${k % 997}` },
    ],
    process: { serviceName: `svc-${k % 7}`, tags: [{ key: 'host', type: 'string', value: `h${k % 3}` }] },
  };
}

function logEvent(k: number, timestampMs: number): LogEvent {
  const text = `request ${k} served in ${k % 7}ms by worker-${k % 3} path /item/${k}`;
  return {
    json: JSON.stringify({ '@timestamp': new Date(timestampMs).toISOString(), message: text, n: k }), target: 'web', timestampMs,
    id: `c1-stdout-${k}`, containerId: 'c'.repeat(64), containerName: 'web-1', app: 'shop', service: 'web', text,
  };
}

/** Runs `work` while the event loop is watched (test/helpers/event-loop-watch.ts): how long it was held. */
async function longestGapMs<T>(work: () => Promise<T>): Promise<{ result: T; gapMs: number; delayMs: number }> {
  const watch = watchEventLoop();
  const result = await work().catch(async (err: unknown) => {
    await watch.stop();
    throw err;
  });
  const report = await watch.stop();
  return { result, gapMs: report.maxDelayMs, delayMs: report.maxWallDelayMs };
}

test('retention of 200,000 old spans runs in slices: the event loop never waits 100 ms, and spans written meanwhile stay', async () => {
  const db = openStore();
  const spans = new StoreSpanStorage(db);
  for (let k = 0; k < ROWS; k += 1000) await spans.writeSpans(Array.from({ length: 1000 }, (_, i) => span(k + i, OLD_MS)));
  const fresh = span(ROWS + 1, NOW_MS);

  const { result, gapMs, delayMs } = await longestGapMs(async () => {
    const pass = db.runRetentionInSlices(NOW_MS);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await spans.writeSpans([fresh]);
    assert.equal(db.runRetentionInSlices(NOW_MS), pass, 'a pass already running is joined');
    return pass;
  });
  assert.equal(result.spans, ROWS);
  console.log(`spans: event loop held ${gapMs.toFixed(0)} ms at most (by the wall clock ${delayMs.toFixed(0)} ms)`);
  assert.ok(gapMs < LONGEST_GAP_MS, `the event loop was held ${gapMs.toFixed(0)} ms`);
  const count = (sql: string): number => db.db.prepare(sql).pluck().get() as number;
  assert.equal(count('SELECT COUNT(*) FROM spans'), 1);
  assert.equal(count('SELECT COUNT(*) FROM span_groups'), 1);
  assert.deepEqual((await spans.getTrace(fresh.traceId)).map((s) => s.spanId), [fresh.spanId]);
  db.close();
});

test('retention of 200,000 old log rows runs in slices: the event loop never waits 100 ms, and the text index follows', async () => {
  const db = openStore();
  const logs = new StoreLogStorage(db);
  for (let k = 0; k < ROWS; k += 1000) await logs.write(Array.from({ length: 1000 }, (_, i) => logEvent(k + i, OLD_MS + k + i)));
  await logs.write([logEvent(ROWS + 1, NOW_MS)]);

  const { result, gapMs, delayMs } = await longestGapMs(() => db.runRetentionInSlices(NOW_MS));
  assert.equal(result.logs, ROWS);
  console.log(`logs: event loop held ${gapMs.toFixed(0)} ms at most (by the wall clock ${delayMs.toFixed(0)} ms)`);
  assert.ok(gapMs < LONGEST_GAP_MS, `the event loop was held ${gapMs.toFixed(0)} ms`);
  assert.equal(await logs.count({}), 1);
  assert.equal((await logs.search({ text: 'served', limit: 10 })).length, 1, 'the text index holds only the row left');
  db.close();
});

test('closing the database stops a retention pass after the batch in progress', async () => {
  const db = openStore();
  const logs = new StoreLogStorage(db);
  for (let k = 0; k < 20_000; k += 1000) await logs.write(Array.from({ length: 1000 }, (_, i) => logEvent(k + i, OLD_MS + k + i)));
  const pass = db.runRetentionInSlices(NOW_MS);
  await new Promise((resolve) => setImmediate(resolve));
  db.close();
  const done = await pass;
  assert.ok((done.logs ?? 0) < 20_000, `deleted ${done.logs} before the close`);
});
