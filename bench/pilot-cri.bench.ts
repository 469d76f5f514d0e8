/**
 * The pilot's log path on a CRI node, wired as pilot/pilot-program.ts wires it with PILOT_RUNTIME=cri: one container
 * run's `0.log` in a pods folder (CRI entries of ~120 bytes of text; every 20th line 40 KiB, written as 16 KiB P
 * pieces as containerd cuts it) goes through the pods folder scan, the tail, the CRI decoder and assembler, the
 * record encoder and a sink that takes every batch at once; positions move as acknowledgements arrive. A run ends
 * when every line is acknowledged. Prints lines/s, MiB/s and CPU-seconds from the first scan to the last
 * acknowledgement.
 *
 *   node --import tsx bench/pilot-cri.bench.ts [--lines 100000] [--runs 3]
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEvent, LogSink } from '../model/log-record.js';
import { createLogger } from '../platform/log.js';
import { createRegistry } from '../platform/self-metrics.js';
import { CriSources } from '../pilot/cri-sources.js';
import { LogPipeline } from '../pilot/log-pipeline.js';
import { PositionStore } from '../pilot/positions.js';
import { benchArgs } from './support/args.js';

const options = benchArgs();
const arg = options.value;
const LINES = Number(arg('lines', '100000'));
const RUNS = Number(arg('runs', '3'));
const CUT = 16 * 1024;

function writeInput(dir: string): number {
  const logDir = join(dir, 'pods', 'shop_web-7c9d_6f1c2e0b-1111-4222-8333-444455556666', 'app');
  mkdirSync(logDir, { recursive: true });
  const chunks: string[] = [];
  const long = 'x'.repeat(40 * 1024);
  for (let i = 0; i < LINES; i++) {
    const t = new Date(Date.UTC(2026, 2, 1) + i).toISOString().replace('Z', '123456Z');
    if (i % 20 === 19) {
      for (let o = 0; o + CUT < long.length; o += CUT) chunks.push(`${t} stdout P ${long.slice(o, o + CUT)}\n`);
      chunks.push(`${t} stdout F ${long.slice(Math.floor((long.length - 1) / CUT) * CUT)}\n`);
    } else {
      chunks.push(`${t} ${i % 7 === 0 ? 'stderr' : 'stdout'} F GET /api/orders/${100000 + i} 200 12ms user=u${i % 977} trace=${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')} cart=${i % 31}\n`);
    }
  }
  const file = join(logDir, '0.log');
  writeFileSync(file, chunks.join(''));
  return statSync(file).size;
}

async function runOnce(dir: string, bytes: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const dataDir = mkdtempSync(join(dir, 'data-'));
  const log = createLogger({ level: 'silent' });
  const registry = createRegistry('pilot');
  let records = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const sink: LogSink = {
    name: 'count',
    async write(events: LogEvent[]) {
      records += events.length;
    },
    async close() {},
  };
  const positions = PositionStore.open(join(dataDir, 'cri-positions.json'), log, 1000);
  const pipeline = new LogPipeline({ sinks: [sink], maxInFlightBytes: 16 * 1024 * 1024, maxLineBytes: 1024 * 1024, registry, log });
  const sources = new CriSources({
    pipeline, positions, podsDir: join(dir, 'pods'), containersDir: join(dir, 'containers'), scratchDir: join(dataDir, 'unpacked'),
    podsRefreshMs: 30_000, defaultLog: 'k8s', prefixes: ['aliyun'], jsonLimits: { maxKeys: 1000, maxDepth: 20 },
    hostName: 'bench', nodeName: '', tail: { scanIntervalMs: 1000, pollIntervalMs: 20, readChunkBytes: 256 * 1024, maxLineBytes: 1024 * 1024, rotatedGraceMs: 1000 },
    registry, log,
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sources.start();
  const poll = setInterval(() => {
    const e = positions.ofSource('shop_web-7c9d_6f1c2e0b-1111-4222-8333-444455556666/app/0', 'stdout')[0];
    if (e && e.offset >= bytes) done();
  }, 5);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(poll);
  await sources.stop();
  await positions.close();
  if (records !== LINES) throw new Error(`${records} records for ${LINES} lines`);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-bench-cri-'));
try {
  const bytes = writeInput(dir);
  process.stdout.write(`pilot, CRI log: ${LINES} lines (every 20th 40 KiB in P pieces), ${(bytes / 1024 / 1024).toFixed(1)} MiB\n`);
  for (let r = 1; r <= RUNS; r++) {
    const { seconds, cpuSeconds } = await runOnce(dir, bytes);
    process.stdout.write(`run ${r}: ${Math.round(LINES / seconds)} lines/s, ${(bytes / 1024 / 1024 / seconds).toFixed(1)} MiB/s, ${cpuSeconds.toFixed(2)} CPU-s in ${seconds.toFixed(2)} s\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
