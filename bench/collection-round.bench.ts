/**
 * One collection round of container monitoring on the real engine: N busybox containers (default 50), each
 * declaring a script (20 lines of line protocol), an HTTP endpoint (busybox httpd serving a JSON object, with tag
 * keys) and getting container statistics. The monitoring is composed as the collector composes it (engine client →
 * container watcher → ContainerMonitoring → scheduler); `scheduler.runAllOnce()` runs every task once.
 *
 * Prints per round: wall time, CPU time of this process (user + system, process.cpuUsage), points and points per
 * CPU-second; then each kind alone; then peak RSS (process.resourceUsage().maxRSS). The containers are removed
 * at the end (they carry `shipwatch-test=<pid>` too, so the test runner removes leftovers of a crashed run).
 *
 * `node --import tsx bench/collection-round.bench.ts [containers]`
 */
import Docker from 'dockerode';
import { ContainerMonitoring } from '../collector/monitoring/container-monitoring.js';
import { labelFilter } from '../collector/monitoring/label-filter.js';
import type { MonitorTask } from '../collector/monitoring/scheduler.js';
import type { ContainerInfo } from '../platform/engine/container-info.js';
import { ContainerWatcher } from '../platform/engine/container-watcher.js';
import { createEngineClient } from '../platform/engine/docker-client.js';
import { createLogger } from '../platform/log.js';
import { createRegistry } from '../platform/self-metrics.js';

const CONTAINERS = Number(process.argv[2] ?? 50);
const IMAGE = process.env.SHIPWATCH_TEST_IMAGE ?? 'shipwatch-test/busybox:latest';
const BENCH_LABEL = 'shipwatch-bench';
const TEST_LABEL = 'shipwatch-test';

const SCRIPT = "i=0; while [ $i -lt 20 ]; do echo \"app_requests,route=/r$i count=${i}i,latency=0.$i,ok=true\"; i=$((i+1)); done";
const STATS_JSON = JSON.stringify({
  region: 'eu', node: { id: 7 }, requests: 1234, errors: 2, up: true, mode: 'primary',
  latency: { p50: 0.012, p90: 0.05, p99: 0.2 }, pool: { active: 3, idle: 7, max: 10 }, queues: [{ depth: 1 }, { depth: 4 }],
});

async function createContainers(docker: Docker, count: number): Promise<string[]> {
  const ids: string[] = [];
  const one = async (i: number): Promise<void> => {
    const c = await docker.createContainer({
      name: `sw-bench-round-${process.pid}-${i}`,
      Image: IMAGE,
      Cmd: ['sh', '-c', `mkdir -p /www && printf '%s' '${STATS_JSON}' > /www/stats.json && exec httpd -f -p 8080 -h /www`],
      Labels: {
        [BENCH_LABEL]: String(process.pid), [TEST_LABEL]: String(process.pid),
        'aliyun.monitoring.script': SCRIPT,
        'aliyun.monitoring.http': 'http://container:8080/stats.json', 'aliyun.monitoring.tags': 'region,node_id',
        'com.docker.compose.project': 'bench', 'com.docker.compose.service': `svc${i % 5}`,
      },
    });
    ids.push(c.id);
    await c.start();
  };
  for (let i = 0; i < count; i += 10) await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, k) => one(i + k)));
  return ids;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function main(): Promise<void> {
  const client = createEngineClient('');
  // The containers are made with dockerode (a dev dependency); the collector reads them through its own client.
  const docker = new Docker({ socketPath: client.endpoint.kind === 'socket' ? client.endpoint.socketPath : undefined });
  const registry = createRegistry('bench', false);
  let warnings = 0;
  const log = createLogger({ level: 'warn', sink: { write: (line: string) => void (warnings++, warnings <= 5 && process.stderr.write(line)) } });
  let points = 0;
  const monitoring = new ContainerMonitoring({
    client, hostName: 'bench-host', labelPrefix: 'aliyun', intervalMs: 2 ** 31 - 1, // no tick during the bench: only the rounds run
    timeoutMs: 10_000, maxOutputBytes: 1024 * 1024,
    containerStats: true, statsLabels: labelFilter([], ['aliyun.*']), emit: (p) => void (points += p.length), forget: () => {}, log, registry,
  });
  const own = (info: ContainerInfo): boolean => info.labels[BENCH_LABEL] === String(process.pid);
  const watcher = new ContainerWatcher({
    client, log, registry,
    listener: {
      started: (info) => (own(info) ? monitoring.started(info) : undefined),
      stopped: (info) => (own(info) ? monitoring.stopped(info) : undefined),
      removed: (id) => monitoring.removed(id),
    },
  });

  const setupStarted = performance.now();
  const ids = await createContainers(docker, CONTAINERS);
  watcher.start();
  await watcher.synchronised();
  const deadline = Date.now() + 30_000;
  while (monitoring.scheduler.size < CONTAINERS * 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  process.stdout.write(`collection-round: ${CONTAINERS} containers, ${monitoring.scheduler.size} tasks ready in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s;` +
    ` RSS before the rounds ${(process.memoryUsage().rss / 1048576).toFixed(1)} MiB\n`);

  const round = async (label: string, filter?: (task: MonitorTask) => boolean): Promise<void> => {
    points = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await monitoring.scheduler.runAllOnce(filter);
    const wallMs = performance.now() - started;
    const used = cpuMs(cpu);
    process.stdout.write(
      `  ${label.padEnd(14)} wall ${wallMs.toFixed(0).padStart(6)} ms  cpu ${used.toFixed(0).padStart(5)} ms (${((used / wallMs) * 100).toFixed(0)}% of a core)` +
        `  points ${String(points).padStart(6)}  ${Math.round(points / (used / 1000))} points/cpu-s\n`,
    );
  };
  try {
    await round('round 1 (all)');
    await round('round 2 (all)');
    await round('round 3 (all)');
    await round('script only', (t) => t.kind === 'script');
    await round('http only', (t) => t.kind === 'http');
    await round('stats only', (t) => t.kind === 'stats');
    const failed = (await registry.getMetricsAsJSON()).filter((m) => /failures|errors|bad_lines/.test(m.name))
      .flatMap((m) => (m.values as Array<{ value: number; labels: object }>).filter((v) => v.value > 0).map((v) => `${m.name}${JSON.stringify(v.labels)}=${v.value}`));
    process.stdout.write(`  failures: ${failed.length === 0 ? 'none' : failed.join(', ')}; warnings logged: ${warnings}\n`);
    process.stdout.write(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB\n`);
  } finally {
    await watcher.close();
    await monitoring.close();
    await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true, v: true }).catch(() => {})));
    process.stdout.write(`  removed ${ids.length} containers\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
