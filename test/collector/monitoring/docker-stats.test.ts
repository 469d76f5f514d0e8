import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cpuPercent, memUsageNoCache, readTimeNs, statsToPoints, type EngineStats } from '../../../collector/monitoring/docker-stats.js';
import { createEngineClient } from '../../../platform/engine/docker-client.js';
import { readStats } from '../../../platform/engine/engine-stats.js';
import { type FieldValue, type MetricPoint, fieldPairs, tagPairs } from '../../../model/metric-point.js';
import { runContainer, waitFor } from '../../helpers/docker.js';

/** A reading the engine (Docker 20.10, cgroup v1) gave for a busybox container running `yes` after writing 20 MiB to /tmp. */
const V1 = JSON.parse(readFileSync(new URL('./fixtures/stats-cgroup-v1.json', import.meta.url), 'utf8')) as EngineStats;
const ID = 'a02e7e6163e82117b31d38267e5ee95dbb5161655c635c60ae03b10be44328d1';
const NOW_NS = 1_700_000_000_000_000_000n;
const TAGS = { container_name: 'web-1', host: 'node-a', docker_app: '' };

function find(points: MetricPoint[], measurement: string, tag?: [string, string]): MetricPoint {
  const p = points.find((x) => x.measurement === measurement && (!tag || tagPairs(x).some(([k, v]) => k === tag[0] && v === tag[1])));
  assert.ok(p, `no ${measurement} point${tag ? ` with ${tag.join('=')}` : ''}`);
  return p;
}

function field(p: MetricPoint, name: string): FieldValue | undefined {
  return fieldPairs(p).find(([k]) => k === name)?.[1];
}

function num(p: MetricPoint, name: string): number {
  const f = field(p, name);
  assert.ok(f && (f.type === 'float' || f.type === 'int'), `${p.measurement} has no numeric ${name}`);
  return Number(f.value);
}

test('the cpu percentage of a real reading is Δcontainer / Δsystem × online CPUs × 100', () => {
  // total_usage 2373180000 - 1766213387, system 3253150000000 - 3251160000000, 2 online CPUs.
  assert.equal(cpuPercent(V1), (606_966_613 / 1_990_000_000) * 2 * 100);
  assert.ok(Math.abs(cpuPercent(V1) - 61.0016696) < 1e-6);
});

test('the memory of a real cgroup v1 reading is usage without the page cache, over the limit', () => {
  assert.equal(memUsageNoCache(V1.memory_stats!), 22_024_192 - 20_979_712);
  const mem = find(statsToPoints(V1, ID, TAGS, NOW_NS), 'docker_container_mem');
  assert.deepEqual(field(mem, 'usage'), { type: 'int', value: 1_044_480n });
  assert.equal(num(mem, 'usage_percent'), (1_044_480 / 25_276_518_400) * 100);
  assert.deepEqual(field(mem, 'limit'), { type: 'int', value: 25_276_518_400n });
  assert.deepEqual(field(mem, 'max_usage'), { type: 'int', value: 23_629_824n });
  assert.deepEqual(field(mem, 'total_inactive_file'), { type: 'int', value: 20_971_520n });
  assert.deepEqual(field(mem, 'hierarchical_memory_limit'), { type: 'int', value: 9_223_372_036_854_771_712n });
  assert.deepEqual(field(mem, 'container_id'), { type: 'string', value: ID });
  assert.equal(field(mem, 'dirty'), undefined, 'only the stats Telegraf selects');
  assert.equal(field(mem, 'fail_count'), undefined, 'fail_count only when non-zero');
});

test('a real reading gives Telegraf\'s measurements, per-CPU points, network and block I/O totals at the read time', () => {
  const points = statsToPoints(V1, ID, TAGS, NOW_NS);
  assert.deepEqual(points.map((p) => `${p.measurement}/${tagPairs(p).find(([k]) => k === 'cpu' || k === 'network' || k === 'device')?.[1] ?? ''}`), [
    'docker_container_mem/', 'docker_container_cpu/cpu-total', 'docker_container_cpu/cpu0', 'docker_container_cpu/cpu1',
    'docker_container_net/total', 'docker_container_blkio/total',
  ]);
  const readNs = BigInt(Date.parse('2026-11-21T23:02:18Z')) * 1_000_000n + 865_737_361n;
  for (const p of points) {
    assert.equal(p.timeNs, readNs, 'the engine\'s read time, to the nanosecond');
    assert.deepEqual(tagPairs(p).filter(([k]) => k === 'container_name' || k === 'host' || k === 'docker_app'), [['container_name', 'web-1'], ['host', 'node-a']]);
    const keys = tagPairs(p).map(([k]) => k);
    assert.deepEqual(keys, [...keys].sort(), 'tags sorted');
  }
  const total = find(points, 'docker_container_cpu', ['cpu', 'cpu-total']);
  assert.deepEqual(field(total, 'usage_total'), { type: 'int', value: 2_373_180_000n });
  assert.deepEqual(field(total, 'usage_system'), { type: 'int', value: 3_253_150_000_000n });
  assert.deepEqual(field(total, 'usage_in_usermode'), { type: 'int', value: 2_330_000_000n });
  assert.deepEqual(field(total, 'throttling_periods'), { type: 'int', value: 0n });
  assert.equal(num(total, 'usage_percent'), cpuPercent(V1));
  assert.deepEqual(field(find(points, 'docker_container_cpu', ['cpu', 'cpu1']), 'usage_total'), { type: 'int', value: 2_343_782_417n });
  const net = find(points, 'docker_container_net');
  assert.deepEqual(field(net, 'rx_bytes'), { type: 'int', value: 736n });
  assert.deepEqual(field(net, 'rx_packets'), { type: 'int', value: 8n });
  assert.deepEqual(fieldPairs(find(points, 'docker_container_blkio')), [['container_id', { type: 'string', value: ID }]]);
});

test('cgroup v1 without the cache stat takes total_inactive_file off the usage', () => {
  assert.equal(memUsageNoCache({ usage: 100_000, limit: 1_000_000, stats: { total_inactive_file: 30_000, inactive_file: 5_000 } }), 70_000);
  // A stat that is not below the usage is not taken off (Telegraf and the docker CLI skip it).
  assert.equal(memUsageNoCache({ usage: 100_000, stats: { cache: 100_000, total_inactive_file: 40_000 } }), 60_000);
});

/** The shape the engine answers on a cgroup v2 host: no max_usage, no percpu_usage, `inactive_file`, lower-case blkio ops. */
const V2: EngineStats = {
  read: '2024-03-01T10:00:01.5Z',
  cpu_stats: {
    cpu_usage: { total_usage: 5_000_000_000, usage_in_kernelmode: 1_000_000_000, usage_in_usermode: 4_000_000_000 },
    system_cpu_usage: 900_000_000_000, online_cpus: 4,
    throttling_data: { periods: 10, throttled_periods: 2, throttled_time: 300 },
  },
  precpu_stats: { cpu_usage: { total_usage: 4_500_000_000 }, system_cpu_usage: 896_000_000_000, online_cpus: 4 },
  memory_stats: { usage: 50_000_000, limit: 200_000_000, stats: { anon: 20_000_000, file: 28_000_000, inactive_file: 10_000_000, active_file: 18_000_000, pgfault: 123 } },
  networks: { eth0: { rx_bytes: 1000, tx_bytes: 10, rx_packets: 5 }, eth1: { rx_bytes: 24, tx_bytes: 6, rx_packets: 1 } },
  blkio_stats: {
    io_service_bytes_recursive: [
      { major: 8, minor: 0, op: 'read', value: 4096 }, { major: 8, minor: 0, op: 'write', value: 8192 },
      { major: 8, minor: 16, op: 'read', value: 1024 }, { major: 8, minor: 16, op: 'write', value: 0 },
    ],
    io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null,
    io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
  },
};

test('a cgroup v2 reading: cpu from 4 online CPUs, memory without inactive_file, totals over networks and devices', () => {
  // (5.0e9 - 4.5e9) / (900e9 - 896e9) × 4 × 100 = 50 %
  assert.equal(cpuPercent(V2), 50);
  const points = statsToPoints(V2, 'c2', {}, NOW_NS);
  assert.deepEqual(points.map((p) => p.measurement), ['docker_container_mem', 'docker_container_cpu', 'docker_container_net', 'docker_container_blkio']);
  const mem = find(points, 'docker_container_mem');
  assert.deepEqual(field(mem, 'usage'), { type: 'int', value: 40_000_000n });
  assert.equal(num(mem, 'usage_percent'), 20);
  assert.deepEqual(field(mem, 'max_usage'), { type: 'int', value: 0n });
  assert.deepEqual(field(mem, 'inactive_file'), { type: 'int', value: 10_000_000n });
  assert.equal(field(mem, 'anon'), undefined);
  const cpu = find(points, 'docker_container_cpu');
  assert.deepEqual(field(cpu, 'throttling_throttled_periods'), { type: 'int', value: 2n });
  const net = find(points, 'docker_container_net');
  assert.deepEqual([field(net, 'rx_bytes'), field(net, 'tx_bytes'), field(net, 'rx_packets'), field(net, 'tx_errors')],
    [{ type: 'int', value: 1024n }, { type: 'int', value: 16n }, { type: 'int', value: 6n }, { type: 'int', value: 0n }]);
  const blk = find(points, 'docker_container_blkio', ['device', 'total']);
  assert.deepEqual(fieldPairs(blk), [
    ['io_service_bytes_recursive_read', { type: 'int', value: 5120n }],
    ['io_service_bytes_recursive_write', { type: 'int', value: 8192n }],
    ['container_id', { type: 'string', value: 'c2' }],
  ]);
  assert.equal(points[0]!.timeNs, BigInt(Date.parse('2024-03-01T10:00:01Z')) * 1_000_000n + 500_000_000n);
});

test('cpu percentage is 0 without a system delta or with a counter that went back; CPUs counted from percpu_usage when online_cpus is absent', () => {
  assert.equal(cpuPercent({ cpu_stats: { cpu_usage: { total_usage: 10 }, system_cpu_usage: 100 }, precpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 100 } }), 0);
  assert.equal(cpuPercent({ cpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 200 }, precpu_stats: { cpu_usage: { total_usage: 10 }, system_cpu_usage: 100 } }), 0);
  // 20 / 400 × 3 CPUs × 100 = 15 %
  const fromPercpu = cpuPercent({ cpu_stats: { cpu_usage: { total_usage: 30, percpu_usage: [10, 10, 10] }, system_cpu_usage: 500 }, precpu_stats: { cpu_usage: { total_usage: 10 }, system_cpu_usage: 100 } });
  assert.ok(Math.abs(fromPercpu - 15) < 1e-9, String(fromPercpu));
  // A first reading (no precpu) has no delta to speak of.
  assert.ok(Math.abs(cpuPercent({ cpu_stats: { cpu_usage: { total_usage: 30 }, system_cpu_usage: 500, online_cpus: 1 } }) - 6) < 1e-9);
});

test('the zero read time of a container that is not running, odd values and missing sections never throw', () => {
  assert.equal(readTimeNs('0001-01-01T00:00:00Z'), undefined);
  assert.equal(readTimeNs('yesterday'), undefined);
  assert.equal(readTimeNs('2024-03-01T10:00:01.123456789+02:00'), BigInt(Date.parse('2024-03-01T08:00:01Z')) * 1_000_000n + 123_456_789n);
  const odd = { read: '0001-01-01T00:00:00Z', memory_stats: { usage: 1.5, stats: { rss: 2.7 } }, networks: { eth0: null } } as unknown as EngineStats;
  const points = statsToPoints(odd, 'x', {}, NOW_NS);
  assert.ok(points.every((p) => p.timeNs === NOW_NS));
  assert.deepEqual(field(find(points, 'docker_container_mem'), 'rss'), { type: 'int', value: 2n });
  assert.equal(points.filter((p) => p.measurement === 'docker_container_net').length, 0);
  assert.doesNotThrow(() => statsToPoints({}, 'x', {}, NOW_NS));
});

test('a fresh reading of a busy busybox container gives a cpu percentage matching its own numbers', async (t) => {
  const client = createEngineClient('');
  const c = await runContainer(t, { name: 'sw-stats', cmd: ['sh', '-c', 'while :; do :; done'] });
  const stats = (await waitFor(async () => {
    const s = (await readStats(client, c.id)) as unknown as EngineStats | undefined;
    return s && (s.precpu_stats?.system_cpu_usage ?? 0) > 0 ? s : undefined;
  }, { what: 'a stats reading with a previous sample', timeoutMs: 15_000 }))!;
  const dc = stats.cpu_stats!.cpu_usage!.total_usage! - stats.precpu_stats!.cpu_usage!.total_usage!;
  const ds = stats.cpu_stats!.system_cpu_usage! - stats.precpu_stats!.system_cpu_usage!;
  const cpus = stats.cpu_stats!.online_cpus!;
  const points = statsToPoints(stats, c.id, { container_name: c.name }, NOW_NS);
  const total = find(points, 'docker_container_cpu', ['cpu', 'cpu-total']);
  assert.equal(num(total, 'usage_percent'), (dc / ds) * cpus * 100);
  // A shell spinning on one CPU: close to 100 % of one CPU (loose bounds: the host is shared).
  assert.ok(num(total, 'usage_percent') > 20 && num(total, 'usage_percent') <= cpus * 100 + 1, `usage_percent ${num(total, 'usage_percent')}`);
  const mem = find(points, 'docker_container_mem');
  assert.ok(num(mem, 'usage') > 0 && num(mem, 'usage') <= stats.memory_stats!.usage!);
  assert.equal(num(mem, 'usage_percent'), (num(mem, 'usage') / stats.memory_stats!.limit!) * 100);
  assert.ok(points[0]!.timeNs !== NOW_NS && Math.abs(Number(points[0]!.timeNs / 1_000_000n) - Date.now()) < 60_000, 'the engine\'s read time');
  assert.ok(points.some((p) => p.measurement === 'docker_container_net'), 'a bridged container has network totals');
  assert.ok(points.some((p) => p.measurement === 'docker_container_blkio'));
});
