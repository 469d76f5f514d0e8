/**
 * `shipwatch query` as the deployed stack runs it (deploy/compose, deploy/kubernetes): spans and logs from the real
 * Elasticsearch (SPAN_STORAGE_TYPE / LOG_STORAGE_TYPE=elasticsearch), metrics from the real InfluxDB 1.x through its
 * InfluxQL API (METRIC_STORAGE_TYPE=influxdb). The same spans, log records and points also go to an embedded store,
 * and the web UI's questions (services, operations, trace search, a trace, a log page and its filters, measurements,
 * tag values, series with every aggregate) are asked of both: the answers are the same.
 *
 * The points reach InfluxDB as the collector's InfluxDB output makes them (its line protocol serializer), written
 * through InfluxDB 1.x's `/write`: the output itself speaks `/api/v2/write`, which InfluxDB has from 1.8 on (the test
 * service is Debian's 1.6).
 *
 * Bad input: InfluxDB out of reach or never answering → the metric API answers 503 and /health names
 * `metric-storage`; InfluxDB answering an error → 502 with its words; METRIC_STORAGE_TYPE=influxdb without
 * INFLUXDB_URL → query does not start.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import type { FastifyInstance } from 'fastify';
import { parseLineProtocol } from '../../collector/metrics/line-protocol-parser.js';
import { serializePoints } from '../../collector/metrics/line-protocol-serializer.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { createRegistry } from '../../platform/self-metrics.js';
import type { LogEvent } from '../../model/log-record.js';
import { buildQueryApp } from '../../query/api-app.js';
import { start } from '../../query/query-program.js';
import { BulkEncoder } from '../../storage/elasticsearch/bulk-encoder.js';
import { EsSpanWriter } from '../../storage/elasticsearch/span-writer.js';
import { StoreDatabase } from '../../storage/sqlite/database.js';
import { StoreLogStorage } from '../../storage/sqlite/log-store.js';
import { StoreMetricStorage } from '../../storage/sqlite/metric-store.js';
import { StoreSpanStorage } from '../../storage/sqlite/span-store.js';
import type { Cleanup } from '../helpers/cleanup.js';
import { deleteIndices, esTestUrl } from '../helpers/elasticsearch.js';
import { freePort } from '../helpers/ports.js';
import { DEP_TRACE, NOW_MS, dependencyTrace } from '../helpers/query-fixtures.js';
import { startTcpSwitch } from '../helpers/tcp-switch.js';
import { waitFor } from '../helpers/wait.js';

const ENTRY = fileURLToPath(new URL('../../cli/shipwatch.ts', import.meta.url));
const RUN = `${process.pid}-${Date.now().toString(36)}`;
/** Every Elasticsearch index of this file starts with it (spans: `<prefix>-jaeger-span-*`, logs: `<prefix>-web-*`). */
const PREFIX = `sw-deployed-${RUN}`;
const DATABASE = `sw_deployed_${RUN.replace(/-/g, '_')}`;
const MINUTE = 60_000;
/** Half an hour of points every 20 s, ending at the last whole minute. */
const END_MS = Math.floor(Date.now() / MINUTE) * MINUTE;
const BEGIN_MS = END_MS - 30 * MINUTE;

function influxUrl(): string {
  const url = process.env.SHIPWATCH_TEST_INFLUXDB_URL;
  if (!url) throw new Error('SHIPWATCH_TEST_INFLUXDB_URL not set: run through the test runner (test/run.ts starts test/services/influxdb.sh)');
  return url.replace(/\/+$/, '');
}

async function influxql(q: string, method: 'GET' | 'POST' = 'POST'): Promise<unknown> {
  const res = await fetch(`${influxUrl()}/query`, { method, body: new URLSearchParams({ q }) });
  const body = (await res.json()) as { results?: Array<{ error?: string }> };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.results?.[0]?.error, undefined, q);
  return body;
}

/** Two containers' statistics, a host's memory (integers), a probe without tags; strings and booleans among them. */
function lineProtocol(): string {
  const lines: string[] = [];
  for (let i = 0, t = BEGIN_MS; t < END_MS; i++, t += 20_000) {
    const ns = `${t}000000`;
    lines.push(`docker_container_cpu,container_name=web-1,host=n1 usage_percent=${(i % 7) * 1.5},container_id="c1",throttled=${i % 3 === 0} ${ns}`);
    lines.push(`docker_container_cpu,container_name=db-1,host=n1 usage_percent=${100 + (i % 5)},container_id="c2",throttled=${i % 4 === 0} ${ns}`);
    lines.push(`docker_container_mem,host=n1 usage=${1_000_000 + i * 1024}i,limit=2147483648i ${ns}`);
    if (i % 2 === 0) lines.push(`shipwatch_probe up=1i,note="round ${i}" ${ns}`);
  }
  return lines.join('\n');
}

function logEvents(): LogEvent[] {
  const out: LogEvent[] = [];
  const containers = [
    { name: 'web-1', id: 'a1'.repeat(32), service: 'web' },
    { name: 'db-1', id: 'b2'.repeat(32), service: 'db' },
  ];
  for (let i = 0; i < 30; i++) {
    const c = containers[i % 2]!;
    const ts = BEGIN_MS + i * 30_000;
    const line = `${c.service} request ${i} ${i % 3 === 0 ? 'failed' : 'served'}`;
    const json = JSON.stringify({
      '@timestamp': new Date(ts).toISOString(), message: line, stream: 'stdout', source: 'stdout', target: `${PREFIX}-web`, host: 'n1',
      docker_container: c.name, docker_container_id: c.id, docker_app: 'shop', docker_service: c.service,
    });
    out.push({ json, target: `${PREFIX}-web`, timestampMs: ts, id: `${c.id.slice(0, 8)}-${i}`, containerId: c.id, containerName: c.name, app: 'shop', service: c.service, text: line });
  }
  return out;
}

interface QueryProcess {
  api: string;
  admin: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** `shipwatch query` as a process, with the deployed stack's storage variables; resolves once its API answers. */
async function startQueryProcess(env: Record<string, string>): Promise<QueryProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-deployed-query-'));
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'query'], {
    env: { PATH: process.env.PATH ?? '', SHIPWATCH_DATA_DIR: dataDir, QUERY_LISTEN: `127.0.0.1:${port}`, QUERY_ADMIN_LISTEN: `127.0.0.1:${adminPort}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  const q: QueryProcess = { api: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${adminPort}`, child, output: () => output, stop };
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`shipwatch query exited ${child.exitCode}: ${output}`);
      return fetch(`${q.api}/api/services`).then((r) => r.ok, () => false);
    },
    { timeoutMs: 60_000, what: `shipwatch query on ${q.api}` },
  );
  return q;
}

let es: Client;
let db: StoreDatabase;
let fromStore: FastifyInstance;
let deployed: QueryProcess;

before(async () => {
  const esUrl = await esTestUrl();
  es = new Client({ node: esUrl, maxRetries: 0 });
  await influxql(`CREATE DATABASE ${JSON.stringify(DATABASE)}`);
  const points = parseLineProtocol(lineProtocol()).points;
  assert.ok(points.length > 300);
  // The collector's InfluxDB output: its serializer's lines, precision ns.
  const batch = serializePoints(points, 'ns');
  assert.deepEqual(batch.failures, []);
  const write = await fetch(`${influxUrl()}/write?db=${DATABASE}&precision=ns`, { method: 'POST', body: batch.text });
  assert.equal(write.status, 204, await write.text());

  // Spans as the collector stores them (its Elasticsearch span writer), logs as the pilot's output indexes them.
  const writer = new EsSpanWriter({ client: es, indexPrefix: PREFIX, shards: 1, replicas: 0, registry: createRegistry('test', false), log: silentLogger });
  await writer.init();
  await writer.writeSpans(dependencyTrace());
  await writer.close();
  const events = logEvents();
  const bulk = (await es.transport.request({ method: 'POST', path: '/_bulk', bulkBody: new BulkEncoder('daily').encode(events) })) as { errors: boolean };
  assert.equal(bulk.errors, false);
  await es.indices.refresh({ index: `${PREFIX}-*` });

  // The same data in an embedded store, read by the query's own API over it.
  db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const metrics = new StoreMetricStorage(db, { log: silentLogger });
  metrics.write(points);
  await metrics.close();
  const logs = new StoreLogStorage(db);
  await logs.write(events);
  const spans = new StoreSpanStorage(db);
  await spans.writeSpans(dependencyTrace());
  fromStore = buildQueryApp({
    spanReader: spans, logReader: logs, metricReader: metrics, authToken: '', corsOrigins: [], maxTraces: 100, maxLogs: 1000, log: silentLogger, uiDir: false,
  });
  await fromStore.ready();

  deployed = await startQueryProcess({
    SPAN_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: esUrl, ES_INDEX_PREFIX: PREFIX,
    LOG_STORAGE_TYPE: 'elasticsearch', QUERY_LOG_INDICES: `${PREFIX}-web-*`,
    METRIC_STORAGE_TYPE: 'influxdb', INFLUXDB_URL: influxUrl(), INFLUXDB_BUCKET: DATABASE, INFLUXDB_TOKEN: '',
  });
});

after(async () => {
  await deployed?.stop();
  await fromStore?.close();
  db?.close();
  await deleteIndices(`${PREFIX}-*`).catch(() => undefined);
  await es?.indices.deleteIndexTemplate({ name: `${PREFIX}-*` }).catch(() => undefined);
  await es?.close();
  await influxql(`DROP DATABASE ${JSON.stringify(DATABASE)}`).catch(() => undefined);
});

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function ask(path: string): Promise<{ deployed: Answer; store: Answer }> {
  const res = await fetch(`${deployed.api}${path}`);
  const d = { status: res.status, body: await res.json() };
  const s = await fromStore.inject({ url: path });
  return { deployed: d, store: { status: s.statusCode, body: s.json() } };
}

/** Series in a stable order, values rounded past float noise (InfluxDB and SQLite add in their own order). */
function normalised(data: { series: Array<{ tags: Record<string, string>; points: Array<[number, unknown]> }> }): unknown {
  const round = (v: unknown): unknown => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v);
  return {
    ...data,
    series: data.series
      .map((s) => ({ tags: s.tags, points: s.points.map(([t, v]) => [t, round(v)]) }))
      .sort((a, b) => (JSON.stringify(a.tags) < JSON.stringify(b.tags) ? -1 : 1)),
  };
}

describe('query on Elasticsearch and InfluxDB answers the web UI as query on the embedded store', () => {
  test('traces: services, operations, a search and the trace', async () => {
    const paths = [
      '/api/services',
      '/api/services/backend/operations',
      `/api/traces?service=frontend&start=${(NOW_MS - 3_600_000) * 1000}&end=${NOW_MS * 1000}&limit=20`,
      `/api/traces/${DEP_TRACE}`,
    ];
    for (const path of paths) {
      const a = await ask(path);
      assert.equal(a.deployed.status, 200, `${path}: ${JSON.stringify(a.deployed.body)}`);
      assert.equal(a.store.status, 200, path);
      if (path === '/api/services') {
        assert.deepEqual([...a.deployed.body.data].sort(), ['backend', 'db', 'frontend']);
        assert.deepEqual([...a.deployed.body.data].sort(), [...a.store.body.data].sort());
      } else if (path.includes('/operations')) {
        assert.deepEqual([...a.deployed.body.data].sort(), ['inner', 'load', 'save']);
        assert.deepEqual([...a.deployed.body.data].sort(), [...a.store.body.data].sort());
      } else {
        const summary = (body: Answer['body']): unknown =>
          body.data.map((t: { traceID: string; spans: Array<{ spanID: string; operationName: string }> }) => ({
            traceID: t.traceID,
            spans: t.spans.map((s) => `${s.spanID} ${s.operationName}`).sort(),
          }));
        assert.equal(a.deployed.body.data.length, 1, path);
        assert.deepEqual(summary(a.deployed.body), summary(a.store.body), path);
        assert.equal(a.deployed.body.data[0].spans.length, 5);
      }
    }
  });

  test('logs: the page the Logs view asks for, and its filters, are the same records in the same order', async () => {
    const range = `start=${BEGIN_MS}&end=${END_MS}`;
    for (const filter of ['', '&container=web-1', '&service=db', '&q=failed', '&offset=10']) {
      const path = `/api/logs?${range}&limit=50${filter}`;
      const a = await ask(path);
      assert.equal(a.deployed.status, 200, `${path}: ${JSON.stringify(a.deployed.body)}`);
      assert.deepEqual(a.deployed.body, a.store.body, path);
    }
    const all = await ask(`/api/logs?${range}&limit=50`);
    assert.equal(all.deployed.body.total, 30);
    assert.equal((await ask(`/api/logs?${range}&limit=50&q=failed`)).deployed.body.total, 10);
  });

  test('metrics: measurements with fields, types and tag keys; tag values', async () => {
    const m = await ask('/api/timeseries/measurements');
    assert.equal(m.deployed.status, 200, JSON.stringify(m.deployed.body));
    assert.deepEqual(m.deployed.body.data, [
      {
        measurement: 'docker_container_cpu',
        fields: [{ name: 'container_id', type: 'string' }, { name: 'throttled', type: 'bool' }, { name: 'usage_percent', type: 'float' }],
        tagKeys: ['container_name', 'host'],
      },
      { measurement: 'docker_container_mem', fields: [{ name: 'limit', type: 'int' }, { name: 'usage', type: 'int' }], tagKeys: ['host'] },
      { measurement: 'shipwatch_probe', fields: [{ name: 'note', type: 'string' }, { name: 'up', type: 'int' }], tagKeys: [] },
    ]);
    assert.deepEqual(m.deployed.body, m.store.body);
    for (const path of [
      '/api/timeseries/tag-values?measurement=docker_container_cpu&key=container_name',
      '/api/timeseries/tag-values?measurement=docker_container_cpu&key=container_name&limit=1',
      '/api/timeseries/tag-values?measurement=docker_container_mem&key=host',
      '/api/timeseries/tag-values?measurement=docker_container_mem&key=nothing',
    ]) {
      const a = await ask(path);
      assert.equal(a.deployed.status, 200, path);
      assert.deepEqual(a.deployed.body, a.store.body, path);
    }
    assert.deepEqual((await ask('/api/timeseries/tag-values?measurement=docker_container_cpu&key=container_name')).deployed.body.data, ['db-1', 'web-1']);
  });

  test('metrics: series of every field type and aggregate, filtered by a tag, on steps that start at start', async () => {
    const cases: Array<[string, string, string[]]> = [
      ['docker_container_cpu', 'usage_percent', ['avg', 'min', 'max', 'sum', 'count', 'last']],
      ['docker_container_cpu', 'throttled', ['avg', 'min', 'max', 'sum', 'count', 'last']],
      ['docker_container_cpu', 'container_id', ['count', 'last']],
      ['docker_container_mem', 'usage', ['avg', 'min', 'max', 'sum', 'count', 'last']],
      ['shipwatch_probe', 'note', ['count', 'last']],
    ];
    let compared = 0;
    for (const [measurement, field, aggregates] of cases) {
      for (const aggregate of aggregates) {
        // The UI's range, whole minutes, and one that starts 7 s past a minute with 90 s steps.
        for (const range of [`start=${BEGIN_MS}&end=${END_MS}`, `start=${BEGIN_MS + 7_000}&end=${END_MS}&step=90s`]) {
          const path = `/api/timeseries/series?measurement=${measurement}&field=${field}&aggregate=${aggregate}&${range}`;
          const a = await ask(path);
          assert.equal(a.deployed.status, 200, `${path}: ${JSON.stringify(a.deployed.body)}`);
          assert.ok(a.deployed.body.data.series.length > 0, path);
          assert.deepEqual(normalised(a.deployed.body.data), normalised(a.store.body.data), path);
          compared++;
        }
      }
    }
    assert.equal(compared, 44);
    // What the chart shows first: the web container's CPU, one series, a point a minute over the half hour.
    const web = await ask(`/api/timeseries/series?measurement=docker_container_cpu&field=usage_percent&aggregate=avg&tag.container_name=web-1&start=${BEGIN_MS}&end=${END_MS}&step=1m`);
    assert.equal(web.deployed.body.data.series.length, 1);
    assert.deepEqual(web.deployed.body.data.series[0].tags, { container_name: 'web-1', host: 'n1' });
    assert.equal(web.deployed.body.data.series[0].points.length, 30);
    assert.equal(web.deployed.body.data.series[0].points[0][0], BEGIN_MS);
    assert.deepEqual(normalised(web.deployed.body.data), normalised(web.store.body.data));
  });

  test('metrics: a missing field or measurement is 404, a bad parameter 400, as on the store', async () => {
    for (const bad of [
      `/api/timeseries/series?measurement=docker_container_cpu&field=nope&start=${BEGIN_MS}&end=${END_MS}`,
      `/api/timeseries/series?measurement=nothing&field=usage&start=${BEGIN_MS}&end=${END_MS}`,
      `/api/timeseries/series?measurement=docker_container_cpu&field=container_id&aggregate=avg&start=${BEGIN_MS}&end=${END_MS}`,
      '/api/timeseries/series?measurement=docker_container_cpu',
    ]) {
      const a = await ask(bad);
      assert.equal(a.deployed.status, a.store.status, bad);
      assert.deepEqual(a.deployed.body, a.store.body, bad);
    }
  });

  test('its /health names the metric storage as fine', async () => {
    const res = await fetch(`${deployed.admin}/health`);
    assert.equal(res.status, 200, await res.clone().text());
  });
});

describe('the metric API when InfluxDB cannot answer', () => {
  async function startQuery(t: Cleanup, env: Record<string, string>): Promise<{ api: string; admin: string }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-deployed-outage-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
    const config = loadConfig({ SHIPWATCH_DATA_DIR: dataDir, QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0', METRIC_STORAGE_TYPE: 'influxdb', ...env }, 'query');
    const runtime = { config, log: silentLogger, shared: new SharedResources() };
    t.after(() => runtime.shared.closeAll());
    const program = await start(runtime);
    t.after(() => program.close());
    const port = (i: number): number => Number(/:(\d+)/.exec(program.summary[i]!.split(' on ')[1]!)![1]);
    return { api: `http://127.0.0.1:${port(0)}`, admin: `http://127.0.0.1:${port(1)}` };
  }

  async function get(url: string): Promise<Answer> {
    const res = await fetch(url);
    return { status: res.status, body: await res.json() };
  }

  test('nothing listening at INFLUXDB_URL: 503 naming InfluxDB as unreachable, and /health says so', async (t) => {
    const q = await startQuery(t, { INFLUXDB_URL: `http://127.0.0.1:${await freePort()}`, INFLUXDB_BUCKET: DATABASE });
    for (const path of [
      '/api/timeseries/measurements',
      '/api/timeseries/tag-values?measurement=docker_container_cpu&key=host',
      `/api/timeseries/series?measurement=docker_container_cpu&field=usage_percent&start=${BEGIN_MS}&end=${END_MS}`,
    ]) {
      const res = await get(`${q.api}${path}`);
      assert.equal(res.status, 503, path);
      assert.match(res.body.errors[0].msg, /^storage unavailable: InfluxDB query on http:\/\/127\.0\.0\.1:\d+ \(database "sw_deployed_[^"]+"\): unreachable \(.*ECONNREFUSED.*\)$/, path);
    }
    const health = await get(`${q.admin}/health`);
    assert.equal(health.status, 503);
    assert.match(health.body.failures['metric-storage'], /^influxdb: unreachable/);
  });

  test('an InfluxDB that never answers: 503 after INFLUXDB_TIMEOUT; once it answers, the metrics are back', async (t) => {
    const relay = await startTcpSwitch(influxUrl(), true);
    t.after(() => relay.close());
    relay.freeze();
    const q = await startQuery(t, { INFLUXDB_URL: relay.url, INFLUXDB_BUCKET: DATABASE, INFLUXDB_TIMEOUT: '1s' });
    const began = performance.now();
    const res = await get(`${q.api}/api/timeseries/measurements`);
    assert.equal(res.status, 503);
    assert.match(res.body.errors[0].msg, /^storage unavailable: InfluxDB query on .*: no answer in time/);
    assert.ok(performance.now() - began < 5_000);
    relay.setUp(true);
    const back = await waitFor(async () => {
      const r = await get(`${q.api}/api/timeseries/measurements`);
      return r.status === 200 ? r : undefined;
    }, { timeoutMs: 10_000, what: 'the measurements once InfluxDB answers' });
    assert.equal(back.body.data.length, 3);
  });

  test('InfluxDB answering an error (a retention policy it does not have): 502 with its words', async (t) => {
    const q = await startQuery(t, { INFLUXDB_URL: influxUrl(), INFLUXDB_BUCKET: `${DATABASE}/no_such_policy` });
    const res = await get(`${q.api}/api/timeseries/series?measurement=docker_container_cpu&field=usage_percent&start=${BEGIN_MS}&end=${END_MS}`);
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.match(res.body.errors[0].msg, /^storage answered an error: InfluxDB query on .*: retention policy not found: no_such_policy$/);
  });

  test('METRIC_STORAGE_TYPE=influxdb without INFLUXDB_URL: query does not start, naming the variable', async (t) => {
    await assert.rejects(startQuery(t, {}), /INFLUXDB_URL: needed with METRIC_STORAGE_TYPE=influxdb/);
  });
});
