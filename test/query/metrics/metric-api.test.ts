import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { parseLineProtocol } from '../../../collector/metrics/line-protocol-parser.js';
import { silentLogger } from '../../../platform/log.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreMetricStorage } from '../../../storage/sqlite/metric-store.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { buildQueryApp } from '../../../query/api-app.js';
import { getJson } from '../../helpers/query-fixtures.js';

const NOW_MS = Date.parse('2024-05-01T13:00:00Z');

describe('the metric API on a real store', () => {
  let dir: string;
  let db: StoreDatabase;
  let app: FastifyInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shipwatch-metric-api-'));
    db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
    const metrics = new StoreMetricStorage(db, { log: silentLogger });
    const body: string[] = [];
    // The last 10 minutes: two containers, a point a minute.
    for (let i = 0; i < 10; i++) {
      const t = BigInt(NOW_MS - 600_000 + i * 60_000) * 1_000_000n;
      body.push(`docker_container_cpu,container_name=web-1,host=n1 usage_percent=${i},container_id="c1" ${t}`);
      body.push(`docker_container_cpu,container_name=db-1,host=n1 usage_percent=${100 + i},container_id="c2" ${t}`);
    }
    metrics.write(parseLineProtocol(body.join('\n')).points);
    await metrics.close();
    app = buildQueryApp({
      spanReader: new StoreSpanStorage(db), metricReader: metrics, authToken: '', corsOrigins: [], maxTraces: 100, maxLogs: 100,
      log: silentLogger, now: () => NOW_MS, uiDir: false,
    });
    await app.ready();
  });

  after(async () => {
    await app.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('measurements come with their fields, types and tag keys; tag values are listed', async () => {
    const m = await getJson(app, '/api/timeseries/measurements');
    assert.equal(m.status, 200);
    assert.deepEqual(m.body.data, [{
      measurement: 'docker_container_cpu',
      fields: [{ name: 'container_id', type: 'string' }, { name: 'usage_percent', type: 'float' }],
      tagKeys: ['container_name', 'host'],
    }]);
    const v = await getJson(app, '/api/timeseries/tag-values?measurement=docker_container_cpu&key=container_name');
    assert.deepEqual(v.body.data, ['db-1', 'web-1']);
  });

  test('a series query over the last hour by default aggregates per step and filters on tags', async () => {
    const all = await getJson(app, '/api/timeseries/series?measurement=docker_container_cpu&field=usage_percent&step=5m');
    assert.equal(all.status, 200);
    assert.equal(all.body.data.stepMs, 300_000);
    assert.equal(all.body.total, 2);
    const start = NOW_MS - 3_600_000;
    const web = await getJson(app, `/api/timeseries/series?measurement=docker_container_cpu&field=usage_percent&tag.container_name=web-1&start=${NOW_MS - 600_000}&end=${NOW_MS}&step=300&aggregate=max`);
    assert.deepEqual(web.body.data.series, [{ tags: { container_name: 'web-1', host: 'n1' }, points: [[NOW_MS - 600_000, 4], [NOW_MS - 300_000, 9]] }]);
    const rfc = await getJson(app, `/api/timeseries/series?measurement=docker_container_cpu&field=container_id&tag.container_name=db-1&start=${new Date(start).toISOString()}&aggregate=last&step=1h`);
    assert.deepEqual(rfc.body.data.series[0].points, [[start, 'c2']]);
    const none = await getJson(app, '/api/timeseries/series?measurement=docker_container_cpu&field=usage_percent&tag.container_name=gone');
    assert.deepEqual([none.status, none.body.data.series], [200, []]);
  });

  test('bad input answers 400 naming the problem, an unknown field 404', async () => {
    const base = '/api/timeseries/series?measurement=docker_container_cpu&field=usage_percent';
    const cases: Array<[string, number, RegExp]> = [
      ['/api/timeseries/series?field=usage_percent', 400, /measurement is required/],
      ['/api/timeseries/series?measurement=docker_container_cpu', 400, /field is required/],
      [`${base}&start=yesterday`, 400, /start "yesterday" is neither/],
      [`${base}&start=${NOW_MS}&end=${NOW_MS - 1}`, 400, /end .* must be after start/],
      [`${base}&step=fast`, 400, /step: "fast" is not a duration/],
      [`${base}&step=1ms&start=0&end=${NOW_MS}`, 400, /at most 11000/],
      [`${base}&aggregate=median`, 400, /aggregate "median" is not one of avg, min/],
      [`${base}&tag.=x`, 400, /a tag filter needs a key/],
      [`${base}&tag.host=a&tag.host=b`, 400, /tag.host is given with different values/],
      ['/api/timeseries/series?measurement=docker_container_cpu&field=container_id&aggregate=avg', 400, /holds strings: aggregate must be count or last/],
      ['/api/timeseries/series?measurement=docker_container_cpu&field=nope', 404, /has no field "nope"/],
      ['/api/timeseries/tag-values?measurement=docker_container_cpu', 400, /key \(the tag key\) is required/],
      ['/api/timeseries/tag-values?measurement=docker_container_cpu&key=host&limit=0', 400, /limit "0"/],
    ];
    for (const [url, status, reason] of cases) {
      const r = await getJson(app, url);
      assert.equal(r.status, status, url);
      assert.equal(r.body.data, null, url);
      assert.match(r.body.errors[0].msg, reason, url);
    }
  });

  test('the old /api/metrics/ paths answer the same, marked deprecated and pointing at their successor', async () => {
    for (const path of ['measurements', 'tag-values?measurement=docker_container_cpu&key=container_name', 'series?measurement=docker_container_cpu&field=usage_percent']) {
      const now = await app.inject({ method: 'GET', url: `/api/timeseries/${path}` });
      const old = await app.inject({ method: 'GET', url: `/api/metrics/${path}` });
      assert.equal(now.statusCode, 200, path);
      assert.equal(old.statusCode, 200, path);
      assert.deepEqual(old.json(), now.json(), path);
      assert.equal(old.headers.deprecation, 'true', path);
      assert.match(String(old.headers.link), /<\/api\/timeseries\/[a-z-]+>; rel="successor-version"/, path);
      assert.equal(now.headers.deprecation, undefined, path);
    }
  });

  test('without the store the metric API answers 501', async () => {
    const bare = buildQueryApp({ spanReader: new StoreSpanStorage(db), authToken: '', corsOrigins: [], maxTraces: 10, maxLogs: 10, log: silentLogger, uiDir: false });
    const r = await getJson(bare, '/api/timeseries/measurements');
    assert.equal(r.status, 501);
    assert.match(r.body.errors[0].msg, /needs the embedded store/);
    await bare.close();
  });
});
