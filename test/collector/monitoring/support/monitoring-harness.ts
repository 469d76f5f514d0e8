/**
 * The collector's container monitoring composed as the program composes it (engine client → container watcher →
 * ContainerMonitoring → emit/forget), on the real engine, seeing only the containers of this test process (the
 * engine is shared with other test runs). Emitted points, forgotten containers and log lines are recorded.
 */
import type { ContainerInfo } from '../../../../platform/engine/container-info.js';
import { ContainerMonitoring, type ContainerMonitoringOptions } from '../../../../collector/monitoring/container-monitoring.js';
import { labelFilter } from '../../../../collector/monitoring/label-filter.js';
import { ContainerWatcher, type ContainerListener } from '../../../../platform/engine/container-watcher.js';
import { createEngineClient } from '../../../../platform/engine/docker-client.js';
import { createLogger } from '../../../../platform/log.js';
import type { MetricPoint } from '../../../../model/metric-point.js';
import { createRegistry, type Registry } from '../../../../platform/self-metrics.js';
import { TEST_LABEL, waitFor } from '../../../helpers/docker.js';

export interface Emitted {
  points: MetricPoint[];
  route: { containerId: string; influxdbUrl?: string };
}

export interface Harness {
  monitoring: ContainerMonitoring;
  watcher: ContainerWatcher;
  registry: Registry;
  emitted: Emitted[];
  forgotten: Array<{ id: string; name: string }>;
  logs: Array<Record<string, unknown>>;
  /** Points emitted for one container so far. */
  pointsOf(containerId: string): MetricPoint[];
  /** Waits until the container's emitted points satisfy `enough`. */
  waitForPoints(containerId: string, enough: (points: MetricPoint[]) => boolean, what: string, timeoutMs?: number): Promise<MetricPoint[]>;
  counter(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Forwards only this process's test containers (label `shipwatch-test=<pid>`). */
function ownContainersOnly(listener: ContainerListener): ContainerListener {
  const own = new Set<string>();
  return {
    started: (info: ContainerInfo) => {
      if (info.labels[TEST_LABEL] !== String(process.pid)) return;
      own.add(info.id);
      return listener.started(info);
    },
    stopped: (info: ContainerInfo) => (own.has(info.id) ? listener.stopped(info) : undefined),
    removed: (id: string) => {
      if (!own.delete(id)) return;
      return listener.removed?.(id);
    },
  };
}

export interface HarnessOptions extends Partial<Omit<ContainerMonitoringOptions, 'emit' | 'forget' | 'log' | 'registry' | 'client'>> {
  /** Also hands every emitted batch on, as the program hands it to its metric outputs. */
  forward?: ContainerMonitoringOptions['emit'];
}

export async function startMonitoring({ forward, ...options }: HarnessOptions = {}): Promise<Harness> {
  const client = createEngineClient('');
  const registry = createRegistry('collector', false);
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', sink: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } });
  const emitted: Emitted[] = [];
  const forgotten: Array<{ id: string; name: string }> = [];
  const monitoring = new ContainerMonitoring({
    client, hostName: 'test-host', labelPrefix: 'aliyun', intervalMs: 60_000, timeoutMs: 2000, maxOutputBytes: 1024 * 1024,
    containerStats: false, statsLabels: labelFilter([], ['aliyun.*']), ...options,
    emit: (points, route) => {
      emitted.push({ points, route });
      forward?.(points, route);
    },
    forget: (container) => forgotten.push(container),
    log, registry,
  });
  const watcher = new ContainerWatcher({ client, listener: ownContainersOnly(monitoring), log, registry });
  watcher.start();
  await watcher.synchronised();
  const pointsOf = (id: string): MetricPoint[] => emitted.filter((e) => e.route.containerId === id).flatMap((e) => e.points);
  return {
    monitoring, watcher, registry, emitted, forgotten, logs, pointsOf,
    waitForPoints: (id, enough, what, timeoutMs = 10_000) => waitFor(() => {
      const points = pointsOf(id);
      return enough(points) ? points : undefined;
    }, { what, timeoutMs }),
    counter: async (name, labels = {}) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
      return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
    },
    close: async () => {
      await watcher.close();
      await monitoring.close();
    },
  };
}

/** The tag's value on a point, or undefined. */
export { tagValue as tagOf } from '../../../../model/metric-point.js';
