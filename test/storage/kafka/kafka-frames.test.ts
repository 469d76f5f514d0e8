/**
 * The Kafka output's frames in its durable queue read back as written, a torn or damaged frame is told apart, and
 * the sink cuts runs by KAFKA_MAX_MESSAGE_BYTES and refuses, before any request, what no broker could take.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { encodeKafkaFrame, joinKafkaBatches, readKafkaFrame, type KafkaBatch } from '../../../storage/kafka/kafka-frames.js';
import { KafkaSink } from '../../../storage/kafka/kafka-sink.js';

function batch(n: number, doc = (i: number) => `{"message":"line ${i} ✓\\n"}`): KafkaBatch {
  const b: KafkaBatch = { topics: [], keys: [], ids: [], docs: [] };
  for (let i = 0; i < n; i++) {
    b.topics.push(i % 2 === 0 ? 'app' : 'web.access');
    b.keys.push(`c${i % 3}`);
    b.ids.push(`id-${i}`);
    b.docs.push(doc(i));
  }
  return b;
}

/** A sink whose producer is never connected: these cases must not reach a broker. */
function offlineSink(maxMessageBytes: number): KafkaSink {
  const producer = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING }).producer();
  return new KafkaSink({ name: 'kafka', producer, where: '127.0.0.1:1', acks: -1, brokerTimeoutMs: 1000, maxMessageBytes });
}

test('a frame reads back as the batch written, multi-byte characters and newlines included', () => {
  const b = batch(5);
  const buf = Buffer.concat(encodeKafkaFrame(b));
  const r = readKafkaFrame(buf, 0);
  assert.equal(r.kind, 'frame');
  if (r.kind !== 'frame') return;
  assert.deepEqual(r.value, b);
  assert.equal(r.records, 5);
  assert.equal(r.size, buf.length);
});

test('a frame cut short is short, a changed byte is damage, and the next frame is found after it', () => {
  const one = Buffer.concat(encodeKafkaFrame(batch(3)));
  assert.deepEqual(readKafkaFrame(one.subarray(0, one.length - 1), 0), { kind: 'short', size: one.length });
  assert.deepEqual(readKafkaFrame(one.subarray(0, 10), 0), { kind: 'short', size: 0 });
  const bad = Buffer.from(one);
  bad[bad.length - 2] ^= 0xff;
  assert.deepEqual(readKafkaFrame(bad, 0), { kind: 'damaged', reason: 'checksum mismatch' });
  const two = Buffer.concat([one, ...encodeKafkaFrame(batch(2))]);
  const second = readKafkaFrame(two, one.length);
  assert.equal(second.kind === 'frame' && second.records, 2);
  assert.deepEqual(readKafkaFrame(Buffer.from('not a frame at all, not at all'), 0), { kind: 'damaged', reason: 'no frame starts here' });
});

test('a run is cut into requests of at most KAFKA_BULK_MAX_SIZE records and KAFKA_MAX_MESSAGE_BYTES, in order', () => {
  const sink = offlineSink(2000);
  const b = batch(40, (i) => `{"message":"${'x'.repeat(300)} ${i}"}`);
  const parts = sink.split(b, 10);
  assert.deepEqual(joinKafkaBatches(parts), b);
  for (const p of parts) {
    assert.ok(p.docs.length <= 10);
    const bytes = p.docs.reduce((n, d, i) => n + Buffer.byteLength(d) + Buffer.byteLength(p.keys[i]!) + Buffer.byteLength(p.ids[i]!) + 40, 0);
    assert.ok(bytes <= 2000, `${bytes} bytes`);
  }
  assert.deepEqual(sink.split(batch(3), 10), [batch(3)]);
});

test('a record larger than KAFKA_MAX_MESSAGE_BYTES and a target that is no topic name are dead letters before any request', async () => {
  const sink = offlineSink(1024);
  const b: KafkaBatch = {
    topics: ['app', 'has space', '..'], keys: ['c1', 'c1', 'c1'], ids: ['a', 'b', 'c'],
    docs: [`{"message":"${'x'.repeat(2000)}"}`, '{"message":"short"}', '{"message":"dots"}'],
  };
  const out = await sink.send(b, new AbortController().signal);
  assert.equal(out.delivered, 0);
  assert.deepEqual(out.rejected?.map((l) => [l.index, l.id, l.status]), [['app', 'a', 10], ['has space', 'b', 17], ['..', 'c', 17]]);
  assert.match(out.rejected![0]!.reason, /^record of 2017 bytes is larger than KAFKA_MAX_MESSAGE_BYTES \(1024\)$/);
  assert.match(out.rejected![1]!.reason, /is not a Kafka topic name/);
});
