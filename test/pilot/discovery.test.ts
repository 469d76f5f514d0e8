import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runContainer, waitFor } from '../helpers/docker.js';
import { EngineProxy } from '../helpers/engine-proxy.js';
import { PilotDirs, PilotProcess, type PilotRecord } from './pilot-process.js';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const day = (iso: string): string => iso.slice(0, 10).replace(/-/g, '.');

function numbers(records: PilotRecord[], prefix: string): number[] {
  return records.map((r) => String(r.message)).filter((m) => m.startsWith(prefix)).map((m) => Number(m.slice(prefix.length)));
}

test('the seed scenario: stdout and a file on a volume, with tags, become records with every field', async (t) => {
  const c = await runContainer(t, {
    name: 'seed',
    labels: {
      'aliyun.logs.catalina': 'stdout',
      'aliyun.logs.access': '/usr/local/tomcat/logs/localhost_access_log.*.txt',
      'aliyun.logs.access.tags': 'stage=test,name=hello',
      'com.docker.compose.project': 'shop',
      'com.docker.compose.service': 'tomcat',
    },
    volumes: ['/usr/local/tomcat/logs'],
    cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo "catalina $i"; echo "GET /x $i" >> /usr/local/tomcat/logs/localhost_access_log.2026-01-01.txt; sleep 0.1; done'],
  });
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, { SHIPWATCH_HOSTNAME: 'node-7' });
  const records = await waitFor(() => {
    const r = dirs.records(c.id);
    return r.filter((x) => x.target === 'access').length >= 3 && r.filter((x) => x.target === 'catalina').length >= 3 && r;
  }, { what: 'records of both logs' });

  const catalina = records.find((r) => r.target === 'catalina')!;
  assert.match(catalina['@timestamp'], ISO_MS);
  assert.deepEqual({ ...catalina, '@timestamp': 'T' }, {
    '@timestamp': 'T', message: 'catalina 1', stream: 'stdout', source: 'stdout', target: 'catalina', host: 'node-7',
    docker_container: c.name, docker_container_id: c.id, docker_app: 'shop', docker_service: 'tomcat',
  });
  const access = records.find((r) => r.target === 'access')!;
  assert.deepEqual({ ...access, '@timestamp': 'T' }, {
    '@timestamp': 'T', message: 'GET /x 1', source: '/usr/local/tomcat/logs/localhost_access_log.2026-01-01.txt', target: 'access',
    host: 'node-7', docker_container: c.name, docker_container_id: c.id, docker_app: 'shop', docker_service: 'tomcat', stage: 'test', name: 'hello',
  });
  assert.deepEqual(numbers(records.filter((r) => r.target === 'catalina'), 'catalina ').slice(0, 3), [1, 2, 3]);
  assert.ok(dirs.fileNames().includes(`catalina-${day(catalina['@timestamp'])}.ndjson`));
  assert.ok(dirs.fileNames().includes(`access-${day(access['@timestamp'])}.ndjson`));
  const health = await pilot.health();
  assert.equal(health.status, 200);
  assert.match(await pilot.metrics(), /shipwatch_pilot_records_acknowledged_total\{program="pilot"\} [1-9]/);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('json on stdout, csv with keys from env in the writable layer, and a bad label beside a good one', async (t) => {
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs);
  const started = Date.now();
  const json = await runContainer(t, {
    name: 'json',
    labels: { 'aliyun.logs.app': 'stdout', 'aliyun.logs.app.format': 'json' },
    cmd: ['sh', '-c', 'echo \'{"level":"warn","user":{"id":7},"msg":"hi"}\'; echo "not json"; sleep 3600'],
  });
  const mixed = await runContainer(t, {
    name: 'mixed',
    env: { aliyun_logs_my_csv: '/var/log/app/data.csv', aliyun_logs_my_csv_format: 'csv', aliyun_logs_my_csv_format_keys: 'a,b,c' },
    labels: { 'aliyun.logs.bad': 'relative/path.log', 'aliyun.logs.good': 'stdout' },
    cmd: ['sh', '-c', 'mkdir -p /var/log/app; echo "1,two,3" >> /var/log/app/data.csv; echo "x,y" >> /var/log/app/data.csv; echo good-line; sleep 3600'],
  });

  const jsonRecords = await waitFor(() => dirs.records(json.id).length >= 2 && dirs.records(json.id), { what: 'the json records' });
  const firstMs = Date.parse(String(jsonRecords[0]!['@timestamp']));
  assert.ok(firstMs - started < 3000, 'a container started after the pilot is collected at once');
  const ok = jsonRecords.find((r) => r.level === 'warn')!;
  assert.deepEqual([ok.user, ok.msg, 'message' in ok], [{ id: 7 }, 'hi', false]);
  const bad = jsonRecords.find((r) => r.message === 'not json')!;
  assert.match(String(bad.parse_error), /./, 'a line that fails its format is shipped raw with the reason');

  const mixedRecords = await waitFor(() => {
    const r = dirs.records(mixed.id);
    return r.filter((x) => x.target === 'my_csv').length >= 2 && r.some((x) => x.target === 'good') && r;
  }, { what: 'the csv and good records' });
  const csv = mixedRecords.filter((r) => r.target === 'my_csv');
  assert.deepEqual([csv[0]!.a, csv[0]!.b, csv[0]!.c, csv[0]!.source], ['1', 'two', '3', '/var/log/app/data.csv']);
  assert.equal(csv[1]!.message, 'x,y');
  assert.match(String(csv[1]!.parse_error), /column|field|key/i);
  assert.equal(mixedRecords.find((r) => r.target === 'good')!.message, 'good-line');
  assert.equal(mixedRecords.some((r) => r.target === 'bad'), false);
  const warning = pilot.logs('log declaration skipped').find((w) => w.container === mixed.name);
  assert.ok(warning, 'the bad declaration is reported');
  assert.deepEqual([warning.code, warning.label], ['SW_DECLARATION_INVALID', 'aliyun.logs.bad']);

  // Collected within a second of its start: the engine's start time against the first record's read time.
  const timed = await runContainer(t, { name: 'timed', labels: { 'aliyun.logs.t': 'stdout' }, cmd: ['sh', '-c', 'echo ready; sleep 3600'] });
  const startedAt = Date.parse((await timed.inspect()).State.StartedAt);
  await waitFor(() => dirs.records(timed.id).length > 0, { what: 'the late container', timeoutMs: 3000 });
  // Its records and the pilot's log travel by different pipes: the log line may arrive a moment after the records.
  const seen = await waitFor(() => pilot.logs('collecting container').find((l) => l.container === timed.name), { what: 'the collecting log line' });
  const seenAt = seen.time as number;
  assert.ok(seenAt - startedAt < 1000, `collected ${seenAt - startedAt} ms after its start`);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('an engine absent at start is reported on /health and waited for; a lost engine is rejoined without duplicates', async (t) => {
  const dirs = new PilotDirs(t);
  const proxy = new EngineProxy(join(dirs.dataDir, 'engine.sock'));
  t.after(() => proxy.cut());
  const pilot = await PilotProcess.start(t, dirs, { DOCKER_HOST: proxy.dockerHost });
  const down = await waitFor(async () => {
    const h = await pilot.health();
    return h.status === 503 && h;
  }, { what: '/health to say the engine is down' });
  assert.match(JSON.stringify(down.body), /container engine unavailable: unix:\/\/.*engine\.sock/);
  assert.ok(pilot.stderr.some((l) => l.includes('"code":"SW_ENGINE_UNAVAILABLE"')));

  const c = await runContainer(t, {
    name: 'steady', labels: { 'aliyun.logs.steady': 'stdout' },
    cmd: ['sh', '-c', 'i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo "n $i"; sleep 0.05; done; sleep 3600'],
  });
  await proxy.open();
  await waitFor(() => dirs.records(c.id).length >= 10, { what: 'records once the engine is there' });
  assert.equal((await pilot.health()).status, 200);

  await proxy.cut();
  await waitFor(async () => (await pilot.health()).status === 503, { what: '/health to see the loss' });
  await new Promise((r) => setTimeout(r, 500));
  await proxy.open();
  await waitFor(async () => (await pilot.health()).status === 200, { what: 'the pilot to reconnect' });
  const all = await waitFor(() => dirs.records(c.id).length >= 60 && dirs.records(c.id), { what: 'all 60 lines' });
  await new Promise((r) => setTimeout(r, 500));
  const n = numbers(dirs.records(c.id), 'n ');
  assert.deepEqual(n, Array.from({ length: 60 }, (_, i) => i + 1), 'every line once, in order, across the reconnection');
  assert.equal(all.length, 60);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('the seed scenario into Elasticsearch: daily indices catalina-YYYY.MM.DD and access-YYYY.MM.DD, one document per line', async (t) => {
  const { Client } = await import('@elastic/elasticsearch');
  const { testServices } = await import('../helpers/services.js');
  const es = new Client({ node: testServices().esUrl });
  t.after(() => es.close());
  const c = await runContainer(t, {
    name: 'seed-es',
    labels: {
      'aliyun.logs.catalina': 'stdout',
      'aliyun.logs.access': '/usr/local/tomcat/logs/localhost_access_log.*.txt',
      'aliyun.logs.access.tags': 'stage=test,name=hello',
    },
    volumes: ['/usr/local/tomcat/logs'],
    cmd: ['sh', '-c', 'i=0; while [ $i -lt 5 ]; do i=$((i+1)); echo "catalina $i"; echo "GET /x $i" >> /usr/local/tomcat/logs/localhost_access_log.2026-01-01.txt; done; sleep 3600'],
  });
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, {
    LOGGING_OUTPUT: 'elasticsearch', ELASTICSEARCH_HOSTS: testServices().esUrl, ELASTICSEARCH_FLUSH_INTERVAL: '200ms',
  });
  const search = async (index: string): Promise<Array<{ _index: string; _source: Record<string, unknown> }>> => {
    await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
    const r = await es.search({ index, ignore_unavailable: true, allow_no_indices: true, size: 100, query: { term: { 'docker_container_id.keyword': c.id } }, sort: [{ '@timestamp': 'asc' }, { 'message.keyword': 'asc' }] });
    return r.hits.hits as Array<{ _index: string; _source: Record<string, unknown> }>;
  };
  const catalina = await waitFor(async () => {
    const hits = await search('catalina-*');
    return hits.length === 5 && hits;
  }, { what: '5 catalina documents', timeoutMs: 20_000, intervalMs: 300 });
  const access = await waitFor(async () => {
    const hits = await search('access-*');
    return hits.length === 5 && hits;
  }, { what: '5 access documents', timeoutMs: 20_000, intervalMs: 300 });
  for (const hit of [...catalina, ...access]) {
    const ts = String(hit._source['@timestamp']);
    assert.match(ts, ISO_MS);
    assert.equal(hit._index, `${hit._source.target}-${day(ts)}`);
  }
  assert.deepEqual(catalina.map((h) => h._source.message).sort(), ['catalina 1', 'catalina 2', 'catalina 3', 'catalina 4', 'catalina 5']);
  assert.deepEqual([access[0]!._source.stage, access[0]!._source.name, access[0]!._source.source], ['test', 'hello', '/usr/local/tomcat/logs/localhost_access_log.2026-01-01.txt']);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('the console output writes one JSON record per line on standard output, beside the file output', async (t) => {
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, { LOGGING_OUTPUT: 'console,file' });
  const c = await runContainer(t, { name: 'console', labels: { 'aliyun.logs.con': 'stdout' }, cmd: ['sh', '-c', 'echo "a \\"quoted\\" line"; echo second; sleep 3600'] });
  const lines = await waitFor(() => {
    const mine = pilot.stdout.filter((l) => l.includes(c.id));
    return mine.length === 2 && mine;
  }, { what: 'two console lines' });
  const parsed = lines.map((l) => JSON.parse(l) as PilotRecord);
  assert.deepEqual(parsed.map((r) => r.message), ['a "quoted" line', 'second']);
  assert.deepEqual(parsed, dirs.records(c.id), 'both outputs got the same records');
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});
