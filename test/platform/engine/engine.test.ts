import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { containerInfoFromInspect } from '../../../platform/engine/container-info.js';
import { createEngineClient, parseEngineEndpoint, pingEngine } from '../../../platform/engine/docker-client.js';
import { execInContainer } from '../../../platform/engine/exec.js';
import { readStats } from '../../../platform/engine/engine-stats.js';
import { ShipwatchError } from '../../../platform/errors.js';
import { docker } from '../../helpers/docker.js';

const IMAGE = process.env.SHIPWATCH_TEST_IMAGE ?? 'shipwatch-test/busybox:latest';
const client = createEngineClient('');
const created: string[] = [];
let dir: string;

async function run(cmd: string, opts: { labels?: Record<string, string>; binds?: string[]; volumes?: Record<string, object>; env?: string[] } = {}): Promise<string> {
  const c = await docker().createContainer({
    Image: IMAGE, Cmd: ['sh', '-c', cmd], Labels: { 'shipwatch.test': 'engine', ...opts.labels }, Env: opts.env,
    Volumes: opts.volumes, HostConfig: { Binds: opts.binds },
  });
  created.push(c.id);
  await c.start();
  return c.id;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sw-engine-'));
});

after(async () => {
  for (const id of created) await docker().getContainer(id).remove({ force: true, v: true }).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test('DOCKER_HOST forms map to a socket or a tcp endpoint, and nonsense is refused', () => {
  assert.deepEqual(parseEngineEndpoint(''), { kind: 'socket', socketPath: '/var/run/docker.sock' });
  assert.deepEqual(parseEngineEndpoint('unix:///run/x.sock'), { kind: 'socket', socketPath: '/run/x.sock' });
  assert.deepEqual(parseEngineEndpoint('tcp://10.0.0.1:2375'), { kind: 'tcp', protocol: 'http', host: '10.0.0.1', port: 2375 });
  assert.deepEqual(parseEngineEndpoint('https://docker.example'), { kind: 'tcp', protocol: 'https', host: 'docker.example', port: 2376 });
  assert.ok('problem' in parseEngineEndpoint('unix://relative.sock'));
  assert.ok('problem' in parseEngineEndpoint('ftp://x'));
});

test('an absent engine is one clear SW_ENGINE_UNAVAILABLE naming the endpoint', async () => {
  const absent = createEngineClient(`unix://${join(dir, 'none.sock')}`);
  await assert.rejects(pingEngine(absent, 1000), (err: unknown) => {
    assert.ok(err instanceof ShipwatchError);
    assert.equal(err.code, 'SW_ENGINE_UNAVAILABLE');
    assert.match(err.message, /none\.sock: no socket/);
    return true;
  });
});

test('inspect gives labels, env, mounts, the writable layer, the log file and the platform labels', async () => {
  const id = await run('sleep 30', {
    labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web', 'io.kubernetes.pod.name': 'web-1' },
    env: ['aliyun_logs_app=stdout', 'EMPTY='],
    binds: [`${dir}:/data/bound:ro`],
    volumes: { '/data/vol': {} },
  });
  const info = containerInfoFromInspect(await client.api.inspectContainer(id));
  assert.equal(info.id, id);
  assert.ok(info.name.length > 0 && !info.name.startsWith('/'));
  assert.equal(info.labels['shipwatch.test'], 'engine');
  assert.equal(info.env.aliyun_logs_app, 'stdout');
  assert.equal(info.env.EMPTY, '');
  assert.equal(info.app, 'shop');
  assert.equal(info.service, 'web');
  assert.equal(info.k8sPod, 'web-1');
  assert.equal(info.state.running, true);
  assert.ok(info.state.pid > 0);
  assert.match(info.logPath, new RegExp(`${id}-json\\.log$`));
  assert.equal(info.logDriver, 'json-file');
  const bound = info.mounts.find((m) => m.destination === '/data/bound');
  assert.deepEqual(bound && { type: bound.type, source: bound.source, readOnly: bound.readOnly }, { type: 'bind', source: dir, readOnly: true });
  const vol = info.mounts.find((m) => m.destination === '/data/vol');
  assert.equal(vol?.type, 'volume');
  assert.ok(vol.name.length > 0 && vol.source.endsWith('/_data'));
  assert.ok(info.mergedDir.endsWith('/merged') && info.upperDir.endsWith('/diff'));
  assert.match(info.ipAddress, /^\d+\.\d+\.\d+\.\d+$/);
});

test('exec captures stdout, stderr and the exit code', async () => {
  const id = await run('sleep 30');
  const r = await execInContainer(client, id, 'echo out; echo err >&2; exit 3', { timeoutMs: 5000 });
  assert.deepEqual({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, timedOut: r.timedOut }, { stdout: 'out\n', stderr: 'err\n', exitCode: 3, timedOut: false });
});

test('exec stops a command that overruns its timeout and keeps what it printed', async () => {
  const id = await run('sleep 30');
  const r = await execInContainer(client, id, ['sh', '-c', 'echo started; exec sleep 60'], { timeoutMs: 700 });
  assert.equal(r.timedOut, true);
  assert.equal(r.killed, true);
  assert.equal(r.exitCode, null);
  assert.equal(r.stdout, 'started\n');
  assert.ok(r.durationMs < 3000);
  const ps = await execInContainer(client, id, 'ps -o comm,args | grep "sleep 60" | grep -v grep || true', { timeoutMs: 5000 });
  assert.equal(ps.stdout, '');
});

test('exec output beyond the bound is cut and marked', async () => {
  const id = await run('sleep 30');
  const r = await execInContainer(client, id, 'yes x | head -c 50000', { timeoutMs: 5000, maxOutputBytes: 1000 });
  assert.equal(r.stdout.length, 1000);
  assert.equal(r.truncated, true);
});

test('stats of a running container has memory and both cpu samples; of a removed one, undefined', async () => {
  const id = await run('sleep 30');
  const s = await readStats(client, id);
  assert.ok(s);
  assert.ok(s.memory_stats.usage !== undefined && s.memory_stats.usage > 0);
  assert.ok(s.cpu_stats.cpu_usage.total_usage > 0);
  assert.ok(s.precpu_stats.system_cpu_usage !== undefined);
  await docker().getContainer(id).remove({ force: true });
  assert.equal(await readStats(client, id), undefined);
});
