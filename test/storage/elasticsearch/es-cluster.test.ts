/**
 * Elasticsearch as production runs it: three nodes of one cluster (test/services/elasticsearch-cluster.sh), one of
 * them killed with SIGKILL while records flow, then started again.
 *
 * - The product's client (storage/elasticsearch/es-client.ts) on all three nodes: no request fails while a node
 *   is dead; it goes on to a live node, and the node is used again once it is back.
 * - The pilot, the three nodes in ELASTICSEARCH_HOSTS, ships 100,000 numbered lines of a container while the node
 *   holding the index's primary shard is killed and later started: every line is in the cluster exactly once.
 *
 * The index gets one replica (Elasticsearch's default, which the pilot's templates leave as it is): the copy on a
 * live node is promoted when the primary's node dies. Set SHIPWATCH_TEST_ES_CLUSTER_URLS to a 9.x cluster's URLs
 * (ES_CLUSTER_VERSION=9.x.y elasticsearch-cluster.sh start: ports 9221-9223) to run the same on 9.x.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { createEsClient, failoverTries } from '../../../storage/elasticsearch/es-client.js';
import { execIn, runContainer, waitFor } from '../../helpers/docker.js';
import { EsCluster } from '../../helpers/es-cluster.js';
import { metricSum } from '../../helpers/prometheus-text.js';
import { PilotDirs, PilotProcess } from '../../pilot/pilot-process.js';

/** Which node answered: `_nodes/_local` names the node the request reached. */
async function answeringNode(client: Client): Promise<string> {
  const r = await client.transport.request<{ nodes: Record<string, { name: string }> }>(
    { method: 'GET', path: '/_nodes/_local', querystring: { filter_path: 'nodes.*.name' } },
  );
  return Object.values(r.nodes)[0]!.name;
}

/** The name of the node holding the started primary of the index's shard 0. */
async function primaryNode(client: Client, index: string): Promise<string> {
  const shards = await client.cat.shards({ index, format: 'json', h: 'shard,prirep,state,node' });
  const primary = shards.find((s) => s.shard === '0' && s.prirep === 'p' && s.state === 'STARTED');
  if (!primary?.node) throw new Error(`no started primary of ${index}: ${JSON.stringify(shards)}`);
  return primary.node;
}

async function docCount(client: Client, index: string): Promise<number> {
  await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await client.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
}

/** Every document's message and `_version`, through the scroll API. */
async function allMessages(client: Client, index: string): Promise<Array<{ message: string; version: number }>> {
  await client.indices.refresh({ index });
  const out: Array<{ message: string; version: number }> = [];
  let page = await client.search<{ message: string }>({ index, scroll: '1m', size: 10_000, version: true, _source: ['message'], sort: ['_doc'] });
  while (page.hits.hits.length > 0) {
    for (const h of page.hits.hits) out.push({ message: String(h._source?.message), version: h._version ?? 0 });
    page = await client.scroll<{ message: string }>({ scroll_id: page._scroll_id!, scroll: '1m' });
  }
  if (page._scroll_id) await client.clearScroll({ scroll_id: page._scroll_id });
  return out;
}

/** Numbers after `prefix`, against 1..n: how many are missing, how many extra copies. */
function tally(messages: string[], prefix: string, n: number): { missing: number; duplicates: number; foreign: number } {
  const seen = new Uint32Array(n + 1);
  let foreign = 0;
  for (const m of messages) {
    const k = m.startsWith(prefix) ? Number(m.slice(prefix.length)) : NaN;
    if (Number.isInteger(k) && k >= 1 && k <= n) seen[k]!++;
    else foreign++;
  }
  let missing = 0;
  let duplicates = 0;
  for (let k = 1; k <= n; k++) {
    if (seen[k] === 0) missing++;
    else duplicates += seen[k]! - 1;
  }
  return { missing, duplicates, foreign };
}

test('a client tries each node once at most: no retry for one node, failover to the others for several', () => {
  assert.equal(failoverTries(1), 0);
  assert.equal(failoverTries(3), 2);
  assert.equal(failoverTries(0), 0);
});

test('the client on three nodes answers every request while one is killed, passes it by, and uses it again once it is back', async (t) => {
  const cluster = await EsCluster.connect();
  const client = createEsClient({ nodes: [...cluster.urls] });
  t.after(() => client.close());
  const victim = 3;
  const seen = new Set<string>();
  for (let i = 0; i < 9; i++) seen.add(await answeringNode(client));
  assert.deepEqual([...seen].sort(), ['node-1', 'node-2', 'node-3'], 'the requests are spread over the three nodes');

  await cluster.killNode(victim);
  t.after(() => cluster.startNode(victim)); // when the test fails before it does
  const answered = new Map<string, number>();
  for (let i = 0; i < 60; i++) {
    const node = await answeringNode(client); // throws if a request fails
    answered.set(node, (answered.get(node) ?? 0) + 1);
  }
  assert.equal(answered.get(`node-${victim}`), undefined);
  assert.equal((answered.get('node-1') ?? 0) + (answered.get('node-2') ?? 0), 60);
  const dead = client.connectionPool.connections.find((c) => c.url.port === new URL(cluster.urls[victim - 1]!).port)!;
  assert.equal(dead.status, 'dead', 'the killed node is marked dead');

  await cluster.startNode(victim);
  // The client's weighted pool gives a dead node a small share; the first answer it gives makes it alive again.
  // (Read through a function: the assertion above narrowed `dead.status` to 'dead' for the compiler.)
  const status = (): string => dead.status;
  let tries = 0;
  while (tries < 5000 && status() !== 'alive') {
    await answeringNode(client);
    tries++;
  }
  assert.equal(status(), 'alive', `the node is used again once back (after ${tries} requests)`);
  t.diagnostic(`the node came back into use after ${tries} requests`);
  const after = new Set<string>();
  for (let i = 0; i < 9; i++) after.add(await answeringNode(client));
  assert.deepEqual([...after].sort(), ['node-1', 'node-2', 'node-3']);
});

const N = 100_000;

test('100,000 lines through the pilot into a three-node cluster whose primary node is killed and restarted mid-stream: every line there once', async (t) => {
  const cluster = await EsCluster.connect();
  const es = cluster.client();
  const target = `sw-cluster-${process.pid}-${Date.now().toString(36)}`;
  // Hooks run in the order they are registered: the client closes after its last use.
  t.after(async () => {
    try {
      await es.indices.delete({ index: target, ignore_unavailable: true });
      await es.indices.deleteIndexTemplate({ name: `shipwatch-logs-${target}` }, { ignore: [404] });
    } finally {
      await es.close();
    }
  });
  // A label prefix of this run's own: a pilot of another test on the same engine does not take this container,
  // and this pilot takes no other.
  const prefix = `swcluster${process.pid}`;
  // Three phases, each let go by the test: the node dies during the first, the second is written while it is
  // down, the third after it is back (while its shard copies recover).
  const c = await runContainer(t, {
    name: 'cluster-kill',
    labels: { [`${prefix}.logs.kill`]: 'stdout', [`${prefix}.logs.kill.target`]: target },
    cmd: ['sh', '-c', [
      'gen() { i=$1; while [ $i -le $2 ]; do echo "k $i"; i=$((i+1)); done; }',
      'gen 1 40000; while [ ! -e /tmp/go1 ]; do sleep 0.05; done',
      'gen 40001 70000; while [ ! -e /tmp/go2 ]; do sleep 0.05; done',
      `gen 70001 ${N}; sleep 3600`,
    ].join('\n')],
  });
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, {
    LOGGING_OUTPUT: 'elasticsearch', ELASTICSEARCH_HOSTS: cluster.urls.join(','), ELASTICSEARCH_INDEX_ROTATION: 'none',
    ELASTICSEARCH_FLUSH_INTERVAL: '100ms', PILOT_LOG_PREFIX: prefix,
  });
  const began = performance.now();
  const figures: string[] = [];
  const mark = (what: string): void => {
    figures.push(`${what} at ${((performance.now() - began) / 1000).toFixed(1)} s`);
  };

  await waitFor(async () => (await docCount(es, target)) >= 10_000, { what: 'the first 10,000 lines', timeoutMs: 120_000, intervalMs: 200 });
  const settings = await es.indices.getSettings({ index: target, name: 'index.number_of_replicas' });
  assert.equal(settings[target]?.settings?.index?.number_of_replicas, '1', 'the index keeps a copy on a second node');
  const primary = await primaryNode(es, target);
  const victim = EsCluster.nodeNumber(primary);
  const before = await docCount(es, target);
  await cluster.killNode(victim);
  t.after(() => cluster.startNode(victim)); // when the test fails before it does
  mark(`${primary} (the primary's) killed with ${before} documents in`);
  await execIn(c.id, ['touch', '/tmp/go1']);

  await waitFor(async () => (await docCount(es, target)) >= 55_000, { what: '55,000 lines with a node down', timeoutMs: 120_000, intervalMs: 250 });
  const promoted = await primaryNode(es, target);
  assert.notEqual(promoted, primary, 'the replica on a live node became the primary');
  mark(`55,000 in with ${primary} down (primary now on ${promoted})`);
  await cluster.startNode(victim);
  mark(`${primary} back in the cluster with ${await docCount(es, target)} documents in`);
  await execIn(c.id, ['touch', '/tmp/go2']);

  await waitFor(async () => (await docCount(es, target)) >= N, { what: `${N} documents`, timeoutMs: 180_000, intervalMs: 250 });
  mark('all in');
  await new Promise((r) => setTimeout(r, 1000)); // anything extra would show now
  const metrics = await pilot.metrics();
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });

  const docs = await allMessages(es, target);
  assert.deepEqual(tally(docs.map((d) => d.message), 'k ', N), { missing: 0, duplicates: 0, foreign: 0 });
  assert.equal(docs.length, N);
  assert.equal(await docCount(es, target), N);
  assert.equal(metricSum(metrics, 'shipwatch_delivery_records_total', { output: 'elasticsearch', outcome: 'delivered' }), N);
  assert.equal(metricSum(metrics, 'shipwatch_dead_letters_total'), 0);
  const overwritten = docs.filter((d) => d.version > 1).length;
  const retries = metricSum(metrics, 'shipwatch_retries_total');
  const failedRequests = metricSum(metrics, 'shipwatch_es_bulk_requests_total', { result: 'failed' });
  t.diagnostic(`Elasticsearch ${cluster.version}: ${figures.join('; ')}; ${failedRequests} bulk requests failed, ${retries} retries, ${overwritten} documents written twice (overwritten in place)`);
});
