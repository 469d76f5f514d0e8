import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerInfoFromInspect } from '../../../platform/engine/container-info.js';
import { httpMonitorRun } from '../../../collector/monitoring/http-monitor.js';
import { createLogger } from '../../../platform/log.js';
import { type MetricPoint, fieldPairs, tagPairs } from '../../../model/metric-point.js';
import { HTTP_RESPONSE_MEASUREMENT } from '../../../collector/monitoring/http-response.js';
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

const isResponse = (p: MetricPoint): boolean => p.measurement === HTTP_RESPONSE_MEASUREMENT;

/** The http_response point's tags and fields as plain values (response_time checked apart: it varies). */
function responseOf(points: MetricPoint[]): { tags: Record<string, string>; fields: Record<string, unknown>; responseTimeS?: number } {
  const found = points.filter(isResponse);
  assert.equal(found.length, 1, 'one http_response point per poll');
  const p = found[0]!;
  const fields = Object.fromEntries(fieldPairs(p).map(([k, v]) => [k, `${v.type}:${String(v.value)}`]));
  const rt = fields.response_time;
  delete fields.response_time;
  return { tags: Object.fromEntries(tagPairs(p)), fields, ...(rt === undefined ? {} : { responseTimeS: Number(String(rt).slice('float:'.length)) }) };
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
  const all = h.pointsOf(c.id);
  const points = all.filter((x) => !isResponse(x));
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

  // Telegraf's http_response point beside it, with the container's tags, at the same time.
  const r = responseOf(all);
  assert.deepEqual(r.tags, {
    container_name: c.name, docker_app: 'shop', host: 'test-host',
    method: 'GET', result: 'success', server: `http://${c.ip}:8080/stats.json`, status_code: '200',
  });
  assert.deepEqual(r.fields, {
    http_response_code: 'int:200', content_length: `int:${JSON.stringify(STATS).length}`, result_type: 'string:success', result_code: 'int:0',
  });
  assert.ok(r.responseTimeS! > 0 && r.responseTimeS! < 2, `response_time ${r.responseTimeS} s`);
  assert.equal(all.find(isResponse)!.timeNs, p.timeNs);
  assert.equal(await h.counter('shipwatch_monitoring_points_total', { kind: 'http_response' }), 1);
});

test('an array of objects gives a point per object', async (t) => {
  const c = await endpointContainer(t);
  const d = direct(`http://${c.ip}:8080/list.json`, { tagKeys: ['region'] });
  assert.equal(await d.run(), 'ok');
  assert.deepEqual(d.points.filter((p) => !isResponse(p)).map((p) => [tagPairs(p).find(([k]) => k === 'region')?.[1], fieldPairs(p)]), [
    ['eu', [['load', { type: 'float', value: 1 }]]], ['us', [['load', { type: 'float', value: 2 }]]],
  ]);
});

test('an endpoint that is down, slow, answers HTML, a scalar, an error status or too much is reported and counted, quickly; its http_response point says which, as Telegraf numbers it', async (t) => {
  const c = await endpointContainer(t);
  type Response = { result: string; code: number; status?: number };
  const cases: Array<[path: string, expected: string, detail: RegExp, response: Response, options?: { timeoutMs?: number; maxBodyBytes?: number }]> = [
    [':8081/stats.json', 'unreachable', /ECONNREFUSED/, { result: 'connection_failed', code: 3 }],
    ['http://no-such-host.invalid:8080/stats.json', 'unreachable', /ENOTFOUND|EAI_AGAIN/, { result: 'dns_error', code: 5 }],
    [':8080/cgi-bin/slow', 'timeout', /no answer within 500 ms/, { result: 'timeout', code: 4 }, { timeoutMs: 500 }],
    [':8080/index.html', 'bad_body', /not JSON.*starts with "<!DOCTYPE html>/, { result: 'success', code: 0, status: 200 }],
    [':8080/scalar.json', 'bad_body', /the body is number, not a JSON object/, { result: 'success', code: 0, status: 200 }],
    [':8080/missing.json', 'status', /answered 404/, { result: 'success', code: 0, status: 404 }],
    [':8080/big.json', 'too_large', /larger than 1000 bytes/, { result: 'body_read_error', code: 2, status: 200 }, { maxBodyBytes: 1000 }],
  ];
  for (const [path, expected, detail, response, options] of cases) {
    const url = path.startsWith(':') ? `http://${c.ip}${path}` : path;
    const d = direct(url, options);
    const started = Date.now();
    assert.equal(await d.run(), expected, path);
    assert.ok(Date.now() - started < 2000, `${path} took ${Date.now() - started} ms`);
    assert.equal(await d.failures(expected), 1, path);
    const warned = d.logs.find((l) => l.msg === 'monitoring http poll failed');
    assert.match(String(warned?.reason), detail, path);
    assert.equal(warned?.url, url);
    assert.deepEqual(d.points.filter((p) => !isResponse(p)), [], path);
    const r = responseOf(d.points);
    assert.deepEqual(
      { result: r.tags.result, type: r.fields.result_type, code: r.fields.result_code, status: r.tags.status_code, httpCode: r.fields.http_response_code },
      {
        result: response.result, type: `string:${response.result}`, code: `int:${response.code}`,
        status: response.status === undefined ? undefined : String(response.status), httpCode: response.status === undefined ? undefined : `int:${response.status}`,
      },
      path,
    );
    assert.equal(r.responseTimeS === undefined, response.status === undefined, `${path}: response_time only with an answer`);
    assert.equal(r.tags.server, url);
    if (response.status !== undefined) assert.match(String(r.fields.content_length), /^int:[1-9]\d*$/, path);
  }
  // Nothing of the failures sticks: the same server still answers a good poll.
  const d = direct(`http://${c.ip}:8080/stats.json`);
  assert.equal(await d.run(), 'ok');
  assert.equal(d.points.length, 2);
  assert.equal(responseOf(d.points).tags.result, 'success');
});
