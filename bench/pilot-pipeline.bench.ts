/**
 * The pilot's whole log path, end to end, wired as pilot/pilot-program.ts wires it: a container declaring a json
 * log (`aliyun.logs.app=/var/log/app/*.log`, `format=json`) goes through the container sources, the tail, the log
 * pipeline and its outputs, and the positions move as acknowledgements arrive; a run ends when every line is
 * acknowledged. 1,000,000 JSON lines of ~171 bytes; each case in its own process (its own peak RSS), `--runs`
 * times. Cases: bare (a reference loop), console, bulk, console+pos, bulk+pos, file+pos (the file output), es-buffer (Elasticsearch down,
 * everything into the disk buffer), es (a live node at --es-url, skipped when it does not answer; the run ends when
 * Elasticsearch has taken every line), stdout (the engine's
 * json-file log). Prints lines/s, MiB/s, CPU-seconds, lines per CPU-second and peak RSS, from the first scan to the
 * last acknowledgement. What each case measures, its current figures and targets: docs/design/pilot-pipeline.md.
 *
 *   node --import tsx bench/pilot-pipeline.bench.ts [--lines 1000000] [--runs 3] [--cases console,bulk] [--es-url URL] [--keep]
 *
 * Under tsx a process starts ~35 MiB heavier than compiled code: for RSS figures run the compiled file
 * (`npx tsc -p .`, then `node dist/bench/pilot-pipeline.bench.js`).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../platform/config/load-config.js';
import type { ContainerInfo } from '../platform/engine/container-info.js';
import { createEngineClient } from '../platform/engine/docker-client.js';
import { BulkEncoder } from '../storage/elasticsearch/bulk-encoder.js';
import { createLogger } from '../platform/log.js';
import type { LogEvent, LogSink } from '../model/log-record.js';
import { SharedResources } from '../platform/runtime.js';
import { createRegistry } from '../platform/self-metrics.js';
import { ContainerSources } from '../pilot/container-sources.js';
import { LineSplitter } from '../pilot/line-splitter.js';
import { LogPipeline } from '../pilot/log-pipeline.js';
import { buildOutputs } from '../logs/outputs/log-outputs.js';
import { PathMapper } from '../pilot/path-mapper.js';
import { PositionStore } from '../pilot/positions.js';
import { tracePatternOf } from '../pilot/trace-context.js';
import { generateLines, jsonLine } from './support/json-lines.js';
import { benchArgs } from './support/args.js';

const options = benchArgs();
const arg = options.value;
const LINES = Number(arg('lines', '1000000'));
const RUNS = Number(arg('runs', '3'));
const ES_URL = arg('es-url', 'http://127.0.0.1:9200');
const ALL_CASES = ['bare', 'console', 'bulk', 'console+pos', 'bulk+pos', 'file+pos', 'es-buffer', 'es', 'stdout'] as const;
type Case = (typeof ALL_CASES)[number];
const INPUT_DIR = arg('dir', join(tmpdir(), `shipwatch-bench-pipeline-${LINES}`));
const APP_LOG = join(INPUT_DIR, 'app', 'app.log');
const JSON_FILE_LOG = join(INPUT_DIR, 'engine', 'c-json.log');
/** The container's writable layer (the path to the mount is walked through it). */
const ROOT_FS = join(INPUT_DIR, 'rootfs');

/** The engine's json-file entry of a line. */
function engineEntry(i: number): string {
  const time = new Date(Date.UTC(2026, 2, 1) + i * 7).toISOString().replace('Z', '123456Z');
  return `{"log":${JSON.stringify(jsonLine(i) + '\n')},"stream":"stdout","time":"${time}"}`;
}

function container(c: Case): ContainerInfo {
  const stdout = c === 'stdout';
  return {
    id: '3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a', name: 'shop-api-1', image: 'shop/api:1', hostname: 'shop-api-1',
    labels: { 'aliyun.logs.benchpilot': stdout ? 'stdout' : '/var/log/app/*.log', 'aliyun.logs.benchpilot.format': 'json', 'aliyun.logs.benchpilot.tags': 'env=prod' },
    env: {},
    state: { status: 'running', running: true, pid: 1, exitCode: 0, startedAt: '2026-03-01T00:00:00Z', finishedAt: '0001-01-01T00:00:00Z' },
    logPath: JSON_FILE_LOG, logDriver: 'json-file',
    mounts: [{ type: 'bind', source: join(INPUT_DIR, 'app'), destination: '/var/log/app', readOnly: true, name: '' }],
    mergedDir: '', upperDir: ROOT_FS, graphDriver: 'overlay2', ipAddress: '',
    app: 'shop', service: 'api', stack: '', swarmService: '', swarmTask: '', k8sPod: '', k8sNamespace: '', k8sContainer: '',
  };
}

/** (b): what the Elasticsearch output does to a batch before the network, in its batches; the body is dropped. */
function bulkBodySink(maxBatchEvents: number): LogSink & { bodyBytes: number } {
  const encoder = new BulkEncoder('daily');
  return {
    name: 'bulk-bodies', bodyBytes: 0,
    async write(events: LogEvent[]) {
      for (let i = 0; i < events.length; i += maxBatchEvents) this.bodyBytes += encoder.encode(events.slice(i, i + maxBatchEvents)).length;
    },
    async close() {},
  };
}

async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function esAnswers(): Promise<boolean> {
  try {
    const res = await fetch(`${ES_URL}/_cluster/health`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false; // no node: the case is skipped and says so
  }
}

async function bare(): Promise<number> {
  const out = createWriteStream('/dev/null');
  const splitter = new LineSplitter();
  let count = 0;
  let buf = '';
  const perLine = (text: string): void => {
    if ((JSON.parse(text) as Record<string, unknown>)['level'] !== undefined) count++;
    buf += text + '\n';
  };
  for await (const chunk of createReadStream(APP_LOG, { highWaterMark: 256 * 1024 })) {
    splitter.push(chunk as Buffer, perLine);
    if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
    buf = '';
  }
  await new Promise<void>((r) => out.end(() => r()));
  return count;
}

/**
 * One case in this process: set up (configuration, outputs opened, their modules loaded), then the returned run —
 * the measured part — goes from the first scan until every line is acknowledged.
 */
async function pipelineCase(c: Case, dataDir: string): Promise<() => Promise<number>> {
  const savePositions = c !== 'console' && c !== 'bulk';
  const env: Record<string, string> = { SHIPWATCH_DATA_DIR: dataDir, LOG_LEVEL: 'error', PILOT_HOST_ROOT: '/', SHIPWATCH_HOSTNAME: 'node-1' };
  env['LOGGING_OUTPUT'] = c.startsWith('es') ? 'elasticsearch' : c === 'file+pos' ? 'file' : 'console';
  if (c === 'es') env['ELASTICSEARCH_HOSTS'] = ES_URL;
  if (c === 'es-buffer') {
    env['ELASTICSEARCH_HOSTS'] = `http://127.0.0.1:${await closedLoopbackPort()}`;
    // Read by versions before the delivery chain (a batch went to the buffer after it); ignored since.
    env['ELASTICSEARCH_RETRY_TIMEOUT'] = '100ms';
    env['ELASTICSEARCH_BUFFER_MAX_SIZE'] = '8GiB'; // holds the whole run: nothing is delivered
  }
  const config = loadConfig(env, 'pilot');
  const p = config.pilot;
  const log = createLogger({ level: 'error' });
  const registry = createRegistry('pilot', false);
  const runtime = { config, log, shared: new SharedResources() };
  const positionsFile = join(dataDir, 'pilot', 'positions.json');
  const positions = PositionStore.open(positionsFile, log, savePositions ? p.positionsFlushIntervalMs : 3_600_000);
  const outputs = c === 'bulk' || c === 'bulk+pos' ? { sinks: [bulkBodySink(p.esBatchMaxEvents)] } : await buildOutputs(runtime, registry);
  const pipeline = new LogPipeline({ sinks: outputs.sinks, maxInFlightBytes: p.maxInFlightBytes, maxLineBytes: p.maxLineBytes, registry, log });
  const sources = new ContainerSources({
    engine: createEngineClient(config.common.dockerHost), pipeline, positions, mapper: new PathMapper('/'), prefixes: p.logPrefixes,
    jsonLimits: { maxKeys: p.jsonMaxKeys, maxDepth: p.jsonMaxDepth },
    hostName: 'node-1', nodeName: '', tracePattern: tracePatternOf(p.tracePattern),
    tail: { scanIntervalMs: p.scanIntervalMs, pollIntervalMs: p.pollIntervalMs, readChunkBytes: 256 * 1024, maxLineBytes: p.maxLineBytes, rotatedGraceMs: p.rotatedGraceMs },
    registry, log,
  });
  const info = container(c);
  const input = c === 'stdout' ? JSON_FILE_LOG : APP_LOG;
  const size = statSync(input).size;
  const source = c === 'stdout' ? 'stdout' : '/var/log/app/*.log';
  const st = statSync(input);
  const savedEnd = (): boolean => {
    if (!savePositions) return positions.get(info.id, source, st)?.offset === size;
    try {
      const saved = JSON.parse(readFileSync(positionsFile, 'utf8')) as { positions: Array<{ offset: number }> };
      return saved.positions.some((e) => e.offset === size);
    } catch {
      return false; // not written yet
    }
  };

  /** Records Elasticsearch took: the delivery chain's count (earlier versions counted them under another name). */
  const delivered = async (): Promise<number> => {
    let n = 0;
    for (const name of ['shipwatch_delivery_records_total', 'shipwatch_output_events_total']) {
      const m = registry.getSingleMetric(name);
      if (m !== undefined) for (const v of (await m.get()).values) if (v.labels['outcome'] === 'delivered') n += v.value;
    }
    return n;
  };

  return async () => {
    await sources.started(info);
    while (!savedEnd()) await new Promise((r) => setTimeout(r, 10));
    // A position moves once the records are on disk: the live case ends when Elasticsearch holds every line.
    if (c === 'es') while ((await delivered()) < LINES) await new Promise((r) => setTimeout(r, 10));
    await sources.stop();
    await Promise.all(outputs.sinks.map((s) => s.close()));
    await positions.close();
    if (c === 'es') {
      await fetch(`${ES_URL}/benchpilot-*`, { method: 'DELETE' }).catch(() => undefined);
    }
    return LINES;
  };
}

async function child(c: Case): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sw-bench-pipeline-'));
  // Setting up is not measured: loading the Elasticsearch client's modules alone took ~0.3 CPU-s, a tenth of the
  // es cases' figure, paid once per process and not per line.
  const run = c === 'bare' ? bare : await pipelineCase(c, dataDir);
  // --from-start (the side-by-side bench, bench/peer-pilot.bench.ts): from the process's start, as a peer's figures are.
  const fromStart = options.has('from-start');
  const cpu0 = fromStart ? { user: 0, system: 0 } : process.cpuUsage();
  const t0 = fromStart ? 0 : performance.now();
  const lines = await run();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  rmSync(dataDir, { recursive: true, force: true });
  const bytes = statSync(c === 'stdout' ? JSON_FILE_LOG : APP_LOG).size;
  // Standard output may be the console output under test: the figures go to standard error.
  process.stderr.write('RESULT ' + JSON.stringify({
    lines, wallS, cpuS, userS: cpu.user / 1e6, systemS: cpu.system / 1e6, linesPerS: lines / wallS, mibPerS: bytes / 1048576 / wallS, linesPerCpuS: lines / cpuS,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n');
  process.exit(0);
}

/** min–max, and the median in brackets when there are three runs or more. */
const range = (xs: number[], f: (x: number) => string): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return lo === hi ? f(lo) : `${f(lo)}–${f(hi)}${xs.length >= 3 ? ` (${f(mid)})` : ''}`;
};

async function main(): Promise<void> {
  const only = arg('case', '');
  if (only) return child(only as Case);
  const cases = arg('cases', ALL_CASES.join(',')).split(',') as Case[];
  mkdirSync(join(ROOT_FS, 'var', 'log', 'app'), { recursive: true });
  await generateLines(APP_LOG, LINES, jsonLine);
  if (cases.includes('stdout')) await generateLines(JSON_FILE_LOG, LINES, engineEntry);
  const size = statSync(APP_LOG).size;
  console.log(`input: ${LINES} lines, ${(size / 1048576).toFixed(1)} MiB (${(size / LINES).toFixed(0)} bytes/line), ${RUNS} runs per case (min–max (median))`);
  const self = fileURLToPath(import.meta.url);
  const devNull = openSync('/dev/null', 'w');
  for (const c of cases) {
    if (c === 'es' && !(await esAnswers())) {
      console.log(`${c.padEnd(12)} skipped: no Elasticsearch answers at ${ES_URL}`);
      continue;
    }
    const runs: Array<Record<string, number>> = [];
    for (let r = 0; r < RUNS; r++) {
      const res = spawnSync(process.execPath, [...process.execArgv, self, '--case', c, '--lines', String(LINES), '--dir', INPUT_DIR, '--es-url', ES_URL], {
        stdio: ['ignore', devNull, 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26,
      });
      const result = res.stderr.split('\n').find((l) => l.startsWith('RESULT '));
      if (res.status !== 0 || !result) throw new Error(`case ${c} failed (${res.status ?? res.signal}): ${res.stderr.slice(-2000)}`);
      runs.push(JSON.parse(result.slice(7)) as Record<string, number>);
    }
    const of = (k: string): number[] => runs.map((x) => x[k]!);
    const k = (n: number): string => `${Math.round(n / 1000)}k`;
    console.log(`${c.padEnd(12)} ${range(of('linesPerS'), k)} lines/s, ${range(of('mibPerS'), (n) => n.toFixed(0))} MiB/s, ` +
      `${range(of('cpuS'), (n) => n.toFixed(2))} CPU-s (system ${range(of('systemS'), (n) => n.toFixed(2))}), ${range(of('linesPerCpuS'), k)} lines/CPU-s, peak RSS ${range(of('peakRssMiB'), (n) => n.toFixed(0))} MiB`);
  }
  if (!options.has('keep')) rmSync(INPUT_DIR, { recursive: true, force: true });
}

await main();
