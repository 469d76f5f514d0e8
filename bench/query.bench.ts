/**
 * The embedded store's span storage at 1,000,000 spans (on disk, WAL), the way the collector and query use it:
 *
 * - write: traces of 4–16 spans across 30 services (≈ 12 operations each), server/client pairs, HTTP and DB tags,
 *   a high-cardinality `user.id`, 1 error in 50, a log per span in 1 of 5, 3 process tags per service instance;
 *   written in batches of 1,000 (one transaction each) back to back, with no turn of the event loop between them —
 *   spans/s wall and per CPU-second; the time of a batch (the event loop held by one write, the wait at the WAL's
 *   cap included) and the peak size of the WAL file (its size after each batch: it grows only inside a transaction);
 * - trace by id: 2,000 random traces — p50 / p99 (target p99 < 20 ms);
 * - searches, as the UI sends them (limit 20, last 2 days, newest first): by service + tag, service + operation +
 *   tag, a selective tag without a service, a regex tag value, and min duration — p50 / p99 each (target
 *   p99 < 200 ms); the `total` count of a search is timed apart.
 *
 * `node --import tsx bench/query.bench.ts [spans] [--write-only] [--wal-cap=MiB]` (--write-only: stop after the write
 * figures; --wal-cap: the store's WAL cap instead of its default)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/log.js';
import { createRegistry } from '../platform/self-metrics.js';
import type { KeyValue, Span } from '../model/span.js';
import type { TraceQuery } from '../storage/span-storage.js';
import { StoreDatabase } from '../storage/sqlite/database.js';
import { StoreSpanStorage } from '../storage/sqlite/span-store.js';
import { seededRandom } from '../test/helpers/seeded-random.js';

const args = process.argv.slice(2);
const TOTAL = Number(args.find((a) => !a.startsWith('--')) ?? 1_000_000);
const WRITE_ONLY = args.includes('--write-only');
const WAL_CAP_MIB = Number(args.find((a) => a.startsWith('--wal-cap='))?.slice('--wal-cap='.length) ?? 0);
const BATCH = 1_000;
const SERVICES = 30;
const HOUR_US = 3_600_000_000;

const r = seededRandom(7);
const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
const hex = (digits: number): string => {
  let s = '';
  while (s.length < digits) s += Math.floor(r() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, digits);
};

const services = Array.from({ length: SERVICES }, (_, i) => `svc-${['cart', 'checkout', 'payment', 'search', 'auth', 'profile'][i % 6]}-${i}`);
const operations = services.map((s) => Array.from({ length: 12 }, (_, j) => (j % 3 === 0 ? `GET /api/${s.split('-')[1]}/${j}` : `${s.split('-')[1]}.op${j}`)));
const processes = services.map((s, i) => Array.from({ length: 3 }, (_, k) => ({
  serviceName: s,
  tags: [
    { key: 'hostname', type: 'string', value: `${s}-${k}-7d9f8c` },
    { key: 'ip', type: 'string', value: `10.0.${i}.${k + 10}` },
    { key: 'jaeger.version', type: 'string', value: 'Go-2.30.0' },
  ] as KeyValue[],
})));

const traceIds: string[] = [];
const userIds: string[] = [];
let clockUs = Date.now() * 1000 - 30 * HOUR_US;

function makeTrace(): Span[] {
  const traceId = hex(32);
  traceIds.push(traceId);
  const n = 4 + Math.floor(r() * 13);
  const spans: Span[] = [];
  const start = (clockUs += Math.floor(r() * 200_000));
  const userId = `user-${Math.floor(r() * 200_000)}`;
  userIds.push(userId);
  for (let i = 0; i < n; i++) {
    const svc = i === 0 ? Math.floor(r() * SERVICES) : Math.floor(r() * SERVICES);
    const parent = i === 0 ? undefined : spans[Math.floor(r() * i)]!;
    const error = r() < 0.02;
    const tags: KeyValue[] = [
      { key: 'span.kind', type: 'string', value: i === 0 || r() < 0.5 ? 'server' : 'client' },
      { key: 'http.method', type: 'string', value: pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE']) },
      { key: 'http.status_code', type: 'int64', value: error ? pick([500, 502, 503]) : pick([200, 200, 200, 201, 204, 404]) },
      { key: 'http.url', type: 'string', value: `https://${services[svc]}.internal/api/v1/items/${Math.floor(r() * 10_000)}` },
      { key: 'component', type: 'string', value: pick(['net/http', 'grpc', 'database/sql']) },
      { key: 'user.id', type: 'string', value: userId },
    ];
    if (error) tags.push({ key: 'error', type: 'bool', value: true });
    if (r() < 0.3) tags.push({ key: 'db.statement', type: 'string', value: `SELECT * FROM items WHERE id = ${Math.floor(r() * 1e6)}` });
    spans.push({
      traceId,
      spanId: hex(16),
      operationName: pick(operations[svc]!),
      references: parent ? [{ refType: 'CHILD_OF', traceId, spanId: parent.spanId }] : [],
      flags: 1,
      startTimeMicros: start + i * 150,
      durationMicros: Math.floor(200 + r() * r() * 2_000_000),
      tags,
      logs: r() < 0.2 ? [{ timestampMicros: start + i * 150 + 20, fields: [{ key: 'event', type: 'string', value: 'cache miss' }, { key: 'key', type: 'string', value: hex(8) }] }] : [],
      process: pick(processes[svc]!),
    });
  }
  return spans;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function time(label: string, runs: number, fn: (i: number) => Promise<number>): Promise<void> {
  for (let i = 0; i < Math.min(20, runs); i++) await fn(i); // warm-up
  const ms: number[] = [];
  let found = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    found += await fn(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(`${label.padEnd(52)} p50 ${percentile(ms, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(ms, 99).toFixed(2).padStart(7)} ms   (${runs} runs, ${(found / runs).toFixed(1)} traces/run)`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-bench-'));
  const registry = createRegistry('bench', false);
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger, registry, ...(WAL_CAP_MIB > 0 ? { walCapBytes: WAL_CAP_MIB * 2 ** 20 } : {}) });
  const store = new StoreSpanStorage(db);
  try {
    let written = 0;
    let buffer: Span[] = [];
    let genMs = 0;
    let writeMs = 0;
    const cpu0 = process.cpuUsage();
    let cpuGen = 0;
    const batchMs: number[] = [];
    let peakWalBytes = 0;
    const walPath = join(dir, 'shipwatch.db-wal');
    while (written < TOTAL) {
      const g0 = performance.now();
      const c0 = process.cpuUsage();
      while (buffer.length < BATCH) buffer.push(...makeTrace());
      const batch = buffer.slice(0, BATCH);
      buffer = buffer.slice(BATCH);
      const cg = process.cpuUsage(c0);
      cpuGen += (cg.user + cg.system) / 1e6;
      const w0 = performance.now();
      genMs += w0 - g0;
      await store.writeSpans(batch);
      const tookMs = performance.now() - w0;
      writeMs += tookMs;
      batchMs.push(tookMs);
      peakWalBytes = Math.max(peakWalBytes, statSync(walPath, { throwIfNoEntry: false })?.size ?? 0);
      written += batch.length;
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuWriteS = (cpu.user + cpu.system) / 1e6 - cpuGen;
    const dbBytes = statSync(join(dir, 'shipwatch.db')).size + statSync(join(dir, 'shipwatch.db-wal')).size;
    console.log(`write: ${written.toLocaleString()} spans in batches of ${BATCH}: ${Math.round(written / (writeMs / 1000)).toLocaleString()} spans/s wall, ` +
      `${Math.round(written / cpuWriteS).toLocaleString()} spans per CPU-second; database ${(dbBytes / 2 ** 20).toFixed(0)} MiB ` +
      `(${Math.round(dbBytes / written)} bytes/span); generation took ${(genMs / 1000).toFixed(1)} s apart`);
    batchMs.sort((a, b) => a - b);
    const waitValues = (await registry.getSingleMetric('shipwatch_store_wal_cap_wait_seconds')?.get())?.values ?? [];
    const waits = ['_sum', '_count'].map((suffix) => waitValues.find((v) => (v as { metricName?: string }).metricName?.endsWith(suffix))?.value ?? 0);
    console.log(`write: batch p50 ${percentile(batchMs, 50).toFixed(1)} ms, p99 ${percentile(batchMs, 99).toFixed(1)} ms, longest ${batchMs[batchMs.length - 1]!.toFixed(1)} ms, ` +
      `${batchMs.filter((ms) => ms >= 100).length} of ${batchMs.length} ≥ 100 ms; WAL file peak ${(peakWalBytes / 2 ** 20).toFixed(1)} MiB; ` +
      `waits at the WAL cap: ${waits[1]}, ${(waits[0]! * 1000).toFixed(0)} ms in all (` +
      waitValues.filter((v) => v.labels.le !== undefined).map((v) => `≤ ${v.labels.le} s: ${v.value}`).join(', ') + ')');
    if (WRITE_ONLY) return;
    db.db.pragma('wal_checkpoint(TRUNCATE)');
    db.db.exec('ANALYZE');

    const nowUs = Date.now() * 1000;
    const window = { startTimeMinMicros: nowUs - 48 * HOUR_US, startTimeMaxMicros: nowUs, numTraces: 20 };
    await time('trace by id', 2000, async () => (await store.getTrace(traceIds[Math.floor(r() * traceIds.length)]!)).length > 0 ? 1 : 0);
    const searches: Array<[string, (i: number) => TraceQuery]> = [
      ['search: service only', (i) => ({ ...window, serviceName: services[i % SERVICES] })],
      ['search: service + http.status_code=500', (i) => ({ ...window, serviceName: services[i % SERVICES], tags: { 'http.status_code': '500' } })],
      ['search: service + operation + error=true', (i) => ({ ...window, serviceName: services[i % SERVICES], operationName: operations[i % SERVICES]![1], tags: { error: 'true' } })],
      ['search: service + two tags (method, component)', (i) => ({ ...window, serviceName: services[i % SERVICES], tags: { 'http.method': 'DELETE', component: 'grpc' } })],
      ['search: user.id, no service (selective)', () => ({ ...window, tags: { 'user.id': pick(userIds) } })],
      ['search: service + regex tag http.status_code=50.', (i) => ({ ...window, serviceName: services[i % SERVICES], tags: { 'http.status_code': '50.' } })],
      ['search: service + minDuration 1.5s', (i) => ({ ...window, serviceName: services[i % SERVICES], durationMinMicros: 1_500_000 })],
    ];
    for (const [label, q] of searches) await time(label, 200, async (i) => (await store.findTraces(q(i))).length);
    await time('total of a search (service + status 500)', 50, async (i) => ((await store.countTraces({ ...window, serviceName: services[i % SERVICES], tags: { 'http.status_code': '500' } })) > 0 ? 1 : 0));
    console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
