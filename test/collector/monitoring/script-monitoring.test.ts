import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fieldPairs, tagPairs } from '../../../model/metric-point.js';
import { containerProcesses, runContainer, waitFor } from '../../helpers/docker.js';
import { startMonitoring, tagOf } from './support/monitoring-harness.js';

/** Live (non-zombie) processes of a container. */
async function liveProcesses(id: string): Promise<string[]> {
  return (await containerProcesses(id)).filter((p) => !p.stat.startsWith('Z')).map((p) => p.args);
}

test('a script\'s line protocol becomes points: collection time where no timestamp, a bad line reported and skipped, container tags added', async (t) => {
  const h = await startMonitoring();
  t.after(() => h.close());
  const script = [
    "printf 'app_requests,route=/a count=3i,ok=true\\n'",
    "printf 'this is not line protocol\\n'",
    "printf 'app_latency,host=own-host p99=0.25 1700000000000000000\\n'",
    "printf 'app_queue depth=7\\n'",
  ].join('; ');
  const c = await runContainer(t, {
    name: 'sw-script', labels: {
      'aliyun.monitoring.script': script, 'aliyun.monitoring.addon.influxdb': 'http:influxdb:8086',
      'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web',
    },
  });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/script`), { what: 'the script task' });
  const before = BigInt(Date.now()) * 1_000_000n;
  await h.monitoring.scheduler.runAllOnce();
  const after = BigInt(Date.now()) * 1_000_000n;

  const points = h.pointsOf(c.id);
  assert.deepEqual(points.map((p) => p.measurement), ['app_requests', 'app_latency', 'app_queue']);
  const [requests, latency, queue] = points;
  assert.deepEqual(fieldPairs(requests!), [['count', { type: 'int', value: 3n }], ['ok', { type: 'bool', value: true }]]);
  for (const p of [requests!, queue!]) assert.ok(p.timeNs >= before && p.timeNs <= after, `collection time, got ${p.timeNs}`);
  assert.equal(latency!.timeNs, 1_700_000_000_000_000_000n);
  assert.deepEqual(tagPairs(requests!), [['container_name', c.name], ['docker_app', 'shop'], ['docker_service', 'web'], ['host', 'test-host'], ['route', '/a']]);
  assert.equal(tagOf(latency!, 'host'), 'own-host', 'a tag the point carries is kept');
  assert.deepEqual(h.emitted.filter((e) => e.route.containerId === c.id).map((e) => e.route.influxdbUrl), ['http://influxdb:8086']);

  const bad = h.logs.filter((l) => l.msg === 'monitoring script printed a bad line: skipped');
  assert.equal(bad.length, 1);
  assert.deepEqual({ container: bad[0]!.container, line: bad[0]!.line, text: bad[0]!.text }, { container: c.name, line: 2, text: 'this is not line protocol' });
  assert.equal(await h.counter('shipwatch_monitoring_bad_lines_total'), 1);
  assert.equal(await h.counter('shipwatch_monitoring_script_runs_total', { outcome: 'ok' }), 1);
  assert.equal(await h.counter('shipwatch_monitoring_points_total', { kind: 'script' }), 3);
});

test('a script that exits 1 is reported with its code and error line; what it printed is still read', async (t) => {
  const h = await startMonitoring();
  t.after(() => h.close());
  const c = await runContainer(t, { name: 'sw-script-fail', labels: { 'aliyun.monitoring.script': "echo 'partial v=1'; echo 'probe failed: no route' >&2; exit 1" } });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/script`), { what: 'the script task' });
  await h.monitoring.scheduler.runAllOnce();
  assert.equal(await h.counter('shipwatch_monitoring_script_runs_total', { outcome: 'failed' }), 1);
  const warned = h.logs.find((l) => l.msg === 'monitoring script failed');
  assert.deepEqual({ exitCode: warned?.exitCode, stderr: warned?.stderr, container: warned?.container }, { exitCode: 1, stderr: 'probe failed: no route', container: c.name });
  assert.deepEqual(h.pointsOf(c.id).map((p) => p.measurement), ['partial']);
});

test('a script that prints garbage gives no points; every bad line is counted, three are logged', async (t) => {
  const h = await startMonitoring();
  t.after(() => h.close());
  const c = await runContainer(t, {
    name: 'sw-script-garbage',
    labels: { 'aliyun.monitoring.script': "seq 1 20 | sed 's/^/garbage line /'; echo '{\"json\": 1}'; printf '\\001\\002\\377 x\\n'" },
  });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/script`), { what: 'the script task' });
  await h.monitoring.scheduler.runAllOnce();
  assert.deepEqual(h.pointsOf(c.id), []);
  assert.equal(await h.counter('shipwatch_monitoring_bad_lines_total'), 22);
  const logged = h.logs.filter((l) => l.msg === 'monitoring script printed a bad line: skipped');
  assert.deepEqual(logged.map((l) => [l.line, l.text]), [[1, 'garbage line 1'], [2, 'garbage line 2'], [3, 'garbage line 3']]);
  assert.equal(h.logs.find((l) => l.msg === 'more bad lines skipped')?.count, 19);
  assert.equal(await h.counter('shipwatch_monitoring_script_runs_total', { outcome: 'ok' }), 1);
});

// The script never ends by itself: one that did (`yes | head -c 10000000`) could finish writing before it was stopped
// on a loaded machine, and the run then said nothing was killed.
test('a script printing without end is stopped at the output bound; the complete lines before the cut are kept', async (t) => {
  const maxOutputBytes = 64 * 1024;
  const h = await startMonitoring({ maxOutputBytes, timeoutMs: 10_000 });
  t.after(() => h.close());
  const c = await runContainer(t, { name: 'sw-script-big', labels: { 'aliyun.monitoring.script': "yes 'big v=1i'" } });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/script`), { what: 'the script task' });
  const started = Date.now();
  await h.monitoring.scheduler.runAllOnce();
  const tookMs = Date.now() - started;
  const points = h.pointsOf(c.id);
  assert.equal(points.length, Math.floor(maxOutputBytes / 'big v=1i\n'.length));
  assert.ok(points.every((p) => p.measurement === 'big'));
  assert.equal(await h.counter('shipwatch_monitoring_script_runs_total', { outcome: 'too_large' }), 1);
  assert.equal(await h.counter('shipwatch_monitoring_bad_lines_total'), 0, 'the cut line is not reported as bad');
  assert.ok(h.logs.some((l) => l.msg === 'monitoring script printed more than the output bound: stopped, the output cut' && l.killed === true));
  assert.ok(tookMs < 5000, `took ${tookMs} ms`);
  await sleep(300);
  assert.deepEqual((await liveProcesses(c.id)).filter((p) => /yes|head/.test(p)), []);
});

test('a long standard error is cut without touching the lines of standard output', async (t) => {
  const h = await startMonitoring({ maxOutputBytes: 64 * 1024 });
  t.after(() => h.close());
  const c = await runContainer(t, { name: 'sw-script-stderr', labels: { 'aliyun.monitoring.script': "yes 'noise' | head -c 2000000 >&2; echo 'quiet v=1'" } });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/script`), { what: 'the script task' });
  await h.monitoring.scheduler.runAllOnce();
  assert.equal(await h.counter('shipwatch_monitoring_script_runs_total', { outcome: 'ok' }), 1);
  assert.deepEqual(h.pointsOf(c.id).map((p) => p.measurement), ['quiet']);
});

test('a script that never ends is stopped inside the container at the timeout, ticks meanwhile skip, and nothing piles up', async (t) => {
  const h = await startMonitoring({ intervalMs: 250, timeoutMs: 700 });
  t.after(() => h.close());
  const c = await runContainer(t, { name: 'sw-script-stuck', labels: { 'aliyun.monitoring.script': 'echo "stuck v=1"; while :; do sleep 1; done' } });
  await waitFor(async () => (await h.counter('shipwatch_monitoring_script_runs_total', { outcome: 'timeout' })) >= 3, { what: 'three timed-out runs', timeoutMs: 15_000 });
  await h.close();
  assert.ok((await h.counter('shipwatch_monitoring_skipped_ticks_total', { kind: 'script' })) >= 2, 'ticks during a run were skipped');
  assert.ok(h.logs.some((l) => l.msg === 'monitoring run still going at the next tick: tick skipped' && l.container === c.name));
  const stopped = h.logs.filter((l) => l.msg === 'monitoring script overran its timeout: stopped');
  assert.ok(stopped.length >= 3 && stopped.every((l) => l.killed === true));
  // The line printed before the timeout is still read, once per run.
  assert.ok(h.pointsOf(c.id).length >= 3 && h.pointsOf(c.id).every((p) => p.measurement === 'stuck'));
  await sleep(300);
  assert.deepEqual(await liveProcesses(c.id), ['sleep 3600'], 'only pid 1 is left running');
});
