/**
 * The collector's metric outputs from its configuration, for collector/program.ts: the sink every source writes
 * to (InfluxDB when INFLUXDB_URL is set, and the Prometheus series), their health checks, and the admin port's
 * part (line protocol push on /write and /api/v2/write, collected series on /metrics). Close `sink` on shutdown
 * after the sources have stopped.
 */
import type { FastifyInstance } from 'fastify';
import type { HealthCheck } from '../../core/admin-server.js';
import type { Config } from '../../core/config/index.js';
import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/self-metrics.js';
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
  summary: string[];
}

/** `extra` sinks (the embedded store's metric table in `all`) receive every point too. */
export function createMetricOutputs(config: Config['collector'], deps: { log: Logger; registry: Registry; extra?: MetricSink[] }): MetricOutputs {
  const prometheus = new PrometheusSeries({ stalenessMs: config.prometheusStalenessMs, maxSeries: config.prometheusMaxSeries, registry: deps.registry });
  const influxdb = config.influxdbUrl === ''
    ? undefined
    : new InfluxDbSink({
      url: config.influxdbUrl, token: config.influxdbToken, org: config.influxdbOrg, bucket: config.influxdbBucket,
      queuePoints: config.influxdbQueuePoints, batchPoints: config.influxdbBatchPoints, flushIntervalMs: config.influxdbFlushIntervalMs,
      timeoutMs: config.influxdbTimeoutMs, log: deps.log, registry: deps.registry,
    });
  const sink = fanOut([...(influxdb ? [influxdb] : []), prometheus, ...(deps.extra ?? [])]);
  return {
    sink,
    prometheus,
    influxdb,
    health: influxdb ? [influxdb.healthCheck()] : [],
    async configureAdmin(app) {
      prometheus.exposeOnMetrics(app);
      await registerLineProtocolPush(app, { maxBodyBytes: config.writeMaxBodyBytes, onPoints: (points) => sink.write(points), log: deps.log, registry: deps.registry });
    },
    summary: [`metrics: ${sink.name}${influxdb ? ` (InfluxDB ${config.influxdbUrl}, bucket ${config.influxdbBucket})` : ''}`],
  };
}
