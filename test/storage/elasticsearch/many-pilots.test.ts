/**
 * Several pilots on several hosts into one cluster: three pilot processes, each with its own host name
 * (SHIPWATCH_HOSTNAME) and its own container of 50,000 numbered lines, all three writing the same target into the
 * three-node cluster (test/services/elasticsearch-cluster.sh) as a data stream (ELASTICSEARCH_INDEX_ROTATION=
 * datastream), each pilot installing the stream's template itself before its first document, as at a real start.
 * Checked: 150,000 documents, 150,000 distinct ids, every number of every container once, each under its pilot's
 * host; nothing retried, refused or dead-lettered.
 *
 * The record id is a hash of the container id, declaration, file and the line's position (pilot/record-encoder.ts):
 * two pilots' lines never share one, so none is refused as a replay (a data stream answers an existing id with
 * 409, which the pilot counts as delivered: a collision would show here as a missing line, not as an error).
 *
 * One stream for every run: the cluster (integ-test distribution) has no data stream API to delete it, so the test
 * empties it before and after (rollover, then the old backing indices deleted), as the retention test does.
 * Set SHIPWATCH_TEST_ES_CLUSTER_URLS to a 9.x cluster's URLs to run the same on 9.x.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { runContainer, waitFor } from '../../helpers/docker.js';
import { backingIndices, emptyDataStream } from '../../helpers/elasticsearch.js';
import { EsCluster } from '../../helpers/es-cluster.js';
import { metricSum } from '../../helpers/prometheus-text.js';
import { PilotDirs, PilotProcess } from '../../pilot/pilot-process.js';

const LINES = 50_000;
const TARGET = 'sw-many-pilots';
const NAMESPACE = 'default';
const STREAM = `logs-sw_many_pilots-${NAMESPACE}`;
const TEMPLATE = `shipwatch-logs-stream-${STREAM}`;
const HOSTS = ['pilot-host-a', 'pilot-host-b', 'pilot-host-c'] as const;

interface Doc {
  id: string;
  message: string;
  host: string;
  container: string;
}

async function allDocs(es: Client): Promise<Doc[]> {
  await es.indices.refresh({ index: STREAM });
  const out: Doc[] = [];
  type Source = { message: string; host: string; docker_container_id: string };
  let page = await es.search<Source>({ index: STREAM, scroll: '1m', size: 10_000, _source: ['message', 'host', 'docker_container_id'], sort: ['_doc'] });
  while (page.hits.hits.length > 0) {
    for (const h of page.hits.hits) out.push({ id: h._id!, message: String(h._source?.message), host: String(h._source?.host), container: String(h._source?.docker_container_id) });
    page = await es.scroll<Source>({ scroll_id: page._scroll_id!, scroll: '1m' });
  }
  if (page._scroll_id) await es.clearScroll({ scroll_id: page._scroll_id });
  return out;
}

test('three pilots on three hosts × 50,000 numbered lines into one data stream of a three-node cluster: 150,000 documents, no id shared, none twice, each under its host', async (t) => {
  const cluster = await EsCluster.connect();
  const es = cluster.client();
  const pilots: PilotProcess[] = [];
  // Hooks run in the order they are registered: the pilots stop before the stream is emptied, the client closes last.
  t.after(async () => {
    try {
      await Promise.all(pilots.map((p) => p.kill()));
      await emptyDataStream(es, STREAM);
    } finally {
      await es.close();
    }
  });
  await emptyDataStream(es, STREAM);

  // The pilots first, then their containers: a pilot starting while another ships had to share the cores with it.
  // A label prefix per pilot: each pilot takes its own container only, as on its own host.
  const prefixes = HOSTS.map((_, i) => `swmany${process.pid}x${i}`);
  for (const [i, host] of HOSTS.entries()) {
    pilots.push(await PilotProcess.start(t, new PilotDirs(t), {
      LOGGING_OUTPUT: 'elasticsearch', ELASTICSEARCH_HOSTS: cluster.urls.join(','), ELASTICSEARCH_INDEX_ROTATION: 'datastream',
      ELASTICSEARCH_DATASTREAM_NAMESPACE: NAMESPACE, ELASTICSEARCH_FLUSH_INTERVAL: '200ms', PILOT_LOG_PREFIX: prefixes[i]!, SHIPWATCH_HOSTNAME: host,
    }));
  }
  const began = performance.now();
  const containers: Array<{ id: string; host: string }> = [];
  for (const [i, host] of HOSTS.entries()) {
    const c = await runContainer(t, {
      name: `many-pilots-${i}`,
      labels: { [`${prefixes[i]}.logs.app`]: 'stdout', [`${prefixes[i]}.logs.app.target`]: TARGET },
      cmd: ['sh', '-c', `i=1; while [ $i -le ${LINES} ]; do echo "line $i"; i=$((i+1)); done; sleep 3600`],
    });
    containers.push({ id: c.id, host });
  }
  const total = HOSTS.length * LINES;
  const count = async (): Promise<number> => {
    await es.indices.refresh({ index: STREAM }, { ignore: [404] });
    return (await es.count({ index: STREAM }, { ignore: [404] })).count ?? 0;
  };
  await waitFor(async () => (await count()) >= total, { what: `${total} documents in ${STREAM}`, timeoutMs: 240_000, intervalMs: 500 });
  const seconds = (performance.now() - began) / 1000;
  await new Promise((r) => setTimeout(r, 1000)); // anything extra would show now
  const metrics = await Promise.all(pilots.map((p) => p.metrics()));
  for (const p of pilots) assert.deepEqual(await p.terminate(), { code: 0, signal: null });

  // The stream's template is Shipwatch's (each pilot installed it, the three at once), and its mapping applies.
  const template = (await es.indices.getIndexTemplate({ name: TEMPLATE })).index_templates[0]!.index_template;
  assert.deepEqual(template.index_patterns, [STREAM]);
  assert.ok(template.data_stream !== undefined);
  const write = (await backingIndices(es, STREAM)).at(-1)!;
  const mapping = (await es.indices.getMapping({ index: write }))[write]!.mappings.properties!;
  assert.equal(mapping['message']?.type, 'text');
  assert.equal(mapping['host']?.type, 'keyword');

  const docs = await allDocs(es);
  assert.equal(docs.length, total);
  assert.equal(new Set(docs.map((d) => d.id)).size, total, 'no two documents share an id');
  const hostOf = new Map(containers.map((c) => [c.id, c.host]));
  const seen = new Map(containers.map((c) => [c.id, new Uint8Array(LINES + 1)]));
  let foreign = 0;
  let wrongHost = 0;
  let twice = 0;
  for (const d of docs) {
    const numbers = seen.get(d.container);
    const k = d.message.startsWith('line ') ? Number(d.message.slice(5)) : NaN;
    if (!numbers || !Number.isInteger(k) || k < 1 || k > LINES) {
      foreign++;
      continue;
    }
    if (d.host !== hostOf.get(d.container)) wrongHost++;
    if (numbers[k]! > 0) twice++;
    numbers[k]!++;
  }
  const missing = [...seen.values()].reduce((sum, numbers) => sum + numbers.subarray(1).filter((n) => n === 0).length, 0);
  assert.deepEqual({ foreign, wrongHost, twice, missing }, { foreign: 0, wrongHost: 0, twice: 0, missing: 0 });
  const perHost = await es.search({ index: STREAM, size: 0, aggs: { hosts: { terms: { field: 'host', size: 10 } } } });
  const buckets = (perHost.aggregations!['hosts'] as { buckets: Array<{ key: string; doc_count: number }> }).buckets;
  assert.deepEqual(Object.fromEntries(buckets.map((b) => [b.key, b.doc_count])), Object.fromEntries(HOSTS.map((h) => [h, LINES])));

  for (const m of metrics) {
    assert.equal(metricSum(m, 'shipwatch_delivery_records_total', { output: 'elasticsearch', outcome: 'delivered' }), LINES);
    assert.equal(metricSum(m, 'shipwatch_dead_letters_total'), 0);
    assert.equal(metricSum(m, 'shipwatch_es_bulk_requests_total', { result: 'failed' }), 0);
  }
  const retries = metrics.reduce((sum, m) => sum + metricSum(m, 'shipwatch_retries_total'), 0);
  const requests = metrics.reduce((sum, m) => sum + metricSum(m, 'shipwatch_es_bulk_requests_total'), 0);
  t.diagnostic(`Elasticsearch ${cluster.version}: ${total} documents in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} a second) from ${HOSTS.length} pilots in ${requests} bulk requests, ${retries} retries`);
});
