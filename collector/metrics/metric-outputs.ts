/**
 * The collector's metric outputs from its configuration, for collector/program.ts: the sink every source writes
 * to (InfluxDB when INFLUXDB_URL is set, and the Prometheus series), their health checks, and the admin port's
 * part (line protocol push on /write and /api/v2/write, collected series on /metrics). Close `sink` on shutdown
 * after the sources have stopped.
 */
import type { FastifyInstance } from 'fastify';
import type { HealthCheck } from '../../platform/http/admin-server.js';
import type { Config } from '../../platform/config/load-config.js';
import type { Logger } from '../../platform/log.js';
import type { MetricPoint } from '../../model/metric-point.js';
import type { Registry } from '../../platform/self-metrics.js';
import { InfluxDbSink } from './influxdb-sink.js';
import { registerLineProtocolPush } from './line-protocol-push.js';
import { fanOut, type MetricSink } from './metric-sink.js';
import { PrometheusSeries } from './prometheus-series.js';

export interface MetricOutputs {
  /** Every metric source writes here. */
  sink: MetricSink;
  prometheus: PrometheusSeries;
  influxdb: InfluxDbSink | undefined;
  health: HealthCheck[];
  /** For startAdminServer's `configure`. */
  configureAdmin(app: FastifyInstance): Promise<void>;
  /**
   * Where a container's points go: every output, plus the InfluxDB its `aliyun.monitoring.addon.influxdb` label
   * names (one sink per distinct URL, created on first use, same token/org/bucket).
   */
  write(points: readonly MetricPoint[], route?: { influxdbUrl?: string }): void;
  /** A container is gone: its Prometheus series disappear. */
  forgetContainer(name: string): void;
  summary: string[];
  close(): Promise<void>;
}

/** `extra` sinks (the embedded store's metric table in `all`) receive every point too. */
export function createMetricOutputs(config: Config['collector'], deps: { log: Logger; registry: Registry; extra?: MetricSink[] }): MetricOutputs {
  const prometheus = new PrometheusSeries({ stalenessMs: config.prometheusStalenessMs, maxSeries: config.prometheusMaxSeries, registry: deps.registry });
  const influxSink = (url: string): InfluxDbSink => new InfluxDbSink({
    url, token: config.influxdbToken, org: config.influxdbOrg, bucket: config.influxdbBucket,
    queuePoints: config.influxdbQueuePoints, batchPoints: config.influxdbBatchPoints, flushIntervalMs: config.influxdbFlushIntervalMs,
    timeoutMs: config.influxdbTimeoutMs, log: deps.log.child({ influxdb: url }), registry: deps.registry,
  });
  const influxdb = config.influxdbUrl === '' ? undefined : influxSink(config.influxdbUrl);
  const sink = fanOut([...(influxdb ? [influxdb] : []), prometheus, ...(deps.extra ?? [])]);
  const addons = new Map<string, InfluxDbSink>();
  if (influxdb) addons.set(config.influxdbUrl, influxdb);
  const health = influxdb ? [influxdb.healthCheck()] : [];
  return {
    sink,
    prometheus,
    influxdb,
    health,
    write(points, route) {
      sink.write(points);
      const url = route?.influxdbUrl;
      if (url === undefined || url === config.influxdbUrl) return;
      let addon = addons.get(url);
      if (!addon) {
        addon = influxSink(url);
        addons.set(url, addon);
        health.push(addon.healthCheck());
        deps.log.info('sending a container\'s points to the InfluxDB its label names', { url });
      }
      addon.write(points);
    },
    forgetContainer(name) {
      prometheus.forget((series) => series.tags['container_name'] === name);
    },
    async close() {
      await sink.close();
      await Promise.all([...addons.values()].filter((a) => a !== influxdb).map((a) => a.close()));
    },
    async configureAdmin(app) {
      prometheus.exposeOnMetrics(app);
      await registerLineProtocolPush(app, {
        maxBodyBytes: config.writeMaxBodyBytes, onPoints: (points) => sink.write(points), admit: (points) => sink.admit?.(points) ?? [], log: deps.log, registry: deps.registry,
        limits: {
          maxFieldsPerLine: config.writeMaxFieldsPerLine, maxTagValueBytes: config.writeMaxTagValueBytes,
          maxStringFieldBytes: config.writeMaxStringFieldBytes, maxSeriesKeyBytes: config.writeMaxSeriesKeyBytes,
        },
      });
    },
    summary: [`metrics: ${sink.name}${influxdb ? ` (InfluxDB ${config.influxdbUrl}, bucket ${config.influxdbBucket})` : ''}`],
  };
}
