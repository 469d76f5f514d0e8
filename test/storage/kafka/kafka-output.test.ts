/**
 * `shipwatch pilot` with LOGGING_OUTPUT=kafka against a real Kafka 4 broker (test/services/kafka.sh): numbered lines
 * from real containers arrive on the topic named by their target, keyed by container, in order per container, as
 * the documents the other outputs write; a record the broker refuses as too large is a dead letter with its reason;
 * the broker stopped for a while and the pilot killed with SIGKILL lose no line (at-least-once: a replay may repeat
 * some); a bad configuration stops the pilot at start, and a wrong SASL password is named on /health.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runContainer, type TestContainer } from '../../helpers/docker.js';
import {
  KAFKA_TEST_PASSWORD, KAFKA_TEST_USER, NO_KAFKA, TopicReader, kafkaAdmin, kafkaTestBrokers, kafkaTestSaslBrokers, sequenceFaults, startKafka, stopKafka,
  type ReadMessage,
} from '../../helpers/kafka.js';
import { metricSum } from '../../helpers/prometheus-text.js';
import { waitFor } from '../../helpers/wait.js';
import type { Cleanup } from '../../helpers/cleanup.js';
import { PilotDirs, PilotProcess } from '../../pilot/pilot-process.js';

const BROKERS = kafkaTestBrokers();
const skip = BROKERS === undefined ? NO_KAFKA : false;

/** A topic of this run: never one another run reads. */
function runTopic(base: string): string {
  return `sw-kafka-${base}-${process.pid}-${Date.now().toString(36)}`;
}

/**
 * A container printing `<prefix> 1` .. `<prefix> n` on standard output, declared for `topic`; with `paceEvery`, it
 * sleeps 0.1 s after each such many lines (lines keep flowing for a while).
 */
function printing(t: Cleanup, topic: string, prefix: string, n: number, paceEvery = 0): Promise<TestContainer> {
  const pace = paceEvery > 0 ? `if [ $((i % ${paceEvery})) -eq 0 ]; then sleep 0.1; fi; ` : '';
  return runContainer(t, {
    name: 'kafka-out',
    labels: { 'aliyun.logs.out': 'stdout', 'aliyun.logs.out.target': topic },
    cmd: ['sh', '-c', `i=1; while [ $i -le ${n} ]; do echo "${prefix} $i"; ${pace}i=$((i+1)); done; sleep 3600`],
  });
}

/** The numbers of `<prefix> k` messages of one container, in the order its partition holds them. */
function numbersOf(messages: ReadMessage[], containerId: string, prefix: string): number[] {
  const mine = messages.filter((m) => m.key === containerId).sort((a, b) => a.offset - b.offset);
  const out: number[] = [];
  for (const m of mine) {
    const r = JSON.parse(m.value) as { message?: string };
    if (r.message?.startsWith(`${prefix} `)) out.push(Number(r.message.slice(prefix.length + 1)));
  }
  return out;
}

const BASE_ENV = { LOGGING_OUTPUT: 'kafka', KAFKA_FLUSH_INTERVAL: '100ms', KAFKA_BULK_MAX_SIZE: '1000' };

test('numbered lines of two containers arrive on their target\'s topic keyed by container, in order, as the documents the file output writes; a record the broker refuses as too large is a dead letter', { skip }, async (t) => {
  const brokers = BROKERS!;
  const topic = runTopic('order');
  const small = runTopic('small');
  const admin = await kafkaAdmin(t, brokers);
  // A topic whose records may be 2,000 bytes at most: the broker, not the pilot, refuses the long line.
  await admin.createTopics({ topics: [{ topic: small, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2000' }] }], waitForLeaders: true });
  t.after(() => admin.deleteTopics({ topics: [topic, small] }).catch(() => undefined));
  const N = 5000;
  const a = await printing(t, topic, 'a', N);
  const b = await printing(t, topic, 'b', N);
  const long = 'x'.repeat(3000);
  const c = await runContainer(t, {
    name: 'kafka-long',
    labels: { 'aliyun.logs.out': 'stdout', 'aliyun.logs.out.target': small },
    cmd: ['sh', '-c', `echo "c 1"; echo "c 2 ${long}"; echo "c 3"; sleep 3600`],
  });
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, { ...BASE_ENV, LOGGING_OUTPUT: 'kafka,file', KAFKA_BROKERS: brokers });
  assert.ok(pilot.logs('started').some((l) => JSON.stringify(l).includes(`output kafka (${brokers}, topics named by target)`)), 'the start-up summary names the brokers');

  const reader = await TopicReader.start(t, brokers, topic);
  await waitFor(() => reader.messages.length >= 2 * N, { timeoutMs: 90_000, intervalMs: 200, what: `${2 * N} messages on the topic` });
  await waitFor(async () => metricSum(await pilot.metrics(), 'shipwatch_delivery_records_total', { output: 'kafka', outcome: 'rejected' }) >= 1,
    { timeoutMs: 30_000, intervalMs: 200, what: 'the long line refused' });
  await new Promise((r) => setTimeout(r, 1000)); // anything extra would show now
  assert.equal(reader.messages.length, 2 * N, 'no message beyond the numbered lines');
  for (const [container, prefix] of [[a, 'a'], [b, 'b']] as const) {
    const numbers = numbersOf(reader.messages, container.id, prefix);
    assert.deepEqual(sequenceFaults(numbers, N), { missing: 0, gaps: 0, replays: 0, duplicates: 0 }, `container ${prefix}`);
    assert.equal(new Set(reader.messages.filter((m) => m.key === container.id).map((m) => m.partition)).size, 1, `container ${prefix}: one partition`);
  }
  const first = reader.messages[0]!;
  const doc = JSON.parse(first.value) as Record<string, unknown>;
  assert.equal(doc['target'], topic);
  assert.equal(doc['stream'], 'stdout');
  assert.equal(doc['docker_container_id'], first.key);
  assert.match(String(doc['@timestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(first.headers['shipwatch-id'] ?? '', /\S/, 'the record\'s id in a header');
  // The document is the record as every output writes it: the file output's lines, byte for byte.
  const filed = new Set(readdirSync(dirs.outDir).filter((f) => f.startsWith(`${topic}-`)).flatMap((f) => readFileSync(join(dirs.outDir, f), 'utf8').split('\n')));
  assert.ok(reader.messages.every((m) => filed.has(m.value)), 'each Kafka message is a line of the file output');

  const smallReader = await TopicReader.start(t, brokers, small);
  await waitFor(() => smallReader.messages.length >= 2, { timeoutMs: 30_000, what: 'the two short lines' });
  assert.deepEqual(numbersOf(smallReader.messages, c.id, 'c'), [1, 3]);
  const letters = join(dirs.dataDir, 'dead-letter');
  assert.ok(existsSync(letters), 'a dead-letter folder');
  const lines = readdirSync(letters).filter((f) => f.startsWith('kafka-')).flatMap((f) => readFileSync(join(letters, f), 'utf8').split('\n').filter((l) => l !== ''));
  // The pilot reads every labelled container of the engine, other tests' too: only this topic's letters are ours.
  const mine = lines.map((l) => JSON.parse(l) as { index: string; status: number; reason: string; id: string; record: { message: string } }).filter((l) => l.index === small);
  assert.equal(mine.length, 1);
  const letter = mine[0]!;
  assert.equal(letter.status, 10);
  assert.match(letter.reason, /larger than|too large/i);
  assert.equal(letter.record.message, `c 2 ${long}`);
  assert.ok(letter.id !== '');

  const metrics = await pilot.metrics();
  assert.ok(metricSum(metrics, 'shipwatch_delivery_records_total', { output: 'kafka', outcome: 'delivered' }) >= 2 * N + 2);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('a bad configuration stops the pilot at start naming the variable: no brokers, a broker without a port, a user without a password, acks 0', { skip }, async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /KAFKA_BROKERS: at least one broker/],
    [{ KAFKA_BROKERS: 'broker-without-port' }, /KAFKA_BROKERS: "broker-without-port" is not host:port/],
    [{ KAFKA_BROKERS: BROKERS!, KAFKA_USERNAME: 'someone' }, /KAFKA_USERNAME and KAFKA_PASSWORD go together/],
    [{ KAFKA_BROKERS: BROKERS!, KAFKA_REQUIRE_ACKS: '0' }, /KAFKA_REQUIRE_ACKS: 0 is not supported/],
    [{ KAFKA_BROKERS: BROKERS!, KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_VERSION: '0.8.2' }, /KAFKA_VERSION: Kafka 0\.8\.2 is older than 0\.10[\s\S]*KAFKA_SASL_MECHANISM: "gssapi" is not one of plain/],
  ];
  for (const [env, message] of cases) {
    const dirs = new PilotDirs(t);
    await assert.rejects(PilotProcess.start(t, dirs, { ...BASE_ENV, ...env }), (err: Error) => {
      assert.match(err.message, /^pilot exited at start/);
      assert.match(err.message, message);
      return true;
    }, JSON.stringify(env));
  }
});

test('a wrong SASL password is named on /health while the records wait on disk; the right one delivers them', { skip: skip || (kafkaTestSaslBrokers() === undefined ? 'SHIPWATCH_TEST_KAFKA_SASL_BROKERS is not set' : false) }, async (t) => {
  const brokers = kafkaTestSaslBrokers()!;
  const topic = runTopic('sasl');
  const c = await printing(t, topic, 's', 100);
  const dirs = new PilotDirs(t);
  const env = { ...BASE_ENV, KAFKA_BROKERS: brokers, KAFKA_USERNAME: KAFKA_TEST_USER };
  const wrong = await PilotProcess.start(t, dirs, { ...env, KAFKA_PASSWORD: 'not-the-password' });
  const reason = await waitFor(async () => (await wrong.health()).body['problems'] as Record<string, string> | undefined,
    { timeoutMs: 20_000, intervalMs: 200, what: '/health naming the output\'s problem' });
  assert.match(reason['outputs'] ?? '', /^kafka: .*SASL PLAIN authentication failed.*bytes wait in the disk buffer$/);
  assert.equal(JSON.stringify(wrong.stderr).includes('not-the-password'), false, 'the password is never logged');
  assert.deepEqual(await wrong.terminate(), { code: 0, signal: null });

  const right = await PilotProcess.start(t, dirs, { ...env, KAFKA_PASSWORD: KAFKA_TEST_PASSWORD });
  const reader = await TopicReader.start(t, kafkaTestBrokers()!, topic);
  await waitFor(() => sequenceFaults(numbersOf(reader.messages, c.id, 's'), 100).missing === 0, { timeoutMs: 30_000, what: 'the 100 lines' });
  assert.deepEqual(await right.terminate(), { code: 0, signal: null });
});

const OUTAGE_LINES = 100_000;
const OUTAGE_MS = 60_000;

test(`${OUTAGE_LINES.toLocaleString('en')} lines with the broker stopped for ${OUTAGE_MS / 1000} s and the pilot killed with SIGKILL meanwhile: every line on the topic, in order but for replays`, { skip }, async (t) => {
  const brokers = BROKERS!;
  const topic = runTopic('outage');
  t.after(async () => {
    await startKafka(); // whatever happened, the broker is left running for the next tests
    const admin = await kafkaAdmin(t, brokers);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  });
  const c = await printing(t, topic, 'n', OUTAGE_LINES, 1000);
  const dirs = new PilotDirs(t);
  const env = { ...BASE_ENV, KAFKA_BROKERS: brokers, KAFKA_BROKER_TIMEOUT: '2s', KAFKA_BULK_MAX_SIZE: '2048' };
  const first = await PilotProcess.start(t, dirs, env);
  const early = await TopicReader.start(t, brokers, topic);
  await waitFor(() => early.messages.length >= 5000, { timeoutMs: 60_000, intervalMs: 100, what: 'the first records on the topic' });
  await early.stop();

  await stopKafka();
  const stoppedAt = performance.now();
  const reason = await waitFor(async () => {
    const h = await first.health();
    const r = (h.body['problems'] as Record<string, string> | undefined)?.['outputs'];
    return r !== undefined && /bytes wait in the disk buffer$/.test(r) && { status: h.status, r };
  }, { timeoutMs: 20_000, intervalMs: 200, what: '/health naming Kafka and the disk buffer' });
  assert.equal(reason.status, 200, 'an output outage leaves the pilot reading and healthy (degraded)');
  assert.match(reason.r, new RegExp(`^kafka: .*\\(${brokers}\\)`));
  await new Promise((r) => setTimeout(r, OUTAGE_MS / 3));
  await first.kill();
  const second = await PilotProcess.start(t, dirs, env);
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (performance.now() - stoppedAt))));
  await startKafka();
  t.diagnostic(`broker down for ${Math.round((performance.now() - stoppedAt) / 1000)} s (its start included)`);

  const reader = await TopicReader.start(t, brokers, topic);
  await waitFor(() => sequenceFaults(numbersOf(reader.messages, c.id, 'n'), OUTAGE_LINES).missing === 0,
    { timeoutMs: 150_000, intervalMs: 1000, what: `all ${OUTAGE_LINES} lines on the topic` });
  await waitFor(async () => (await second.health()).body['status'] === 'ok', { timeoutMs: 20_000, what: '/health ok again' });
  await new Promise((r) => setTimeout(r, 1000));
  const faults = sequenceFaults(numbersOf(reader.messages, c.id, 'n'), OUTAGE_LINES);
  t.diagnostic(`after the outage and the kill: ${JSON.stringify(faults)}, ${reader.messages.length} messages`);
  assert.deepEqual({ missing: faults.missing, gaps: faults.gaps }, { missing: 0, gaps: 0 });
  assert.deepEqual(await second.terminate(), { code: 0, signal: null });
});
