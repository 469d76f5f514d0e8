import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildAdminApp } from '../../../platform/http/admin-server.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { createMetricOutputs } from '../../../collector/metrics/metric-outputs.js';

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
