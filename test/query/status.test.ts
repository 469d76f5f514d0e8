import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildAdminApp } from '../../platform/http/admin-server.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { createEngineClient } from '../../platform/engine/docker-client.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { createRegistry } from '../../platform/self-metrics.js';
import { openStoreSpanStorage } from '../../storage/span-storage-factory.js';
import { openStoreLogStorage } from '../../storage/sqlite/log-store.js';
import { start } from '../../query/query-program.js';
import { createStatusSource, declarationsOf, healthUrlOf, type StatusReport } from '../../query/status.js';
import { runContainer } from '../helpers/docker.js';
import { freePort } from '../helpers/ports.js';
import { testServices } from '../helpers/services.js';
import { sampleLogs, sampleTrace } from '../helpers/ui-sample-data.js';

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-status-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Span storage on a store of its own in the test's folder, closed when the test ends. */
function spanStore(t: { after(fn: () => unknown): unknown }, sub: string): ReturnType<typeof openStoreSpanStorage> {
  const shared = new SharedResources();
  t.after(() => shared.closeAll());
  return openStoreSpanStorage({ config: loadConfig({ SHIPWATCH_DATA_DIR: join(dir, sub) }, 'query'), log: silentLogger, shared });
}

describe('declarations read from labels', () => {
  test('each log name with its source and the monitoring kinds, ignoring options and other prefixes', () => {
    const d = declarationsOf({
      'aliyun.logs.web': 'stdout', 'aliyun.logs.web.format': 'json', 'aliyun.logs.web.tags': 'a=b', 'custom.logs.files': '/var/log/*.log',
      'other.logs.skip': 'stdout', 'aliyun.monitoring.http': 'http://container:8080/', 'aliyun.monitoring.tags': 'x',
      'aliyun.monitoring.script': '', 'com.docker.compose.project': 'shop',
    }, ['aliyun', 'custom'], 'aliyun');
    assert.deepEqual(d, { logs: [{ name: 'files', source: '/var/log/*.log' }, { name: 'web', source: 'stdout' }], monitoring: ['http'] });
  });
});

describe('program health', () => {
  test('each program is ok, unhealthy with its failing checks, or unreachable with the reason', async (t) => {
    const healthy = buildAdminApp({ registry: createRegistry('pilot'), health: [{ name: 'engine', check: () => undefined }], log: silentLogger });
    const sick = buildAdminApp({ registry: createRegistry('collector'), health: [{ name: 'engine', check: () => 'no socket' }], log: silentLogger });
    t.after(() => Promise.all([healthy.close(), sick.close()]));
    const urls = await Promise.all([healthy, sick].map((app) => app.listen({ host: '127.0.0.1', port: 0 })));
    const closed = await freePort();
    const status = createStatusSource({
      command: 'all',
      programs: [
        { name: 'pilot', healthUrl: `${urls[0]}/health` },
        { name: 'collector', healthUrl: `${urls[1]}/health` },
        { name: 'other', healthUrl: `http://127.0.0.1:${closed}/health` },
        { name: 'query', self: true },
        { name: 'elsewhere' },
      ],
      spanReader: spanStore(t, 'a'),
      spanStorage: 'store',
    });
    const report = await status();
    assert.deepEqual(report.programs.map((p) => [p.name, p.state]), [['pilot', 'ok'], ['collector', 'unhealthy'], ['other', 'unreachable'], ['query', 'ok'], ['elsewhere', 'unknown']]);
    assert.deepEqual(report.programs[1]!.failures, { engine: 'no socket' });
    assert.equal(report.programs[0]!.admin, urls[0]);
    assert.ok(report.programs[2]!.failures?.admin, 'the reason there was no answer');
  });

  test('an admin port on every interface is asked on loopback; one chosen at start cannot be asked', () => {
    assert.equal(healthUrlOf({ host: '0.0.0.0', port: 14271 }), 'http://127.0.0.1:14271/health');
    assert.equal(healthUrlOf({ host: '::1', port: 14269 }), 'http://[::1]:14269/health');
    assert.equal(healthUrlOf({ host: '127.0.0.1', port: 0 }), undefined);
  });
});

describe('the engine and the storages', () => {
  test('a running container declaring logs and monitoring is listed with them; what the store holds is counted', async (t) => {
    const runtime = { config: loadConfig({ SHIPWATCH_DATA_DIR: join(dir, 'b') }, 'all'), log: silentLogger, shared: new SharedResources() };
    t.after(() => runtime.shared.closeAll());
    const now = Date.now();
    const logs = openStoreLogStorage(runtime);
    await logs.write(sampleLogs(now));
    const spans = openStoreSpanStorage(runtime);
    await spans.writeSpans(sampleTrace(now));
    const c = await runContainer(t, { name: 'sw-status', labels: { 'aliyun.logs.app': 'stdout', 'aliyun.logs.app.format': 'json', 'aliyun.monitoring.script': 'echo cpu v=1' } });
    const status = createStatusSource({
      command: 'all', programs: [], spanReader: spans, spanStorage: 'store', logReader: logs, metricStorage: 'influxdb at db:8086, database telegraf',
      receivers: { otlpHttp: 14318, otlpGrpc: 14317, jaegerHttp: 14268, jaegerCompact: 6831, jaegerBinary: 6832, zipkin: 9411, lineProtocol: 14269 },
      engine: { client: createEngineClient(`unix://${testServices().dockerSocket}`), logPrefixes: ['aliyun'], monitoringPrefix: 'aliyun' },
    });
    const report = await status();
    assert.equal(report.engine?.connected, true);
    const listed = report.engine!.containers.find((x) => x.id === c.id);
    assert.deepEqual(listed && { name: listed.name, state: listed.state, logs: listed.logs, monitoring: listed.monitoring },
      { name: c.name, state: 'running', logs: [{ name: 'app', source: 'stdout' }], monitoring: ['script'] });
    assert.deepEqual(report.storage, { spans: 'store', services: 4, logs: 'store', logRecords: 7, newestLog: new Date(now - 30_000).toISOString(), metrics: 'influxdb at db:8086, database telegraf' });
    assert.equal(report.receivers?.otlpHttp, 14318, 'the ports it was given, for the hints');
  });

  test('an engine that is not there is reported with the reason, and the rest of the status still answers', async (t) => {
    const status = createStatusSource({
      command: 'all', programs: [{ name: 'query', self: true }],
      spanReader: spanStore(t, 'c'),
      spanStorage: 'store',
      engine: { client: createEngineClient(`unix://${join(dir, 'no-such.sock')}`), logPrefixes: ['aliyun'], monitoringPrefix: 'aliyun' },
    });
    const report: StatusReport = await status();
    assert.equal(report.engine?.connected, false);
    assert.match(report.engine!.reason!, /no socket/);
    assert.deepEqual(report.programs, [{ name: 'query', state: 'ok' }]);
  });
});

describe('the query program', () => {
  test('in all, /api/status asks the pilot and collector admin ports and its own', async () => {
    const [pilotPort, collectorPort] = [await freePort(), await freePort()];
    const config = loadConfig({
      SHIPWATCH_DATA_DIR: join(dir, 'd'), QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0',
      PILOT_ADMIN_LISTEN: `127.0.0.1:${pilotPort}`, COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${collectorPort}`, DOCKER_HOST: `unix://${join(dir, 'none.sock')}`,
    }, 'all');
    const runtime = { config, log: silentLogger, shared: new SharedResources() };
    const program = await start(runtime);
    try {
      const api = /:(\d+)/.exec(program.summary[0]!.split(' on ')[1]!)![1];
      const report = (await (await fetch(`http://127.0.0.1:${api}/api/status`)).json()) as StatusReport;
      assert.equal(report.command, 'all');
      // Nothing listens on the pilot's and collector's ports in this test: they are reported as not answering.
      assert.deepEqual(report.programs.map((p) => [p.name, p.state]), [['pilot', 'unreachable'], ['collector', 'unreachable'], ['query', 'ok']]);
      assert.match(report.programs[2]!.admin!, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(report.engine?.connected, false);
      assert.equal(report.storage.spans, 'store');
    } finally {
      await program.close();
      await runtime.shared.closeAll();
    }
  });
});
