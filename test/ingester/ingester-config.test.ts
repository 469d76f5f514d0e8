import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../platform/config/load-config.js';
import { createLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { start } from '../../ingester/ingester-program.js';
import { createSpanReader } from '../../storage/span-storage-factory.js';

const problemsOf = (env: Record<string, string>, program: 'collector' | 'ingester'): string[] => {
  try {
    loadConfig(env, program);
    return [];
  } catch (err) {
    return ((err as { problems: Array<{ variable: string; reason: string }> }).problems).map((p) => `${p.variable}: ${p.reason}`);
  }
};

test('the Kafka span variables have Jaeger\'s defaults', () => {
  const c = loadConfig({}, 'ingester');
  assert.equal(c.ingester.kafkaConsumerTopic, 'jaeger-spans');
  assert.equal(c.ingester.kafkaConsumerGroupId, 'jaeger-ingester');
  assert.equal(c.ingester.kafkaConsumerEncoding, 'otlp_proto');
  assert.equal(c.ingester.adminListen.port, 14270);
  const k = loadConfig({ SPAN_STORAGE_TYPE: 'kafka', KAFKA_PRODUCER_BROKERS: 'b1:9092,b2:9092' }, 'collector');
  assert.deepEqual(k.spanStorage.types, ['kafka']);
  assert.deepEqual(k.spanStorage.kafkaProducerBrokers, ['b1:9092', 'b2:9092']);
  assert.equal(k.spanStorage.kafkaProducerTopic, 'jaeger-spans');
  assert.equal(k.spanStorage.kafkaProducerEncoding, 'otlp_proto');
});

test('every bad Kafka span variable is reported at once, naming it', () => {
  const problems = problemsOf({
    SPAN_STORAGE_TYPE: 'kafka', KAFKA_PRODUCER_BROKERS: 'nohost', KAFKA_PRODUCER_TOPIC: 'a topic', KAFKA_PRODUCER_ENCODING: 'thrift', KAFKA_PRODUCER_MAX_MESSAGE_BYTES: '10',
  }, 'collector');
  assert.equal(problems.length, 4);
  assert.match(problems.join('\n'), /KAFKA_PRODUCER_BROKERS: "nohost" is not host:port/);
  assert.match(problems.join('\n'), /KAFKA_PRODUCER_TOPIC: "a topic" is not a Kafka topic name/);
  assert.match(problems.join('\n'), /KAFKA_PRODUCER_ENCODING: "thrift" is not one of otlp_proto, otlp_json/);
  assert.match(problems.join('\n'), /KAFKA_PRODUCER_MAX_MESSAGE_BYTES: must be from 1KiB/);
  const ingester = problemsOf({ KAFKA_CONSUMER_ENCODING: 'jaeger', KAFKA_CONSUMER_TOPIC: '..', INGESTER_DEAD_LETTER_TOPIC: 'bad/name' }, 'ingester');
  assert.equal(ingester.length, 3);
});

test('the ingester refuses to start without brokers or when told to write back to Kafka; query refuses to read Kafka', async () => {
  const runtime = (env: Record<string, string>, program: 'ingester' | 'query') => ({ config: loadConfig(env, program), log: createLogger({ level: 'silent' }), shared: new SharedResources() });
  await assert.rejects(start(runtime({ SPAN_STORAGE_TYPE: 'store' }, 'ingester')), /KAFKA_CONSUMER_BROKERS: at least one broker/);
  await assert.rejects(start(runtime({ SPAN_STORAGE_TYPE: 'kafka', KAFKA_CONSUMER_BROKERS: 'k:9092' }, 'ingester')), /SPAN_STORAGE_TYPE: the ingester writes to store or elasticsearch/);
  await assert.rejects(createSpanReader(runtime({ SPAN_STORAGE_TYPE: 'kafka' }, 'query')), /kafka is written by the collector and read by the ingester/);
});
