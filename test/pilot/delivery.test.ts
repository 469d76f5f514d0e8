import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execIn, runContainer, waitFor } from '../helpers/docker.js';
import { startElasticsearch, stopElasticsearch } from '../helpers/services.js';
import { count, deleteIndices, esTestUrl, scan } from '../helpers/elasticsearch.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { PilotDirs, PilotProcess, type PilotRecord } from './pilot-process.js';

/** Numbers found after `prefix` in the messages, and how they fall short of 1..n. */
function tally(messages: string[], prefix: string, n: number): { missing: number; duplicates: number; firstMissing?: number } {
  const seen = new Uint32Array(n + 1);
  for (const m of messages) {
    if (!m.startsWith(prefix)) continue;
    const k = Number(m.slice(prefix.length));
    if (Number.isInteger(k) && k >= 1 && k <= n) seen[k]!++;
  }
  let missing = 0;
  let duplicates = 0;
  let firstMissing: number | undefined;
  for (let k = 1; k <= n; k++) {
    if (seen[k] === 0) {
      missing++;
      firstMissing ??= k;
    } else duplicates += seen[k]! - 1;
  }
  return firstMissing === undefined ? { missing, duplicates } : { missing, duplicates, firstMissing };
}

/** The embedded store's rows of one container: the `store` output keeps one row per record id. */
function storeMessages(dataDir: string, containerId: string, target: string): string[] {
  const db = new Database(join(dataDir, 'shipwatch.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT record FROM logs WHERE container_id = ? AND target = ?').pluck().all(containerId, target) as string[];
    return rows.map((r) => String((JSON.parse(r) as PilotRecord).message));
  } catch (err) {
    if (/no such table/.test(String(err))) return [];
    throw err;
  } finally {
    db.close();
  }
}

const fileMessages = (dirs: PilotDirs, id: string, target: string): string[] =>
  dirs.records(id).filter((r) => r.target === target).map((r) => String(r.message));

/** Waits until the file output holds every one of `prefix` 1..n for the container and target; its messages then. */
function everyFileLine(dirs: PilotDirs, id: string, target: string, prefix: string, n: number, what: string, timeoutMs = 30_000): Promise<string[]> {
  return waitFor(() => {
    const m = fileMessages(dirs, id, target);
    return tally(m, prefix, n).missing === 0 && m;
  }, { what, timeoutMs });
}

const N = 20_000;
const HALF = N / 2;

/** A name for this run's indices: lower case, unique, so runs never read each other's documents. */
function runTarget(base: string): string {
  return `sw-${base}-${process.pid}-${Date.now().toString(36)}`;
}

/** Every document of an index: its message and its `_version` (above 1: written again under the same `_id`). */
async function esMessages(index: string): Promise<Array<{ message: string; version: number }>> {
  const hits = await scan<{ message: string }>(index, { fields: ['message'] });
  return hits.map((h) => ({ message: String(h.source.message), version: h.version }));
}

test('20,000 lines on stdout and 20,000 in a file renamed halfway survive two SIGKILLs: none missing, none twice in Elasticsearch', async (t) => {
  const esUrl = await esTestUrl();
  const run = runTarget('delivery');
  const targets = { out: `${run}-out`, file: `${run}-file` } as const;
  t.after(() => deleteIndices(`${run}-*`));
  const c = await runContainer(t, {
    name: 'delivery',
    labels: {
      'aliyun.logs.out': 'stdout', 'aliyun.logs.out.target': targets.out,
      'aliyun.logs.file': '/logs/app.log', 'aliyun.logs.file.target': targets.file,
    },
    volumes: ['/logs'],
    cmd: ['sh', '-c', [
      'gen() { i=$1; while [ $i -le $2 ]; do echo "s $i"; echo "f $i" >&3; i=$((i+1)); done; }',
      `exec 3>>/logs/app.log; gen 1 ${HALF}; exec 3>&-`,
      'while [ ! -e /tmp/go ]; do sleep 0.05; done',
      `mv /logs/app.log /logs/app.log.1; exec 3>>/logs/app.log; gen ${HALF + 1} ${N}; exec 3>&-`,
      'touch /tmp/done; sleep 3600',
    ].join('\n')],
  });
  const dirs = new PilotDirs(t);
  // One index per target (no daily rotation), so a run that crosses midnight still has one place per record.
  const env = {
    LOGGING_OUTPUT: 'elasticsearch,store,file', ELASTICSEARCH_HOSTS: esUrl, ELASTICSEARCH_INDEX_ROTATION: 'none',
    ELASTICSEARCH_FLUSH_INTERVAL: '100ms', PILOT_MAX_IN_FLIGHT: '256KiB',
  };

  const first = await PilotProcess.start(t, dirs, env);
  await waitFor(() => fileMessages(dirs, c.id, targets.file).length > 0, { what: 'the first records', intervalMs: 20 });
  await first.kill();
  const afterFirst = fileMessages(dirs, c.id, targets.out).length + fileMessages(dirs, c.id, targets.file).length;
  await execIn(c.id, ['touch', '/tmp/go']); // the file is renamed while no pilot runs
  await waitFor(async () => (await execIn(c.id, ['ls', '/tmp/done'])).exitCode === 0, { what: 'the writer to finish', timeoutMs: 30_000 });

  const second = await PilotProcess.start(t, dirs, env);
  await waitFor(() => fileMessages(dirs, c.id, targets.out).length > afterFirst / 2 + 2000, { what: 'more records', intervalMs: 20 });
  await second.kill();

  const third = await PilotProcess.start(t, dirs, env);
  await waitFor(async () => (await count(targets.out)) === N && (await count(targets.file)) === N &&
    storeMessages(dirs.dataDir, c.id, targets.out).length === N && storeMessages(dirs.dataDir, c.id, targets.file).length === N,
  { what: `${N} records of each log in Elasticsearch and the store`, timeoutMs: 60_000, intervalMs: 250 });
  await new Promise((r) => setTimeout(r, 1000)); // anything extra would show now
  assert.deepEqual(await third.terminate(), { code: 0, signal: null });

  for (const [name, target] of Object.entries(targets)) {
    const prefix = name === 'out' ? 's ' : 'f ';
    const docs = await esMessages(target);
    assert.deepEqual(tally(docs.map((d) => d.message), prefix, N), { missing: 0, duplicates: 0 }, `Elasticsearch, ${name}`);
    assert.equal(docs.length, N, `Elasticsearch, ${name}: no document beyond the numbered lines`);
    assert.equal(await count(target), N);
    const stored = storeMessages(dirs.dataDir, c.id, target);
    assert.deepEqual(tally(stored, prefix, N), { missing: 0, duplicates: 0 }, `store, ${name}`);
    assert.equal(stored.length, N, `store, ${name}: no record beyond the numbered lines`);
    // The file output is not idempotent: a kill replays what was shipped after the last saved position.
    const filed = tally(fileMessages(dirs, c.id, target), prefix, N);
    assert.equal(filed.missing, 0, `file output, ${name}: ${JSON.stringify(filed)}`);
    const overwritten = docs.filter((d) => d.version > 1).length;
    t.diagnostic(`${name}: the file output has ${filed.duplicates} lines written again after the kills; Elasticsearch overwrote ${overwritten} documents in place`);
  }

  // Replays overwrite because ids are deterministic. Proof without relying on the kills' timing: lose the positions,
  // so the next pilot reads everything still in place again (stdout whole, the current file: the second half).
  rmSync(join(dirs.dataDir, 'pilot', 'positions.json'));
  const fourth = await PilotProcess.start(t, dirs, { ...env, LOGGING_OUTPUT: 'elasticsearch' });
  await waitFor(async () => metricSum(await fourth.metrics(), 'shipwatch_delivery_records_total', { output: 'elasticsearch', outcome: 'delivered' }) >= N + HALF,
    { what: 'everything read again to be delivered', timeoutMs: 60_000, intervalMs: 250 });
  assert.deepEqual(await fourth.terminate(), { code: 0, signal: null });
  for (const [name, target] of Object.entries(targets)) {
    const prefix = name === 'out' ? 's ' : 'f ';
    const docs = await esMessages(target);
    assert.deepEqual(tally(docs.map((d) => d.message), prefix, N), { missing: 0, duplicates: 0 }, `Elasticsearch after the re-read, ${name}`);
    assert.equal(docs.length, N);
    const reread = docs.filter((d) => name === 'out' || Number(d.message.slice(prefix.length)) > HALF);
    assert.equal(reread.length, name === 'out' ? N : HALF);
    assert.deepEqual(reread.filter((d) => d.version < 2).map((d) => d.message).slice(0, 5), [], `${name}: every record read again overwrote its document`);
  }
});

test('copytruncate, even when the file is written again at once, loses no line', async (t) => {
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs);
  const c = await runContainer(t, {
    name: 'copytruncate',
    labels: { 'aliyun.logs.ct': '/logs/ct.log' },
    volumes: ['/logs'],
    cmd: ['sh', '-c', [
      'gen() { i=$1; while [ $i -le $2 ]; do echo "c $i" >> /logs/ct.log; i=$((i+1)); done; }',
      'gen 1 2000; sleep 1; cp /logs/ct.log /logs/ct.log.1; : > /logs/ct.log; gen 2001 6000',
      'sleep 1; cp /logs/ct.log /logs/ct.log.2; : > /logs/ct.log; gen 6001 8000; sleep 3600',
    ].join('; ')],
  });
  const messages = await everyFileLine(dirs, c.id, 'ct', 'c ', 8000, 'all 8000 lines');
  assert.deepEqual(tally(messages, 'c ', 8000), { missing: 0, duplicates: 0 });
  // The pilot's log travels by another pipe than its records: wait for both truncations to be told.
  await waitFor(() => pilot.logs('log file truncated; reading it again from the start').length >= 2, { what: 'the two truncations logged' });
  assert.equal(pilot.logs('log file truncated; reading it again from the start').length, 2);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('copytruncate right after a burst the pilot had not read yet: the unread lines are taken from the copy', async (t) => {
  const dirs = new PilotDirs(t);
  // Polling once a second: the burst, the copy and the truncation all fall between two reads.
  const pilot = await PilotProcess.start(t, dirs, { PILOT_POLL_INTERVAL: '1s' });
  const c = await runContainer(t, {
    name: 'copytruncate-burst',
    labels: { 'aliyun.logs.cb': '/logs/cb.log' },
    volumes: ['/logs'],
    cmd: ['sh', '-c', [
      'gen() { i=$1; while [ $i -le $2 ]; do echo "b $i"; i=$((i+1)); done; }',
      // A neighbour as large, not a copy of the log: never read.
      'gen 1 5000 | sed s/^b/o/ > /logs/other.log',
      'gen 1 1000 >> /logs/cb.log; sleep 3; gen 1001 4000 > /tmp/burst',
      'cat /tmp/burst >> /logs/cb.log; cp /logs/cb.log /logs/cb.log.1; : > /logs/cb.log',
      'gen 4001 5000 >> /logs/cb.log; sleep 3600',
    ].join('; ')],
  });
  const messages = await everyFileLine(dirs, c.id, 'cb', 'b ', 5000, 'all 5000 lines');
  await waitFor(() => pilot.logs('log file truncated; its unread lines are read from its copy').length >= 1, { what: 'the copy found' });
  // Settle: anything read twice or from the neighbour would have arrived by now.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const settled = fileMessages(dirs, c.id, 'cb');
  assert.ok(messages.length <= settled.length);
  assert.deepEqual(tally(settled, 'b ', 5000), { missing: 0, duplicates: 0 });
  assert.equal(settled.filter((m) => m.startsWith('o ')).length, 0);
  const found = pilot.logs('log file truncated; its unread lines are read from its copy');
  assert.equal(found.length, 1);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('copytruncate while the pilot is down, the file then written past the saved position: nothing lost, nothing twice', async (t) => {
  const dirs = new PilotDirs(t);
  const c = await runContainer(t, {
    name: 'copytruncate-down',
    labels: { 'aliyun.logs.cd': '/logs/cd.log' },
    volumes: ['/logs'],
    cmd: ['sh', '-c', [
      'gen() { i=$1; while [ $i -le $2 ]; do echo "d $i"; i=$((i+1)); done; }',
      'gen 1 1000 >> /logs/cd.log; while [ ! -e /tmp/go ]; do sleep 0.05; done',
      'gen 1001 3000 >> /logs/cd.log; cp /logs/cd.log /logs/cd.log.1; : > /logs/cd.log',
      // More than was read before: the size alone would let the pilot resume in the middle of the new content.
      'gen 3001 7000 >> /logs/cd.log; touch /tmp/done; sleep 3600',
    ].join('; ')],
  });
  const first = await PilotProcess.start(t, dirs);
  await everyFileLine(dirs, c.id, 'cd', 'd ', 1000, 'the first 1000 lines');
  assert.deepEqual(await first.terminate(), { code: 0, signal: null });
  await execIn(c.id, ['touch', '/tmp/go']);
  await waitFor(async () => (await execIn(c.id, ['test', '-e', '/tmp/done'])).exitCode === 0, { what: 'the rotation and the writing done' });
  const second = await PilotProcess.start(t, dirs);
  await everyFileLine(dirs, c.id, 'cd', 'd ', 7000, 'all 7000 lines');
  await waitFor(() => second.logs('log file truncated; its unread lines are read from its copy').length === 1, { what: 'the copy found' });
  await new Promise((resolve) => setTimeout(resolve, 1500)); // anything read twice would have arrived by now
  assert.deepEqual(tally(fileMessages(dirs, c.id, 'cd'), 'd ', 7000), { missing: 0, duplicates: 0 });
  assert.deepEqual(await second.terminate(), { code: 0, signal: null });
});

test('json-file rotation by the engine (max-size, max-file) loses no line of 20,000', async (t) => {
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs);
  const c = await runContainer(t, {
    name: 'rotation',
    labels: { 'aliyun.logs.rot': 'stdout' },
    logOpts: { 'max-size': '200k', 'max-file': '20' },
    cmd: ['sh', '-c', `i=0; while [ $i -lt ${N} ]; do i=$((i+1)); echo "r $i"; done; sleep 3600`],
  });
  let last = tally([], 'r ', N);
  const messages = await waitFor(() => {
    const m = fileMessages(dirs, c.id, 'rot');
    last = tally(m, 'r ', N);
    return last.missing === 0 && m;
  }, { what: `all ${N} lines`, timeoutMs: 30_000, intervalMs: 250 }).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(last)}`, { cause: err });
  });
  assert.deepEqual(tally(messages, 'r ', N), { missing: 0, duplicates: 0 });
  const info = await c.inspect();
  const { readdirSync } = await import('node:fs');
  const rotated = readdirSync(join(info.LogPath, '..')).filter((n) => /-json\.log\.\d+$/.test(n));
  assert.ok(rotated.length >= 3, `the engine rotated the log (${rotated.length} rotated files)`);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('a container that exits is read to the end of its files before it is forgotten', async (t) => {
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs);
  const c = await runContainer(t, {
    name: 'brief',
    labels: { 'aliyun.logs.out': 'stdout', 'aliyun.logs.file': '/logs/*.log' },
    volumes: ['/logs'],
    cmd: ['sh', '-c', 'i=0; while [ $i -lt 5000 ]; do i=$((i+1)); echo "s $i"; echo "f $i" >> /logs/a.log; done; printf "s last-without-newline"'],
  });
  await waitFor(() => pilot.logs('container read to the end').some((l) => l.container === c.name), { what: 'the container to be read out', timeoutMs: 30_000 });
  const out = fileMessages(dirs, c.id, 'out');
  assert.deepEqual(tally(out, 's ', 5000), { missing: 0, duplicates: 0 });
  assert.equal(out[out.length - 1], 's last-without-newline', 'the unfinished last line is shipped too');
  assert.deepEqual(tally(fileMessages(dirs, c.id, 'file'), 'f ', 5000), { missing: 0, duplicates: 0 });
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('SIGTERM with the output down: the pilot stops reading and exits 0 within the shutdown timeout', async (t) => {
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, {
    LOGGING_OUTPUT: 'elasticsearch', ELASTICSEARCH_HOSTS: 'http://127.0.0.1:9', SHIPWATCH_SHUTDOWN_TIMEOUT: '4s', ELASTICSEARCH_FLUSH_INTERVAL: '100ms',
  });
  await runContainer(t, { name: 'sigterm', labels: { 'aliyun.logs.out': 'stdout' }, cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo "s $i"; sleep 0.01; done'] });
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = Date.now();
  const exit = await pilot.terminate(10_000);
  const tookMs = Date.now() - t0;
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(tookMs < 5000, `exited after ${tookMs} ms`);
});

test('a clean restart (SIGTERM) resumes exactly where it stopped: nothing missing, nothing twice, even in the file output', async (t) => {
  const c = await runContainer(t, {
    name: 'clean-restart',
    labels: { 'aliyun.logs.out': 'stdout' },
    cmd: ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "s $i"; sleep 0.001; done; sleep 3600'],
  });
  const dirs = new PilotDirs(t);
  const first = await PilotProcess.start(t, dirs);
  await waitFor(() => fileMessages(dirs, c.id, 'out').length > 200, { what: 'some records', intervalMs: 20 });
  assert.deepEqual(await first.terminate(), { code: 0, signal: null });
  const second = await PilotProcess.start(t, dirs);
  const messages = await everyFileLine(dirs, c.id, 'out', 's ', 3000, 'all 3000 lines');
  assert.deepEqual(tally(messages, 's ', 3000), { missing: 0, duplicates: 0 });
  assert.deepEqual(await second.terminate(), { code: 0, signal: null });
});

test('a container that exited while the pilot was down is read to its end at the next start', async (t) => {
  const c = await runContainer(t, {
    name: 'exited-meanwhile',
    labels: { 'aliyun.logs.out': 'stdout' },
    cmd: ['sh', '-c', 'echo "s 1"; while [ ! -e /tmp/go ]; do sleep 0.05; done; i=1; while [ $i -lt 2000 ]; do i=$((i+1)); echo "s $i"; done'],
  });
  const dirs = new PilotDirs(t);
  const first = await PilotProcess.start(t, dirs);
  await waitFor(() => fileMessages(dirs, c.id, 'out').length === 1, { what: 'the first line' });
  await new Promise((r) => setTimeout(r, 500)); // its position is saved
  await first.kill();
  await execIn(c.id, ['touch', '/tmp/go']).catch(() => undefined);
  await c.container.wait();
  const second = await PilotProcess.start(t, dirs);
  const messages = await everyFileLine(dirs, c.id, 'out', 's ', 2000, 'the lines written while the pilot was down', 20_000);
  assert.deepEqual(tally(messages, 's ', 2000), { missing: 0, duplicates: 0 });
  assert.deepEqual(await second.terminate(), { code: 0, signal: null });
});

test('Elasticsearch stopped for a minute mid-stream: records wait in the disk buffer, then none is missing or twice', async (t) => {
  const esUrl = await esTestUrl();
  const target = runTarget('outage');
  t.after(async () => {
    await startElasticsearch(); // also when the test failed while it was down
    await deleteIndices(`${target}*`);
  });
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, {
    LOGGING_OUTPUT: 'elasticsearch', ELASTICSEARCH_HOSTS: esUrl, ELASTICSEARCH_INDEX_ROTATION: 'none',
    ELASTICSEARCH_FLUSH_INTERVAL: '200ms', ELASTICSEARCH_RETRY_TIMEOUT: '5s',
  });
  const c = await runContainer(t, {
    name: 'outage',
    labels: { 'aliyun.logs.out': 'stdout', 'aliyun.logs.out.target': target },
    cmd: ['sh', '-c', 'i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); echo "o $i"; sleep 0.05; done; echo $i > /tmp/total; sleep 3600'],
  });
  const bufferBytes = async (): Promise<number> => metricSum(await pilot.metrics(), 'shipwatch_buffer_bytes', { output: 'elasticsearch' });
  await waitFor(async () => (await count(target)) >= 20, { what: 'the first records in Elasticsearch', timeoutMs: 20_000, intervalMs: 250 });

  await stopElasticsearch();
  const downAtMs = Date.now();
  const OUTAGE_MS = 60_000;
  const early = await waitFor(async () => {
    const b = await bufferBytes();
    return b > 0 && b;
  }, { what: 'the disk buffer to hold records', timeoutMs: 30_000, intervalMs: 500 });
  await new Promise((r) => setTimeout(r, Math.max(0, downAtMs + OUTAGE_MS - 5000 - Date.now())));
  const late = await bufferBytes();
  assert.ok(late > early, `the buffer keeps taking the lines printed during the outage (${early} then ${late} bytes)`);
  assert.equal((await pilot.health()).status, 200, 'an output outage does not make the pilot unhealthy');
  await new Promise((r) => setTimeout(r, Math.max(0, downAtMs + OUTAGE_MS - Date.now())));
  await startElasticsearch();
  const upAtMs = Date.now();
  t.diagnostic(`Elasticsearch down ${upAtMs - downAtMs} ms (stopped and started again by its script)`);

  await execIn(c.id, ['touch', '/tmp/stop']);
  const total = Number(await waitFor(async () => {
    const r = await execIn(c.id, ['cat', '/tmp/total']);
    return r.exitCode === 0 && r.stdout.trim();
  }, { what: 'the printer to stop' }));
  await waitFor(async () => (await count(target)) >= total && (await bufferBytes()) === 0,
    { what: `all ${total} lines in Elasticsearch and the buffer empty`, timeoutMs: 60_000, intervalMs: 500 }).catch(async (err: Error) => {
    const state = { count: await count(target), bufferBytes: await bufferBytes(), pilot: pilot.logs(/./).filter((l) => l.level !== 'info').slice(-10) };
    throw new Error(`${err.message}: ${JSON.stringify(state)}`, { cause: err });
  });
  const drainedMs = Date.now() - upAtMs;
  await new Promise((r) => setTimeout(r, 1000)); // anything extra would show now

  const docs = await esMessages(target);
  assert.deepEqual(tally(docs.map((d) => d.message), 'o ', total), { missing: 0, duplicates: 0 });
  assert.equal(docs.length, total, 'no document beyond the numbered lines');
  const metrics = await pilot.metrics();
  const buffered = metricSum(metrics, 'shipwatch_buffer_written_events_total', { output: 'elasticsearch' });
  assert.ok(buffered > 0, 'records went through the disk buffer');
  t.diagnostic(`${total} lines, ${buffered} through the disk buffer (${late} bytes at most seen); all in Elasticsearch ${drainedMs} ms after it answered again`);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});
