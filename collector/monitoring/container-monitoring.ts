/**
 * The collector's container source: follows the engine's containers (the same watcher the pilot uses) and keeps a
 * scheduler task per declared script, per HTTP endpoint, and for the statistics of every running container.
 * Every point gets `container_name`, `docker_app`, `docker_service` and `host` unless it carries them already.
 *
 * When a container stops its tasks are removed and `forget` is called; a run that was still going then finishes
 * without emitting, so the series of a container that is gone do not come back.
 */
import type { ContainerInfo } from '../../platform/engine/container-info.js';
import type { ContainerListener } from '../../platform/engine/container-watcher.js';
import type { EngineClient } from '../../platform/engine/docker-client.js';
import type { Logger } from '../../platform/log.js';
import { addTagsIfAbsent, type MetricPoint } from '../../model/metric-point.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { monitoringDeclaration } from './monitoring-declarations.js';
import { httpMonitorRun } from './http-monitor.js';
import { labelTags, type LabelFilter } from './label-filter.js';
import { MonitorScheduler } from './scheduler.js';
import { scriptMonitorRun } from './script-monitor.js';
import { statsMonitorRun } from './stats-monitor.js';

export interface ContainerMonitoringOptions {
  client: EngineClient;
  hostName: string;
  labelPrefix: string;
  intervalMs: number;
  timeoutMs: number;
  maxOutputBytes: number;
  containerStats: boolean;
  /** Which container labels become tags of the stats points (Telegraf adds every label by default). */
  statsLabels: LabelFilter;
  /**
   * Where points go; `influxdbUrl` when the container names its own InfluxDB (`addon.influxdb`), `prometheusUrl` its
   * own remote write receiver (`addon.prometheus`).
   */
  emit: (points: MetricPoint[], route: { containerId: string; influxdbUrl?: string; prometheusUrl?: string }) => void;
  /** True while a metric output is full and blocks: runs are skipped, counted. */
  outputsFull?: () => boolean;
  /** A container is gone: its series should disappear. */
  forget: (container: { id: string; name: string }) => void;
  log: Logger;
  registry: Registry;
}

export class ContainerMonitoring implements ContainerListener {
  readonly scheduler: MonitorScheduler;
  private readonly badLabels;
  /** Running containers: name, and whether their runs may still emit (false once stopped). */
  private readonly known = new Map<string, { name: string; life: { alive: boolean } }>();

  constructor(private readonly options: ContainerMonitoringOptions) {
    this.scheduler = new MonitorScheduler({ intervalMs: options.intervalMs, holdBack: options.outputsFull, log: options.log, registry: options.registry });
    this.badLabels = counter(options.registry, {
      name: 'shipwatch_monitoring_bad_declarations_total', help: 'Monitoring labels skipped because they are invalid.',
    });
  }

  /** The tags every point of this container gets unless it has them. */
  private containerTags(info: ContainerInfo): Record<string, string> {
    return { container_name: info.name, docker_app: info.app, docker_service: info.service, host: this.options.hostName };
  }

  started(info: ContainerInfo): void {
    const o = this.options;
    const life = { alive: true };
    this.known.set(info.id, { name: info.name, life });
    const tags = this.containerTags(info);
    const decorate = (points: MetricPoint[]): void => {
      for (const p of points) addTagsIfAbsent(p, tags);
    };
    const { declaration, warnings } = monitoringDeclaration(info, o.labelPrefix);
    for (const w of warnings) {
      this.badLabels.inc();
      o.log.warn('invalid monitoring label skipped', { ...w });
    }
    const route = {
      containerId: info.id,
      ...(declaration.influxdbUrl ? { influxdbUrl: declaration.influxdbUrl } : {}),
      ...(declaration.prometheusUrl ? { prometheusUrl: declaration.prometheusUrl } : {}),
    };
    const emit = (points: MetricPoint[]): void => {
      if (life.alive) o.emit(points, route);
    };
    const log = o.log;

    if (declaration.script) {
      this.scheduler.add({
        key: `${info.id}/script`, kind: 'script', container: info.name,
        run: scriptMonitorRun({
          client: o.client, containerId: info.id, containerName: info.name, command: declaration.script,
          timeoutMs: o.timeoutMs, maxOutputBytes: o.maxOutputBytes, decorate, emit, log, registry: o.registry,
        }),
      });
    }
    if (declaration.http) {
      this.scheduler.add({
        key: `${info.id}/http`, kind: 'http', container: info.name,
        run: httpMonitorRun({
          url: declaration.http.url, tagKeys: declaration.http.tagKeys, containerName: info.name, tags,
          timeoutMs: o.timeoutMs, maxBodyBytes: o.maxOutputBytes, emit, log, registry: o.registry,
        }),
      });
    }
    if (o.containerStats) {
      const [image, version] = splitImage(info.image);
      // Telegraf's docker input tags (engine_host is the engine's host: this host).
      const statsTags = labelTags(info.labels, o.statsLabels, {
        ...tags, container_image: image, container_version: version, container_status: info.state.status || 'running', engine_host: o.hostName,
      });
      this.scheduler.add({
        key: `${info.id}/stats`, kind: 'stats', container: info.name,
        run: statsMonitorRun({ client: o.client, containerId: info.id, tags: statsTags, emit }),
      });
    }
  }

  stopped(info: ContainerInfo): void {
    this.drop(info.id);
  }

  removed(id: string): void {
    this.drop(id);
  }

  private drop(id: string): void {
    this.scheduler.removeWhere((key) => key.startsWith(`${id}/`));
    const known = this.known.get(id);
    if (known !== undefined) {
      known.life.alive = false;
      this.known.delete(id);
      this.options.forget({ id, name: known.name });
    }
  }

  close(): Promise<void> {
    return this.scheduler.close();
  }
}

/**
 * `registry:5000/team/app:1.2` → [`registry:5000/team/app`, `1.2`]; no tag → `unknown` (Telegraf's split: a first
 * path element with `.` or `:`, or `localhost`, is a registry whose port is not a tag).
 */
export function splitImage(image: string): [name: string, version: string] {
  const slash = image.indexOf('/');
  const hasDomain = slash >= 0 && (/[.:]/.test(image.slice(0, slash)) || image.slice(0, slash) === 'localhost');
  const domain = hasDomain ? image.slice(0, slash + 1) : '';
  const rest = hasDomain ? image.slice(slash + 1) : image;
  const colon = rest.lastIndexOf(':');
  return colon < 0 ? [domain + rest, 'unknown'] : [domain + rest.slice(0, colon), rest.slice(colon + 1)];
}
