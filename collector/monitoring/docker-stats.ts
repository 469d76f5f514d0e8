/**
 * Container statistics → points with Telegraf's docker input names and formulas (its default selection:
 * per-CPU and total CPU, total network, total block I/O), so dashboards built for Telegraf work unchanged.
 *
 * cpu `usage_percent` = Δcontainer / Δsystem × online CPUs × 100 (docker CLI's formula);
 * mem `usage` = usage without page cache (`cache`, else cgroup v1 `total_inactive_file`, else v2 `inactive_file`),
 * `usage_percent` = that / limit × 100. Integer counters are line-protocol integers, as Telegraf writes them.
 */
import { float, int, makePoint, str, type FieldValue, type MetricPoint } from '../../model/metric-point.js';

/** The parts of the Engine API's stats object this reads (cgroup v1 and v2). */
export interface EngineStats {
  read?: string;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; max_usage?: number; limit?: number; failcnt?: number; stats?: Record<string, number> };
  networks?: Record<string, Record<string, number>>;
  blkio_stats?: Record<string, Array<{ major: number; minor: number; op: string; value: number }> | null | undefined>;
}

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[]; usage_in_kernelmode?: number; usage_in_usermode?: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data?: { periods?: number; throttled_periods?: number; throttled_time?: number };
}

const MEM_STATS = [
  'active_anon', 'active_file', 'cache', 'hierarchical_memory_limit', 'inactive_anon', 'inactive_file', 'mapped_file',
  'pgfault', 'pgmajfault', 'pgpgin', 'pgpgout', 'rss', 'rss_huge', 'total_active_anon', 'total_active_file',
  'total_cache', 'total_inactive_anon', 'total_inactive_file', 'total_mapped_file', 'total_pgfault',
  'total_pgmajfault', 'total_pgpgin', 'total_pgpgout', 'total_rss', 'total_rss_huge', 'total_unevictable',
  'total_writeback', 'unevictable', 'writeback',
];

const NET_FIELDS = ['rx_dropped', 'rx_bytes', 'rx_errors', 'tx_packets', 'tx_dropped', 'rx_packets', 'tx_errors', 'tx_bytes'];

/** Telegraf's blkio field naming per stats list. */
const BLKIO_LISTS: Array<[list: string, field: (op: string) => string]> = [
  ['io_service_bytes_recursive', (op) => `io_service_bytes_recursive_${op}`],
  ['io_serviced_recursive', (op) => `io_serviced_recursive_${op}`],
  ['io_queue_recursive', (op) => `io_queue_recursive_${op}`],
  ['io_service_time_recursive', (op) => `io_service_time_recursive_${op}`],
  ['io_wait_time_recursive', (op) => `io_wait_time_${op}`],
  ['io_merged_recursive', (op) => `io_merged_recursive_${op}`],
  ['io_time_recursive', () => 'io_time_recursive'],
  ['sectors_recursive', () => 'sectors_recursive'],
];

const n = (v: number | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** An integer field that never throws: the engine's counters are integers; anything else is cut or read as 0. */
const whole = (v: number | undefined): FieldValue => int(Math.trunc(n(v)));

/**
 * The engine's `read` time (RFC 3339 with up to nanoseconds) in nanoseconds; undefined for the zero time
 * (`0001-01-01T00:00:00Z`, a container that is not running) or anything unreadable.
 */
export function readTimeNs(read: string | undefined): bigint | undefined {
  if (!read) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(read);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export function cpuPercent(stats: EngineStats): number {
  const cpuDelta = n(stats.cpu_stats?.cpu_usage?.total_usage) - n(stats.precpu_stats?.cpu_usage?.total_usage);
  const systemDelta = n(stats.cpu_stats?.system_cpu_usage) - n(stats.precpu_stats?.system_cpu_usage);
  let online = n(stats.cpu_stats?.online_cpus);
  if (online === 0) online = stats.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

export function memUsageNoCache(mem: NonNullable<EngineStats['memory_stats']>): number {
  const usage = n(mem.usage);
  const s = mem.stats ?? {};
  for (const key of ['cache', 'total_inactive_file']) {
    const v = s[key];
    if (v !== undefined && v < usage) return usage - v;
  }
  const v2 = n(s['inactive_file']);
  return v2 < usage ? usage - v2 : usage;
}

/** Telegraf-compatible points for one stats reading. `tags`: container_name, container_image, host, … */
export function statsToPoints(stats: EngineStats, containerId: string, tags: Record<string, string>, nowNs: bigint): MetricPoint[] {
  const timeNs = readTimeNs(stats.read) ?? nowNs;
  const id = str(containerId);
  const out: MetricPoint[] = [];

  const mem = stats.memory_stats ?? {};
  const memFields: Array<[string, FieldValue]> = [['container_id', id]];
  for (const key of MEM_STATS) {
    const v = mem.stats?.[key];
    if (typeof v === 'number') memFields.push([key, whole(v)]);
  }
  if (n(mem.failcnt) !== 0) memFields.push(['fail_count', whole(mem.failcnt)]);
  const used = memUsageNoCache(mem);
  memFields.push(['limit', whole(mem.limit)], ['max_usage', whole(mem.max_usage)], ['usage', whole(used)]);
  memFields.push(['usage_percent', float(n(mem.limit) !== 0 ? (used / n(mem.limit)) * 100 : 0)]);
  out.push(makePoint('docker_container_mem', tags, memFields, timeNs));

  const cpu = stats.cpu_stats ?? {};
  out.push(
    makePoint('docker_container_cpu', { ...tags, cpu: 'cpu-total' }, [
      ['usage_total', whole(cpu.cpu_usage?.total_usage)],
      ['usage_in_usermode', whole(cpu.cpu_usage?.usage_in_usermode)],
      ['usage_in_kernelmode', whole(cpu.cpu_usage?.usage_in_kernelmode)],
      ['usage_system', whole(cpu.system_cpu_usage)],
      ['throttling_periods', whole(cpu.throttling_data?.periods)],
      ['throttling_throttled_periods', whole(cpu.throttling_data?.throttled_periods)],
      ['throttling_throttled_time', whole(cpu.throttling_data?.throttled_time)],
      ['container_id', id],
      ['usage_percent', float(cpuPercent(stats))],
    ], timeNs),
  );
  const perCpu = cpu.cpu_usage?.percpu_usage ?? [];
  const online = n(cpu.online_cpus);
  perCpu.slice(0, online > 0 ? online : perCpu.length).forEach((usage, i) => {
    out.push(makePoint('docker_container_cpu', { ...tags, cpu: `cpu${i}` }, [['usage_total', whole(usage)], ['container_id', id]], timeNs));
  });

  const networks = Object.values(stats.networks ?? {}).filter((net) => net !== null && typeof net === 'object');
  if (networks.length > 0) {
    const totals: Array<[string, FieldValue]> = NET_FIELDS.map((f) => [f, whole(networks.reduce((sum, net) => sum + n(net[f]), 0))]);
    totals.push(['container_id', id]);
    out.push(makePoint('docker_container_net', { ...tags, network: 'total' }, totals, timeNs));
  }

  const blkTotals = new Map<string, number>();
  for (const [list, field] of BLKIO_LISTS) {
    const entries = stats.blkio_stats?.[list];
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (entry === null || typeof entry !== 'object') continue;
      const name = field(String(entry.op ?? '').toLowerCase());
      blkTotals.set(name, (blkTotals.get(name) ?? 0) + n(entry.value));
    }
  }
  const blkFields: Array<[string, FieldValue]> = [...blkTotals].map(([k, v]) => [k, whole(v)]);
  blkFields.push(['container_id', id]);
  out.push(makePoint('docker_container_blkio', { ...tags, device: 'total' }, blkFields, timeNs));
  return out;
}
