/**
 * A service's average CPU and memory percent over one sample period, from its running tasks' containers, with the
 * formulas of docker_container_cpu / _mem (collector/monitoring/docker-stats.ts), so the figures the scaler acts on
 * are the ones the dashboards show.
 *
 * CPU is averaged over the whole period: each container's reading is kept and the next period's is compared with it
 * (cumulative counters), not a one-second glimpse at the period's end. A container seen for the first time has no
 * reading to compare with; it is read the slow way (the engine samples twice, about a second apart). Memory is the
 * reading at the period's end (usage without page cache / limit).
 */
import type { EngineClient, RunningTask } from '../../platform/engine/docker-client.js';
import { readStats } from '../../platform/engine/engine-stats.js';
import { cpuPercent, memUsageNoCache, type EngineStats } from '../monitoring/docker-stats.js';
import type { ServiceSample } from './scaling-decision.js';

export class ServiceUsage {
  /** Last reading of each container, the start of its next period. */
  private readonly last = new Map<string, EngineStats>();

  constructor(private readonly client: EngineClient) {}

  /**
   * One period's sample over the tasks this engine runs (`nodeId`); tasks on other nodes are counted in `remote`
   * (their statistics are only on their own node's engine). undefined when no container could be read.
   */
  async sample(tasks: readonly RunningTask[], nodeId: string): Promise<{ sample: ServiceSample | undefined; remote: number }> {
    const local = tasks.filter((t) => t.nodeId === nodeId);
    const readings = await Promise.all(local.map((t) => this.read(t.containerId)));
    const cpu: number[] = [];
    const memory: number[] = [];
    for (const r of readings) {
      if (r === undefined) continue;
      cpu.push(r.cpu);
      memory.push(r.memory);
    }
    const remote = tasks.length - local.length;
    if (cpu.length === 0) return { sample: undefined, remote };
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    return { sample: { cpuPercent: mean(cpu), memoryPercent: mean(memory), containers: cpu.length }, remote };
  }

  /** Drops the readings of containers not in `keep` (gone, or no longer a running task). */
  retain(keep: ReadonlySet<string>): void {
    for (const id of this.last.keys()) if (!keep.has(id)) this.last.delete(id);
  }

  private async read(containerId: string): Promise<{ cpu: number; memory: number } | undefined> {
    const before = this.last.get(containerId);
    const stats = (await readStats(this.client, containerId, { oneShot: before !== undefined })) as unknown as EngineStats | undefined;
    if (stats === undefined || stats.cpu_stats === undefined) {
      this.last.delete(containerId);
      return undefined;
    }
    this.last.set(containerId, stats);
    const cpu = cpuPercent(before === undefined ? stats : { cpu_stats: stats.cpu_stats, precpu_stats: before.cpu_stats });
    const mem = stats.memory_stats ?? {};
    const limit = mem.limit ?? 0;
    return { cpu, memory: limit > 0 ? (memUsageNoCache(mem) / limit) * 100 : 0 };
  }
}
