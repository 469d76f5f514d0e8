import { parseBool, parseDurationMs, parseListen, parseSizeBytes, parseString, v } from './schema.js';

export const collector = {
  adminListen: v({ name: 'COLLECTOR_ADMIN_LISTEN', default: ':14269', doc: 'Admin port of the collector (/health, /metrics, line protocol /write).', parse: parseListen }),
  monitoringIntervalMs: v({ name: 'MONITORING_INTERVAL', default: '60s', doc: 'How often monitoring scripts run and HTTP endpoints are polled (each container gets a random phase).', parse: parseDurationMs }),
  monitoringTimeoutMs: v({ name: 'MONITORING_TIMEOUT', default: '10s', doc: 'A monitoring script or HTTP poll running longer is stopped.', parse: parseDurationMs }),
  monitoringMaxOutputBytes: v({ name: 'MONITORING_MAX_OUTPUT', default: '1MiB', doc: 'Output of one script run or HTTP body read at most; the rest is cut and reported.', parse: parseSizeBytes }),
  monitoringLabelPrefix: v({ name: 'MONITORING_LABEL_PREFIX', default: 'aliyun', doc: 'Label prefix declaring monitoring (<prefix>.monitoring.script, .http, .tags).', parse: parseString }),
  containerStats: v({ name: 'COLLECTOR_CONTAINER_STATS', default: 'true', doc: 'Collect docker_container_cpu/mem/net/blkio for every running container.', parse: parseBool }),
};
