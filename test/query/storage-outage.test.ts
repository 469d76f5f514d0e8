/**
 * Query reading spans and logs from an Elasticsearch that is out of reach: where nothing listens, and a relay to the
 * real one that accepts connections and never answers. It starts, answers its storage calls with 503 and a clear
 * error, says so on /health, and serves again once Elasticsearch answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { start } from '../../query/query-program.js';
import type { Cleanup } from '../helpers/cleanup.js';
import { esTestUrl } from '../helpers/elasticsearch.js';
import { freePort } from '../helpers/ports.js';
import { startTcpSwitch } from '../helpers/tcp-switch.js';
import { waitFor } from '../helpers/wait.js';

interface RunningQuery {
  api: string;
  admin: string;
  startMs: number;
}

async function startQuery(t: Cleanup, esUrl: string): Promise<RunningQuery> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-query-outage-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  const config = loadConfig({
    SHIPWATCH_DATA_DIR: dataDir, QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0',
    SPAN_STORAGE_TYPE: 'elasticsearch', LOG_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: esUrl, ES_TIMEOUT: '1s',
    ES_INDEX_PREFIX: `sw-query-outage-${process.pid}`, QUERY_LOG_INDICES: `sw-query-outage-${process.pid}-logs-*`,
  }, 'query');
  const runtime = { config, log: silentLogger, shared: new SharedResources() };
  const began = performance.now();
  const program = await start(runtime);
  const startMs = performance.now() - began;
  t.after(async () => {
    await program.close();
    await runtime.shared.closeAll();
  });
  const port = (i: number): number => Number(/:(\d+)/.exec(program.summary[i]!.split(' on ')[1]!)![1]);
  return { api: `http://127.0.0.1:${port(0)}`, admin: `http://127.0.0.1:${port(1)}`, startMs };
}

interface Answer {
  status: number;
  body: { data?: unknown; errors?: Array<{ code: number; msg: string }>; failures?: Record<string, string> };
}

async function get(url: string): Promise<Answer> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/** The one error of a Jaeger-style envelope. */
function errorOf(answer: Answer): { code: number; msg: string } {
  assert.equal(answer.body.errors?.length, 1, JSON.stringify(answer.body));
  return answer.body.errors![0]!;
}

test('with nothing listening at ES_SERVER_URLS, query starts and answers storage calls 503 naming Elasticsearch as unreachable', async (t) => {
  const q = await startQuery(t, `http://127.0.0.1:${await freePort()}`);
  assert.ok(q.startMs < 3000, `started in ${Math.round(q.startMs)} ms`);
  for (const path of ['/api/services', '/api/traces?service=shop', '/api/logs']) {
    const res = await get(`${q.api}${path}`);
    assert.equal(res.status, 503, path);
    assert.equal(errorOf(res).code, 503, path);
    assert.match(errorOf(res).msg, /^storage unavailable: Elasticsearch search on .*: unreachable \(connect ECONNREFUSED .*\)$/, path);
  }
  const health = await get(`${q.admin}/health`);
  assert.equal(health.status, 503);
  assert.match(health.body.failures!['span-storage']!, /^elasticsearch: unreachable/);
  assert.match(health.body.failures!['log-storage']!, /^elasticsearch: unreachable/);
});

test('against an Elasticsearch that never answers, query starts, answers 503 after ES_TIMEOUT, and serves again once it answers', async (t) => {
  const es = await startTcpSwitch(await esTestUrl(), true);
  t.after(() => es.close());
  es.freeze();
  const q = await startQuery(t, es.url);
  assert.ok(q.startMs < 3000, `started in ${Math.round(q.startMs)} ms`);

  const began = performance.now();
  const services = await get(`${q.api}/api/services`);
  assert.equal(services.status, 503);
  assert.match(errorOf(services).msg, /^storage unavailable: Elasticsearch search on .*: no answer in time/);
  assert.ok(performance.now() - began < 5000, 'answered after ES_TIMEOUT, not the default 30 s');
  const health = await get(`${q.admin}/health`);
  assert.equal(health.status, 503);
  assert.match(health.body.failures!['span-storage']!, /^elasticsearch: no answer in time/);

  es.setUp(true);
  const back = await waitFor(async () => {
    const res = await get(`${q.api}/api/services`);
    return res.status === 200 ? res : undefined;
  }, { timeoutMs: 10_000, what: 'the services once Elasticsearch answers' });
  assert.deepEqual(back.body.data, []);
  assert.equal((await get(`${q.api}/api/logs`)).status, 200);
  await waitFor(async () => (await get(`${q.admin}/health`)).status === 200, { what: '/health 200' });
});
