/**
 * The test Kafka (test/services/kafka.sh, one KRaft node): its brokers from SHIPWATCH_TEST_KAFKA_BROKERS (plaintext)
 * and SHIPWATCH_TEST_KAFKA_SASL_BROKERS (SASL/PLAIN, user and password below), a reader of a topic's messages, and
 * the script's stop and start for outage tests.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import type { Cleanup } from './cleanup.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../services/kafka.sh', import.meta.url));

/** The SASL/PLAIN account test/services/kafka.sh gives its SASL listener. */
export const KAFKA_TEST_USER = 'shipwatch';
export const KAFKA_TEST_PASSWORD = 'shipwatch-test-secret';

export const NO_KAFKA = 'SHIPWATCH_TEST_KAFKA_BROKERS is not set: run through the test runner (test/run.ts starts Kafka with test/services/kafka.sh)';

export function kafkaTestBrokers(): string | undefined {
  return process.env.SHIPWATCH_TEST_KAFKA_BROKERS || undefined;
}

export function kafkaTestSaslBrokers(): string | undefined {
  return process.env.SHIPWATCH_TEST_KAFKA_SASL_BROKERS || undefined;
}

function client(brokers: string): Kafka {
  return new Kafka({ brokers: brokers.split(','), clientId: 'shipwatch-test', logLevel: logLevel.NOTHING });
}

/** An admin client, disconnected when the test ends. */
export async function kafkaAdmin(t: Cleanup, brokers: string): Promise<Admin> {
  const admin = client(brokers).admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  return admin;
}

export interface ReadMessage {
  key: string;
  value: string;
  partition: number;
  offset: number;
  headers: Record<string, string>;
}

/** Every message of a topic from its beginning, as they arrive (a consumer of its own group), until stopped. */
export class TopicReader {
  readonly messages: ReadMessage[] = [];
  private constructor(private readonly consumer: Consumer) {}

  /** Starts reading once the topic exists (the pilot's first record makes it), waiting up to `timeoutMs` for that. */
  static async start(t: Cleanup, brokers: string, topic: string, timeoutMs = 60_000): Promise<TopicReader> {
    const admin = client(brokers).admin();
    await admin.connect();
    try {
      await waitFor(async () => (await admin.listTopics()).includes(topic), { timeoutMs, intervalMs: 200, what: `topic ${topic}` });
    } finally {
      await admin.disconnect();
    }
    const consumer = client(brokers).consumer({ groupId: `shipwatch-test-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}` });
    const reader = new TopicReader(consumer);
    t.after(() => reader.stop());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
          reader.messages.push({ key: String(m.key), value: String(m.value), partition: batch.partition, offset: Number(m.offset), headers });
        }
      },
    });
    return reader;
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

async function script(action: 'stop' | 'start'): Promise<void> {
  try {
    await run('bash', [join(SCRIPT), action], { timeout: 300_000 });
  } catch (err) {
    const output = err as { stdout?: string; stderr?: string };
    throw new Error(`kafka.sh ${action} failed: ${output.stderr ?? ''}${output.stdout ?? ''}`.trim(), { cause: err });
  }
}

/** Stops the test broker (an outage); returns once its process is gone. Needs root. */
export function stopKafka(): Promise<void> {
  return script('stop');
}

/** Starts it again; returns once it serves clients. Needs root. */
export function startKafka(): Promise<void> {
  return script('start');
}

/**
 * How a container's numbered lines, in the order they were read, fall short of 1..n: `missing` never seen, `gaps`
 * a number followed by one further on than the next (out of order or lost), `replays` a number followed by one at or
 * before it (a batch sent again), `duplicates` numbers seen more than once.
 */
export function sequenceFaults(numbers: number[], n: number): { missing: number; gaps: number; replays: number; duplicates: number } {
  const seen = new Uint32Array(n + 1);
  let gaps = 0;
  let replays = 0;
  let duplicates = 0;
  let high = 0;
  for (let i = 0; i < numbers.length; i++) {
    const k = numbers[i]!;
    if (seen[k]! > 0) duplicates++;
    seen[k]!++;
    if (i > 0 && k <= numbers[i - 1]!) replays++;
    else if (k > high + 1) gaps++;
    high = Math.max(high, k);
  }
  let missing = 0;
  for (let k = 1; k <= n; k++) if (seen[k] === 0) missing++;
  return { missing, gaps, replays, duplicates };
}
