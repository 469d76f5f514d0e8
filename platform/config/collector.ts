import { collectorAlarms } from './collector-alarms.js';
import { parseBool, parseDurationMs, parseEnum, parseInteger, parseList, parseListen, parseSizeBytes, parseString, parseUrl, Problem, v } from './schema.js';

export const collector = {
  adminListen: v({ name: 'COLLECTOR_ADMIN_LISTEN', default: ':14269', doc: 'Admin port of the collector (/health, /metrics, line protocol /write).', parse: parseListen }),
  authToken: v({
    name: 'COLLECTOR_AUTH_TOKEN', default: '', secret: true, parse: parseString,
    doc: 'When set, pushed data needs it: the HTTP trace receivers (Jaeger HTTP, Zipkin, OTLP/HTTP) as Authorization: Bearer <token>, line protocol /write and /api/v2/write also as Token <token>, Basic auth password or ?p=. UDP is not covered. Empty: open.',
  }),
  monitoringIntervalMs: v({ name: 'MONITORING_INTERVAL', default: '60s', doc: 'How often monitoring scripts run and HTTP endpoints are polled (each container gets a random phase).', parse: parseDurationMs }),
  monitoringTimeoutMs: v({ name: 'MONITORING_TIMEOUT', default: '10s', doc: 'A monitoring script or HTTP poll running longer is stopped.', parse: parseDurationMs }),
  monitoringMaxOutputBytes: v({ name: 'MONITORING_MAX_OUTPUT', default: '1MiB', doc: 'Output of one script run or HTTP body read at most; the rest is cut and reported.', parse: parseSizeBytes }),
  monitoringLabelPrefix: v({ name: 'MONITORING_LABEL_PREFIX', default: 'aliyun', doc: 'Label prefix declaring monitoring (<prefix>.monitoring.script, .http, .tags).', parse: parseString }),
  containerStats: v({ name: 'COLLECTOR_CONTAINER_STATS', default: 'true', doc: 'Collect docker_container_cpu/mem/net/blkio for every running container.', parse: parseBool }),
  statsLabelInclude: v({ name: 'COLLECTOR_STATS_LABEL_INCLUDE', default: '', doc: 'Container labels added as tags to docker_container_* points: comma-separated globs (`*`, `?`); empty: every label (Telegraf\'s docker_label_include).', parse: parseList }),
  statsLabelExclude: v({ name: 'COLLECTOR_STATS_LABEL_EXCLUDE', default: 'aliyun.*', doc: 'Container labels never added as tags (globs; Telegraf\'s docker_label_exclude). The declaration labels are excluded by default.', parse: parseList }),
  autoscalingPeriodMs: v({
    name: 'COLLECTOR_AUTOSCALING_PERIOD', default: '1m',
    doc: 'Sample period of swarm service auto scaling (aliyun.auto_scaling.* labels): a service is scaled after three periods in a row above (or below) its limits; 0 turns auto scaling off, else at least 1s.',
    parse: (raw) => {
      const ms = parseDurationMs(raw);
      return ms instanceof Problem || ms === 0 || ms >= 1000 ? ms : new Problem(`"${raw}" is shorter than 1s (0 turns auto scaling off)`);
    },
  }),
  jaegerCompactListen: v({ name: 'COLLECTOR_JAEGER_COMPACT_LISTEN', default: ':6831', doc: 'UDP address of the Jaeger agent protocol in Thrift compact (emitBatch).', parse: parseListen }),
  jaegerBinaryListen: v({ name: 'COLLECTOR_JAEGER_BINARY_LISTEN', default: ':6832', doc: 'UDP address of the Jaeger agent protocol in Thrift binary (emitBatch; jaeger-client for Node sends here).', parse: parseListen }),
  jaegerHttpListen: v({ name: 'COLLECTOR_JAEGER_HTTP_LISTEN', default: ':14268', doc: 'HTTP address of Jaeger\'s POST /api/traces (Thrift binary Batch).', parse: parseListen }),
  jaegerMaxBodyBytes: v({ name: 'COLLECTOR_JAEGER_MAX_BODY', default: '4MiB', doc: 'Largest POST /api/traces body; a larger one gets 413.', parse: parseSizeBytes }),
  jaegerMaxSpansPerBatch: v({ name: 'COLLECTOR_JAEGER_MAX_SPANS', default: '10000', doc: 'Most spans in one Jaeger batch (HTTP request or UDP datagram); a larger batch is refused whole (413 / counted).', parse: parseInteger(1, 1_000_000) }),
  jaegerUdpSocketBufferBytes: v({ name: 'COLLECTOR_JAEGER_UDP_SOCKET_BUFFER', default: '4MiB', doc: 'Receive buffer of the Jaeger UDP sockets: absorbs bursts while spans are decoded (capped by the kernel\'s net.core.rmem_max); 0 keeps the system default.', parse: parseSizeBytes }),
  otlpHttpListen: v({ name: 'COLLECTOR_OTLP_HTTP_LISTEN', default: ':4318', doc: 'HTTP address of OTLP/HTTP POST /v1/traces and POST /v1/logs (JSON or protobuf, gzip or deflate).', parse: parseListen }),
  otlpMaxBodyBytes: v({ name: 'COLLECTOR_OTLP_MAX_BODY', default: '16MiB', doc: 'Largest POST /v1/traces or /v1/logs body, compressed and once decompressed; a larger one gets 413.', parse: parseSizeBytes }),
  otlpMaxSpansPerRequest: v({ name: 'COLLECTOR_OTLP_MAX_SPANS', default: '50000', doc: 'Most spans in one OTLP request; a larger request is refused whole with 413.', parse: parseInteger(1, 1_000_000) }),
  otlpGrpcListen: v({ name: 'COLLECTOR_OTLP_GRPC_LISTEN', default: ':4317', doc: 'gRPC address of OTLP/gRPC TraceService/Export and LogsService/Export (gzip accepted).', parse: parseListen }),
  otlpLogsTarget: v({
    name: 'COLLECTOR_OTLP_LOGS_TARGET', default: 'otlp', doc: 'The target (index base name) of log records received over OTLP (POST /v1/logs, LogsService/Export); they go to the log outputs of LOGGING_OUTPUT.',
    parse: (raw: string) => {
      const t = raw.trim();
      return /^[a-z0-9][^\\/*?"<>|,#:\s]*$/.test(t) && t.length <= 200 ? t : new Problem(`"${raw}" is not a valid index name (lower case letters, digits, "-", "_", "."; at most 200)`);
    },
  }),
  logsMaxInFlightBytes: v({
    name: 'COLLECTOR_LOGS_MAX_IN_FLIGHT', default: '16MiB',
    doc: 'Bytes of OTLP log records handed to the log outputs and not yet taken by every one; past it OTLP log requests get 503 with Retry-After (UNAVAILABLE over gRPC).',
    parse: (raw: string) => {
      const n = parseSizeBytes(raw);
      return n instanceof Problem || (n >= 64 * 1024 && n <= 1024 ** 3) ? n : new Problem('must be from 64KiB to 1GiB');
    },
  }),
  jaegerGrpcListen: v({ name: 'COLLECTOR_JAEGER_GRPC_LISTEN', default: ':14250', doc: 'gRPC address of Jaeger\'s api_v2 CollectorService/PostSpans and SamplingManager.', parse: parseListen }),
  grpcMaxMessageBytes: v({ name: 'COLLECTOR_GRPC_MAX_MESSAGE', default: '16MiB', doc: 'Largest gRPC message the trace receivers take (once decompressed); a larger one gets RESOURCE_EXHAUSTED.', parse: parseSizeBytes }),
  samplingListen: v({ name: 'COLLECTOR_SAMPLING_LISTEN', default: ':5778', doc: 'HTTP address of Jaeger remote sampling GET /sampling?service= (also /api/sampling on the query port).', parse: parseListen }),
  samplingStrategiesFile: v({ name: 'SAMPLING_STRATEGIES_FILE', default: '', doc: 'Jaeger\'s file-based sampling strategies (JSON: default_strategy, service_strategies with per-operation strategies); empty: probabilistic 0.001 for every service, as Jaeger.', parse: parseString }),
  samplingReloadIntervalMs: v({ name: 'SAMPLING_STRATEGIES_RELOAD_INTERVAL', default: '10s', doc: 'How often the strategies file is checked for changes and reloaded; 0: read once.', parse: parseDurationMs }),
  zipkinListen: v({ name: 'COLLECTOR_ZIPKIN_LISTEN', default: ':9411', doc: 'HTTP address of Zipkin\'s POST /api/v2/spans (JSON, protobuf) and /api/v1/spans (JSON).', parse: parseListen }),
  zipkinMaxBodyBytes: v({ name: 'COLLECTOR_ZIPKIN_MAX_BODY', default: '16MiB', doc: 'Largest Zipkin POST body, compressed and once decompressed; a larger one gets 413.', parse: parseSizeBytes }),
  zipkinMaxSpansPerRequest: v({ name: 'COLLECTOR_ZIPKIN_MAX_SPANS', default: '50000', doc: 'Most spans in one Zipkin request; a larger request is refused whole with 413.', parse: parseInteger(1, 1_000_000) }),
  tracesRetryAfterMs: v({ name: 'COLLECTOR_TRACES_RETRY_AFTER', default: '1s', doc: 'Retry-After sent by the HTTP trace receivers (Jaeger, Zipkin, OTLP) with 503 when span storage cannot keep up (whole seconds).', parse: parseDurationMs }),
  spanQueueSpans: v({ name: 'COLLECTOR_SPAN_QUEUE', default: '100000', doc: 'Spans held for storage at most; past it receivers answer 503 + Retry-After and UDP drops are counted.', parse: parseInteger(1, 100_000_000) }),
  spanBatchSpans: v({ name: 'COLLECTOR_SPAN_BATCH', default: '1000', doc: 'Spans per storage write.', parse: parseInteger(1, 1_000_000) }),
  spanFlushIntervalMs: v({ name: 'COLLECTOR_SPAN_FLUSH_INTERVAL', default: '200ms', doc: 'Longest a span waits for its storage batch to fill.', parse: parseDurationMs }),
  spanWriteConcurrency: v({ name: 'COLLECTOR_SPAN_WRITERS', default: '2', doc: 'Storage writes under way at once.', parse: parseInteger(1, 64) }),
  spanBufferMaxBytes: v({
    name: 'COLLECTOR_SPAN_BUFFER_MAX_SIZE', default: '1GiB', parse: parseSizeBytes,
    doc: 'Disk budget of the span queue of each span storage (SHIPWATCH_DATA_DIR/buffer/spans-<storage>/): spans are answered 200 once written there and made durable (one fdatasync per group of requests), and stay until the storage holds them.',
  }),
  spanBufferWhenFull: v({
    name: 'COLLECTOR_SPAN_BUFFER_WHEN_FULL', default: 'block', parse: parseEnum(['block', 'drop'] as const),
    doc: 'When the span disk budget is used: block (HTTP receivers answer 503 + Retry-After once COLLECTOR_SPAN_QUEUE spans wait in memory, UDP drops are counted) or drop (new spans dropped at once, counted, 503 over HTTP).',
  }),
  // Metrics: line protocol push, InfluxDB output, Prometheus exposition.
  writeMaxBodyBytes: v({ name: 'COLLECTOR_WRITE_MAX_BODY', default: '32MiB', doc: 'Largest line protocol push on /write and /api/v2/write, compressed and once decompressed; a larger one gets 413.', parse: parseSizeBytes }),
  writeMaxFieldsPerLine: v({ name: 'COLLECTOR_WRITE_MAX_FIELDS', default: '10000', doc: 'Most fields in one pushed line protocol line (/write, /api/v2/write); a wider line is refused alone (partial write, 400) and counted.', parse: parseInteger(1, 1_000_000) }),
  writeMaxTagValueBytes: v({ name: 'COLLECTOR_WRITE_MAX_TAG_VALUE', default: '65535', doc: 'Longest tag value of a pushed line protocol line, in bytes; a line with a longer one is refused alone (partial write, 400) and counted.', parse: parseSizeBytes }),
  writeMaxStringFieldBytes: v({ name: 'COLLECTOR_WRITE_MAX_STRING_FIELD', default: '64KiB', doc: 'Longest string field value of a pushed line protocol line, in bytes (InfluxDB 1.x\'s limit); a line with a longer one is refused alone (partial write, 400) and counted.', parse: parseSizeBytes }),
  writeMaxSeriesKeyBytes: v({ name: 'COLLECTOR_WRITE_MAX_SERIES_KEY', default: '65535', doc: 'Longest series key (measurement and tags as written) and field key of a pushed line protocol line, in bytes (InfluxDB 1.x\'s limit); a line with a longer one is refused alone (partial write, 400) and counted.', parse: parseSizeBytes }),
  influxdbUrl: v({ name: 'INFLUXDB_URL', default: '', doc: 'InfluxDB (or VictoriaMetrics) to write metrics to: InfluxDB before 1.8 through /write, 1.8+, 2.x, 3.x and VictoriaMetrics through /api/v2/write (the server is asked with GET /ping); unset: no InfluxDB output.', parse: parseUrl }),
  influxdbToken: v({ name: 'INFLUXDB_TOKEN', default: '', doc: 'InfluxDB API token (InfluxDB 1.x: user:password).', parse: parseString, secret: true }),
  influxdbOrg: v({ name: 'INFLUXDB_ORG', default: '', doc: 'InfluxDB organisation (ignored by InfluxDB 1.x and VictoriaMetrics).', parse: parseString }),
  influxdbBucket: v({ name: 'INFLUXDB_BUCKET', default: 'telegraf', doc: 'InfluxDB bucket (InfluxDB 1.x: database or database/retention-policy; before 1.8 the database is created when missing).', parse: parseString }),
  influxdbBufferMaxBytes: v({
    name: 'INFLUXDB_BUFFER_MAX_SIZE', default: '256MiB', parse: parseSizeBytes,
    doc: 'Disk budget of each InfluxDB output\'s queue (under SHIPWATCH_DATA_DIR/buffer/): points wait there, across restarts, until the target takes them.',
  }),
  influxdbBufferWhenFull: v({
    name: 'INFLUXDB_BUFFER_WHEN_FULL', default: 'block', parse: parseEnum(['block', 'drop'] as const),
    doc: 'block (line protocol pushes answer 503 with Retry-After, monitoring skips its rounds, counted, until space frees) or drop (new points dropped, counted).',
  }),
  influxdbRetryMaxDelayMs: v({
    name: 'INFLUXDB_RETRY_MAX_DELAY', default: '30s', parse: parseDurationMs,
    doc: 'Longest wait between tries of an InfluxDB write that failed (out of reach, 429, 5xx, 401/403); tries go on without a deadline, a longer Retry-After wins.',
  }),
  influxdbWriteConcurrency: v({ name: 'INFLUXDB_WRITERS', default: '2', doc: 'InfluxDB write requests under way at once, per output.', parse: parseInteger(1, 64) }),
  influxdbBatchPoints: v({ name: 'INFLUXDB_BATCH', default: '5000', doc: 'Points per InfluxDB write.', parse: parseInteger(1, 1_000_000) }),
  influxdbFlushIntervalMs: v({ name: 'INFLUXDB_FLUSH_INTERVAL', default: '1s', doc: 'Longest a point waits for its InfluxDB batch to fill.', parse: parseDurationMs }),
  influxdbTimeoutMs: v({ name: 'INFLUXDB_TIMEOUT', default: '10s', doc: 'One InfluxDB write taking longer is abandoned and retried.', parse: parseDurationMs }),
  prometheusRemoteWriteUrl: v({
    name: 'PROMETHEUS_REMOTE_WRITE_URL', default: '', parse: parseUrl,
    doc: 'Prometheus remote write 1.0 receiver every collected point is sent to, e.g. http://prometheus:9090/api/v1/write (Prometheus started with --web.enable-remote-write-receiver; user:password@ in the URL is Basic auth); series named as on /metrics. Unset: none (a container\'s aliyun.monitoring.addon.prometheus still names one).',
  }),
  prometheusRemoteWriteBufferMaxBytes: v({
    name: 'PROMETHEUS_REMOTE_WRITE_BUFFER_MAX_SIZE', default: '256MiB', parse: parseSizeBytes,
    doc: 'Disk budget of each remote write output\'s queue (under SHIPWATCH_DATA_DIR/buffer/): series wait there, across restarts, until the receiver takes them.',
  }),
  prometheusRemoteWriteBufferWhenFull: v({
    name: 'PROMETHEUS_REMOTE_WRITE_BUFFER_WHEN_FULL', default: 'block', parse: parseEnum(['block', 'drop'] as const),
    doc: 'block (line protocol pushes answer 503 with Retry-After, monitoring skips its rounds, counted, until space frees) or drop (new points dropped, counted).',
  }),
  prometheusRemoteWriteRetryMaxDelayMs: v({
    name: 'PROMETHEUS_REMOTE_WRITE_RETRY_MAX_DELAY', default: '30s', parse: parseDurationMs,
    doc: 'Longest wait between tries of a remote write that failed (out of reach, 429, 5xx); tries go on without a deadline, a longer Retry-After wins.',
  }),
  prometheusRemoteWriteBatchSeries: v({ name: 'PROMETHEUS_REMOTE_WRITE_BATCH', default: '2000', doc: 'Samples per remote write request (Prometheus\'s own max_samples_per_send).', parse: parseInteger(1, 1_000_000) }),
  prometheusRemoteWriteFlushIntervalMs: v({ name: 'PROMETHEUS_REMOTE_WRITE_FLUSH_INTERVAL', default: '1s', doc: 'Longest a sample waits for its remote write batch to fill.', parse: parseDurationMs }),
  prometheusRemoteWriteTimeoutMs: v({ name: 'PROMETHEUS_REMOTE_WRITE_TIMEOUT', default: '30s', doc: 'One remote write request taking longer is abandoned and retried (Prometheus\'s remote_timeout).', parse: parseDurationMs }),
  prometheusStalenessMs: v({ name: 'COLLECTOR_PROMETHEUS_STALENESS', default: '5m', doc: 'A collected series not updated for this long leaves /metrics.', parse: parseDurationMs }),
  metricsStore: v({
    name: 'METRICS_STORE', default: (ctx) => (ctx.program === 'all' ? 'true' : 'false'), defaultDoc: 'false (true in `all`)',
    doc: 'Keep collected metrics in the embedded store too (SHIPWATCH_DATA_DIR, kept for SHIPWATCH_RETENTION), for the query API and its UI.', parse: parseBool,
  }),
  metricsStoreMaxSeries: v({ name: 'METRICS_STORE_MAX_SERIES', default: '100000', doc: 'Series (tag sets) of one measurement the embedded store holds at most (InfluxDB\'s max-values-per-tag default); points of a new series past it are dropped and counted, answered to a push as a partial write (400); existing series stay writable.', parse: parseInteger(1, 100_000_000) }),
  prometheusMaxSeries: v({ name: 'COLLECTOR_PROMETHEUS_MAX_SERIES', default: '100000', doc: 'Collected series exposed on /metrics at most; new ones past it are dropped and counted.', parse: parseInteger(1, 100_000_000) }),
  ...collectorAlarms,
};
