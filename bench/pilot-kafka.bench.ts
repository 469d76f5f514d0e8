/**
 * The pilot's log path into Kafka, end to end, wired as pilot/pilot-program.ts wires it (as bench/pilot-pipeline.bench.ts
 * does for its cases): a container declaring a json log goes through the container sources, the tail, the log
 * pipeline and the kafka output (disk buffer, produce requests with acks from every in-sync replica); a run ends when
 * Kafka has acknowledged every line. Each run in its own process, `--runs` times; the topic is deleted after each.
 * Prints lines/s, CPU-seconds of the pilot's process (the broker's are not counted), lines per CPU-second and peak
 * RSS, from the first scan to the last acknowledgement, as min–max (median).
 *
 *   node --import tsx bench/pilot-kafka.bench.ts [--lines 300000] [--runs 3] [--brokers 127.0.0.1:19092] [--bulk 2048]
 *
 * Needs a broker (test/services/kafka.sh starts one on 127.0.0.1:19092); skipped, saying so, when none answers.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../platform/config/load-config.js';
import type { ContainerInfo } from '../platform/engine/container-info.js';
import { createEngineClient } from '../platform/engine/docker-client.js';
import { createLogger } from '../platform/log.js';
import { SharedResources } from '../platform/runtime.js';
import { createRegistry } from '../platform/self-metrics.js';
import { ContainerSources } from '../pilot/container-sources.js';
import { LogPipeline } from '../pilot/log-pipeline.js';
import { buildOutputs } from '../logs/outputs/log-outputs.js';
import { PathMapper } from '../pilot/path-mapper.js';
import { PositionStore } from '../pilot/positions.js';
import { tracePatternOf } from '../pilot/trace-context.js';
import { generateLines, jsonLine } from './support/json-lines.js';
import { benchArgs } from './support/args.js';

const options = benchArgs();
const arg = options.value;
const LINES = Number(arg('lines', '300000'));
const RUNS = Number(arg('runs', '3'));
const BROKERS = arg('brokers', '127.0.0.1:19092');
const BULK = arg('bulk', '2048');
const INPUT_DIR = arg('dir', join(tmpdir(), `shipwatch-bench-kafka-${LINES}`));
const APP_LOG = join(INPUT_DIR, 'app', 'app.log');
const TOPIC_BASE = 'benchkafka';

function container(topic: string): ContainerInfo {
  return {
    id: '3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a', name: 'shop-api-1', image: 'shop/api:1', hostname: 'shop-api-1',
    labels: { 'aliyun.logs.benchkafka': '/var/log/app/*.log', 'aliyun.logs.benchkafka.format': 'json', 'aliyun.logs.benchkafka.target': topic, 'aliyun.logs.benchkafka.tags': 'env=prod' },
    env: {},
    state: { status: 'running', running: true, pid: 1, exitCode: 0, startedAt: '2026-03-01T00:00:00Z', finishedAt: '0001-01-01T00:00:00Z' },
    logPath: '', logDriver: 'json-file',
    mounts: [{ type: 'bind', source: join(INPUT_DIR, 'app'), destination: '/var/log/app', readOnly: true, name: '' }],
    mergedDir: '', upperDir: join(INPUT_DIR, 'rootfs'), graphDriver: 'overlay2', ipAddress: '',
    app: 'shop', service: 'api', stack: '', swarmService: '', swarmTask: '', k8sPod: '', k8sNamespace: '', k8sContainer: '',
  };
}

function admin() {
  return new Kafka({ brokers: BROKERS.split(','), clientId: 'shipwatch-bench', logLevel: logLevel.NOTHING, retry: { retries: 1 } }).admin();
}

async function brokerAnswers(): Promise<boolean> {
  const a = admin();
  try {
    await a.connect();
    await a.listTopics();
    return true;
  } catch {
    return false; // no broker: the bench is skipped and says so
  } finally {
    await a.disconnect().catch(() => undefined);
  }
}

/** One run in this process: set up (not measured), then from the first scan until Kafka acknowledged every line. */
async function child(topic: string): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sw-bench-kafka-'));
  const config = loadConfig({
    SHIPWATCH_DATA_DIR: dataDir, LOG_LEVEL: 'error', PILOT_HOST_ROOT: '/', SHIPWATCH_HOSTNAME: 'node-1',
    LOGGING_OUTPUT: 'kafka', KAFKA_BROKERS: BROKERS, KAFKA_BULK_MAX_SIZE: BULK,
  }, 'pilot');
  const p = config.pilot;
  const log = createLogger({ level: 'error' });
  const registry = createRegistry('pilot', false);
  const outputs = await buildOutputs({ config, log, shared: new SharedResources() }, registry);
  const positions = PositionStore.open(join(dataDir, 'pilot', 'positions.json'), log, p.positionsFlushIntervalMs);
  const pipeline = new LogPipeline({ sinks: outputs.sinks, maxInFlightBytes: p.maxInFlightBytes, maxLineBytes: p.maxLineBytes, registry, log });
  const sources = new ContainerSources({
    engine: createEngineClient(config.common.dockerHost), pipeline, positions, mapper: new PathMapper('/'), prefixes: p.logPrefixes,
    jsonLimits: { maxKeys: p.jsonMaxKeys, maxDepth: p.jsonMaxDepth },
    hostName: 'node-1', nodeName: '', tracePattern: tracePatternOf(p.tracePattern),
    tail: { scanIntervalMs: p.scanIntervalMs, pollIntervalMs: p.pollIntervalMs, readChunkBytes: 256 * 1024, maxLineBytes: p.maxLineBytes, rotatedGraceMs: p.rotatedGraceMs },
    registry, log,
  });
  const delivered = async (): Promise<number> => {
    const m = registry.getSingleMetric('shipwatch_delivery_records_total');
    let n = 0;
    if (m !== undefined) for (const v of (await m.get()).values) if (v.labels['outcome'] === 'delivered') n += v.value;
    return n;
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sources.started(container(topic));
  while ((await delivered()) < LINES) await new Promise((r) => setTimeout(r, 10));
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await sources.stop();
  await Promise.all(outputs.sinks.map((s) => s.close()));
  await positions.close();
  rmSync(dataDir, { recursive: true, force: true });
  const cpuS = (cpu.user + cpu.system) / 1e6;
  process.stderr.write('RESULT ' + JSON.stringify({
    wallS, cpuS, linesPerS: LINES / wallS, linesPerCpuS: LINES / cpuS, peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n');
  process.exit(0);
}

/** min–max (median). */
const range = (xs: number[], f: (x: number) => string): string => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return `${f(sorted[0]!)}–${f(sorted[sorted.length - 1]!)} (${f(mid)})`;
};

async function main(): Promise<void> {
  const topic = arg('topic', '');
  if (topic) return child(topic);
  if (!(await brokerAnswers())) {
    console.log(`pilot → kafka skipped: no broker answers at ${BROKERS} (test/services/kafka.sh starts one)`);
    return;
  }
  await generateLines(APP_LOG, LINES, jsonLine);
  mkdirSync(join(INPUT_DIR, 'rootfs', 'var', 'log', 'app'), { recursive: true });
  const size = statSync(APP_LOG).size;
  console.log(`input: ${LINES} lines, ${(size / 1048576).toFixed(1)} MiB, KAFKA_BULK_MAX_SIZE ${BULK}, ${RUNS} runs, broker ${BROKERS}`);
  const self = fileURLToPath(import.meta.url);
  const runs: Array<Record<string, number>> = [];
  for (let r = 0; r < RUNS; r++) {
    const runTopic = `${TOPIC_BASE}-${process.pid}-${r}`;
    const res = spawnSync(process.execPath, [...process.execArgv, self, '--topic', runTopic, '--lines', String(LINES), '--dir', INPUT_DIR, '--brokers', BROKERS, '--bulk', BULK], {
      stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26,
    });
    const a = admin();
    await a.connect().then(() => a.deleteTopics({ topics: [runTopic] })).catch(() => undefined).finally(() => a.disconnect());
    const result = res.stderr.split('\n').find((l) => l.startsWith('RESULT '));
    if (res.status !== 0 || !result) throw new Error(`run ${r} failed (${res.status ?? res.signal}): ${res.stderr.slice(-2000)}`);
    runs.push(JSON.parse(result.slice(7)) as Record<string, number>);
  }
  const of = (k: string): number[] => runs.map((x) => x[k]!);
  const k = (n: number): string => `${Math.round(n / 1000)}k`;
  console.log(`pilot → kafka  ${range(of('linesPerS'), k)} lines/s, ${range(of('cpuS'), (n) => n.toFixed(2))} CPU-s, ` +
    `${range(of('linesPerCpuS'), k)} lines/CPU-s, peak RSS ${range(of('peakRssMiB'), (n) => n.toFixed(0))} MiB`);
  if (!options.has('keep')) rmSync(INPUT_DIR, { recursive: true, force: true });
}

await main();
