/**
 * Pilot → Kafka → `shipwatch ingester` (INGESTER_SIGNAL=logs) → Elasticsearch against the test broker
 * (test/services/kafka.sh) and Elasticsearch: numbered lines of a real container, written to their target's topic by
 * the real pilot with LOGGING_OUTPUT=kafka, some of its messages produced a second time on purpose (as a pilot's
 * replay after a crash would), reach Elasticsearch exactly once although the ingester is killed with SIGKILL on the
 * way: in the index the pilot's Elasticsearch output names, each under the id the pilot gave it. Messages that are
 * not records go to the dead-letter topic with their reason; a bad configuration stops the ingester at start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { runContainer } from '../helpers/docker.js';
import { count, deleteIndexTemplates, deleteIndices, scan } from '../helpers/elasticsearch.js';
import { NO_KAFKA, kafkaTestBrokers } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';
import { PilotDirs, PilotProcess } from '../pilot/pilot-process.js';
import { kafka, readTopic, spawnProgram, unique } from './support/kafka-span-path.js';

const brokers = kafkaTestBrokers();
const esUrl = process.env.SHIPWATCH_TEST_ES_URL;
const skip = !brokers ? NO_KAFKA : !esUrl ? 'SHIPWATCH_TEST_ES_URL is not set'
  : !process.env.SHIPWATCH_TEST_DOCKER_SOCKET ? 'SHIPWATCH_TEST_DOCKER_SOCKET is not set' : false;

const N = 6000;
const DUPLICATED = 700;

function header(m: KafkaMessage, name: string): string | undefined {
  return m.headers?.[name]?.toString();
}

test(`${N} numbered lines written to Kafka by the pilot reach Elasticsearch exactly once through the ingester, ${DUPLICATED} messages duplicated and the ingester killed with SIGKILL on the way; messages that are not records are dead letters`, { skip, timeout: 150_000 }, async (t) => {
  const began = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-log-ingester-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const topic = unique('logs');
  const dlq = unique('logs-dlq');
  t.after(async () => {
    await deleteIndices(`${topic}*`);
    await deleteIndexTemplates(`shipwatch-logs-${topic}`);
  });
  const admin = kafka().admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  t.after(() => admin.deleteTopics({ topics: [topic, dlq] }).catch(() => undefined));

  // The real pilot writes the lines, in its message format (document, container key, shipwatch-id header).
  const container = await runContainer(t, {
    name: 'log-ingest',
    labels: { 'aliyun.logs.lines': 'stdout', 'aliyun.logs.lines.target': topic },
    cmd: ['sh', '-c', `i=1; while [ $i -le ${N} ]; do echo "line $i"; i=$((i+1)); done; sleep 3600`],
  });
  const pilot = await PilotProcess.start(t, new PilotDirs(t), { LOGGING_OUTPUT: 'kafka', KAFKA_BROKERS: brokers!, KAFKA_FLUSH_INTERVAL: '100ms' });
  const reading = await readTopic(t, topic);
  await waitFor(() => reading.length >= N, { timeoutMs: 60_000, intervalMs: 200, what: `${N} messages from the pilot` });
  assert.equal((await pilot.terminate()).code, 0);
  const written = reading.slice(0, N);
  assert.ok(written.every((m) => m.key?.toString() === container.id && (header(m, 'shipwatch-id') ?? '') !== ''), 'keyed by container, the id in a header');

  // Copies of some messages, as the pilot's replay after a crash sends them, and two messages that are no record.
  const producer = kafka().producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  const copies = written.filter((_, i) => i % Math.floor(N / DUPLICATED) === 0).slice(0, DUPLICATED);
  await producer.send({
    topic, acks: -1,
    messages: [
      ...copies.map((m) => ({ key: m.key, value: m.value, headers: { 'shipwatch-id': header(m, 'shipwatch-id')! } })),
      { key: 'no-id', value: written[0]!.value },
      { key: 'not-json', value: Buffer.from('line 0 of nothing'), headers: { 'shipwatch-id': 'x-1' } },
    ],
  });

  const env = {
    SHIPWATCH_DATA_DIR: join(dataDir, 'ingester'), INGESTER_SIGNAL: 'logs', INGESTER_LOG_TOPICS: topic, INGESTER_DEAD_LETTER_TOPIC: dlq,
    ELASTICSEARCH_HOSTS: esUrl!, ELASTICSEARCH_BULK_MAX_SIZE: '500', KAFKA_CONSUMER_BROKERS: brokers!, KAFKA_CONSUMER_GROUP_ID: unique('group'),
    INGESTER_ADMIN_LISTEN: '127.0.0.1:0',
  };
  const index = `${topic}-*`;
  const first = spawnProgram(t, 'ingester', env);
  const killedAt = await waitFor(async () => {
    const n = await count(index);
    return n >= 1000 ? n : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100, what: `1000 records in Elasticsearch (ingester: ${first.stderr().slice(-500)})` });
  first.child.kill('SIGKILL');
  await first.exited;
  const last = spawnProgram(t, 'ingester', env);
  await waitFor(async () => (await count(index)) >= N, { timeoutMs: 60_000, intervalMs: 200, what: `${N} records in Elasticsearch (ingester: ${last.stderr().slice(-500)})` });
  const letters = await readTopic(t, dlq);
  await waitFor(() => letters.length >= 2, { timeoutMs: 30_000, intervalMs: 200, what: 'two dead letters' });
  // Anything stored twice would show by now.
  await new Promise((r) => setTimeout(r, 1500));

  const docs = await scan<{ message: string; target: string }>(index, { fields: ['message', 'target'] });
  const numbers = new Set(docs.map((d) => Number(/^line (\d+)$/.exec(d.source.message)?.[1])));
  assert.equal(docs.length, N, 'one document per line');
  assert.equal(numbers.size, N, 'every number once');
  for (let k = 1; k <= N; k++) assert.ok(numbers.has(k), `line ${k}`);
  // The index the pilot's Elasticsearch output names (target and UTC day), and the pilot's own id as `_id`.
  const byId = new Map(written.map((m) => [header(m, 'shipwatch-id')!, m]));
  for (const d of docs) {
    const m = byId.get(d.id);
    assert.ok(m !== undefined, `document ${d.id} has a pilot's id`);
    const record = JSON.parse(m.value!.toString()) as { '@timestamp': string; message: string };
    assert.equal(d.index, `${topic}-${record['@timestamp'].slice(0, 10).replaceAll('-', '.')}`);
    assert.equal(d.source.message, record.message);
  }
  const reasons = letters.map((l) => `${l.key?.toString()}: ${header(l, 'shipwatch-dlq-reason')}`).sort();
  assert.equal(letters.length, 2);
  assert.match(reasons[0]!, /^no-id: no shipwatch-id header/);
  assert.match(reasons[1]!, /^not-json: not JSON/);
  const rewritten = (await scan(index, { fields: ['message'] })).filter((d) => d.version > 1).length;
  t.diagnostic(`killed at ${killedAt} records stored; ${rewritten} documents written more than once (same id); ${Math.round((Date.now() - began) / 1000)} s`);
  last.child.kill('SIGTERM');
  assert.equal(await last.exited, 0);
});

test('the ingester in log mode refuses to start without a topic, and names a bad topic pattern', { skip: !brokers ? NO_KAFKA : false, timeout: 60_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-log-ingester-cfg-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /INGESTER_LOG_TOPICS: with INGESTER_SIGNAL=logs, at least one topic/],
    [{ INGESTER_LOG_TOPICS: 'good,/(unclosed/,bad topic' }, /INGESTER_LOG_TOPICS[\s\S]*\/\(unclosed\/ is not a valid pattern[\s\S]*"bad topic" is not a Kafka topic name/],
    [{ INGESTER_LOG_TOPICS: 'a', INGESTER_SIGNAL: 'metrics' }, /INGESTER_SIGNAL: "metrics" is not one of spans, logs/],
  ];
  for (const [extra, message] of cases) {
    const p = spawnProgram(t, 'ingester', {
      SHIPWATCH_DATA_DIR: dataDir, INGESTER_SIGNAL: 'logs', KAFKA_CONSUMER_BROKERS: brokers!, INGESTER_ADMIN_LISTEN: '127.0.0.1:0', ...extra,
    });
    assert.notEqual(await p.exited, 0, JSON.stringify(extra));
    assert.match(p.stderr(), message, JSON.stringify(extra));
  }
});
