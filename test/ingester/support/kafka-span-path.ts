/**
 * What the Kafka span path tests share: the test broker's clients, a raw reader of a topic, the collector and the
 * ingester as child processes (`shipwatch collector` / `shipwatch ingester`) or the ingester in this process, and
 * OTLP/JSON requests of numbered traces.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import type { Cleanup } from '../../helpers/cleanup.js';
import { kafkaTestBrokers } from '../../helpers/kafka.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { start as startIngester } from '../../../ingester/ingester-program.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { createLogger } from '../../../platform/log.js';
import { SharedResources } from '../../../platform/runtime.js';
import { openStoreSpanStorage } from '../../../storage/span-storage-factory.js';
import type { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';

const ENTRY = fileURLToPath(new URL('../../../cli/shipwatch.ts', import.meta.url));
const brokers = kafkaTestBrokers();

export const unique = (what: string): string => `sw-${what}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

export function kafka(): Kafka {
  return new Kafka({ brokers: brokers!.split(','), clientId: 'shipwatch-test', logLevel: logLevel.NOTHING });
}

/** Every message of a topic from its beginning (a consumer group of its own), as raw bytes, until the test ends. */
export async function readTopic(t: Cleanup, topic: string): Promise<KafkaMessage[]> {
  const out: KafkaMessage[] = [];
  const admin = kafka().admin();
  await admin.connect();
  try {
    await waitFor(async () => (await admin.listTopics()).includes(topic), { timeoutMs: 60_000, intervalMs: 200, what: `topic ${topic}` });
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka().consumer({ groupId: unique('reader') });
  t.after(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void out.push(message) });
  return out;
}

export interface Program {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function spawnProgram(t: Cleanup, command: string, env: Record<string, string>): Program {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, command], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => void child.kill('SIGKILL'));
  return { child, stderr: () => stderr, exited };
}

export async function startCollector(t: Cleanup, dataDir: string, topic: string, env: Record<string, string> = {}): Promise<{ otlpUrl: string }> {
  const [otlp, admin] = await Promise.all([freePort(), freePort()]);
  spawnProgram(t, 'collector', {
    SHIPWATCH_DATA_DIR: dataDir, DOCKER_HOST: `unix://${join(dataDir, 'no-engine.sock')}`, COLLECTOR_CONTAINER_STATS: 'false',
    SPAN_STORAGE_TYPE: 'kafka', KAFKA_PRODUCER_BROKERS: brokers!, KAFKA_PRODUCER_TOPIC: topic,
    COLLECTOR_OTLP_HTTP_LISTEN: `127.0.0.1:${otlp}`, COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${admin}`,
    COLLECTOR_JAEGER_COMPACT_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_HTTP_LISTEN: '127.0.0.1:0',
    COLLECTOR_ZIPKIN_LISTEN: '127.0.0.1:0', COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0',
    COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0', COLLECTOR_SPAN_FLUSH_INTERVAL: '50ms', ...env,
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${admin}/health`)).status < 600, { timeoutMs: 30_000, what: 'the collector' });
  return { otlpUrl: `http://127.0.0.1:${otlp}/v1/traces` };
}

/** `traces` traces of `perTrace` spans each, as OTLP/JSON requests of `perRequest` traces. */
export function otlpRequests(service: string, traces: number, perTrace: number, perRequest: number): Array<{ body: string; spans: number }> {
  const out = [];
  for (let first = 0; first < traces; first += perRequest) {
    const spans = [];
    for (let t = first; t < Math.min(traces, first + perRequest); t++) {
      const traceId = (t + 1).toString(16).padStart(32, '0');
      for (let s = 0; s < perTrace; s++) {
        const start = 1_700_000_000_000_000_000n + BigInt(t) * 1_000_000n + BigInt(s) * 1000n;
        spans.push({
          traceId, spanId: (t * perTrace + s + 1).toString(16).padStart(16, '0'),
          ...(s > 0 ? { parentSpanId: (t * perTrace + 1).toString(16).padStart(16, '0') } : {}),
          name: `op-${s}`, kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 5_000_000n),
          attributes: [{ key: 'n', value: { intValue: String(t * perTrace + s) } }],
        });
      }
    }
    out.push({
      body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] }),
      spans: spans.length,
    });
  }
  return out;
}

export async function send(url: string, requests: Array<{ body: string }>): Promise<void> {
  for (const r of requests) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: r.body });
    assert.equal(res.status, 200, await res.text());
  }
}


/**
 * `shipwatch ingester` in this process, reading `topic` into an embedded store in `dataDir` (`env` adds variables);
 * closed after the test. Returns that store, to read what it wrote, and the consumer group it commits in.
 */
export async function startStoreIngester(t: Cleanup, dataDir: string, topic: string, env: Record<string, string> = {}): Promise<{ store: StoreSpanStorage; groupId: string }> {
  const config = loadConfig({
    SHIPWATCH_DATA_DIR: dataDir, SPAN_STORAGE_TYPE: 'store', KAFKA_CONSUMER_BROKERS: brokers!, KAFKA_CONSUMER_TOPIC: topic,
    KAFKA_CONSUMER_GROUP_ID: unique('group'), INGESTER_ADMIN_LISTEN: '127.0.0.1:0', ...env,
  }, 'ingester');
  const runtime = { config, log: createLogger({ level: 'silent' }), shared: new SharedResources() };
  const program = await startIngester(runtime);
  t.after(async () => {
    await program.close();
    await runtime.shared.closeAll();
  });
  return { store: openStoreSpanStorage(runtime), groupId: config.ingester.kafkaConsumerGroupId };
}
