/**
 * The pilot's runtime path on standard output: a json-file log of 500,000 entries (the engine's format, ~110 bytes
 * each) tailed by SourceTail/FileReader → json-file decoding → record encoder → LogPipeline (acknowledgements,
 * in-flight bound) → the file output, with positions saved as acknowledgements arrive. Measures what the pure
 * bench (pilot-json.bench.ts) leaves out: reads, batching, fan-out, ack tracking, the output's writes.
 *
 * Prints records/s, MiB/s of input, records per CPU-second and peak RSS.
 *
 *   node --import tsx bench/pilot-tail.bench.ts [--lines 500000]
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../core/log.js';
import { createRegistry } from '../core/self-metrics.js';
import { parseDeclarations } from '../pilot/declarations.js';
import { SourceTail } from '../pilot/file-tail.js';
import { LogPipeline } from '../pilot/log-pipeline.js';
import { FileSink } from '../pilot/outputs/file.js';
import { PositionStore } from '../pilot/positions.js';
import { createRecordEncoder } from '../pilot/record-encoder.js';
import { stdoutTargets } from '../pilot/stdout-tail.js';

const args = process.argv.slice(2);
const i = args.indexOf('--lines');
const LINES = i >= 0 ? Number(args[i + 1]) : 500_000;

const dir = mkdtempSync(join(tmpdir(), 'sw-bench-tail-'));
const logPath = join(dir, 'c-json.log');

async function generate(): Promise<void> {
  const out = createWriteStream(logPath);
  let buf = '';
  const t0 = Date.UTC(2026, 2, 1);
  for (let n = 0; n < LINES; n++) {
    const time = new Date(t0 + n).toISOString().replace('Z', '123456Z');
    buf += `{"log":"GET /api/orders/${n} 200 ${n % 997}ms user=${n % 5000}\\n","stream":"${n % 10 === 0 ? 'stderr' : 'stdout'}","time":"${time}"}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise<void>((r) => out.once('close', () => r()));
}

async function main(): Promise<void> {
  await generate();
  const bytes = statSync(logPath).size;
  const log = createLogger({ level: 'silent' });
  const meta = {
    id: '3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a', name: 'shop-api-1',
    labels: { 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.tags': 'env=prod' },
    env: {}, app: 'shop', service: 'api', k8sPod: '', k8sNamespace: '', k8sContainer: '',
  };
  const decl = parseDeclarations(meta, { prefixes: ['aliyun'] }).declarations[0]!;
  const encoder = createRecordEncoder(meta, decl, { hostName: 'node-1', nodeName: '' });
  const sink = new FileSink({ dir: join(dir, 'out') });
  const pipeline = new LogPipeline({ sinks: [sink], maxInFlightBytes: 16 * 1024 * 1024, maxLineBytes: 1024 * 1024, registry: createRegistry('bench', false), log });
  const positions = PositionStore.open(join(dir, 'positions.json'), log, 1000);
  const tail = new SourceTail({
    containerId: meta.id, source: 'stdout', targets: stdoutTargets(logPath, '/'), positions, log,
    consumer: (f, start) => pipeline.consumer(encoder, f, start),
    scanIntervalMs: 1000, pollIntervalMs: 10, readChunkBytes: 256 * 1024, maxLineBytes: 1024 * 1024, rotatedGraceMs: 1000,
    onProblem: () => {},
  });

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await tail.start();
  for (;;) {
    const at = positions.ofSource(meta.id, 'stdout')[0]?.offset ?? 0;
    if (at === bytes) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await tail.stop();
  await sink.close();
  await positions.close();
  rmSync(dir, { recursive: true, force: true });

  const mib = bytes / 1024 / 1024;
  process.stdout.write(
    `pilot tail (json-file stdout → records → file output, acknowledged): ${LINES} records, ${mib.toFixed(1)} MiB\n` +
    `  ${(LINES / seconds).toFixed(0)} records/s, ${(mib / seconds).toFixed(1)} MiB/s, ${cpuSeconds.toFixed(2)} CPU-s, ` +
    `${(LINES / cpuSeconds).toFixed(0)} records per CPU-second, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`,
  );
}

await main();
