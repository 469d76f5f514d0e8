import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../../../platform/log.js';
import type { Span } from '../../../model/span.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import Database from 'better-sqlite3';
import { StoreDatabase, type Migration } from '../../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function span(i: number, startMs: number): Span {
  return {
    traceId: i.toString(16).padStart(32, '0'), spanId: '0000000000000001', operationName: `op-${i % 3}`, references: [], flags: 0,
    startTimeMicros: startMs * 1000, durationMicros: 10,
    tags: [{ key: 'k', type: 'string', value: `v${i}` }], logs: [], process: { serviceName: `svc-${i % 2}`, tags: [] },
  };
}

describe('the store database', () => {
  test('opens in WAL mode and applies each migration once, across reopenings', () => {
    let runs = 0;
    const migrations: Migration[] = [
      { version: 1, description: 'one', up: (db) => { runs++; db.exec('CREATE TABLE m1 (x)'); } },
      { version: 2, description: 'two', up: (db) => { runs++; db.exec('CREATE TABLE m2 (x)'); } },
    ];
    const a = new StoreDatabase({ dataDir: dir, fileName: 'm.db', retentionMs: 0, log: silentLogger });
    assert.equal(a.db.pragma('journal_mode', { simple: true }), 'wal');
    a.migrate('test', migrations.slice(0, 1));
    a.migrate('test', migrations.slice(0, 1));
    a.close();
    const b = new StoreDatabase({ dataDir: dir, fileName: 'm.db', retentionMs: 0, log: silentLogger });
    b.migrate('test', migrations);
    assert.equal(runs, 2);
    b.close();
  });

  test('commits on the main thread neither sync nor checkpoint while the checkpoint thread runs; when it dies they do, until it is back', async () => {
    const registry = createRegistry('collector', false);
    const db = new StoreDatabase({ dataDir: dir, fileName: 'thread.db', retentionMs: 0, log: silentLogger, registry });
    db.db.exec('CREATE TABLE t (x)');
    assert.equal(db.db.pragma('synchronous', { simple: true }), 0);
    assert.equal(db.db.pragma('wal_autocheckpoint', { simple: true }), 0);
    const first = db.checkpointThread!;
    assert.ok(first);
    await first.terminate();
    assert.equal(db.db.pragma('synchronous', { simple: true }), 1, 'NORMAL while no thread runs');
    assert.equal(db.db.pragma('wal_autocheckpoint', { simple: true }), 2_500, 'a checkpoint at ≈ 40 MiB of 16 KiB pages');
    db.db.exec("INSERT INTO t VALUES ('while it was down')");
    const deadline = Date.now() + 5_000;
    while ((db.checkpointThread === undefined || db.db.pragma('synchronous', { simple: true }) !== 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(db.checkpointThread && db.checkpointThread !== first, 'a new thread was started');
    assert.equal(db.db.pragma('synchronous', { simple: true }), 0);
    assert.match(await registry.metrics(), /shipwatch_store_checkpoint_thread_failures_total\{[^}]*\} 1\n/);
    db.close();
    const reopened = new Database(join(dir, 'thread.db'), { readonly: true });
    assert.equal(reopened.prepare('SELECT x FROM t').pluck().get(), 'while it was down');
    reopened.close();
  });

  test('queries run on reader threads see what was committed; a dead reader is counted and replaced, and close fails what waits', async () => {
    const registry = createRegistry('collector', false);
    const db = new StoreDatabase({ dataDir: dir, fileName: 'readers.db', retentionMs: 0, log: silentLogger, registry });
    db.db.exec("CREATE TABLE r (x); INSERT INTO r VALUES ('one')");
    assert.deepEqual(await db.read('SELECT x FROM r', [], 'all'), [{ x: 'one' }]);
    db.db.exec("INSERT INTO r VALUES ('two')");
    assert.equal(await db.read('SELECT count(*) FROM r', [], 'value'), 2, 'a commit of this thread is seen at once');
    await assert.rejects(db.read('SELECT missing FROM r', [], 'all'), /no such column: missing/);
    const before = db.readerThreads;
    assert.equal(before.length, 2);
    await Promise.all(before.map((w) => w.terminate()));
    assert.equal(await db.read('SELECT count(*) FROM r', [], 'value'), 2);
    assert.ok(db.readerThreads.every((w) => !before.includes(w)), 'new threads');
    assert.match(await registry.metrics(), /shipwatch_store_reader_thread_failures_total\{[^}]*\} 2\n/);
    const waiting = db.read("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50000000) SELECT count(*) FROM c", [], 'value');
    db.close();
    await assert.rejects(waiting, /closed/);
  });

  test('a new database gets 16 KiB pages; one made with 4 KiB pages keeps them and opens with its data', async () => {
    const fresh = new StoreDatabase({ dataDir: dir, fileName: 'pages-new.db', retentionMs: 0, log: silentLogger });
    assert.equal(fresh.db.pragma('page_size', { simple: true }), 16_384);
    fresh.close();
    const old = new Database(join(dir, 'pages-old.db'));
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    old.exec("CREATE TABLE kept (x); INSERT INTO kept VALUES ('before')");
    old.close();
    const reopened = new StoreDatabase({ dataDir: dir, fileName: 'pages-old.db', retentionMs: 0, log: silentLogger });
    assert.equal(reopened.db.pragma('page_size', { simple: true }), 4096);
    assert.equal(reopened.db.prepare('SELECT x FROM kept').pluck().get(), 'before');
    const spans = new StoreSpanStorage(reopened);
    await spans.writeSpans([span(1, 1_000)]);
    assert.equal((await spans.getTrace(span(1, 0).traceId)).length, 1);
    reopened.close();
  });

  test('a database a newer release migrated further is refused, naming both versions', () => {
    const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
    const migrations: Migration[] = [1, 2, 3].map((version) => ({ version, description: `v${version}`, up: () => {} }));
    db.migrate('test', migrations);
    assert.throws(
      () => db.migrate('test', migrations.slice(0, 2)),
      (err: Error & { code?: string }) => err.code === 'SW_STORE_FAILED' && /test are at version 3, written by a newer release; this one knows up to version 2/.test(err.message),
    );
    db.migrate('test', migrations);
    db.close();
  });

  test('a failing migration is reported with its component and version, and leaves nothing behind', () => {
    const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
    assert.throws(
      () => db.migrate('broken', [{ version: 1, description: 'bad sql', up: (d) => { d.exec('CREATE TABLE ok1 (x)'); d.exec('NOT SQL'); } }]),
      (err: Error & { code?: string }) => err.code === 'SW_STORE_FAILED' && /broken v1 \(bad sql\)/.test(err.message),
    );
    assert.equal((db.db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'ok1'").get() as { n: number }).n, 0);
    db.close();
  });

  test('retention deletes old spans with their tag rows, services and operations, and counts them', async () => {
    const registry = createRegistry('test', false);
    const now = Date.parse('2024-05-10T00:00:00Z');
    const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 86_400_000, log: silentLogger, registry, retentionBatchRows: 10 });
    const spans = new StoreSpanStorage(db);
    await spans.writeSpans([...Array(35).keys()].map((i) => span(i, now - 3 * 86_400_000 + i)));
    await spans.writeSpans([span(1000, now - 1000)]);
    assert.deepEqual(db.runRetention(now), { spans: 35 });
    assert.equal((db.db.prepare('SELECT COUNT(*) AS n FROM spans').get() as { n: number }).n, 1);
    assert.equal((db.db.prepare('SELECT COUNT(*) AS n FROM group_tags').get() as { n: number }).n, 1, "the remaining span's one tag");
    assert.equal((db.db.prepare('SELECT COUNT(*) AS n FROM trace_spans').get() as { n: number }).n, 1);
    assert.deepEqual(await spans.getServices(), ['svc-0']);
    assert.deepEqual((await spans.getOperations({ serviceName: 'svc-0' })).map((o) => o.name), ['op-1']);
    assert.match(await registry.metrics(), /shipwatch_store_retention_deleted_total\{table="spans",program="test"\} 35/);
    await spans.writeSpans([span(2001, now)]);
    assert.deepEqual(await spans.getServices(), ['svc-0', 'svc-1'], 'a service seen again after retention is listed again');
    db.close();
  });

  test('close is idempotent and retention after close does nothing', () => {
    const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 1000, log: silentLogger });
    db.close();
    db.close();
    assert.deepEqual(db.runRetention(), {});
    assert.equal(db.isOpen, false);
  });
});
