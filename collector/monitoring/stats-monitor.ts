/** Reads one container's statistics and emits Telegraf's docker_container_* points. */
import type { EngineClient } from '../../platform/engine/docker-client.js';
import { readStats } from '../../platform/engine/engine-stats.js';
import type { MetricPoint } from '../../model/metric-point.js';
import { statsToPoints, type EngineStats } from './docker-stats.js';

export function statsMonitorRun(options: {
  client: EngineClient;
  containerId: string;
  tags: Record<string, string>;
  emit: (points: MetricPoint[]) => void;
}): () => Promise<void> {
  return async () => {
    const stats = await readStats(options.client, options.containerId);
    if (!stats) return; // gone between the tick and the read: the watcher removes its tasks
    options.emit(statsToPoints(stats as unknown as EngineStats, options.containerId, options.tags, BigInt(Date.now()) * 1_000_000n));
  };
}
