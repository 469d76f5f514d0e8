import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildAdminApp } from '../../../platform/http/admin-server.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { createMetricOutputs } from '../../../collector/metrics/metric-outputs.js';
import { testServices } from '../../helpers/services.js';
import { startTcpSwitch } from '../../helpers/tcp-switch.js';

test('a pushed line shows on the admin /metrics as a collected series with the default configuration', async (t) => {
  const config = loadConfig({}, 'collector');
  const registry = createRegistry('collector', false);
  // No InfluxDB output: nothing is written under the data folder.
  const outputs = createMetricOutputs(config.collector, { log: silentLogger, registry, dataDir: config.common.dataDir });
  t.after(() => outputs.sink.close());
  assert.equal(outputs.influxdb, undefined);
  const app = buildAdminApp({ registry, health: outputs.health, log: silentLogger });
  await outputs.configureAdmin(app);
  t.after(() => app.close());
  const push = await app.inject({ method: 'POST', url: '/write?db=telegraf', payload: 'nginx,host=web1 active=12i,reading=false' });
  assert.equal(push.statusCode, 204);
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /^nginx_active\{host="web1"\} 12$/m);
  assert.match(metrics.body, /^nginx_reading\{host="web1"\} 0$/m);
  assert.match(metrics.body, /^shipwatch_line_protocol_points_total\{api="v1",program="collector"\} 1$/m);
});

test('with the InfluxDB output out of reach and its disk budget used, a push is answered 503 with Retry-After and /health says degraded', async (t) => {
  const relay = await startTcpSwitch(testServices().vmUrl, false);
  t.after(() => relay.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-outputs-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ INFLUXDB_URL: relay.url, INFLUXDB_BUFFER_MAX_SIZE: '64KiB' }, 'collector');
  const registry = createRegistry('collector', false);
  const outputs = createMetricOutputs(config.collector, { log: silentLogger, registry, dataDir });
  t.after(() => outputs.close());
  const app = buildAdminApp({ registry, health: outputs.health, log: silentLogger });
  await outputs.configureAdmin(app);
  t.after(() => app.close());

  const statuses: number[] = [];
  let answer;
  for (let push = 0; push < 200 && statuses.at(-1) !== 503; push++) {
    const lines = Array.from({ length: 100 }, (_, i) => `swfullpush,host=h${i} n=${push * 100 + i}i ${1_700_000_000_000 + push * 100 + i}`);
    answer = await app.inject({ method: 'POST', url: '/api/v2/write?bucket=telegraf&precision=ms', payload: lines.join('\n') });
    statuses.push(answer.statusCode);
  }
  assert.equal(statuses.at(-1), 503, `answers: ${statuses.join(' ')}`);
  assert.ok(statuses.slice(0, -1).every((s) => s === 204));
  assert.equal(answer!.headers['retry-after'], '5');
  assert.equal(outputs.full(), true);
  const health = await app.inject({ method: 'GET', url: '/health' });
  assert.equal(health.statusCode, 200);
  const body = health.json() as { status: string; problems: Record<string, string> };
  assert.equal(body.status, 'degraded');
  assert.match(body.problems.influxdb!, /disk buffer is full/);
  assert.ok(existsSync(join(dataDir, 'buffer', 'influxdb')));
});
