/**
 * `shipwatch query`: the API server on QUERY_LISTEN (Jaeger v1/v3 APIs, log API, status, web UI) and the admin server on
 * QUERY_ADMIN_LISTEN. Spans are read from the first storage of SPAN_STORAGE_TYPE; logs from LOG_STORAGE_TYPE's;
 * metrics from METRIC_STORAGE_TYPE's (the embedded store or InfluxDB).
 * Nothing waits for Elasticsearch at start: while it is down its calls answer 503 (SW_STORAGE_UNAVAILABLE) and
 * /health names it.
 * Close order: the API server (ends live tails), then the admin server; the shared store is closed by the runtime.
 */
import { startAdminServer } from '../platform/http/admin-server.js';
import { sharedEngineClient } from '../platform/engine/docker-client.js';
import { listen } from '../platform/http/http-server.js';
import type { RunningProgram, Runtime } from '../platform/runtime.js';
import { createLogReader } from '../storage/log-reader-factory.js';
import { createRegistry } from '../platform/self-metrics.js';
import { createSpanReader } from '../storage/span-storage-factory.js';
import { openSharedDatabase } from '../storage/sqlite/database.js';
import { createMetricReader } from '../storage/metric-reader-factory.js';
import { sharedStrategyProvider } from '../platform/sampling/file-strategy-provider.js';
import { buildQueryApp } from './api-app.js';
import { createStatusSource, describeStatus, healthUrlOf, type ProgramProbe, type Receivers, type StatusReport } from './status.js';
import type { Config } from '../platform/config/load-config.js';

/** METRIC_STORAGE_TYPE as the status names it: InfluxDB with its host and database (never its credentials). */
function metricStorageOf(q: Config['query']): string {
  if (q.metricStorageType !== 'influxdb') return q.metricStorageType;
  let host = q.influxdbUrl;
  try {
    host = new URL(q.influxdbUrl).host;
  } catch {
    // an unset INFLUXDB_URL: named as it is
  }
  return `influxdb at ${host || '(INFLUXDB_URL unset)'}, database ${q.influxdbBucket}`;
}

function receiversOf(c: Config['collector']): Receivers {
  return {
    otlpHttp: c.otlpHttpListen.port, otlpGrpc: c.otlpGrpcListen.port, jaegerHttp: c.jaegerHttpListen.port, jaegerCompact: c.jaegerCompactListen.port,
    jaegerBinary: c.jaegerBinaryListen.port, zipkin: c.zipkinListen.port, lineProtocol: c.adminListen.port,
  };
}

export async function start(runtime: Runtime): Promise<RunningProgram> {
  const { config, log } = runtime;
  const registry = createRegistry('query');
  const spanReader = await createSpanReader(runtime, registry);
  const store = openSharedDatabase(runtime, registry);
  const logReader = createLogReader(runtime);
  const metricReader = createMetricReader(runtime, registry);
  // The admin port is known once it listens (it may be chosen at start): the status asks for it then.
  let queryAdminPort: number | undefined;
  const programs = (): ProgramProbe[] => [
    ...(config.program === 'all'
      ? [
          { name: 'pilot', healthUrl: healthUrlOf(config.pilot.adminListen) },
          { name: 'collector', healthUrl: healthUrlOf(config.collector.adminListen) },
        ]
      : []),
    { name: 'query', self: true, healthUrl: queryAdminPort === undefined ? undefined : healthUrlOf({ ...config.query.adminListen, port: queryAdminPort }) },
  ];
  const status = (): Promise<StatusReport> =>
    createStatusSource({
      command: config.program,
      programs: programs(),
      spanReader,
      spanStorage: config.spanStorage.types[0] ?? 'store',
      logReader,
      logStorage: config.query.logStorageType,
      metricStorage: metricStorageOf(config.query),
      // A lone query does not know where a collector listens; `all` runs its own.
      receivers: config.program === 'all' ? receiversOf(config.collector) : undefined,
      // Only `all` shares the pilot's and collector's engine; a lone query may run far from any engine.
      engine:
        config.program === 'all'
          ? { client: sharedEngineClient(runtime.shared, config.common.dockerHost, config.common.dockerCertPath), logPrefixes: config.pilot.logPrefixes, monitoringPrefix: config.collector.monitoringLabelPrefix }
          : undefined,
    })();
  const app = buildQueryApp({
    spanReader,
    logReader,
    metricReader,
    authToken: config.query.authToken,
    corsOrigins: config.query.corsOrigins,
    maxTraces: config.query.maxTraces,
    maxLogs: config.query.maxLogs,
    log,
    status,
    sampling: sharedStrategyProvider(runtime, { file: config.query.samplingStrategiesFile, reloadIntervalMs: config.query.samplingReloadIntervalMs, registry }),
    jaegerUiDir: config.query.jaegerUiDir,
    alarmsDataDir: config.common.dataDir,
  });
  const port = await listen(app, config.query.listen);
  const admin = await startAdminServer({
    listen: config.query.adminListen,
    registry,
    log,
    tokens: { admin: config.common.adminAuthToken },
    health: [
      { name: 'store', check: () => (store.isOpen ? undefined : 'the embedded store is closed') },
      // Elasticsearch readers ask it (briefly); the store answers without a probe.
      { name: 'span-storage', check: () => spanReader.probe?.() },
      { name: 'log-storage', check: () => logReader.probe?.() },
      { name: 'metric-storage', check: () => metricReader.probe?.() },
    ],
  });
  queryAdminPort = admin.port;
  let closing: Promise<void> | undefined;
  return {
    summary: [
      `web UI, Jaeger query API v1/v3 and log API on ${config.query.listen.host}:${port} (spans from ${config.spanStorage.types[0]}, logs from ${config.query.logStorageType}, metrics from ${config.query.metricStorageType})`,
      `admin on ${config.query.adminListen.host}:${admin.port}`,
    ],
    report: async () => describeStatus(await status(), `http://${uiHost(config.query.listen.host)}:${port}`),
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await admin.close();
      })()),
  };
}

/** A wildcard listen address is reached on localhost. */
function uiHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
}
