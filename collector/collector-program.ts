/**
 * `shipwatch collector`: trace receivers → durable span queues (one per storage) → span storage; OTLP log receivers →
 * the log outputs (LOGGING_OUTPUT, as the pilot's); container monitoring (scripts,
 * HTTP endpoints, statistics) and line protocol pushes → metric outputs; the admin port serves /health, /metrics
 * (the collector's own counters and every collected series) and the push endpoints.
 *
 * Nothing here waits for an output: with Elasticsearch or InfluxDB down the receivers and the admin port open at
 * once, spans wait in the bounded queue (the index templates are installed when Elasticsearch answers), and /health
 * names what is missing.
 *
 * Close order: receivers (stop accepting), monitoring (stop collecting), alarms (stop evaluating, notifications drained), the span queue (drain into storage, given
 * up past the shutdown timeout), metric outputs (flush), the admin port. The shared store is closed by the runtime
 * after every program.
 */
import { startAdminServer } from '../platform/http/admin-server.js';
import { ContainerWatcher } from '../platform/engine/container-watcher.js';
import { sharedEngineClient } from '../platform/engine/docker-client.js';
import { resolveHostName } from '../platform/host-name.js';
import type { RunningProgram, Runtime } from '../platform/runtime.js';
import { createRegistry } from '../platform/self-metrics.js';
import { createSpanWriters } from '../storage/span-storage-factory.js';
import { openStoreMetricStorage } from '../storage/sqlite/metric-store.js';
import { bothListeners } from './alarms/alarm-rule-set.js';
import { startAlarms } from './alarms/alarms.js';
import { ServiceScaler } from './autoscaling/service-scaler.js';
import { ContainerMonitoring } from './monitoring/container-monitoring.js';
import { labelFilter } from './monitoring/label-filter.js';
import { createMetricOutputs } from './metrics/metric-outputs.js';
import { sharedStrategyProvider } from '../platform/sampling/file-strategy-provider.js';
import { startSamplingHttpServer } from '../platform/sampling/sampling-http.js';
import { SpanDelivery } from './traces/span-delivery.js';
import { startTraceReceivers } from './traces/receivers/trace-receivers.js';
import { openOtlpLogsInput } from './logs/otlp-logs-input.js';

export async function start(runtime: Runtime): Promise<RunningProgram> {
  const { config, log } = runtime;
  const c = config.collector;
  const registry = createRegistry('collector');
  const hostName = resolveHostName({ configured: config.common.hostName, nodeName: '', hostRoot: '' });
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((err: unknown) => log.error('collector close step failed', { err }));
    }
  };

  try {
    // Jaeger remote sampling: the strategies file is read first, so that a wrong one stops the start before any port opens.
    const sampling = sharedStrategyProvider(runtime, { file: c.samplingStrategiesFile, reloadIntervalMs: c.samplingReloadIntervalMs, registry });

    // The store's metric table (METRICS_STORE, on in `all`) is one more output; the runtime closes it with the store.
    const extra = c.metricsStore ? [openStoreMetricStorage(runtime, registry)] : [];
    // Outputs drain on close for what the shutdown timeout leaves after the steps behind them; the rest is replayed.
    const drainTimeoutMs = Math.max(500, config.common.shutdownTimeoutMs - 1500);
    const metrics = createMetricOutputs(c, { log: log.child({ component: 'metrics' }), registry, dataDir: config.common.dataDir, extra, drainTimeoutMs });
    closers.push(() => metrics.close());

    const writers = await createSpanWriters(runtime, registry);
    const storageTypes = config.spanStorage.types;
    const queue = await SpanDelivery.open({
      storages: writers.map((writer, i) => ({ name: storageTypes[i]!, writer })), config: c, dataDir: config.common.dataDir,
      log: log.child({ component: 'span-delivery' }), registry, drainTimeoutMs,
    });
    closers.push(() => queue.close());
    // OTLP logs go to the log outputs of LOGGING_OUTPUT (in `all`, the pilot's), served on the OTLP ports below.
    const otlpLogs = await openOtlpLogsInput(runtime, registry, hostName);
    closers.push(() => otlpLogs.close(drainTimeoutMs));

    const engine = sharedEngineClient(runtime.shared, config.common.dockerHost, config.common.dockerCertPath);
    const monitoring = new ContainerMonitoring({
      client: engine, hostName, labelPrefix: c.monitoringLabelPrefix, intervalMs: c.monitoringIntervalMs,
      timeoutMs: c.monitoringTimeoutMs, maxOutputBytes: c.monitoringMaxOutputBytes, containerStats: c.containerStats,
      statsLabels: labelFilter(c.statsLabelInclude, c.statsLabelExclude),
      emit: (points, route) => metrics.write(points, route), forget: (container) => metrics.forgetContainer(container.name), outputsFull: () => metrics.full(),
      log: log.child({ component: 'monitoring' }), registry,
    });
    // Alarm rules (COLLECTOR_ALARM_RULES, container labels) are evaluated on the metric storage; a wrong rules file stops the start here.
    const alarms = startAlarms(runtime, { registry, hostName, drainTimeoutMs });
    closers.push(() => alarms.close());
    const watcher = new ContainerWatcher({ client: engine, listener: bothListeners(monitoring, alarms.listener), log: log.child({ component: 'engine' }), registry });
    watcher.start();
    closers.push(async () => {
      await watcher.close();
      await monitoring.close();
    });
    // Swarm service auto scaling (aliyun.auto_scaling.* labels): every collector samples, only the swarm's leader acts.
    if (c.autoscalingPeriodMs > 0) {
      const scaler = new ServiceScaler({ client: engine, periodMs: c.autoscalingPeriodMs, log: log.child({ component: 'autoscaling' }), registry });
      scaler.start();
      closers.push(() => scaler.close());
    }

    const admin = await startAdminServer({
      listen: c.adminListen, registry, log, tokens: { admin: config.common.adminAuthToken, ingest: c.authToken },
      health: [
        { name: 'engine', check: () => watcher.status().reason },
        { name: 'span-queue', check: () => (queue.fill >= 1 ? 'span storage is behind: the span queue is full (COLLECTOR_SPAN_BUFFER_MAX_SIZE)' : undefined) },
        {
          name: 'span-storage', impact: 'degraded',
          // A storage's own words first (Elasticsearch's names what fails and since when); the chain's for the others.
          check: () => writers.map((w) => w.problem?.()).filter((p) => p !== undefined).join('; ') || queue.problem(),
        },
        ...metrics.health,
        { name: 'sampling-strategies', impact: 'degraded', check: () => sampling.problem() },
        { name: 'log-outputs', impact: 'degraded', check: () => otlpLogs.problem() },
        { name: 'alarms', impact: 'degraded', check: () => alarms.problem() },
      ],
      configure: (app) => metrics.configureAdmin(app),
    });
    closers.push(() => admin.close());

    const receivers = await startTraceReceivers(c, queue, registry, log, sampling, otlpLogs.receivers);
    closers.push(async () => {
      await Promise.all(receivers.map((r) => r.close()));
    });
    const samplingHttp = await startSamplingHttpServer({ listen: c.samplingListen, provider: sampling, log: log.child({ component: 'sampling' }) });
    closers.push(() => samplingHttp.close());

    let closing: Promise<void> | undefined;
    return {
      summary: [
        `admin (/health, /metrics, line protocol /write, /api/v2/write) on ${c.adminListen.host}:${admin.port}`,
        ...receivers.map((r) => `${r.name} on ${r.where}`),
        `Jaeger remote sampling (GET /sampling?service=) on ${c.samplingListen.host}:${samplingHttp.port}, strategies from ${c.samplingStrategiesFile || 'no file (probabilistic 0.001)'}`,
        `spans stored in ${config.spanStorage.types.join(' and ')}`,
        ...otlpLogs.summary,
        ...metrics.summary,
        `container monitoring every ${c.monitoringIntervalMs} ms through ${engine.where}`,
        c.autoscalingPeriodMs > 0
          ? `swarm service auto scaling (aliyun.auto_scaling.* labels) every ${c.autoscalingPeriodMs} ms, when ${engine.where} is the swarm's leader`
          : 'swarm service auto scaling off (COLLECTOR_AUTOSCALING_PERIOD=0)',
        alarms.summary,
      ],
      // Receivers were started last and close first: closeAll runs the steps in reverse.
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
