/**
 * The pilot's Redis output into the real redis-server: records (the pilot's JSON documents, ~310 bytes, 4 targets)
 * handed to the output 1,000 at a time as the pilot's tails hand them over, each write waiting for its records to be
 * on disk, then delivered: framed into the durable queue (group commit), read back in batches of
 * REDIS_BULK_MAX_SIZE's default (2,048), one MULTI/RPUSH/EXEC each, acknowledged. The clock stops when Redis has
 * taken the last record (the chain counted it delivered).
 *
 * Prints per round: records, wall time, CPU time of this process (user + system) and records per CPU-second; then
 * the median and the spread (lowest–highest) of the rounds, and the peak RSS.
 * `node --import tsx bench/redis-output.bench.ts [records] [rounds]` (Redis at SHIPWATCH_TEST_REDIS_URL or
 * redis://127.0.0.1:6390, test/services/redis.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { LogEvent } from '../model/log-record.js';
import { silentLogger } from '../platform/log.js';
import { createRegistry, type Registry } from '../platform/self-metrics.js';
import { RedisOutput } from '../storage/redis/redis-output.js';

const TOTAL = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const URL = process.env.SHIPWATCH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6390';
const CHUNK = 1_000;
const TARGETS = ['swbench-web', 'swbench-api', 'swbench-db', 'swbench-cache'];

function makeEvents(count: number): LogEvent[] {
  const id = 'c'.repeat(64);
  return Array.from({ length: count }, (_, i) => {
    const target = TARGETS[Math.floor(i / 250) % TARGETS.length]!;
    const json = `{"@timestamp":"2026-01-02T03:04:05.${String(i % 1000).padStart(3, '0')}Z","message":"GET /api/orders/${i} 200 ${i % 97}ms user=${i % 1000} trace=${(i * 7919).toString(16)}","stream":"stdout","source":"stdout","target":"${target}","host":"node-1","docker_container":"${target}-1","docker_container_id":"${id}"}`;
    return { json, target, timestampMs: 0, id: `p-${i}`, containerId: id, containerName: `${target}-1`, app: '', service: '', text: '' };
  });
}

async function delivered(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric('shipwatch_delivery_records_total')?.get();
  return (m?.values ?? []).filter((v) => v.labels.outcome === 'delivered').reduce((n, v) => n + v.value, 0);
}

async function round(events: LogEvent[]): Promise<{ wallMs: number; cpuMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-redis-output-'));
  const registry = createRegistry('bench', false);
  const out = await RedisOutput.open({
    url: URL, timeoutMs: 5_000, maxBatchEvents: 2048, flushIntervalMs: 1_000, concurrency: 1, dataDir: dir,
    bufferMaxBytes: 1 << 30, bufferWhenFull: 'block', registry, log: silentLogger,
  });
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < events.length; i += CHUNK) writes.push(out.write(events.slice(i, i + CHUNK)));
    await Promise.all(writes);
    while ((await delivered(registry)) < events.length) await new Promise((r) => setTimeout(r, 5));
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    await out.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const admin = new Redis(URL);
const events = makeEvents(TOTAL);
const perCpuS: number[] = [];
try {
  await admin.del(...TARGETS);
  await round(events.slice(0, 20_000)); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    await admin.del(...TARGETS);
    const { wallMs, cpuMs } = await round(events);
    const rate = TOTAL / (cpuMs / 1000);
    perCpuS.push(rate);
    process.stdout.write(`round ${r + 1}: ${TOTAL} records, wall ${wallMs.toFixed(0)} ms, cpu ${cpuMs.toFixed(0)} ms, ${Math.round(rate / 1000)}k records per CPU-second\n`);
  }
  let held = 0;
  for (const t of TARGETS) held += await admin.llen(t);
  if (held !== TOTAL) throw new Error(`Redis holds ${held} records of the last round, not ${TOTAL}`);
} finally {
  await admin.del(...TARGETS);
  admin.disconnect();
}
perCpuS.sort((a, b) => a - b);
const median = perCpuS[Math.floor(perCpuS.length / 2)]!;
process.stdout.write(`redis-output: median ${Math.round(median / 1000)}k records per CPU-second (${Math.round(perCpuS[0]! / 1000)}k–${Math.round(perCpuS.at(-1)! / 1000)}k), peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`);
