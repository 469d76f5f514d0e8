import { Problem, parseDurationMs, parseEnum, parseInteger, parseList, parseListen, parseString, parseUrl, v } from './schema.js';

export const query = {
  listen: v({ name: 'QUERY_LISTEN', default: ':16686', doc: 'Jaeger query API, log API and UI.', parse: parseListen }),
  adminListen: v({ name: 'QUERY_ADMIN_LISTEN', default: ':16687', doc: 'Admin port of query (/health, /metrics).', parse: parseListen }),
  authToken: v({ name: 'QUERY_AUTH_TOKEN', default: '', doc: 'When set, every API call needs Authorization: Bearer <token>.', parse: parseString, secret: true }),
  corsOrigins: v({
    name: 'QUERY_CORS_ORIGINS', default: '',
    doc: 'Origins allowed to call the API from a browser (comma list, * for any); none when empty.', parse: parseList,
  }),
  maxTraces: v({
    name: 'QUERY_MAX_TRACES', default: '1500',
    doc: 'Largest number of traces one search returns (a larger limit is lowered to it).', parse: parseInteger(1, 100_000),
  }),
  maxLogs: v({
    name: 'QUERY_MAX_LOGS', default: '1000',
    doc: 'Largest page of the log search; the NDJSON download streams up to 100 times this.', parse: parseInteger(1, 100_000),
  }),
  logStorageType: v({
    name: 'LOG_STORAGE_TYPE', default: 'store',
    doc: 'Where the log API reads logs: store (the embedded store) or elasticsearch (the indices of QUERY_LOG_INDICES on ES_SERVER_URLS, with ES_USERNAME / ES_PASSWORD: the cluster that holds the spans and the logs).',
    parse: parseEnum(['store', 'elasticsearch'] as const),
  }),
  logIndices: v({
    name: 'QUERY_LOG_INDICES', default: '*-20*,-*jaeger-*',
    doc: 'Indices the log API searches when LOG_STORAGE_TYPE=elasticsearch (comma list, wildcards, -exclusions): the default matches the pilot\'s daily and monthly <target>-YYYY.MM[.DD] indices but not Jaeger\'s; name the targets for rotation none.',
    parse: (raw: string) => {
      const list = parseList(raw);
      return list.length > 0 ? list : new Problem('at least one index or pattern is needed');
    },
  }),
  metricStorageType: v({
    name: 'METRIC_STORAGE_TYPE', default: 'store',
    doc: 'Where the metric API (/api/timeseries/) reads metrics: store (the embedded store) or influxdb (InfluxQL /query of InfluxDB 1.x at INFLUXDB_URL, the database of INFLUXDB_BUCKET, with INFLUXDB_TOKEN: where the collector\'s InfluxDB output writes).',
    parse: parseEnum(['store', 'influxdb'] as const),
  }),
  influxdbUrl: v({ name: 'INFLUXDB_URL', default: '', doc: 'InfluxDB the metric API reads with METRIC_STORAGE_TYPE=influxdb (the collector\'s InfluxDB output).', parse: parseUrl }),
  influxdbToken: v({ name: 'INFLUXDB_TOKEN', default: '', doc: 'Credentials of those reads: user:password (Basic auth), else a token.', parse: parseString, secret: true }),
  influxdbBucket: v({ name: 'INFLUXDB_BUCKET', default: 'telegraf', doc: 'The database those reads name: database or database/retention-policy.', parse: parseString }),
  influxdbTimeoutMs: v({ name: 'INFLUXDB_TIMEOUT', default: '10s', doc: 'One InfluxDB read taking longer answers 503.', parse: parseDurationMs }),
  jaegerUiDir: v({
    name: 'QUERY_JAEGER_UI_DIR', default: '',
    doc: 'A Jaeger UI build (the folder holding its index.html) to serve at / with its Monitor tab on; Shipwatch\'s own UI then answers at /ui/. Empty: Shipwatch\'s UI at /.',
    parse: parseString,
  }),
  // The collector's variables, read by the query too: a query apart from the collector reads the same file.
  samplingStrategiesFile: v({ name: 'SAMPLING_STRATEGIES_FILE', default: '', doc: 'The strategies file GET /api/sampling?service= answers from (the collector\'s, mounted where the query runs too); empty: probabilistic 0.001 for every service.', parse: parseString }),
  samplingReloadIntervalMs: v({ name: 'SAMPLING_STRATEGIES_RELOAD_INTERVAL', default: '10s', doc: 'How often the query reads the strategies file again; 0: once.', parse: parseDurationMs }),
};
