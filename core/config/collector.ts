import { parseBool, parseDurationMs, parseInteger, parseListen, parseSizeBytes, parseString, v } from './schema.js';

export const collector = {
  adminListen: v({ name: 'COLLECTOR_ADMIN_LISTEN', default: ':14269', doc: 'Admin port of the collector (/health, /metrics, line protocol /write).', parse: parseListen }),
  monitoringIntervalMs: v({ name: 'MONITORING_INTERVAL', default: '60s', doc: 'How often monitoring scripts run and HTTP endpoints are polled (each container gets a random phase).', parse: parseDurationMs }),
  monitoringTimeoutMs: v({ name: 'MONITORING_TIMEOUT', default: '10s', doc: 'A monitoring script or HTTP poll running longer is stopped.', parse: parseDurationMs }),
  monitoringMaxOutputBytes: v({ name: 'MONITORING_MAX_OUTPUT', default: '1MiB', doc: 'Output of one script run or HTTP body read at most; the rest is cut and reported.', parse: parseSizeBytes }),
  monitoringLabelPrefix: v({ name: 'MONITORING_LABEL_PREFIX', default: 'aliyun', doc: 'Label prefix declaring monitoring (<prefix>.monitoring.script, .http, .tags).', parse: parseString }),
  containerStats: v({ name: 'COLLECTOR_CONTAINER_STATS', default: 'true', doc: 'Collect docker_container_cpu/mem/net/blkio for every running container.', parse: parseBool }),
  jaegerCompactListen: v({ name: 'COLLECTOR_JAEGER_COMPACT_LISTEN', default: ':6831', doc: 'UDP address of the Jaeger agent protocol in Thrift compact (emitBatch).', parse: parseListen }),
  jaegerBinaryListen: v({ name: 'COLLECTOR_JAEGER_BINARY_LISTEN', default: ':6832', doc: 'UDP address of the Jaeger agent protocol in Thrift binary (emitBatch; jaeger-client for Node sends here).', parse: parseListen }),
  jaegerHttpListen: v({ name: 'COLLECTOR_JAEGER_HTTP_LISTEN', default: ':14268', doc: 'HTTP address of Jaeger\'s POST /api/traces (Thrift binary Batch).', parse: parseListen }),
  jaegerMaxBodyBytes: v({ name: 'COLLECTOR_JAEGER_MAX_BODY', default: '4MiB', doc: 'Largest POST /api/traces body; a larger one gets 413.', parse: parseSizeBytes }),
  jaegerMaxSpansPerBatch: v({ name: 'COLLECTOR_JAEGER_MAX_SPANS', default: '10000', doc: 'Most spans in one Jaeger batch (HTTP request or UDP datagram); a larger batch is refused whole (413 / counted).', parse: parseInteger(1, 1_000_000) }),
  jaegerUdpSocketBufferBytes: v({ name: 'COLLECTOR_JAEGER_UDP_SOCKET_BUFFER', default: '0', doc: 'Receive buffer of the Jaeger UDP sockets (absorbs bursts; capped by the kernel\'s net.core.rmem_max); 0 keeps the system default.', parse: parseSizeBytes }),
  jaegerRetryAfterMs: v({ name: 'COLLECTOR_JAEGER_RETRY_AFTER', default: '1s', doc: 'Retry-After sent with 503 when span storage cannot keep up (rounded up to whole seconds).', parse: parseDurationMs }),
  otlpHttpListen: v({ name: 'COLLECTOR_OTLP_HTTP_LISTEN', default: ':4318', doc: 'HTTP address of OTLP/HTTP POST /v1/traces (JSON or protobuf, gzip or deflate).', parse: parseListen }),
  otlpMaxBodyBytes: v({ name: 'COLLECTOR_OTLP_MAX_BODY', default: '16MiB', doc: 'Largest POST /v1/traces body, compressed and once decompressed; a larger one gets 413.', parse: parseSizeBytes }),
  otlpMaxSpansPerRequest: v({ name: 'COLLECTOR_OTLP_MAX_SPANS', default: '50000', doc: 'Most spans in one OTLP request; a larger request is refused whole with 413.', parse: parseInteger(1, 1_000_000) }),
  zipkinListen: v({ name: 'COLLECTOR_ZIPKIN_LISTEN', default: ':9411', doc: 'HTTP address of Zipkin\'s POST /api/v2/spans (JSON, protobuf) and /api/v1/spans (JSON).', parse: parseListen }),
  zipkinMaxBodyBytes: v({ name: 'COLLECTOR_ZIPKIN_MAX_BODY', default: '16MiB', doc: 'Largest Zipkin POST body, compressed and once decompressed; a larger one gets 413.', parse: parseSizeBytes }),
  zipkinMaxSpansPerRequest: v({ name: 'COLLECTOR_ZIPKIN_MAX_SPANS', default: '50000', doc: 'Most spans in one Zipkin request; a larger request is refused whole with 413.', parse: parseInteger(1, 1_000_000) }),
  tracesRetryAfterMs: v({ name: 'COLLECTOR_TRACES_RETRY_AFTER', default: '1s', doc: 'Retry-After sent by the OTLP and Zipkin receivers with 503 when span storage cannot keep up (whole seconds).', parse: parseDurationMs }),
};
