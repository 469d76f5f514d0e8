import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ContainerInfo } from '../../../platform/engine/container-info.js';
import { ContainerWatcher } from '../../../platform/engine/container-watcher.js';
import { createEngineClient } from '../../../platform/engine/docker-client.js';
import { createLogger } from '../../../platform/log.js';
import { EngineProxy } from '../../helpers/engine-proxy.js';
import { waitFor } from '../../helpers/wait.js';
import { docker } from '../../helpers/docker.js';

const IMAGE = process.env.SHIPWATCH_TEST_IMAGE ?? 'shipwatch-test/busybox:latest';
const engine = createEngineClient('');
const created: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sw-watch-'));
const quiet = createLogger({ level: 'silent' });

async function run(cmd: string): Promise<string> {
  const c = await docker().createContainer({ Image: IMAGE, Cmd: ['sh', '-c', cmd], Labels: { 'shipwatch.test': 'watcher' } });
  created.push(c.id);
  await c.start();
  return c.id;
}

/** Records what the watcher announces, for the containers this test created only. */
class Journal {
  readonly entries: string[] = [];
  listener = {
    started: (info: ContainerInfo) => void (created.includes(info.id) && this.entries.push(`start ${info.id}`)),
    stopped: (info: ContainerInfo) => void (created.includes(info.id) && this.entries.push(`stop ${info.id}`)),
    removed: (id: string) => void (created.includes(id) && this.entries.push(`removed ${id}`)),
  };
  async waitFor(entry: string, timeoutMs = 5000): Promise<number> {
    const t0 = Date.now();
    while (!this.entries.includes(entry)) {
      if (Date.now() - t0 > timeoutMs) assert.fail(`"${entry}" not seen in ${timeoutMs} ms; saw ${JSON.stringify(this.entries)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - t0;
  }
  count(entry: string): number {
    return this.entries.filter((e) => e === entry).length;
  }
}

after(async () => {
  for (const id of created) await docker().getContainer(id).remove({ force: true }).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test('running containers are announced at start, a new one within a second, and a stop and a removal once', async () => {
  const before = await run('sleep 30');
  const journal = new Journal();
  const watcher = new ContainerWatcher({ client: engine, listener: journal.listener, log: quiet });
  watcher.start();
  await watcher.synchronised();
  assert.deepEqual(journal.entries, [`start ${before}`]);
  assert.deepEqual(watcher.status(), { connected: true });

  const later = await run('sleep 30');
  assert.ok((await journal.waitFor(`start ${later}`)) < 1000);
  await docker().getContainer(later).kill();
  await journal.waitFor(`stop ${later}`);
  await docker().getContainer(later).remove();
  await journal.waitFor(`removed ${later}`);

  const brief = await run('echo done');
  await journal.waitFor(`stop ${brief}`);
  assert.equal(journal.count(`start ${brief}`), 1, 'a container that exits at once is still announced, so its output is read');
  await watcher.close();
  await watcher.close();
});

test('an engine absent at start is reported, retried, and followed once it appears', async (t) => {
  const proxy = new EngineProxy(join(dir, 'late.sock'));
  t.after(() => proxy.cut());
  const journal = new Journal();
  const lines: string[] = [];
  const log = createLogger({ level: 'info', sink: { write: (l: string) => lines.push(l) } });
  const watcher = new ContainerWatcher({ client: createEngineClient(proxy.dockerHost), listener: journal.listener, log, reconnectInitialMs: 50, reconnectMaxMs: 200 });
  t.after(() => watcher.close());
  watcher.start();
  await new Promise((r) => setTimeout(r, 600));
  const status = watcher.status();
  assert.equal(status.connected, false);
  assert.match(status.reason ?? '', /container engine unavailable: unix:\/\/.*late\.sock: no socket/);
  assert.equal(lines.length, 1, 'the same reason is logged once, not at every retry');
  // An absent engine is expected (no Docker yet): a warning that says what to do, not an error.
  assert.match(lines[0]!, /^\{"level":"warn".*"code":"SW_ENGINE_UNAVAILABLE"/);
  assert.match(lines[0]!, /set DOCKER_HOST/);

  const id = await run('sleep 30');
  await proxy.open();
  await journal.waitFor(`start ${id}`, 3000);
  await waitFor(() => watcher.status().connected, { what: 'the watcher to report the connection', timeoutMs: 3000 });
  const reachable = (): string[] => lines.filter((l) => l.includes('"msg":"container engine reachable"'));
  await waitFor(() => reachable().length > 0, { what: 'the line saying the engine is reachable', timeoutMs: 3000 });
  assert.equal(reachable().length, 1, lines.join(''));
  assert.match(reachable()[0]!, /^\{"level":"info"/);
});

test('after losing the engine it reconnects and announces only what changed meanwhile', async (t) => {
  const proxy = new EngineProxy(join(dir, 'cut.sock'));
  t.after(() => proxy.cut());
  await proxy.open();
  const staying = await run('sleep 60');
  const dying = await run('sleep 60');
  const journal = new Journal();
  const watcher = new ContainerWatcher({ client: createEngineClient(proxy.dockerHost), listener: journal.listener, log: quiet, reconnectInitialMs: 50, reconnectMaxMs: 200 });
  t.after(() => watcher.close());
  watcher.start();
  await watcher.synchronised();
  await journal.waitFor(`start ${staying}`);
  await journal.waitFor(`start ${dying}`);

  await proxy.cut();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(watcher.status().connected, false);
  await docker().getContainer(dying).kill();
  const born = await run('sleep 60');
  const brief = await run('echo gone');
  await docker().getContainer(brief).wait();
  await proxy.open();

  await journal.waitFor(`start ${born}`);
  await journal.waitFor(`stop ${dying}`);
  await journal.waitFor(`stop ${brief}`);
  assert.equal(journal.count(`start ${brief}`), 1, 'a container that ran only during the outage is announced, then stopped');
  assert.equal(journal.count(`start ${staying}`), 1, 'no second start for a container that kept running');
  assert.equal(journal.count(`start ${dying}`), 1);
  await waitFor(() => watcher.status().connected, { what: 'the watcher to report the connection', timeoutMs: 3000 });
});
