/**
 * Kafka → `shipwatch ingester` → the embedded store: spans already in a topic (otlp_proto, one trace of 10 spans a
 * message, as the collector's Kafka output writes them) read by the ingester as ingester/ingester-program.ts wires
 * it, until the group's committed offsets reach the end of the topic (every span stored). Each run in its own
 * process; prints spans/s, CPU-seconds of the ingester's process (the broker's are not counted), spans per
 * CPU-second and peak RSS, as min–max (median).
 *
 *   node --import tsx bench/ingester-kafka.bench.ts [--spans 20000] [--runs 1] [--brokers 127.0.0.1:19092]
 *
 * Needs a broker (test/services/kafka.sh starts one on 127.0.0.1:19092); skipped, saying so, when none answers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { decodeOtlpTraces } from '../collector/traces/codecs/otlp/otlp-decode.js';
import { start } from '../ingester/ingester-program.js';
import { loadConfig } from '../platform/config/load-config.js';
import { createLogger } from '../platform/log.js';
import { SharedResources } from '../platform/runtime.js';
import { spanMessages } from '../storage/kafka/span-messages.js';
import { benchArgs } from './support/args.js';

const options = benchArgs();
const arg = options.value;
const SPANS = Number(arg('spans', '20000'));
const RUNS = Number(arg('runs', '1'));
const BROKERS = arg('brokers', '127.0.0.1:19092');
const PER_TRACE = 10;

const kafka = (): Kafka => new Kafka({ brokers: BROKERS.split(','), clientId: 'shipwatch-bench', logLevel: logLevel.NOTHING });

async function committed(groupId: string, topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The child: one ingester run over the topic, printing its figures as JSON. */
async function child(topic: string, messages: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-bench-ingester-'));
  const groupId = `bench-${process.pid}`;
  const config = loadConfig({ SHIPWATCH_DATA_DIR: dir, SPAN_STORAGE_TYPE: 'store', KAFKA_CONSUMER_BROKERS: BROKERS, KAFKA_CONSUMER_TOPIC: topic, KAFKA_CONSUMER_GROUP_ID: groupId, INGESTER_ADMIN_LISTEN: '127.0.0.1:0' }, 'ingester');
  const runtime = { config, log: createLogger({ level: 'warn' }), shared: new SharedResources() };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const program = await start(runtime);
  while ((await committed(groupId, topic)) < messages) await new Promise((r) => setTimeout(r, 100));
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  await program.close();
  await runtime.shared.closeAll();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ wallS, cpuS, spansPerS: SPANS / wallS, spansPerCpuS: SPANS / cpuS, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

/** The spans as the collector's Kafka output writes them. */
function buildMessages(): Array<{ key: string; value: Buffer }> {
  const spans = [];
  for (let i = 0; i < SPANS; i++) {
    const t = Math.floor(i / PER_TRACE);
    const start = 1_700_000_000_000_000_000n + BigInt(i) * 1000n;
    spans.push({
      traceId: (t + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), name: `op-${i % 7}`, kind: 2,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + 3_000_000n),
      attributes: [{ key: 'http.method', value: { stringValue: 'GET' } }, { key: 'http.status_code', value: { intValue: '200' } }, { key: 'n', value: { intValue: String(i) } }],
    });
  }
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench' } }] }, scopeSpans: [{ spans }] }] };
  const out = decodeOtlpTraces(Buffer.from(JSON.stringify(body)), 'json', SPANS);
  if (!out.ok) throw new Error(out.message);
  return spanMessages(out.translation.spans, 'otlp_proto', 1_000_000).messages.map((m) => ({ key: m.key, value: m.value }));
}

function range(values: number[], fmt: (n: number) => string): string {
  const s = [...values].sort((a, b) => a - b);
  return `${fmt(s[0]!)}–${fmt(s[s.length - 1]!)} (${fmt(s[Math.floor(s.length / 2)]!)})`;
}

async function main(): Promise<void> {
  if (options.has('child')) return child(arg('topic', ''), Number(arg('messages', '0')));
  const admin = kafka().admin();
  try {
    await admin.connect();
  } catch {
    console.log(`kafka → ingester skipped: no broker answers at ${BROKERS} (test/services/kafka.sh starts one)`);
    return;
  }
  const messages = buildMessages();
  const results: Array<Record<string, number>> = [];
  try {
    for (let r = 0; r < RUNS; r++) {
      const topic = `bench-ingester-${process.pid}-${r}`;
      const producer = kafka().producer({ allowAutoTopicCreation: true });
      await producer.connect();
      for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
      await producer.disconnect();
      const self = fileURLToPath(import.meta.url);
      const res = spawnSync(process.execPath, [...process.execArgv, self, '--child', '--topic', topic, '--messages', String(messages.length), '--spans', String(SPANS), '--brokers', BROKERS], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      if (res.status !== 0) throw new Error(`run ${r + 1} failed (${res.status ?? res.signal})`);
      results.push(JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, number>);
    }
  } finally {
    await admin.disconnect();
  }
  const of = (k: string): number[] => results.map((x) => x[k]!);
  const k = (n: number): string => `${(n / 1000).toFixed(1)}k`;
  console.log(`input: ${SPANS} spans in ${messages.length} otlp_proto messages, ${RUNS} run(s), broker ${BROKERS}`);
  console.log(`kafka → ingester → store  ${range(of('spansPerS'), k)} spans/s, ${range(of('cpuS'), (n) => n.toFixed(2))} CPU-s, ` +
    `${range(of('spansPerCpuS'), k)} spans per CPU-second, peak RSS ${range(of('peakRssMiB'), (n) => n.toFixed(0))} MiB`);
}

await main();
