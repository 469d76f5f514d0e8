/**
 * The store's stated durability (storage/sqlite/database.ts): commits on the main thread do not fsync, yet a process
 * killed right after them (SIGKILL, no close, no checkpoint) loses none of them — the WAL is in the OS page cache.
 * Only an OS crash or power cut may lose the last ≈ 1 s, which a test cannot cause.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../../../platform/log.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreLogStorage } from '../../../storage/sqlite/log-store.js';

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-durability-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 20_000;

/** Writes ROWS log rows in batches, prints `written` once the last commit returned, then waits to be killed. */
const child = `
const { StoreDatabase } = await import(${JSON.stringify(new URL('../../../storage/sqlite/database.ts', import.meta.url).href)});
const { StoreLogStorage } = await import(${JSON.stringify(new URL('../../../storage/sqlite/log-store.ts', import.meta.url).href)});
const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
const db = new StoreDatabase({ dataDir: ${JSON.stringify(dir)}, retentionMs: 0, log });
const logs = new StoreLogStorage(db);
for (let k = 0; k < ${ROWS}; k += 1000) {
  await logs.write(Array.from({ length: 1000 }, (_, i) => ({
    json: '{}', target: 'web', timestampMs: Date.now(), id: 'doc-' + (k + i), containerId: 'c', containerName: 'web-1',
    app: 'shop', service: 'web', text: 'line ' + (k + i),
  })));
}
process.stdout.write('written\\n');
setInterval(() => {}, 1000);
`;

test('a process killed with SIGKILL right after its commits loses none of them', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('written')) resolve();
    });
    proc.on('exit', () => reject(new Error(`the writer exited before writing: ${out}`)));
  });
  proc.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const logs = new StoreLogStorage(db);
  assert.equal(await logs.count({}), ROWS);
  assert.equal((await logs.search({ text: `"line ${ROWS - 1}"`, limit: 5 })).length, 1, 'the last batch is in the text index too');
  assert.equal(db.db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
});
