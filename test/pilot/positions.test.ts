import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger } from '../../platform/log.js';
import { PositionStore } from '../../pilot/positions.js';

const dir = mkdtempSync(join(tmpdir(), 'sw-pos-'));
const quiet = createLogger({ level: 'silent' });
after(() => rmSync(dir, { recursive: true, force: true }));

test('positions saved on close are there after reopening, keyed by container, source and file identity', async () => {
  const file = join(dir, 'a', 'positions.json');
  const s = PositionStore.open(file, quiet);
  s.set('c1', 'stdout', { dev: 1, ino: 2 }, { offset: 120, generation: 0, containerPath: 'stdout', path: '/x/c1-json.log' });
  s.set('c1', '/logs/*.log', { dev: 1, ino: 3 }, { offset: 50, generation: 2, containerPath: '/logs/a.log', path: '/v/a.log' });
  s.set('c2', 'stdout', { dev: 1, ino: 2 }, { offset: 7, generation: 0, containerPath: 'stdout', path: '/x/c2-json.log' });
  await s.close();
  await s.close();
  const again = PositionStore.open(file, quiet);
  assert.equal(again.get('c1', 'stdout', { dev: 1, ino: 2 })?.offset, 120);
  assert.equal(again.get('c1', 'stdout', { dev: 1, ino: 9 }), undefined);
  assert.deepEqual(again.ofSource('c1', '/logs/*.log').map((e) => [e.path, e.containerPath, e.generation]), [['/v/a.log', '/logs/a.log', 2]]);
  again.forgetContainer('c1');
  assert.deepEqual([...again.containerIds()], ['c2']);
  await again.close();
});

test('the periodic save lands without a close, so a killed process resumes from it', async () => {
  const file = join(dir, 'b', 'positions.json');
  // A child process saves, then is killed with SIGKILL: only the periodic write can have saved anything.
  const script = `
    import { PositionStore } from ${JSON.stringify(new URL('../../pilot/positions.ts', import.meta.url).href)};
    import { createLogger } from ${JSON.stringify(new URL('../../platform/log.ts', import.meta.url).href)};
    const s = PositionStore.open(${JSON.stringify(file)}, createLogger({ level: 'silent' }), 50);
    s.set('c', 'stdout', { dev: 5, ino: 6 }, { offset: 4242, generation: 0, containerPath: 'stdout', path: '/p' });
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 300);
    setInterval(() => {}, 1000);
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL');
  const s = PositionStore.open(file, quiet);
  assert.equal(s.get('c', 'stdout', { dev: 5, ino: 6 })?.offset, 4242);
  assert.equal(existsSync(`${file}.tmp`), false);
  await s.close();
});

test('an unreadable positions file is set aside and reported, and reading starts over', async () => {
  const file = join(dir, 'c.json');
  writeFileSync(file, '{"version":1,"positions":[{"contai');
  const lines: string[] = [];
  const s = PositionStore.open(file, createLogger({ level: 'error', sink: { write: (l: string) => lines.push(l) } }));
  assert.equal(s.size, 0);
  assert.equal(readFileSync(`${file}.corrupt`, 'utf8').startsWith('{"version":1'), true);
  assert.match(lines.join(''), /positions file unreadable/);
  await s.close();
});
