import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { containerInfoFromInspect, type ContainerInfo } from '../../platform/engine/container-info.js';
import { createEngineClient } from '../../platform/engine/docker-client.js';
import { execInContainer } from '../../platform/engine/exec.js';
import { openConfined, PathMapper } from '../../pilot/path-mapper.js';
import { docker } from '../helpers/docker.js';

const IMAGE = process.env.SHIPWATCH_TEST_IMAGE ?? 'shipwatch-test/busybox:latest';
const engine = createEngineClient('');
const mapper = new PathMapper('/');
const bindDir = mkdtempSync(join(tmpdir(), 'sw-map-'));
const created: string[] = [];
let info: ContainerInfo;
let other: ContainerInfo;

async function sh(id: string, cmd: string): Promise<void> {
  const r = await execInContainer(engine, id, cmd, { timeoutMs: 5000 });
  assert.equal(r.exitCode, 0, r.stderr);
}

before(async () => {
  const start = async (binds: string[], volumes: Record<string, object>): Promise<ContainerInfo> => {
    const c = await docker().createContainer({
      Image: IMAGE, Cmd: ['sleep', '120'], Labels: { 'shipwatch.test': 'path-mapper' }, Volumes: volumes, HostConfig: { Binds: binds },
    });
    created.push(c.id);
    await c.start();
    return containerInfoFromInspect(await c.inspect());
  };
  other = await start([], {});
  await sh(other.id, 'mkdir -p /secret && echo other-secret > /secret/key');
  info = await start([`${bindDir}:/bound`], { '/data': {}, '/data/inner': {} });
  await sh(info.id, [
    'echo vol > /data/app.log', 'echo inner > /data/inner/x.log', 'echo bound > /bound/b.log', 'mkdir -p /var/log/app',
    'echo layer > /var/log/app/l.log', 'echo root-secret > /etc/shadow',
    'ln -s app.log /data/ok-link.log', 'ln -s /data/app.log /data/abs-ok.log',
    'ln -s /etc/shadow /data/shadow.log', 'ln -s ../../../../etc/shadow /data/dotdot.log',
    `ln -s ${other.mergedDir}/secret/key /data/other.log`, `ln -s /proc/1/root/etc/shadow /data/proc.log`,
    'ln -s loop-b /data/loop-a', 'ln -s loop-a /data/loop-b', 'ln -s /data /var/log/app/data-link',
    'ln -s /data/app.log /var/log/app/to-volume.log',
  ].join(' && '));
});

after(async () => {
  for (const id of created) await docker().getContainer(id).remove({ force: true, v: true }).catch(() => {});
  rmSync(bindDir, { recursive: true, force: true });
});

async function read(path: string): Promise<string> {
  const m = await mapper.resolve(info, path);
  assert.ok(m.ok, `${path}: ${!m.ok && m.reason}`);
  const fh = await openConfined(m);
  assert.ok(!('ok' in fh), `${path} refused at open`);
  try {
    return (await fh.readFile('utf8')).trim();
  } finally {
    await fh.close();
  }
}

async function refusal(path: string): Promise<string> {
  const m = await mapper.resolve(info, path);
  assert.equal(m.ok, false, `${path} should be refused`);
  assert.ok(!m.ok && m.refused, `${path} should be refused, not missing: ${!m.ok && m.reason}`);
  return m.ok ? '' : m.reason;
}

test('a path on a volume, a nested volume, a bind and the writable layer each map to the right host file', async () => {
  assert.equal(await read('/data/app.log'), 'vol');
  assert.equal(await read('/data/inner/x.log'), 'inner', 'the longest mount destination wins');
  assert.equal(await read('/bound/b.log'), 'bound');
  assert.equal(await read('/var/log/app/l.log'), 'layer', 'a file on no mount is read from the writable layer');
  assert.equal(await readFile(join(bindDir, 'b.log'), 'utf8'), 'bound\n');
});

test('links that stay in their mount are followed in the container view', async () => {
  assert.equal(await read('/data/ok-link.log'), 'vol');
  assert.equal(await read('/data/abs-ok.log'), 'vol', 'an absolute target is the container\'s path, not the host\'s');
});

test('links to the container\'s own system files, up through "..", to another container or via /proc are refused', async () => {
  assert.match(await refusal('/data/shadow.log'), /leads to \/etc\/shadow, outside its mount \/data/);
  assert.match(await refusal('/data/dotdot.log'), /leads to \/etc\/shadow/);
  assert.match(await refusal('/var/log/app/to-volume.log'), /outside its writable layer/);
  assert.match(await refusal('/var/log/app/data-link/app.log'), /outside its writable layer/, 'a declaration stays in the mount or layer it starts in');
  assert.match(await refusal('/data/loop-a'), /too many symbolic links/);
  assert.match(await refusal('/data/../etc/shadow'), /without "\.\."/);
  for (const path of ['/data/other.log', '/data/proc.log']) {
    const m = await mapper.resolve(info, path);
    assert.equal(m.ok, false, `${path} must not resolve`);
  }
});

test('a file swapped for a link after resolving is refused when opened', async () => {
  await sh(info.id, 'echo fine > /data/swap.log');
  const m = await mapper.resolve(info, '/data/swap.log');
  assert.ok(m.ok);
  await sh(info.id, 'rm /data/swap.log && ln -s /etc/shadow /data/swap.log');
  const fh = await openConfined(m);
  assert.ok('ok' in fh && fh.refused, 'opening must refuse the link');
});

test('a missing file is reported as missing, not refused', async () => {
  const m = await mapper.resolve(info, '/data/none.log');
  assert.deepEqual(m.ok ? 'ok' : { refused: m.refused }, { refused: false });
  const d = await mapper.resolve(info, '/data', 'directory');
  assert.ok(d.ok);
});
