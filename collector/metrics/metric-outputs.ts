/**
 * The collector's metric outputs from its configuration, for collector/program.ts: the sink every source writes
 * to (InfluxDB when INFLUXDB_URL is set, Prometheus remote write when PROMETHEUS_REMOTE_WRITE_URL is set, and the
 * Prometheus series), their health checks, and the admin port's
 * part (line protocol push on /write and /api/v2/write, collected series on /metrics). Close `sink` on shutdown
 * after the sources have stopped.
 */
import type { FastifyInstance } from 'fastify';
import type { HealthCheck } from '../../platform/http/admin-server.js';
import type { Config } from '../../platform/config/load-config.js';
import type { Logger } from '../../platform/log.js';
import type { MetricPoint } from '../../model/metric-point.js';
import type { Registry } from '../../platform/self-metrics.js';
import { createHash } from 'node:crypto';
import { InfluxDbOutput } from './influxdb-output.js';
import { registerLineProtocolPush } from './line-protocol-push.js';
import { fanOut, type MetricSink } from './metric-sink.js';
import { PrometheusSeries } from './prometheus-series.js';
import { RemoteWriteOutput } from './remote-write-output.js';

export interface MetricOutputs {
  /** Every metric source writes here. */
  sink: MetricSink;
  prometheus: PrometheusSeries;
  influxdb: InfluxDbOutput | undefined;
  remoteWrite: RemoteWriteOutput | undefined;
  health: HealthCheck[];
  /** For startAdminServer's `configure`. */
  configureAdmin(app: FastifyInstance): Promise<void>;
  /**
   * Where a container's points go: every output, plus the InfluxDB its `aliyun.monitoring.addon.influxdb` label
   * names (one sink per distinct URL, created on first use, same token/org/bucket) and the remote write receiver its
   * `aliyun.monitoring.addon.prometheus` label names (likewise).
   */
  write(points: readonly MetricPoint[], route?: { influxdbUrl?: string; prometheusUrl?: string }): void;
  /** An output is out of room and blocks (INFLUXDB_BUFFER_WHEN_FULL=block): monitoring skips its rounds meanwhile. */
  full(): boolean;
  /** A container is gone: its Prometheus series disappear. */
  forgetContainer(name: string): void;
  summary: string[];
  close(): Promise<void>;
}

/** Bytes of line protocol per InfluxDB write request at most (InfluxDB's own default body limit is 25 MB). */
const INFLUXDB_BATCH_BYTES = 4 * 1024 * 1024;
/** Bytes of series entries per remote write request at most, before snappy (Prometheus reads up to 32 MB decoded). */
const REMOTE_WRITE_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * `extra` sinks (the embedded store's metric table in `all`) receive every point too. Each InfluxDB output keeps its
 * queue under `dataDir`/buffer/: `influxdb` for INFLUXDB_URL, `influxdb-<hash of the URL>` for one a label names.
 */
export function createMetricOutputs(
  config: Config['collector'],
  deps: { log: Logger; registry: Registry; dataDir: string; extra?: MetricSink[]; /** How long close() keeps delivering (default 5 s). */ drainTimeoutMs?: number },
): MetricOutputs {
  const prometheus = new PrometheusSeries({ stalenessMs: config.prometheusStalenessMs, maxSeries: config.prometheusMaxSeries, registry: deps.registry });
  const influxSink = (url: string, name: string): InfluxDbOutput => new InfluxDbOutput({
    name, url, token: config.influxdbToken, org: config.influxdbOrg, bucket: config.influxdbBucket,
    batchPoints: config.influxdbBatchPoints, batchBytes: INFLUXDB_BATCH_BYTES, flushIntervalMs: config.influxdbFlushIntervalMs,
    concurrency: config.influxdbWriteConcurrency, timeoutMs: config.influxdbTimeoutMs, retry: { maxDelayMs: config.influxdbRetryMaxDelayMs },
    dataDir: deps.dataDir, bufferMaxBytes: config.influxdbBufferMaxBytes, whenFull: config.influxdbBufferWhenFull,
    closeTimeoutMs: deps.drainTimeoutMs, log: deps.log.child({ influxdb: url }), registry: deps.registry,
  });
  const remoteWriteSink = (url: string, name: string): RemoteWriteOutput => new RemoteWriteOutput({
    name, url, batchSeries: config.prometheusRemoteWriteBatchSeries, batchBytes: REMOTE_WRITE_BATCH_BYTES,
    flushIntervalMs: config.prometheusRemoteWriteFlushIntervalMs, timeoutMs: config.prometheusRemoteWriteTimeoutMs,
    retry: { maxDelayMs: config.prometheusRemoteWriteRetryMaxDelayMs }, dataDir: deps.dataDir,
    bufferMaxBytes: config.prometheusRemoteWriteBufferMaxBytes, whenFull: config.prometheusRemoteWriteBufferWhenFull,
    closeTimeoutMs: deps.drainTimeoutMs, log: deps.log.child({ remoteWrite: new URL(url).host }), registry: deps.registry,
  });
  const influxdb = config.influxdbUrl === '' ? undefined : influxSink(config.influxdbUrl, 'influxdb');
  const remoteWrite = config.prometheusRemoteWriteUrl === '' ? undefined : remoteWriteSink(config.prometheusRemoteWriteUrl, 'prometheus-remote-write');
  const sink = fanOut([...(influxdb ? [influxdb] : []), ...(remoteWrite ? [remoteWrite] : []), prometheus, ...(deps.extra ?? [])]);
  const addons = new Map<string, InfluxDbOutput>();
  if (influxdb) addons.set(config.influxdbUrl, influxdb);
  const remoteAddons = new Map<string, RemoteWriteOutput>();
  if (remoteWrite) remoteAddons.set(config.prometheusRemoteWriteUrl, remoteWrite);
  const health = [...(influxdb ? [influxdb.healthCheck()] : []), ...(remoteWrite ? [remoteWrite.healthCheck()] : [])];
  const nameOf = (prefix: string, url: string): string => `${prefix}-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
  return {
    sink,
    prometheus,
    influxdb,
    remoteWrite,
    health,
    write(points, route) {
      sink.write(points);
      const url = route?.influxdbUrl;
      if (url !== undefined && url !== config.influxdbUrl) {
        let addon = addons.get(url);
        if (!addon) {
          addon = influxSink(url, nameOf('influxdb', url));
          addons.set(url, addon);
          health.push(addon.healthCheck());
          deps.log.info('sending a container\'s points to the InfluxDB its label names', { url });
        }
        addon.write(points);
      }
      const rwUrl = route?.prometheusUrl;
      if (rwUrl !== undefined && rwUrl !== config.prometheusRemoteWriteUrl) {
        let addon = remoteAddons.get(rwUrl);
        if (!addon) {
          addon = remoteWriteSink(rwUrl, nameOf('prometheus-remote-write', rwUrl));
          remoteAddons.set(rwUrl, addon);
          health.push(addon.healthCheck());
          deps.log.info('sending a container\'s points by remote write to the Prometheus its label names', { url: rwUrl });
        }
        addon.write(points);
      }
    },
    full() {
      for (const addon of addons.values()) if (addon.full()) return true;
      for (const addon of remoteAddons.values()) if (addon.full()) return true;
      return sink.full?.() === true;
    },
    forgetContainer(name) {
      prometheus.forget((series) => series.tags['container_name'] === name);
    },
    async close() {
      await sink.close();
      await Promise.all([
        ...[...addons.values()].filter((a) => a !== influxdb).map((a) => a.close()),
        ...[...remoteAddons.values()].filter((a) => a !== remoteWrite).map((a) => a.close()),
      ]);
    },
    async configureAdmin(app) {
      prometheus.exposeOnMetrics(app);
      await registerLineProtocolPush(app, {
        maxBodyBytes: config.writeMaxBodyBytes, onPoints: (points) => sink.write(points), admit: (points) => sink.admit?.(points) ?? [], log: deps.log, registry: deps.registry,
        full: () => sink.full?.() === true, settled: () => sink.settled?.() ?? Promise.resolve(true),
        limits: {
          maxFieldsPerLine: config.writeMaxFieldsPerLine, maxTagValueBytes: config.writeMaxTagValueBytes,
          maxStringFieldBytes: config.writeMaxStringFieldBytes, maxSeriesKeyBytes: config.writeMaxSeriesKeyBytes,
        },
      });
    },
    summary: [`metrics: ${sink.name}${influxdb ? ` (InfluxDB ${config.influxdbUrl}, bucket ${config.influxdbBucket})` : ''}${remoteWrite ? ` (remote write ${new URL(config.prometheusRemoteWriteUrl).host})` : ''}`],
  };
}
