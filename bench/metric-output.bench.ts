/**
 * The InfluxDB output into the real VictoriaMetrics: Telegraf-like points (6 measurements, 3–5 tags, 4 fields) handed
 * to the output as the line protocol push hands them over (1,000 points at a time, a push of 5,000 waiting for its
 * points to be on disk), then delivered: serialised, framed into the durable queue (group commit), read back in
 * batches, sent by two requests at once and acknowledged. The clock stops when VictoriaMetrics has taken the last
 * point (the chain counted it delivered).
 *
 * Prints per round: points, wall time, CPU time of this process (user + system) and points per CPU-second; then the
 * median and the spread (lowest–highest) of the rounds, and the peak RSS.
 * `node --import tsx bench/metric-output.bench.ts [points] [rounds]` (VictoriaMetrics at SHIPWATCH_TEST_VM_URL or
 * 127.0.0.1:8428).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDbOutput } from '../collector/metrics/influxdb-output.js';
import { silentLogger } from '../platform/log.js';
import { float, int, makePoint, type MetricPoint } from '../model/metric-point.js';
import { createRegistry, type Registry } from '../platform/self-metrics.js';

const TOTAL = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const VM_URL = process.env.SHIPWATCH_TEST_VM_URL ?? 'http://127.0.0.1:8428';
const CHUNK = 1_000;
const PUSH = 5_000;

function makePoints(count: number, round: number): MetricPoint[] {
  const measurements = ['cpu', 'mem', 'disk', 'net', 'diskio', 'system'];
  const base = BigInt(Date.now() - 3_600_000 + round * 100_000) * 1_000_000n;
  return Array.from({ length: count }, (_, i) => {
    const m = measurements[i % measurements.length]!;
    const tags: Array<[string, string]> = [['host', `web-${String(i % 50).padStart(3, '0')}.eu-west-1.internal`], ['region', 'eu-west-1'], ['bench', `r${round}`]];
    if (i % 2 === 0) tags.push(['device', `sd${'abcd'[i % 4]}`]);
    return makePoint(`swbench_${m}`, tags, [['used', int(i)], ['free', int(TOTAL - i)], ['pct', float((i % 1000) / 10)], ['ok', float(1)]], base + BigInt(Math.floor(i / 300)) * 1_000_000_000n);
  });
}

async function delivered(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric('shipwatch_delivery_records_total')?.get();
  return (m?.values ?? []).filter((v) => v.labels.outcome === 'delivered').reduce((n, v) => n + v.value, 0);
}

async function round(n: number, points: MetricPoint[]): Promise<{ wallMs: number; cpuMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-metric-output-'));
  const registry = createRegistry('bench', false);
  const out = new InfluxDbOutput({
    name: 'influxdb', url: VM_URL, token: '', org: '', bucket: 'bench', batchPoints: 5_000, batchBytes: 4 << 20, flushIntervalMs: 1_000,
    concurrency: 2, timeoutMs: 30_000, dataDir: dir, bufferMaxBytes: 1 << 30, whenFull: 'block', log: silentLogger, registry,
  });
  try {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let p = 0; p < points.length; p += PUSH) {
      for (let c = p; c < Math.min(points.length, p + PUSH); c += CHUNK) out.write(points.slice(c, c + CHUNK));
      await out.settled();
    }
    while ((await delivered(registry)) < points.length) await new Promise((r) => setTimeout(r, 5));
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    process.stdout.write(`  round ${n}: ${points.length} points  wall ${wallMs.toFixed(0).padStart(6)} ms  cpu ${cpuMs.toFixed(0).padStart(6)} ms  ${Math.round(points.length / (cpuMs / 1000))} points/cpu-s\n`);
    return { wallMs, cpuMs };
  } finally {
    await out.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stdout.write(`metric-output: ${TOTAL} points per round into ${VM_URL} through the durable queue\n`);
  const rates: number[] = [];
  // A warm-up round, not counted: the JIT and VictoriaMetrics' new series.
  await round(0, makePoints(Math.min(TOTAL, 20_000), 0));
  for (let r = 1; r <= ROUNDS; r++) {
    const points = makePoints(TOTAL, r);
    const { cpuMs } = await round(r, points);
    rates.push(TOTAL / (cpuMs / 1000));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  process.stdout.write(`  median ${Math.round(median)} points/cpu-s, spread ${Math.round(rates[0]!)}–${Math.round(rates[rates.length - 1]!)}\n`);
  process.stdout.write(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
