import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerInfoFromInspect } from '../../../platform/engine/container-info.js';
import { splitImage } from '../../../collector/monitoring/container-monitoring.js';
import { fieldPairs } from '../../../model/metric-point.js';
import { docker, runContainer, waitFor } from '../../helpers/docker.js';
import { testServices } from '../../helpers/services.js';
import { startMonitoring, tagOf } from './support/monitoring-harness.js';

test('a running container gets docker_container_cpu, mem, net and blkio points with Telegraf\'s tags, its labels and ours', async (t) => {
  const h = await startMonitoring({ containerStats: true });
  t.after(() => h.close());
  const c = await runContainer(t, {
    name: 'sw-stats',
    labels: { 'com.docker.swarm.service.name': 'shop_web', 'com.docker.stack.namespace': 'shop', 'aliyun.logs.app': 'stdout', host: 'from-a-label', team: 'payments' },
  });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/stats`), { what: 'the stats task' });
  assert.equal(h.monitoring.scheduler.has(`${c.id}/script`), false, 'no script declared, no script task');
  await h.monitoring.scheduler.runAllOnce();
  const points = h.pointsOf(c.id);
  assert.deepEqual([...new Set(points.map((p) => p.measurement))].sort(), ['docker_container_blkio', 'docker_container_cpu', 'docker_container_mem', 'docker_container_net']);
  const [image, version] = splitImage(testServices().image);
  for (const p of points) {
    assert.equal(tagOf(p, 'container_name'), c.name);
    assert.equal(tagOf(p, 'container_image'), image);
    assert.equal(tagOf(p, 'container_version'), version);
    assert.equal(tagOf(p, 'container_status'), 'running');
    assert.equal(tagOf(p, 'engine_host'), 'test-host');
    assert.equal(tagOf(p, 'host'), 'test-host');
    assert.equal(tagOf(p, 'docker_app'), 'shop');
    assert.equal(tagOf(p, 'docker_service'), 'shop_web');
    assert.deepEqual(fieldPairs(p).find(([k]) => k === 'container_id')?.[1], { type: 'string', value: c.id });
    // Labels become tags as in Telegraf, except the declaration labels; a label never replaces one of our tags.
    assert.equal(tagOf(p, 'team'), 'payments');
    assert.equal(tagOf(p, 'com.docker.stack.namespace'), 'shop');
    assert.equal(tagOf(p, 'aliyun.logs.app'), undefined);
  }
  const mem = points.find((p) => p.measurement === 'docker_container_mem')!;
  const usage = fieldPairs(mem).find(([k]) => k === 'usage')?.[1];
  assert.ok(usage?.type === 'int' && usage.value > 0n);
});

test('image names split into name and version as Telegraf splits them', () => {
  assert.deepEqual(splitImage('busybox'), ['busybox', 'unknown']);
  assert.deepEqual(splitImage('shipwatch-test/busybox:latest'), ['shipwatch-test/busybox', 'latest']);
  assert.deepEqual(splitImage('registry.local:5000/team/app:1.2'), ['registry.local:5000/team/app', '1.2']);
  assert.deepEqual(splitImage('localhost/app'), ['localhost/app', 'unknown']);
});

test('a container that stops has its tasks removed and is forgotten; a run still going then emits nothing', async (t) => {
  const h = await startMonitoring({ containerStats: true, timeoutMs: 5000 });
  t.after(() => h.close());
  // The endpoint lives in another container and answers after a second, whatever happens to the declaring one.
  const server = await runContainer(t, {
    name: 'sw-slow-server',
    cmd: ['sh', '-c', `mkdir -p /www/cgi-bin && printf '#!/bin/sh\\nsleep 1\\nprintf "Content-Type: application/json\\\\r\\\\n\\\\r\\\\n{\\\\"late\\\\": 1}"\\n' > /www/cgi-bin/late && chmod +x /www/cgi-bin/late && exec httpd -f -p 8080 -h /www`],
  });
  const serverIp = containerInfoFromInspect(await server.inspect()).ipAddress;
  await waitFor(async () => (await fetch(`http://${serverIp}:8080/cgi-bin/late`)).ok, { what: 'the slow endpoint' });
  const c = await runContainer(t, { name: 'sw-stop', labels: { 'aliyun.monitoring.http': `http://${serverIp}:8080/cgi-bin/late` } });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/http`) && h.monitoring.scheduler.has(`${c.id}/stats`), { what: 'the tasks' });
  const round = h.monitoring.scheduler.runAllOnce();
  await sleep(300);
  await docker().getContainer(c.id).kill();
  await waitFor(() => h.forgotten.some((f) => f.id === c.id), { what: 'forget for the stopped container' });
  assert.deepEqual(h.forgotten.filter((f) => f.id === c.id), [{ id: c.id, name: c.name }]);
  assert.equal(h.monitoring.scheduler.has(`${c.id}/http`), false);
  assert.equal(h.monitoring.scheduler.has(`${c.id}/stats`), false);
  await round;
  assert.equal(await h.counter('shipwatch_monitoring_points_total', { kind: 'http' }), 1, 'the poll did get its answer');
  assert.deepEqual(h.pointsOf(c.id), [], 'but a container forgotten meanwhile gets no points');
  await h.monitoring.scheduler.runAllOnce();
  await sleep(200);
  assert.deepEqual(h.pointsOf(c.id), []);
  // Removing it later does not forget it twice.
  await docker().getContainer(c.id).remove({ force: true });
  await sleep(500);
  assert.equal(h.forgotten.filter((f) => f.id === c.id).length, 1);
});

test('a container that restarts gets its tasks back and is monitored again', async (t) => {
  const h = await startMonitoring();
  t.after(() => h.close());
  const c = await runContainer(t, { name: 'sw-restart', labels: { 'aliyun.monitoring.script': 'echo alive v=1' } });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/script`), { what: 'the script task' });
  await docker().getContainer(c.id).restart({ t: 0 });
  await waitFor(() => h.forgotten.some((f) => f.id === c.id) && h.monitoring.scheduler.has(`${c.id}/script`), { what: 'forget then the task again' });
  await h.monitoring.scheduler.runAllOnce();
  // The restarted task may also have ticked on its own phase before this round: one point or more, all its own.
  const measurements = h.pointsOf(c.id).map((p) => p.measurement);
  assert.ok(measurements.length >= 1, 'the restarted container is monitored again');
  assert.deepEqual([...new Set(measurements)], ['alive']);
});
