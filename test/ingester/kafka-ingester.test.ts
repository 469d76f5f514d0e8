/**
 * Collector → Kafka → ingester against the test broker (test/services/kafka.sh) and Elasticsearch: spans sent over
 * OTLP/HTTP to `shipwatch collector` with SPAN_STORAGE_TYPE=kafka land in the topic in otlp_proto, and
 * `shipwatch ingester` puts each into Elasticsearch exactly once although it is killed twice on the way; a message
 * that does not decode goes to the dead-letter topic with its reason while the ingester goes on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeExportTraceRequest } from '../../collector/traces/codecs/otlp/otlp-protobuf.js';
import { spanMessages } from '../../storage/kafka/span-messages.js';
import { decodeOtlpTraces } from '../../collector/traces/codecs/otlp/otlp-decode.js';
import { count, deleteIndexTemplates, deleteIndices, scan } from '../helpers/elasticsearch.js';
import { NO_KAFKA, kafkaTestBrokers } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';
import { kafka, otlpRequests, readTopic, send, spawnProgram, startCollector, startStoreIngester, unique } from './support/kafka-span-path.js';

const brokers = kafkaTestBrokers();
const esUrl = process.env.SHIPWATCH_TEST_ES_URL;

test('20,000 spans over OTLP/HTTP reach Elasticsearch through Kafka exactly once, the ingester killed with SIGKILL twice on the way', { skip: !brokers ? NO_KAFKA : !esUrl ? 'SHIPWATCH_TEST_ES_URL is not set' : false, timeout: 420_000 }, async (t) => {
  const began = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-ingester-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const topic = unique('spans');
  const prefix = unique('ing');
  t.after(async () => {
    await deleteIndices(`${prefix}-*`);
    await deleteIndexTemplates(`${prefix}-*`);
  });
  const { otlpUrl } = await startCollector(t, join(dataDir, 'collector'), topic);
  const requests = otlpRequests('kafka-path', 2000, 10, 50);
  await send(otlpUrl, requests);

  // What a Jaeger 2.x kafka receiver reads with encoding otlp_proto: each message one ExportTraceServiceRequest,
  // keyed by the trace id of every span in it.
  const messages = await readTopic(t, topic);
  await waitFor(() => {
    let n = 0;
    for (const m of messages) {
      const decoded = decodeExportTraceRequest(m.value!);
      if ('error' in decoded) throw new Error(decoded.error);
      for (const rs of decoded.request.resourceSpans) for (const ss of (rs as { scopeSpans: Array<{ spans: unknown[] }> }).scopeSpans) n += ss.spans.length;
    }
    return n === 20_000;
  }, { timeoutMs: 60_000, intervalMs: 250, what: '20,000 spans in the topic' });
  for (const m of messages.slice(0, 50)) {
    const out = decodeOtlpTraces(m.value!, 'protobuf', 100_000);
    assert.ok(out.ok);
    assert.ok(out.translation.spans.every((s) => s.traceId === m.key!.toString()), 'a message holds the trace its key names');
  }

  const ingesterEnv = {
    SHIPWATCH_DATA_DIR: join(dataDir, 'ingester'), SPAN_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: esUrl!, ES_INDEX_PREFIX: prefix,
    ES_NUM_SHARDS: '1', ES_NUM_REPLICAS: '0', KAFKA_CONSUMER_BROKERS: brokers!, KAFKA_CONSUMER_TOPIC: topic,
    KAFKA_CONSUMER_GROUP_ID: unique('group'), INGESTER_ADMIN_LISTEN: '127.0.0.1:0',
    // Its start, its group's assignment and its writes, so a wait that runs out says how far it got.
    LOG_LEVEL: 'info',
  };
  const spanIndex = `${prefix}-jaeger-span-*`;
  const kills: number[] = [];
  for (const killAt of [3000, 9000]) {
    const ingester = spawnProgram(t, 'ingester', ingesterEnv);
    const seen = await waitFor(async () => {
      const n = await count(spanIndex);
      return n >= killAt ? n : undefined;
    }, { timeoutMs: 180_000, intervalMs: 100, what: `${killAt} spans in Elasticsearch` }).catch((err: Error) => {
      throw new Error(`${err.message}; the ingester said: ${ingester.stderr().slice(-1500)}`);
    });
    ingester.child.kill('SIGKILL');
    await ingester.exited;
    kills.push(seen);
  }
  const last = spawnProgram(t, 'ingester', ingesterEnv);
  await waitFor(async () => (await count(spanIndex)) >= 20_000, { timeoutMs: 150_000, intervalMs: 250, what: `20,000 spans in Elasticsearch (ingester: ${last.stderr().slice(-500)})` });
  // Whatever the killed ingesters wrote without committing was read again: overwritten by its id, never added.
  await new Promise((r) => setTimeout(r, 1500));
  const docs = await scan<{ traceID: string; spanID: string; tags?: Array<{ key: string; value: unknown }> }>(spanIndex, { fields: ['traceID', 'spanID'] });
  const ids = new Set(docs.map((d) => `${d.source.traceID}/${d.source.spanID}`));
  assert.equal(docs.length, 20_000);
  assert.equal(ids.size, 20_000);
  const rewritten = docs.filter((d) => d.version > 1).length;
  t.diagnostic(`killed at ${kills.join(' and ')} spans stored; ${rewritten} documents written more than once (same id); ${Math.round((Date.now() - began) / 1000)} s`);
  last.child.kill('SIGTERM');
  assert.equal(await last.exited, 0);
});

test('a message that is no valid encoding goes to the dead-letter topic with its reason, and the ingester goes on; a message read twice is stored once in the embedded store', { skip: !brokers ? NO_KAFKA : false, timeout: 120_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-ingester-dlq-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const topic = unique('spans');
  const producer = kafka().producer({ allowAutoTopicCreation: true });
  await producer.connect();
  t.after(() => producer.disconnect());
  const otlp = decodeOtlpTraces(Buffer.from(otlpRequests('dlq-check', 3, 2, 3)[0]!.body), 'json', 1000);
  assert.ok(otlp.ok);
  const { messages } = spanMessages(otlp.translation.spans, 'otlp_proto', 1_000_000);
  await producer.send({
    topic, acks: -1,
    messages: [
      { key: 'garbage', value: Buffer.from('this is not protobuf \xff\xff', 'latin1') },
      ...messages.map((m) => ({ key: m.key, value: m.value })),
      { key: 'empty', value: Buffer.alloc(0) },
      // The first trace again, as a producer's retry after a lost answer would send it.
      { key: messages[0]!.key, value: messages[0]!.value },
    ],
  });

  const { store, groupId } = await startStoreIngester(t, dataDir, topic);
  const letters = await readTopic(t, `${topic}-dlq`);
  await waitFor(() => letters.length >= 2, { timeoutMs: 60_000, what: 'two dead letters' });
  const byKey = new Map(letters.map((l) => [l.key!.toString(), l]));
  assert.equal(byKey.get('garbage')!.value!.toString('latin1'), 'this is not protobuf \xff\xff');
  assert.match(String(byKey.get('garbage')!.headers!['shipwatch-dlq-reason']), /^otlp_proto: /);
  assert.equal(String(byKey.get('garbage')!.headers!['shipwatch-dlq-topic']), topic);
  assert.equal(String(byKey.get('garbage')!.headers!['shipwatch-dlq-offset']), '0');
  assert.match(String(byKey.get('empty')!.headers!['shipwatch-dlq-reason']), /empty message/);

  for (const m of messages) {
    const spans = await waitFor(async () => {
      const trace = await store.getTrace(m.key);
      return trace.length > 0 ? trace : undefined;
    }, { timeoutMs: 30_000, what: `trace ${m.key} in the store` });
    assert.equal(spans.length, 2, `trace ${m.key} is stored once: ${spans.length} spans`);
  }
  // The duplicate came last: once its offset is committed, the store still holds each span once.
  await waitFor(async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      return offsets[0]!.partitions.every((p) => Number(p.offset) >= 0) && offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0) === messages.length + 3;
    } finally {
      await admin.disconnect();
    }
  }, { timeoutMs: 30_000, what: 'the group offsets past every message' });
  assert.equal((await store.getTrace(messages[0]!.key)).length, 2);
});
