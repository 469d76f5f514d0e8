/**
 * `aliyun.monitoring.addon.influxdb` as the platform's own example uses it: containers name an InfluxDB 1.x (the
 * real one of the test set-up, 1.6, which has no /api/v2/write) and their script and HTTP monitors' points are read
 * back from its database `telegraf` with InfluxQL. Composed as the program composes it: container monitoring on the
 * real engine → the metric outputs (an InfluxDB output per label, on the delivery chain).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMetricOutputs, type MetricOutputs } from '../../../collector/metrics/metric-outputs.js';
import { containerInfoFromInspect } from '../../../platform/engine/container-info.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { silentLogger } from '../../../platform/log.js';
import type { Cleanup } from '../../helpers/cleanup.js';
import { runContainer, waitFor } from '../../helpers/docker.js';
import { databases, influxDbUrl, influxQuery, influxRows, NO_INFLUXDB } from '../../helpers/influxdb.js';
import { startMonitoring, type Harness } from './support/monitoring-harness.js';

const INFLUX = influxDbUrl();
const skip = INFLUX === undefined ? NO_INFLUXDB : false;

/** The container monitoring harness writing to real metric outputs (no INFLUXDB_URL: only what labels name). */
async function monitoringWithOutputs(t: Cleanup): Promise<{ h: Harness; outputs: MetricOutputs; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-addon-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let outputs: MetricOutputs | undefined;
  const h = await startMonitoring({ forward: (points, route) => outputs!.write(points, route) });
  t.after(() => h.close());
  const config = loadConfig({ INFLUXDB_FLUSH_INTERVAL: '100ms', INFLUXDB_RETRY_MAX_DELAY: '1s' }, 'collector');
  outputs = createMetricOutputs(config.collector, { log: silentLogger, registry: h.registry, dataDir, drainTimeoutMs: 2_000 });
  const opened = outputs;
  t.after(async () => {
    const hold = setInterval(() => undefined, 1_000); // the chain's drain timer does not hold the loop
    try {
      await opened.close();
    } finally {
      clearInterval(hold);
    }
  });
  return { h, outputs, dataDir };
}

test('a script monitor\'s and an HTTP monitor\'s points reach database telegraf of the InfluxDB 1.x their addon.influxdb label names', { skip }, async (t) => {
  const url = new URL(INFLUX!);
  const addon = `${url.protocol.slice(0, -1)}:${url.hostname}:${url.port}`; // http:127.0.0.1:8086
  const { h, outputs } = await monitoringWithOutputs(t);

  const script = await runContainer(t, {
    name: 'sw-addon-script',
    labels: { 'aliyun.monitoring.script': "printf 'swaddon_disk,probe=root used=42i,free=0.25,ok=true\\n'", 'aliyun.monitoring.addon.influxdb': addon },
  });
  t.after(() => influxQuery(INFLUX!, `DELETE FROM "swaddon_disk" WHERE "container_name" = '${script.name}'`, 'telegraf'));
  const stats = JSON.stringify({ region: 'eu', requests: 12, latency: { p99: 0.9 }, up: true });
  const http = await runContainer(t, {
    name: 'sw-addon-http',
    labels: { 'aliyun.monitoring.http': 'http://container:8080/stats.json', 'aliyun.monitoring.tags': 'region', 'aliyun.monitoring.addon.influxdb': addon },
    cmd: ['sh', '-c', `mkdir -p /www && printf '%s' '${stats}' > /www/stats.json && exec httpd -f -p 8080 -h /www`],
  });
  const httpMeasurement = `httpjson_${http.name}`;
  t.after(() => influxQuery(INFLUX!, `DROP MEASUREMENT "${httpMeasurement}"`, 'telegraf'));
  const ip = containerInfoFromInspect(await http.inspect()).ipAddress;
  await waitFor(async () => (await fetch(`http://${ip}:8080/stats.json`)).ok, { what: 'httpd in the container' });
  await waitFor(() => h.monitoring.scheduler.has(`${script.id}/script`) && h.monitoring.scheduler.has(`${http.id}/http`), { what: 'both tasks' });

  const before = Date.now();
  await h.monitoring.scheduler.runAllOnce();
  const after = Date.now();

  const scriptRows = await waitFor(async () => {
    const rows = await influxRows(INFLUX!, 'telegraf', `SELECT * FROM "swaddon_disk" WHERE "container_name" = '${script.name}'`);
    return rows.length > 0 && rows;
  }, { timeoutMs: 30_000, what: 'the script\'s point in telegraf' });
  assert.equal(scriptRows.length, 1);
  const s = scriptRows[0]!;
  assert.deepEqual({ used: s.used, free: s.free, ok: s.ok, probe: s.probe, host: s.host }, { used: 42, free: 0.25, ok: true, probe: 'root', host: 'test-host' });
  assert.ok(Number(s.time) >= before - 1 && Number(s.time) <= after + 1, `collection time ${String(s.time)}`);

  const httpRows = await waitFor(async () => {
    const rows = await influxRows(INFLUX!, 'telegraf', `SELECT * FROM "${httpMeasurement}"`);
    return rows.length > 0 && rows;
  }, { timeoutMs: 30_000, what: `${httpMeasurement} in telegraf` });
  assert.equal(httpRows.length, 1);
  const r = httpRows[0]!;
  assert.deepEqual(
    { requests: r.requests, latency_p99: r.latency_p99, up: r.up, region: r.region, container_name: r.container_name },
    { requests: 12, latency_p99: 0.9, up: true, region: 'eu', container_name: http.name },
  );
  const [tagKeys] = await influxQuery(INFLUX!, `SHOW TAG KEYS FROM "${httpMeasurement}"`, 'telegraf');
  assert.ok(tagKeys!.values.some(([k]) => k === 'region'), 'region is a tag, as aliyun.monitoring.tags says');
  assert.ok((await databases(INFLUX!)).includes('telegraf'));
  // One output for the one InfluxDB both labels name, and it delivers.
  assert.equal(outputs.health.length, 1);
  assert.equal(await outputs.health[0]!.check(), undefined);
});

test('a malformed addon.influxdb label is a warning naming the container; its script still runs and its points reach the other outputs', { skip }, async (t) => {
  const { h, outputs, dataDir } = await monitoringWithOutputs(t);
  const c = await runContainer(t, {
    name: 'sw-addon-bad',
    labels: { 'aliyun.monitoring.script': "printf 'swaddon_bad v=1i\\n'", 'aliyun.monitoring.addon.influxdb': 'influxdb:8086' },
  });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/script`), { what: 'the script task' });
  const warning = h.logs.find((l) => l.msg === 'invalid monitoring label skipped');
  assert.deepEqual({ container: warning?.container, label: warning?.label }, { container: c.name, label: 'aliyun.monitoring.addon.influxdb' });
  assert.match(String(warning?.reason), /^"influxdb:8086" is not <http\|https>:<host>:<port> \(e\.g\. http:influxdb:8086\): this container's points go to the other metric outputs only$/);
  assert.equal(await h.counter('shipwatch_monitoring_bad_declarations_total'), 1);

  await h.monitoring.scheduler.runAllOnce();
  const points = await h.waitForPoints(c.id, (p) => p.length > 0, 'the script\'s point');
  assert.deepEqual(points.map((p) => p.measurement), ['swaddon_bad']);
  assert.deepEqual(h.emitted.filter((e) => e.route.containerId === c.id).map((e) => e.route.influxdbUrl), [undefined]);
  // The other outputs have it (the Prometheus series); no InfluxDB output was made for the bad label.
  const exposed = outputs.prometheus.render().split('\n').filter((l) => l.startsWith('swaddon_bad_v{'));
  assert.equal(exposed.length, 1, outputs.prometheus.render());
  assert.ok(exposed[0]!.includes(`container_name="${c.name}"`) && exposed[0]!.endsWith(' 1'), exposed[0]);
  assert.deepEqual(outputs.health, []);
  assert.deepEqual(readdirSync(dataDir), []);
});
