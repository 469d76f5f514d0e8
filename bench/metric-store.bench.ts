/**
 * Metric points into the embedded store: Telegraf-like lines (500 series: 50 hosts × cpu ×4, mem, disk ×2, net,
 * diskio, system; 3–6 fields each) parsed from bodies of 5,000 lines, written through the store's metric sink in
 * its batches (one transaction each) into a fresh database file, as the collector does in `all`.
 *
 * Prints points and field values per CPU-second, the database size and the peak RSS.
 * `node --import tsx bench/metric-store.bench.ts [lines]`
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLineProtocol } from '../collector/metrics/line-protocol-parser.js';
import { silentLogger } from '../platform/log.js';
import type { MetricPoint } from '../model/metric-point.js';
import { StoreDatabase } from '../storage/sqlite/database.js';
import { StoreMetricStorage } from '../storage/sqlite/metric-store.js';

const TOTAL = Number(process.argv[2] ?? 200_000);
const BODY_LINES = 5_000;

function body(gather: number, hosts: number): string {
  const lines: string[] = [];
  const t = ` ${1_700_000_000_000_000_000n + BigInt(gather) * 10_000_000_000n}`;
  const v = (k: number): string => ((gather * 7 + k * 13) % 1000 / 10).toFixed(1);
  for (let h = 0; h < hosts; h++) {
    const host = `host=web-${String(h).padStart(3, '0')}.eu-west-1.internal`;
    for (let cpu = 0; cpu < 4; cpu++) lines.push(`cpu,cpu=cpu${cpu},${host},region=eu-west-1 usage_user=${v(cpu)},usage_system=${v(cpu + 1)},usage_idle=${v(cpu + 2)},usage_iowait=${v(3)},usage_steal=0${t}`);
    lines.push(`mem,${host} total=16729870336i,available=${gather * 1000 + h}i,used=${gather * 999}i,used_percent=${v(5)},free=${h}i,cached=${gather}i${t}`);
    for (const d of ['nvme0n1p1', 'nvme1n1']) lines.push(`disk,device=${d},fstype=ext4,${host},mode=rw total=520987402240i,free=${gather}i,used=${h}i,used_percent=${v(6)},inodes_used=${gather}u${t}`);
    lines.push(`net,${host},interface=eth0 bytes_sent=${gather * 1500}i,bytes_recv=${gather * 3000}i,packets_sent=${gather}i,err_in=0i,drop_in=${h}i${t}`);
    lines.push(`diskio,${host},name=nvme0n1 reads=${gather}i,writes=${gather * 2}i,read_bytes=${gather * 4096}i,write_bytes=${gather * 8192}i,io_time=${gather}i${t}`);
    lines.push(`system,${host} load1=${v(7)},load5=${v(8)},load15=${v(9)},n_cpus=4i,uptime=${gather * 10}i${t}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const bodies: MetricPoint[][] = [];
  let lines = 0;
  let values = 0;
  // One body: 10 gathers of 50 hosts.
  for (let g = 0; lines < TOTAL; g += 10) {
    const text = Array.from({ length: 10 }, (_, k) => body(g + k, 50)).join('\n');
    const points = parseLineProtocol(text).points.slice(0, TOTAL - lines);
    for (const p of points) values += p.fieldKeys.length;
    bodies.push(points);
    lines += points.length;
  }
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-bench-metrics-'));
  try {
    const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
    const store = new StoreMetricStorage(db, { log: silentLogger, maxQueuedPoints: 10 * BODY_LINES, batchPoints: BODY_LINES });
    const wallStart = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    for (const points of bodies) {
      store.write(points);
      store.flush();
    }
    await store.close();
    const cpu = process.cpuUsage(cpuStart);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const wallS = Number(process.hrtime.bigint() - wallStart) / 1e9;
    const stored = db.db.prepare('SELECT count(*) FROM metric_points').pluck().get() as number;
    db.close();
    if (stored !== values) throw new Error(`stored ${stored} values, expected ${values}`);
    const sizeMiB = statSync(join(dir, 'shipwatch.db')).size / 1024 / 1024;
    console.log(`metric store: ${lines} points (${values} field values, 500 series) in bodies of ${BODY_LINES}, one transaction each`);
    console.log(`  ${Math.round(lines / cpuS).toLocaleString('en')} points per CPU-second, ${Math.round(values / cpuS).toLocaleString('en')} field values per CPU-second (${cpuS.toFixed(3)} CPU-s, ${wallS.toFixed(3)} s wall)`);
    console.log(`  database ${sizeMiB.toFixed(1)} MiB (${((sizeMiB * 1024 * 1024) / values).toFixed(1)} bytes per value)`);
    console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
