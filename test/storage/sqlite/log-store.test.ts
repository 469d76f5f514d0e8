import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../../platform/log.js';
import type { LogEvent } from '../../../model/log-record.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { ftsQuery, StoreLogStorage } from '../../../storage/sqlite/log-store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'shipwatch-store-'));
  dirs.push(d);
  return d;
}

const T0 = Date.parse('2024-05-01T12:00:00Z');

function event(i: number, over: Partial<LogEvent> = {}): LogEvent {
  const message = over.text ?? `request ${i} served in ${i % 7}ms by worker-${i % 3}`;
  const timestampMs = over.timestampMs ?? T0 + i * 1000;
  return {
    json: JSON.stringify({ '@timestamp': new Date(timestampMs).toISOString(), message, n: i }),
    target: 'web', timestampMs, id: `c1-stdout-${i}`, containerId: 'c'.repeat(64), containerName: 'web-1',
    app: 'shop', service: 'web', text: message, ...over,
  };
}

function open(dir = '', retentionMs = 0): { db: StoreDatabase; logs: StoreLogStorage } {
  const db = new StoreDatabase({ dataDir: dir, fileName: dir === '' ? ':memory:' : undefined, retentionMs, log: silentLogger, retentionBatchRows: 7 });
  return { db, logs: new StoreLogStorage(db) };
}

describe('the log store', () => {
  test('full-text search finds words, prefixes and phrases, newest first', async () => {
    const { db, logs } = open();
    await logs.write([...Array(30).keys()].map((i) => event(i)));
    await logs.write([event(100, { text: 'java.lang.NullPointerException at Foo.bar', id: 'x1' })]);
    const hits = await logs.search({ text: 'worker-1', limit: 100 });
    assert.deepEqual(hits.map((h) => JSON.parse(h.json).n), [28, 25, 22, 19, 16, 13, 10, 7, 4, 1]);
    assert.equal((await logs.search({ text: 'NullPointer*', limit: 10 })).length, 1);
    assert.equal((await logs.search({ text: '"served in 3ms"', limit: 100 })).length, 4);
    assert.equal((await logs.search({ text: 'served "unbalanced', limit: 100 })).length, 0, 'a stray quote is no syntax error');
    assert.equal(await logs.count({ text: 'request' }), 30);
    db.close();
  });

  test('free text becomes an FTS5 query that cannot fail', () => {
    assert.equal(ftsQuery('a b*'), '"a" AND "b"*');
    assert.equal(ftsQuery('say "hello world" NOT'), '"say" AND "hello world" AND "NOT"');
    assert.equal(ftsQuery('  '), undefined);
    assert.equal(ftsQuery('x"y'), '"x""y"');
  });

  test('filters and paging combine', async () => {
    const { db, logs } = open();
    await logs.write([...Array(10).keys()].map((i) => event(i)));
    await logs.write([...Array(5).keys()].map((i) => event(50 + i, { containerName: 'db-1', service: 'db', id: `db-${i}` })));
    const page1 = await logs.search({ service: 'web', limit: 4 });
    const page2 = await logs.search({ service: 'web', limit: 4, offset: 4 });
    assert.deepEqual([...page1, ...page2].map((h) => JSON.parse(h.json).n), [9, 8, 7, 6, 5, 4, 3, 2]);
    assert.equal(await logs.count({ container: 'db-1' }), 5);
    assert.equal(await logs.count({ container: '/db-1' }), 5, 'the engine\'s leading slash is accepted');
    assert.equal(await logs.count({ container: 'c'.repeat(64) }), 15, 'by full container id');
    assert.equal(await logs.count({ startMs: T0 + 2000, endMs: T0 + 4000 }), 3);
    assert.equal(await logs.count({ app: 'shop', target: 'web', text: 'worker-0' }), 4 + 2);
    db.close();
  });

  test('a replayed record (same id) is stored once', async () => {
    const { db, logs } = open();
    await logs.write([event(1), event(2)]);
    await logs.write([event(2), event(3)]);
    assert.equal(await logs.count({}), 3);
    assert.equal(await logs.count({ text: 'request' }), 3, 'the text index is not duplicated either');
    db.close();
  });

  test('readAfter follows new records from a cursor', async () => {
    const { db, logs } = open();
    await logs.write([event(1)]);
    const start = await logs.readAfter({ limit: 10 }, undefined);
    assert.deepEqual(start.hits, []);
    await logs.write([event(2), event(3, { service: 'other', id: 'o3' }), event(4)]);
    const next = await logs.readAfter({ service: 'web', limit: 10 }, start.cursor);
    assert.deepEqual(next.hits.map((h) => JSON.parse(h.json).n), [2, 4]);
    const again = await logs.readAfter({ limit: 10 }, next.cursor);
    assert.deepEqual(again.hits, []);
    db.close();
  });

  test('retention deletes old rows in small batches, text index included', async () => {
    const { db, logs } = open('', 3600_000);
    const now = T0 + 10 * 3600_000;
    await logs.write([...Array(20).keys()].map((i) => event(i, { timestampMs: T0 + i * 60_000 })));
    await logs.write([event(99, { timestampMs: now - 1000, text: 'fresh request' })]);
    const deleted = db.runRetention(now);
    assert.equal(deleted.logs, 20);
    assert.equal(await logs.count({}), 1);
    assert.equal(await logs.count({ text: 'request' }), 1);
    assert.equal((db.db.prepare("SELECT COUNT(*) AS n FROM logs_fts WHERE logs_fts MATCH 'request'").get() as { n: number }).n, 1);
    db.close();
  });

  test('a write after close is refused', async () => {
    const { db, logs } = open();
    await logs.close();
    await logs.close();
    await assert.rejects(logs.write([event(1)]), /closed/);
    db.close();
    db.close();
  });

  test('a process killed while writing leaves a store that reopens with every committed batch', async () => {
    const dir = tempDir();
    const storeUrl = new URL('../../../storage/sqlite/', import.meta.url).href;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { StoreDatabase } = await import('${storeUrl}database.ts');
      const { StoreLogStorage } = await import('${storeUrl}log-store.ts');
      const { silentLogger } = await import('${new URL('../../../platform/log.ts', import.meta.url).href}');
      const db = new StoreDatabase({ dataDir: ${JSON.stringify(dir)}, retentionMs: 0, log: silentLogger });
      const logs = new StoreLogStorage(db);
      for (let b = 0; ; b++) {
        const batch = [];
        for (let i = 0; i < 200; i++) {
          const n = b * 200 + i;
          batch.push({ json: JSON.stringify({ n }), target: 't', timestampMs: ${T0} + n, id: 'id-' + n, containerId: 'c', containerName: 'c',
            app: 'a', service: 's', text: 'line number ' + n + ' of the kill test' });
        }
        await logs.write(batch);
        process.stdout.write('committed ' + (b + 1) * 200 + '\\n');
      }
    `], { cwd: fileURLToPath(new URL('../../../', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    let committed = 0;
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        const m = [...chunk.matchAll(/committed (\d+)/g)].pop();
        if (m) committed = Number(m[1]);
        if (committed >= 4000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    assert.ok(committed >= 4000);
    const { db, logs } = open(dir);
    assert.equal(db.db.pragma('integrity_check', { simple: true }), 'ok');
    const stored = await logs.count({});
    assert.ok(stored >= committed, `${stored} rows after the kill, ${committed} acknowledged`);
    assert.equal(stored % 200, 0, 'a batch is all or nothing');
    assert.equal(await logs.count({ text: 'kill' }), stored);
    db.close();
  });
});
