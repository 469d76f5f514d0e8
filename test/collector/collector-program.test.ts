/**
 * The collector program end to end on real parts: a busybox container declares `aliyun.monitoring.script`; the
 * collector runs it inside the container, its points (with the container's tags) reach VictoriaMetrics through the
 * InfluxDB v2 API, and a real Prometheus scraping the collector's /metrics sees the same series. When the container
 * is removed, its series leave /metrics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { start } from '../../collector/collector-program.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { CleanupList, removeContainer, runContainer, waitFor } from '../helpers/docker.js';
import { startPrometheus } from '../helpers/prometheus.js';
import { testServices } from '../helpers/services.js';
import { exportSeries } from '../helpers/victoria-metrics.js';

test('a container\'s monitoring script reaches VictoriaMetrics and a real Prometheus scraping the collector', async (t) => {
  const cleanup = new CleanupList();
  t.after(() => cleanup.run());
  const { vmUrl } = testServices();
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-collector-'));
  cleanup.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const measurement = `sw_e2e_${process.pid}_${Date.now() % 100000}`;

  const container = await runContainer(cleanup, {
    name: 'sw-monitored',
    labels: {
      'aliyun.monitoring.script': `echo "${measurement},room=lab temp=21.5,ok=true"; echo "not line protocol"`,
      'com.docker.compose.project': 'shop',
      'com.docker.compose.service': 'web',
    },
  });

  const shared = new SharedResources();
  const config = loadConfig({
    SHIPWATCH_DATA_DIR: dataDir, INFLUXDB_URL: vmUrl, INFLUXDB_FLUSH_INTERVAL: '200ms', MONITORING_INTERVAL: '1s',
    COLLECTOR_CONTAINER_STATS: 'false', SHIPWATCH_HOSTNAME: 'test-host',
    COLLECTOR_ADMIN_LISTEN: '127.0.0.1:0', COLLECTOR_OTLP_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_ZIPKIN_LISTEN: '127.0.0.1:0',
    COLLECTOR_JAEGER_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_COMPACT_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0',
    COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
  }, 'collector');
  const collector = await start({ config, log: silentLogger, shared });
  cleanup.after(async () => {
    await collector.close();
    await shared.closeAll();
  });
  const adminPort = Number(/admin .* on 127\.0\.0\.1:(\d+)/.exec(collector.summary.join('\n'))![1]);

  // InfluxDB API → VictoriaMetrics: measurement_field series with the container's tags added.
  const series = await waitFor(async () => {
    const found = await exportSeries(vmUrl, `{__name__="${measurement}_temp"}`);
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 30_000, what: 'the script point in VictoriaMetrics' });
  assert.equal(series[0]!.values.at(-1), 21.5);
  assert.equal(series[0]!.metric['room'], 'lab');
  assert.equal(series[0]!.metric['container_name'], container.name);
  assert.equal(series[0]!.metric['docker_app'], 'shop');
  assert.equal(series[0]!.metric['docker_service'], 'web');
  assert.equal(series[0]!.metric['host'], 'test-host');

  // Prometheus scrapes the collector and answers for the same series through its own query API.
  const prometheus = await startPrometheus(cleanup, { jobs: [{ job: 'shipwatch', targets: [`127.0.0.1:${adminPort}`] }] });
  const samples = await waitFor(async () => {
    const found = await prometheus.query(`${measurement}_temp{container_name="${container.name}"}`);
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 30_000, what: 'the series through Prometheus' });
  assert.equal(samples[0]!.value, 21.5);
  assert.equal(samples[0]!.metric['room'], 'lab');
  const okSamples = await prometheus.query(`${measurement}_ok`);
  assert.equal(okSamples[0]?.value, 1, 'a boolean field is exposed as 0/1');

  // The container goes away: its series leave the collector's /metrics.
  await removeContainer(container.id);
  await waitFor(async () => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    return text.includes(`${measurement}_temp`) ? undefined : true;
  }, { timeoutMs: 20_000, what: 'the gone container\'s series to disappear' });
});
