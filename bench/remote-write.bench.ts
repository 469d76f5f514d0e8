/**
 * The Prometheus remote write output into the real VictoriaMetrics (its `/api/v1/write` takes remote write 1.0):
 * Telegraf-like points (6 measurements, 3–4 tags, 4 numeric fields: 4 samples each) handed over 1,000 at a time,
 * then delivered: named as /metrics names them, encoded into WriteRequest entries, framed into the durable queue
 * (group commit), read back in batches of 2,000 samples, snappy-compressed, sent one request at a time and
 * acknowledged. The clock stops when the chain has counted the last sample delivered.
 *
 * Prints per round: samples, wall time, CPU time of this process (user + system) and samples per CPU-second; then
 * the median of the rounds and the peak RSS.
 * `node --import tsx bench/remote-write.bench.ts [points] [rounds]` (VictoriaMetrics at SHIPWATCH_TEST_VM_URL or
 * 127.0.0.1:8428).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteWriteOutput } from '../collector/metrics/remote-write-output.js';
import { silentLogger } from '../platform/log.js';
import { float, int, makePoint, type MetricPoint } from '../model/metric-point.js';
import { createRegistry, type Registry } from '../platform/self-metrics.js';

const TOTAL = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const VM_URL = process.env.SHIPWATCH_TEST_VM_URL ?? 'http://127.0.0.1:8428';
const CHUNK = 1_000;
const FIELDS = 4;

function makePoints(count: number, round: number): MetricPoint[] {
  const measurements = ['cpu', 'mem', 'disk', 'net', 'diskio', 'system'];
  const base = BigInt(Date.now() - 3_600_000 + round * 100_000) * 1_000_000n;
  return Array.from({ length: count }, (_, i) => {
    const m = measurements[i % measurements.length]!;
    const tags: Array<[string, string]> = [['host', `web-${String(i % 50).padStart(3, '0')}.eu-west-1.internal`], ['region', 'eu-west-1'], ['bench', `r${round}`]];
    if (i % 2 === 0) tags.push(['device', `sd${'abcd'[i % 4]}`]);
    return makePoint(`swbench_rw_${m}`, tags, [['used', int(i)], ['free', int(TOTAL - i)], ['pct', float((i % 1000) / 10)], ['ok', float(1)]], base + BigInt(Math.floor(i / 300)) * 1_000_000_000n);
  });
}

async function delivered(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric('shipwatch_delivery_records_total')?.get();
  return (m?.values ?? []).filter((v) => v.labels.outcome === 'delivered').reduce((n, v) => n + v.value, 0);
}

async function round(points: MetricPoint[]): Promise<{ wallMs: number; cpuMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-remote-write-'));
  const registry = createRegistry('bench', false);
  const out = new RemoteWriteOutput({
    name: 'prometheus-remote-write', url: `${VM_URL}/api/v1/write`, batchSeries: 2_000, batchBytes: 4 << 20, flushIntervalMs: 1_000,
    timeoutMs: 30_000, dataDir: dir, bufferMaxBytes: 1 << 30, whenFull: 'block', log: silentLogger, registry,
  });
  try {
    const cpu = process.cpuUsage();
    const started = performance.now();
    // As the line protocol push hands points over: a slice at a time, each waited for on disk (past the memory in
    // front of the queue a write is refused 'busy', as a push would be answered 503).
    for (let c = 0; c < points.length; c += CHUNK) {
      out.write(points.slice(c, c + CHUNK));
      if (!(await out.settled())) throw new Error(`points refused at ${c}`);
    }
    const samples = points.length * FIELDS;
    while ((await delivered(registry)) < samples) await new Promise((r) => setTimeout(r, 5));
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { wallMs, cpuMs: (used.user + used.system) / 1000 };
  } finally {
    await out.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const points = makePoints(TOTAL, r);
  const { wallMs, cpuMs } = await round(points);
  const samples = TOTAL * FIELDS;
  const rate = samples / (cpuMs / 1000);
  rates.push(rate);
  process.stdout.write(`round ${r + 1}: ${samples} samples, wall ${wallMs.toFixed(0)} ms, cpu ${cpuMs.toFixed(0)} ms, ${Math.round(rate)} samples/cpu-s\n`);
}
rates.sort((a, b) => a - b);
process.stdout.write(`median ${Math.round(rates[Math.floor(rates.length / 2)]!)} samples/cpu-s (${Math.round(rates[0]!)}–${Math.round(rates[rates.length - 1]!)}), peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
