import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEngineClient } from '../../../platform/engine/docker-client.js';
import { execInContainer } from '../../../platform/engine/exec.js';
import { containerProcesses, runContainer } from '../../helpers/docker.js';

const client = createEngineClient('');

const processes = containerProcesses;

const alive = (list: Array<{ stat: string; args: string }>) => list.filter((p) => !p.stat.startsWith('Z'));

test('a string command runs under the wrapper: its output, error and exit code are exactly its own', async (t) => {
  const c = await runContainer(t, { name: 'sw-exec' });
  const r = await execInContainer(client, c.id, 'echo "$0:$#"; echo err >&2; printf partial >&2; exit 4', { timeoutMs: 5000 });
  assert.deepEqual({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, timedOut: r.timedOut, killed: r.killed },
    { stdout: 'sh:0\n', stderr: 'err\npartial', exitCode: 4, timedOut: false, killed: false });
  const quiet = await execInContainer(client, c.id, 'true', { timeoutMs: 5000 });
  assert.deepEqual({ stdout: quiet.stdout, stderr: quiet.stderr, exitCode: quiet.exitCode }, { stdout: '', stderr: '', exitCode: 0 });
});

test('a command that overruns is stopped with every process it started, inside the container', async (t) => {
  // pid 1 is a shell loop, which reaps what is reparented to it: nothing at all may remain.
  const c = await runContainer(t, { name: 'sw-exec-stop', cmd: ['sh', '-c', 'while :; do sleep 1; done'] });
  const before = alive(await processes(c.id)).length;
  for (let i = 0; i < 3; i++) {
    const r = await execInContainer(client, c.id, 'echo started; sleep 300 & sleep 301 | cat; echo never', { timeoutMs: 400 });
    assert.deepEqual({ timedOut: r.timedOut, killed: r.killed, exitCode: r.exitCode, stdout: r.stdout }, { timedOut: true, killed: true, exitCode: null, stdout: 'started\n' });
    assert.ok(r.durationMs < 3000, `took ${r.durationMs} ms`);
  }
  await new Promise((resolve) => setTimeout(resolve, 1200)); // pid 1's loop reaps within its sleep
  const after = await processes(c.id);
  assert.deepEqual(after.filter((p) => /sleep 30[01]|cat|never/.test(p.args)), [], JSON.stringify(after));
  assert.equal(alive(after).length, before, JSON.stringify(after));
  assert.equal(after.filter((p) => p.stat.startsWith('Z')).length, 0);
});

test('a process that left the command\'s group (setsid, a double fork) is stopped with it', async (t) => {
  const c = await runContainer(t, { name: 'sw-exec-setsid', cmd: ['sh', '-c', 'while :; do sleep 1; done'] });
  const r = await execInContainer(client, c.id, 'setsid sleep 302 & (sleep 304 &) ; sleep 303', { timeoutMs: 500 });
  assert.deepEqual({ timedOut: r.timedOut, killed: r.killed }, { timedOut: true, killed: true });
  await new Promise((resolve) => setTimeout(resolve, 1200));
  const after = await processes(c.id);
  assert.deepEqual(alive(after).filter((p) => /sleep 30[234]/.test(p.args)), [], JSON.stringify(after));
  // The sweep names the run: a process of another run, or of the container itself, is left alone.
  const detached = await execInContainer(client, c.id, 'setsid sleep 305 >/dev/null 2>&1 & exit 0', { timeoutMs: 2000 });
  assert.equal(detached.exitCode, 0);
  const other = await execInContainer(client, c.id, 'sleep 306', { timeoutMs: 300 });
  assert.equal(other.killed, true);
  const left = alive(await processes(c.id)).map((p) => p.args);
  assert.ok(left.some((a) => /sleep 305/.test(a)), JSON.stringify(left));
  assert.ok(!left.some((a) => /sleep 306/.test(a)), JSON.stringify(left));
});

test('under a pid 1 that never reaps, stopped commands leave no live process (only zombie entries)', async (t) => {
  const c = await runContainer(t, { name: 'sw-exec-noreap' }); // pid 1: sleep 3600
  for (let i = 0; i < 3; i++) {
    const r = await execInContainer(client, c.id, 'while :; do sleep 1; done', { timeoutMs: 300 });
    assert.equal(r.killed, true);
  }
  const after = await processes(c.id);
  assert.deepEqual(alive(after).map((p) => p.args), ['sleep 3600'], JSON.stringify(after));
});

test('output past the bound stops the command early when asked, keeping the bound\'s worth', async (t) => {
  const c = await runContainer(t, { name: 'sw-exec-big', cmd: ['sh', '-c', 'while :; do sleep 1; done'] });
  const r = await execInContainer(client, c.id, 'yes "m v=1" | head -c 10000000', { timeoutMs: 10_000, maxOutputBytes: 65_536, stopOnOverflow: true });
  assert.deepEqual({ overflowed: r.overflowed, truncated: r.truncated, killed: r.killed, timedOut: r.timedOut, exitCode: r.exitCode },
    { overflowed: true, truncated: true, killed: true, timedOut: false, exitCode: null });
  assert.equal(r.stdout.length, 65_536);
  assert.ok(r.stdout.startsWith('m v=1\nm v=1\n'));
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.deepEqual((await processes(c.id)).filter((p) => /yes|head/.test(p.args)), []);
  // Without stopOnOverflow the command runs to its end and only the bound is kept.
  const all = await execInContainer(client, c.id, 'yes "m v=1" | head -c 1000000', { timeoutMs: 10_000, maxOutputBytes: 1000 });
  assert.deepEqual({ exitCode: all.exitCode, truncated: all.truncated, overflowed: all.overflowed, length: all.stdout.length }, { exitCode: 0, truncated: true, overflowed: false, length: 1000 });
});
