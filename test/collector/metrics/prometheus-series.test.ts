import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildAdminApp } from '../../../platform/http/admin-server.js';
import { silentLogger } from '../../../platform/log.js';
import { bool, float, int, makePoint, str, type FieldValue, type MetricPoint } from '../../../model/metric-point.js';
import { counter, createRegistry } from '../../../platform/self-metrics.js';
import { PrometheusSeries } from '../../../collector/metrics/prometheus-series.js';

function point(measurement: string, tags: Array<[string, string]>, fields: Array<[string, FieldValue]>): MetricPoint {
  return makePoint(measurement, tags, fields, 0n);
}

test('numeric fields become <measurement>_<field> series with sanitised names, booleans as 0/1, strings skipped', (t) => {
  const series = new PrometheusSeries({ stalenessMs: 60_000, maxSeries: 100, registry: createRegistry('collector', false), now: () => 1_000 });
  t.after(() => series.close());
  series.write([
    point('docker.container-cpu', [['9zone', 'a'], ['__name', 'x'], ['container_name', 'web "1"\\']], [
      ['usage.percent', float(12.5)], ['throttled', int(3)], ['ok', bool(true)], ['state', str('running')],
    ]),
  ]);
  series.write([point('docker.container-cpu', [['9zone', 'a'], ['__name', 'x'], ['container_name', 'web "1"\\']], [['usage.percent', float(14)]])]);
  assert.equal(series.render(), [
    '# TYPE docker_container_cpu_usage_percent untyped',
    'docker_container_cpu_usage_percent{_9zone="a",_name="x",container_name="web \\"1\\"\\\\"} 14',
    '# TYPE docker_container_cpu_throttled untyped',
    'docker_container_cpu_throttled{_9zone="a",_name="x",container_name="web \\"1\\"\\\\"} 3',
    '# TYPE docker_container_cpu_ok untyped',
    'docker_container_cpu_ok{_9zone="a",_name="x",container_name="web \\"1\\"\\\\"} 1',
    '',
  ].join('\n'));
});

test('a series not updated within the staleness disappears, and forget removes a gone container at once', (t) => {
  let now = 0;
  const series = new PrometheusSeries({ stalenessMs: 10_000, maxSeries: 100, registry: createRegistry('collector', false), now: () => now });
  t.after(() => series.close());
  series.write([point('mem', [['container_name', 'a']], [['used', int(1)]]), point('mem', [['container_name', 'b']], [['used', int(2)]])]);
  series.write([point('cpu', [['container_name', 'a']], [['pct', float(1)]])]);
  assert.equal(series.seriesCount, 3);
  assert.equal(series.forget(({ tags }) => tags.container_name === 'a'), 2);
  assert.equal(series.render(), '# TYPE mem_used untyped\nmem_used{container_name="b"} 2\n');
  now = 5_000;
  series.write([point('disk', [], [['free', int(9)]])]);
  now = 12_000;
  assert.equal(series.render(), '# TYPE disk_free untyped\ndisk_free 9\n');
  now = 16_000;
  assert.equal(series.render(), '');
  assert.equal(series.seriesCount, 0);
});

test('past the series limit new series are dropped and counted, known ones still update', async (t) => {
  const registry = createRegistry('collector', false);
  const series = new PrometheusSeries({ stalenessMs: 60_000, maxSeries: 2, registry });
  t.after(() => series.close());
  series.write([point('m', [['i', '1']], [['v', int(1)]]), point('m', [['i', '2']], [['v', int(2)]]), point('m', [['i', '3']], [['v', int(3)]])]);
  series.write([point('m', [['i', '1']], [['v', int(10)]]), point('shipwatch', [], [['x', int(1)]])]);
  assert.equal(series.render(), '# TYPE m_v untyped\nm_v{i="1"} 10\nm_v{i="2"} 2\n');
  const text = await registry.metrics();
  assert.match(text, /shipwatch_prometheus_series_dropped_total\{reason="max_series",program="collector"\} 1/);
  assert.match(text, /shipwatch_prometheus_series_dropped_total\{reason="reserved_name",program="collector"\} 1/);
});

test('the collected series are served on the admin /metrics next to the program\'s own metrics', async (t) => {
  const registry = createRegistry('collector', false);
  counter(registry, { name: 'shipwatch_records_read_total', help: 'test counter' }).inc(7);
  const series = new PrometheusSeries({ stalenessMs: 60_000, maxSeries: 100, registry });
  t.after(() => series.close());
  const app = buildAdminApp({ registry, health: [], log: silentLogger });
  series.exposeOnMetrics(app);
  t.after(() => app.close());
  series.write([point('cpu', [['host', 'h']], [['usage_idle', float(99.5)]])]);
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /^shipwatch_records_read_total\{program="collector"\} 7$/m);
  assert.match(res.body, /^# TYPE cpu_usage_idle untyped\ncpu_usage_idle\{host="h"\} 99\.5$/m);
  const health = await app.inject({ method: 'GET', url: '/health' });
  assert.doesNotMatch(health.body, /cpu_usage_idle/);
});
