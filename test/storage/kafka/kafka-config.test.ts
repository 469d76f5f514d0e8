/** The kafka output's variables: log-pilot's names, their defaults, and a clear reason for each bad value. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../platform/config/load-config.js';

test('the defaults keep a record safe: acks from every replica, filebeat\'s batch and message sizes', () => {
  const p = loadConfig({ LOGGING_OUTPUT: 'kafka', KAFKA_BROKERS: 'k1:9092, [::1]:9093' }, 'pilot').pilot;
  assert.deepEqual(p.outputs, ['kafka']);
  assert.deepEqual(p.kafkaBrokers, ['k1:9092', '[::1]:9093']);
  assert.equal(p.kafkaRequiredAcks, -1);
  assert.equal(p.kafkaBatchMaxEvents, 2048);
  assert.equal(p.kafkaMaxMessageBytes, 1_000_000);
  assert.equal(p.kafkaBrokerTimeoutMs, 10_000);
  assert.equal(p.kafkaConcurrency, 1);
  assert.equal(p.kafkaSaslMechanism, 'plain');
  assert.equal(p.kafkaVersion, '');
  assert.equal(loadConfig({ KAFKA_REQUIRE_ACKS: '1', KAFKA_VERSION: '2.0.0', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512' }, 'pilot').pilot.kafkaRequiredAcks, 1);
});

test('every bad kafka variable is reported at once, each naming itself and why', () => {
  const env = {
    KAFKA_BROKERS: 'k1:9092,k2', KAFKA_VERSION: '0.9.0.1', KAFKA_REQUIRE_ACKS: '0', KAFKA_SASL_MECHANISM: 'kerberos',
    KAFKA_MAX_MESSAGE_BYTES: '10', KAFKA_BROKER_TIMEOUT: '20m', KAFKA_WORKER: '0',
  };
  assert.throws(() => loadConfig(env, 'pilot'), (err: Error & { problems?: Array<{ variable: string; reason: string }> }) => {
    assert.deepEqual(err.problems?.map((p) => p.variable).sort(), Object.keys(env).sort());
    const reason = (name: string): string => err.problems!.find((p) => p.variable === name)!.reason;
    assert.match(reason('KAFKA_BROKERS'), /"k2" is not host:port/);
    assert.match(reason('KAFKA_VERSION'), /older than 0\.10/);
    assert.match(reason('KAFKA_REQUIRE_ACKS'), /0 is not supported/);
    assert.match(reason('KAFKA_SASL_MECHANISM'), /not one of plain, scram-sha-256, scram-sha-512/);
    return true;
  });
});
