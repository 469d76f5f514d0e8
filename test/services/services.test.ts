/**
 * The test services and their helpers work: a real container's output reaches `docker logs` and its json-file,
 * Elasticsearch 8 stores and finds a document (and survives a stop and start), VictoriaMetrics takes line protocol
 * back out of its export API, and a Prometheus started here scrapes a server started here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { test } from 'node:test';
import { containerLogs, execIn, runContainer, waitFor } from '../helpers/docker.js';
import { count, deleteIndices, esClient, esVersion, search } from '../helpers/elasticsearch.js';
import { freePort } from '../helpers/ports.js';
import { startPrometheus } from '../helpers/prometheus.js';
import { exportSeries } from '../helpers/victoria-metrics.js';
import { startElasticsearch, stopElasticsearch, testServices } from '../helpers/services.js';

const token = (): string => randomBytes(6).toString('hex');

test('a busybox container prints a line that docker logs returns and its json-file log holds', async (t) => {
  const line = `hello from ${token()}`;
  const c = await runContainer(t, { name: 'sw-services', cmd: ['sh', '-c', `echo "${line}"; sleep 3600`], labels: { 'aliyun.logs.probe': 'stdout' } });

  const logs = await waitFor(async () => {
    const l = await containerLogs(c.id);
    return l.stdout.includes(line) ? l : undefined;
  }, { what: 'the line in docker logs' });
  assert.equal(logs.stdout, `${line}\n`);

  const info = await c.inspect();
  assert.equal(info.Config.Labels['aliyun.logs.probe'], 'stdout');
  assert.equal(info.HostConfig.LogConfig?.Type, 'json-file');
  assert.ok((await stat(info.LogPath)).isFile(), `LogPath ${info.LogPath} is a file`);
  const first = JSON.parse((await readFile(info.LogPath, 'utf8')).split('\n')[0]!) as { log: string; stream: string; time: string };
  assert.equal(first.log, `${line}\n`);
  assert.equal(first.stream, 'stdout');
  assert.ok(!Number.isNaN(Date.parse(first.time)));
});

test('a command run in a container returns its output on each stream and its exit code', async (t) => {
  const c = await runContainer(t, { name: 'sw-services-exec', env: { PROBE: token() } });
  const r = await execIn(c.id, ['sh', '-c', 'echo "$PROBE"; echo oops >&2; exit 3']);
  const env = (await c.inspect()).Config.Env.find((e) => e.startsWith('PROBE='));
  assert.deepEqual(r, { exitCode: 3, stdout: `${env!.slice('PROBE='.length)}\n`, stderr: 'oops\n' });
});

test('Elasticsearch 8 stores a document that count and search find, and deleteIndices removes it', async (t) => {
  assert.match(await esVersion(), /^8\.\d+\.\d+$/);
  const index = `sw-services-test-${token()}`;
  t.after(() => deleteIndices(`${index}*`));
  const doc = { message: `probe ${token()}`, n: 7 };
  const client = esClient();
  t.after(() => client.close());
  await client.index({ index, id: 'one', document: doc });

  assert.equal(await count(index), 1);
  assert.equal(await count(index, { term: { n: doc.n + 1 } }), 0);
  assert.deepEqual(await search(index, { query: { match: { message: doc.message } } }), [{ id: 'one', index, source: doc }]);
  await deleteIndices(`${index}*`);
  assert.equal(await count(`${index}*`), 0);
});

test('Elasticsearch stopped by the helper refuses requests and answers again once started', { timeout: 240_000 }, async () => {
  await stopElasticsearch();
  await assert.rejects(fetch(`${testServices().esUrl}/_cluster/health`));
  await startElasticsearch();
  assert.match(await esVersion(), /^8\./);
});

test('VictoriaMetrics accepts a line on /api/v2/write and returns it from /api/v1/export', async () => {
  const { vmUrl } = testServices();
  const measurement = `sw_services_test_${token()}`;
  const value = Math.round(Math.random() * 1e6) / 100;
  const timeMs = Date.now() - 5000;
  const write = await fetch(`${vmUrl}/api/v2/write?precision=ms`, {
    method: 'POST',
    body: `${measurement},host=probe value=${value} ${timeMs}\n`,
  });
  assert.equal(write.status, 204);

  // Without the flush a new series reaches the export API only after about ten seconds (measured here).
  const series = await waitFor(async () => {
    const s = await exportSeries(vmUrl, `{__name__="${measurement}_value"}`);
    return s.length > 0 ? s : undefined;
  }, { what: 'the series in /api/v1/export' });
  assert.deepEqual(series, [{ metric: { __name__: `${measurement}_value`, host: 'probe' }, values: [value], timestamps: [timeMs] }]);
});

test('a Prometheus started for the test scrapes a loopback server and its query API returns the value', { timeout: 60_000 }, async (t) => {
  const value = Math.round(Math.random() * 1e6);
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE sw_services_probe gauge\nsw_services_probe{kind="test"} ${value}\n`);
  });
  server.listen(await freePort(), '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');

  const prom = await startPrometheus(t, { jobs: [{ job: 'probe', targets: [`127.0.0.1:${address.port}`] }] });
  const samples = await waitFor(async () => {
    const s = await prom.query('sw_services_probe');
    return s.length > 0 ? s : undefined;
  }, { timeoutMs: 30_000, intervalMs: 250, what: 'the scraped sample' });
  assert.equal(samples.length, 1);
  assert.equal(samples[0]!.value, value);
  assert.deepEqual(samples[0]!.metric, { __name__: 'sw_services_probe', instance: `127.0.0.1:${address.port}`, job: 'probe', kind: 'test' });
  assert.deepEqual((await prom.targets()).map((x) => [x.job, x.health]), [['probe', 'up']]);
});
