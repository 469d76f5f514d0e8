import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerInfoFromInspect } from '../../../platform/engine/container-info.js';
import { httpMonitorRun } from '../../../collector/monitoring/http-monitor.js';
import { createLogger } from '../../../platform/log.js';
import { type MetricPoint, fieldPairs, tagPairs } from '../../../model/metric-point.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { runContainer, waitFor, type Cleanup } from '../../helpers/docker.js';
import { startMonitoring } from './support/monitoring-harness.js';

const STATS = { region: 'eu', node: { id: 7 }, requests: 12, up: true, mode: 'primary', latency: { p50: 0.1, p99: 0.9 } };

/** A busybox container serving /www with httpd on 8080: JSON, HTML, a scalar, a big body and a slow CGI. */
async function endpointContainer(t: Cleanup, labels: Record<string, string> = {}) {
  const big = JSON.stringify({ filler: 'x'.repeat(5000) });
  const files: Record<string, string> = {
    'stats.json': JSON.stringify(STATS),
    'list.json': JSON.stringify([{ region: 'eu', load: 1 }, { region: 'us', load: 2 }]),
    'index.html': '<!DOCTYPE html><html><body>It works</body></html>',
    'scalar.json': '42',
    'big.json': big,
  };
  const write = Object.entries(files).map(([name, body]) => `printf '%s' '${body}' > /www/${name}`);
  const slow = `printf '#!/bin/sh\\nsleep 5\\nprintf "Content-Type: application/json\\\\r\\\\n\\\\r\\\\n{}"\\n' > /www/cgi-bin/slow && chmod +x /www/cgi-bin/slow`;
  const c = await runContainer(t, {
    name: 'sw-http', labels,
    cmd: ['sh', '-c', ['mkdir -p /www/cgi-bin', ...write, slow, 'exec httpd -f -p 8080 -h /www'].join(' && ')],
  });
  const ip = containerInfoFromInspect(await c.inspect()).ipAddress;
  await waitFor(async () => (await fetch(`http://${ip}:8080/stats.json`)).ok, { what: 'httpd in the container' });
  return { ...c, ip };
}

function direct(url: string, options: { timeoutMs?: number; maxBodyBytes?: number; tagKeys?: string[] } = {}) {
  const registry = createRegistry('collector', false);
  const logs: Array<Record<string, unknown>> = [];
  const points: MetricPoint[] = [];
  const run = httpMonitorRun({
    url: new URL(url), tagKeys: options.tagKeys ?? [], containerName: 'web-1', tags: { container_name: 'web-1', host: 'test-host' },
    timeoutMs: options.timeoutMs ?? 2000, maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024, emit: (p) => points.push(...p),
    log: createLogger({ level: 'debug', sink: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } }), registry,
  });
  const failures = async (reason: string): Promise<number> => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'shipwatch_monitoring_http_failures_total');
    return (m?.values as Array<{ value: number; labels: Record<string, string> }> | undefined)?.find((v) => v.labels.reason === reason)?.value ?? 0;
  };
  return { run, logs, points, failures };
}

test('an http label on a container serving JSON gives httpjson_<name> points with the declared tags and the container tags', async (t) => {
  const h = await startMonitoring();
  t.after(() => h.close());
  const c = await endpointContainer(t, {
    'aliyun.monitoring.http': 'http://container:8080/stats.json', 'aliyun.monitoring.tags': 'region,node_id',
    'com.docker.compose.project': 'shop',
  });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/http`), { what: 'the http task' });
  const before = BigInt(Date.now()) * 1_000_000n;
  await h.monitoring.scheduler.runAllOnce();
  const points = h.pointsOf(c.id);
  assert.equal(points.length, 1);
  const p = points[0]!;
  assert.equal(p.measurement, `httpjson_${c.name}`);
  assert.deepEqual(tagPairs(p), [['container_name', c.name], ['docker_app', 'shop'], ['host', 'test-host'], ['node_id', '7'], ['region', 'eu']]);
  assert.deepEqual(fieldPairs(p), [
    ['requests', { type: 'float', value: 12 }], ['up', { type: 'bool', value: true }], ['mode', { type: 'string', value: 'primary' }],
    ['latency_p50', { type: 'float', value: 0.1 }], ['latency_p99', { type: 'float', value: 0.9 }],
  ]);
  assert.ok(p.timeNs >= before && p.timeNs <= BigInt(Date.now()) * 1_000_000n);
  assert.equal(await h.counter('shipwatch_monitoring_points_total', { kind: 'http' }), 1);
});

test('an array of objects gives a point per object', async (t) => {
  const c = await endpointContainer(t);
  const d = direct(`http://${c.ip}:8080/list.json`, { tagKeys: ['region'] });
  assert.equal(await d.run(), 'ok');
  assert.deepEqual(d.points.map((p) => [tagPairs(p).find(([k]) => k === 'region')?.[1], fieldPairs(p)]), [
    ['eu', [['load', { type: 'float', value: 1 }]]], ['us', [['load', { type: 'float', value: 2 }]]],
  ]);
});

test('an endpoint that is down, slow, answers HTML, a scalar, an error status or too much is reported and counted, quickly', async (t) => {
  const c = await endpointContainer(t);
  const cases: Array<[path: string, expected: string, detail: RegExp, options?: { timeoutMs?: number; maxBodyBytes?: number }]> = [
    [':8081/stats.json', 'unreachable', /ECONNREFUSED/],
    [':8080/cgi-bin/slow', 'timeout', /no answer within 500 ms/, { timeoutMs: 500 }],
    [':8080/index.html', 'bad_body', /not JSON.*starts with "<!DOCTYPE html>/],
    [':8080/scalar.json', 'bad_body', /the body is number, not a JSON object/],
    [':8080/missing.json', 'status', /answered 404/],
    [':8080/big.json', 'too_large', /larger than 1000 bytes/, { maxBodyBytes: 1000 }],
  ];
  for (const [path, expected, detail, options] of cases) {
    const d = direct(`http://${c.ip}${path}`, options);
    const started = Date.now();
    assert.equal(await d.run(), expected, path);
    assert.ok(Date.now() - started < 2000, `${path} took ${Date.now() - started} ms`);
    assert.equal(await d.failures(expected), 1, path);
    const warned = d.logs.find((l) => l.msg === 'monitoring http poll failed');
    assert.match(String(warned?.reason), detail, path);
    assert.equal(warned?.url, `http://${c.ip}${path}`);
    assert.deepEqual(d.points, [], path);
  }
  // Nothing of the failures sticks: the same server still answers a good poll.
  const d = direct(`http://${c.ip}:8080/stats.json`);
  assert.equal(await d.run(), 'ok');
  assert.equal(d.points.length, 1);
});
