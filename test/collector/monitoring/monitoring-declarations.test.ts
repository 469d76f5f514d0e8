import assert from 'node:assert/strict';
import { test } from 'node:test';
import { monitoringDeclaration, parseMonitoringUrl } from '../../../collector/monitoring/monitoring-declarations.js';
import type { ContainerInfo } from '../../../platform/engine/container-info.js';

function container(labels: Record<string, string>, ipAddress = '172.17.0.5'): ContainerInfo {
  return {
    id: 'c'.repeat(64), name: 'shop-web-1', image: 'busybox', hostname: 'c', labels, env: {},
    state: { status: 'running', running: true, pid: 1, exitCode: 0, startedAt: '', finishedAt: '' },
    logPath: '', logDriver: 'json-file', mounts: [], mergedDir: '', upperDir: '', graphDriver: 'overlay2', ipAddress,
    app: '', service: '', stack: '', swarmService: '', swarmTask: '', k8sPod: '', k8sNamespace: '', k8sContainer: '',
  };
}

test('a script, an http endpoint with tags and both addons are read from the labels', () => {
  const { declaration, warnings } = monitoringDeclaration(container({
    'aliyun.monitoring.script': 'sh /gather.sh',
    'aliyun.monitoring.http': 'http://container:8080/stats.json',
    'aliyun.monitoring.tags': 'region, node ,',
    'aliyun.monitoring.addon.influxdb': 'http:influxdb:8086',
    'aliyun.monitoring.addon.prometheus': 'http:prometheus:9090',
  }), 'aliyun');
  assert.deepEqual(warnings, []);
  assert.equal(declaration.script, 'sh /gather.sh');
  assert.equal(declaration.http?.url.href, 'http://172.17.0.5:8080/stats.json');
  assert.deepEqual(declaration.http?.tagKeys, ['region', 'node']);
  assert.equal(declaration.influxdbUrl, 'http://influxdb:8086');
  assert.equal(declaration.prometheusUrl, 'http://prometheus:9090/api/v1/write');
});

test('addon.prometheus names a remote write URL: /api/v1/write unless a path is given; a malformed one is a warning', () => {
  const url = (value: string): string | undefined => monitoringDeclaration(container({ 'aliyun.monitoring.addon.prometheus': value }), 'aliyun').declaration.prometheusUrl;
  assert.equal(url('https://prom.example:443'), 'https://prom.example:443/api/v1/write');
  assert.equal(url(' http:mimir:9009/api/v1/push '), 'http://mimir:9009/api/v1/push');
  for (const bad of ['prometheus:9090', 'http:prometheus', 'tcp:prometheus:9090', 'http:prometheus:70000', '']) {
    const { declaration, warnings } = monitoringDeclaration(container({ 'aliyun.monitoring.addon.prometheus': bad, 'aliyun.monitoring.script': 'x' }), 'aliyun');
    assert.equal(declaration.prometheusUrl, undefined, bad);
    assert.equal(declaration.script, 'x');
    assert.equal(warnings.length, 1, bad);
    assert.equal(warnings[0]!.label, 'aliyun.monitoring.addon.prometheus');
    assert.match(warnings[0]!.reason, /is not <http\|https>:<host>:<port> \(e\.g\. http:prometheus:9090/);
  }
});

test('a container without monitoring labels declares nothing, and another prefix is not read', () => {
  assert.deepEqual(monitoringDeclaration(container({ 'other.monitoring.script': 'x' }), 'aliyun'), { declaration: {}, warnings: [] });
  assert.equal(monitoringDeclaration(container({ 'acme.monitoring.script': 'x' }), 'acme').declaration.script, 'x');
});

test('an empty command is refused with the container, the label and the reason; the other labels stay', () => {
  const { declaration, warnings } = monitoringDeclaration(container({
    'aliyun.monitoring.script': '   ', 'aliyun.monitoring.http': 'http://container/x',
  }), 'aliyun');
  assert.deepEqual(warnings, [{ container: 'shop-web-1', label: 'aliyun.monitoring.script', reason: 'the command is empty' }]);
  assert.equal(declaration.script, undefined);
  assert.equal(declaration.http?.url.href, 'http://172.17.0.5/x');
});

test('a URL that does not parse, or is not http(s), is refused', () => {
  for (const [raw, reason] of [['not a url', /is not a URL/], ['ftp://container/x', /not an http\(s\) URL/], ['container:8080/x', /not an http\(s\) URL/]] as const) {
    const { declaration, warnings } = monitoringDeclaration(container({ 'aliyun.monitoring.http': raw }), 'aliyun');
    assert.equal(declaration.http, undefined);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.label, 'aliyun.monitoring.http');
    assert.match(warnings[0]!.reason, reason);
  }
});

test('the host "container" is the container\'s own address; other hosts are left alone; no address is an error', () => {
  assert.equal((parseMonitoringUrl('https://CONTAINER:8443/m?x=1', '10.0.0.9') as URL).href, 'https://10.0.0.9:8443/m?x=1');
  assert.equal((parseMonitoringUrl('http://metrics.internal:9100/', '10.0.0.9') as URL).href, 'http://metrics.internal:9100/');
  assert.match(parseMonitoringUrl('http://container:8080/', '') as string, /no address/);
});

test('tags without an http endpoint are reported', () => {
  const { warnings } = monitoringDeclaration(container({ 'aliyun.monitoring.tags': 'a,b' }), 'aliyun');
  assert.deepEqual(warnings.map((w) => w.label), ['aliyun.monitoring.tags']);
});

test('addon.influxdb takes <scheme>:<host>:<port> (and the URL form); anything else is refused', () => {
  const influx = (value: string) => monitoringDeclaration(container({ 'aliyun.monitoring.addon.influxdb': value }), 'aliyun');
  assert.equal(influx('http:influxdb:8086').declaration.influxdbUrl, 'http://influxdb:8086');
  assert.equal(influx('https:10.1.2.3:443').declaration.influxdbUrl, 'https://10.1.2.3:443');
  assert.equal(influx(' http://influx.local:8086 ').declaration.influxdbUrl, 'http://influx.local:8086');
  for (const bad of ['influxdb:8086', 'tcp:influxdb:8086', 'http:influxdb', 'http:influxdb:0', 'http:influxdb:70000', 'http:influx/db:8086', '']) {
    const r = influx(bad);
    assert.equal(r.declaration.influxdbUrl, undefined, bad);
    assert.equal(r.warnings[0]?.label, 'aliyun.monitoring.addon.influxdb', bad);
    assert.match(r.warnings[0]!.reason, /is not <http\|https>:<host>:<port>/);
  }
});
