/**
 * Queries over the whole embedded store, measured by what they do to the event loop: log searches and counts,
 * trace searches and the dependencies count run on the store's reader threads (StoreDatabase.read, readJob). The queries below each ran as one statement on the
 * event loop's thread (the text count ≈ 110 ms on a 2-CPU machine); here the loop's longest delay is ≈ 25 ms. The
 * reader threads start with the first query (that start is not measured here). The dependencies of the window
 * below took ≈ 750 ms as one run on the event loop's thread; the three span queries together now hold it ≈ 40 ms.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { LogEvent } from '../../../model/log-record.js';
import type { Span } from '../../../model/span.js';
import { silentLogger } from '../../../platform/log.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreLogStorage } from '../../../storage/sqlite/log-store.js';
import { dependencyLinks } from '../../../storage/sqlite/span-dependencies.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { watchEventLoop } from '../../helpers/event-loop-watch.js';

const ROWS = 150_000;
const dir = mkdtempSync(join(tmpdir(), 'shipwatch-large-queries-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function logEvent(k: number, timestampMs: number): LogEvent {
  const text = `request ${k} served in ${k % 7}ms by worker-${k % 3} path /item/${k}`;
  return {
    json: JSON.stringify({ message: text, n: k }), target: 'web', timestampMs, id: `doc-${k}`,
    containerId: 'c'.repeat(64), containerName: 'web-1', app: 'shop', service: 'web', text,
  };
}

test('log searches and counts over 150,000 rows run off the event loop: it never waits 100 ms and the answers are whole', async (t) => {
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const logs = new StoreLogStorage(db);
  const startMs = Date.now() - ROWS;
  for (let k = 0; k < ROWS; k += 5000) await logs.write(Array.from({ length: 5000 }, (_, i) => logEvent(k + i, startMs + k + i)));
  logs.mergeIndexNow();
  const onThisThreadMs = performance.now();
  db.db.prepare("SELECT COUNT(*) FROM logs l WHERE l.id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH '\"served\"')").pluck().get();
  t.diagnostic(`the text count as one statement on this thread: ${(performance.now() - onThisThreadMs).toFixed(0)} ms`);
  await logs.count({ app: 'none' }); // the reader threads started

  const watch = watchEventLoop();
  const [all, served, worker1, page] = await Promise.all([
    logs.count({}),
    logs.count({ text: 'served' }),
    logs.count({ text: 'worker-1', app: 'shop' }),
    logs.search({ text: 'served', limit: 50, offset: 100_000 }),
  ]);
  const loop = await watch.stop();

  assert.equal(all, ROWS);
  assert.equal(served, ROWS);
  assert.equal(worker1, ROWS / 3);
  assert.equal(page.length, 50);
  assert.equal(JSON.parse(page[0]!.json).n, ROWS - 1 - 100_000, 'newest first, past the offset');
  t.diagnostic(`event loop: held at most ${loop.maxDelayMs.toFixed(1)} ms (wall ${loop.maxWallDelayMs.toFixed(1)} ms)`);
  assert.ok(loop.maxDelayMs < 100, `event loop held ${loop.maxDelayMs.toFixed(1)} ms`);
  await logs.close();
  db.close();
});

function span(k: number, startMs: number): Span {
  const trace = Math.floor(k / 5).toString(16).padStart(32, '0');
  return {
    traceId: trace, spanId: (k + 1).toString(16).padStart(16, '0'), operationName: `op-${k % 20}`, flags: 1,
    references: k % 5 === 0 ? [] : [{ refType: 'CHILD_OF', traceId: trace, spanId: (k - (k % 5) + 1).toString(16).padStart(16, '0') }],
    startTimeMicros: startMs * 1000 + k, durationMicros: 100 + (k % 1000), logs: [],
    tags: [{ key: 'http.status_code', type: 'int64', value: k % 50 === 0 ? 500 : 200 }, { key: 'user', type: 'string', value: `u${k % 997}` }],
    process: { serviceName: `svc-${k % 7}`, tags: [{ key: 'host', type: 'string', value: `h${k % 3}` }] },
  };
}

test('a trace search with a large limit, its count and the dependencies of a long window over 100,000 spans keep the event loop under 100 ms', async (t) => {
  const db = new StoreDatabase({ dataDir: dir, fileName: 'spans.db', retentionMs: 0, log: silentLogger });
  const spans = new StoreSpanStorage(db);
  const SPANS = 100_000;
  const startMs = Date.now() - 3_600_000;
  for (let k = 0; k < SPANS; k += 1000) await spans.writeSpans(Array.from({ length: 1000 }, (_, i) => span(k + i, startMs)));
  const endMs = Date.now();
  const onThisThreadMs = performance.now();
  const expected = dependencyLinks((sql) => db.db.prepare(sql), endMs, 86_400_000, () => undefined);
  t.diagnostic(`dependencies as one run on this thread: ${(performance.now() - onThisThreadMs).toFixed(0)} ms`);
  await spans.countTraces({ serviceName: 'none', numTraces: 1 }); // the reader threads started

  const watch = watchEventLoop();
  const [traces, count, links] = await Promise.all([
    spans.findTraces({ numTraces: 2_000 }),
    spans.countTraces({ tags: { user: 'u5' }, numTraces: 1 }),
    spans.getDependencies(endMs, 86_400_000),
  ]);
  const loop = await watch.stop();

  assert.equal(traces.length, 2_000);
  assert.ok(traces.every((trace) => trace.length === 5), 'each trace whole');
  assert.equal(count, Math.ceil((SPANS - 5) / 997));
  assert.deepEqual(links, expected);
  assert.ok(links.length > 0);
  t.diagnostic(`event loop: held at most ${loop.maxDelayMs.toFixed(1)} ms (wall ${loop.maxWallDelayMs.toFixed(1)} ms)`);
  assert.ok(loop.maxDelayMs < 100, `event loop held ${loop.maxDelayMs.toFixed(1)} ms`);
  await spans.close();
  db.close();
});
