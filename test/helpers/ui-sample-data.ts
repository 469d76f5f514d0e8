/**
 * A small, realistic sample for the web UI's tests and screenshots: log records of two containers as the pilot
 * makes them (an nginx access line, JSON lines with their fields, two of them naming the trace, one that failed its
 * format, one cut at the line limit), one trace of four services, and container CPU statistics of the two containers, all within the minutes
 * before `nowMs`.
 */
import { parseLineProtocol } from '../../collector/metrics/line-protocol-parser.js';
import type { LogEvent } from '../../model/log-record.js';
import type { MetricPoint } from '../../model/metric-point.js';
import type { Span } from '../../model/span.js';

export const SAMPLE_TRACE_ID = '5b8aa5a2d2c872e8321cf37308d69df2';
export const SAMPLE_NGINX_LINE = '172.18.0.1 - - "GET /api/cart HTTP/1.1" 200 512 "curl/8.5.0"';

function logEvent(timestampMs: number, container: string, service: string, fields: Record<string, unknown>, n: number): LogEvent {
  const record = {
    '@timestamp': new Date(timestampMs).toISOString(), ...fields, source: 'stdout', target: service, host: 'node-1',
    docker_container: container, docker_container_id: `${container.replace(/\W/g, '')}`.padEnd(64, '0'), docker_app: 'shop', docker_service: service,
  };
  const text = typeof fields.message === 'string' ? fields.message : JSON.stringify(fields);
  // The trace a line names, as the pilot writes it (pilot/trace-context.ts): trace_id and span_id, indexed.
  const trace = typeof fields.trace_id === 'string' ? { traceId: fields.trace_id, spanId: fields.span_id as string } : {};
  return { json: JSON.stringify(record), target: service, timestampMs, id: `${container}-${n}`, containerId: record.docker_container_id, containerName: container, app: 'shop', service, text, ...trace };
}

/** The api span of the sample trace, which the api's two lines during it name. */
export const SAMPLE_LOG_SPAN_ID = '00000000000000f2';

export function sampleLogs(nowMs: number): LogEvent[] {
  const t = (secondsAgo: number): number => nowMs - secondsAgo * 1000;
  return [
    logEvent(t(300), 'shop-web-1', 'web', { message: '2024/05/01 nginx: worker process started', stream: 'stderr' }, 1),
    logEvent(t(240), 'shop-api-1', 'api', { level: 'info', msg: 'listening', port: 8080, stream: 'stdout' }, 2),
    logEvent(t(180), 'shop-web-1', 'web', { message: SAMPLE_NGINX_LINE, stream: 'stdout' }, 3),
    logEvent(t(120), 'shop-api-1', 'api', { level: 'warn', msg: 'slow query', duration_ms: 1250, table: 'orders', stream: 'stdout', trace_id: SAMPLE_TRACE_ID, span_id: SAMPLE_LOG_SPAN_ID }, 4),
    logEvent(t(90), 'shop-api-1', 'api', { message: '{"level":"error","msg":"unterminated', parse_error: 'json: unexpected end of line', stream: 'stdout' }, 5),
    logEvent(t(60), 'shop-web-1', 'web', { message: 'x'.repeat(300), truncated: true, stream: 'stdout' }, 6),
    logEvent(t(30), 'shop-api-1', 'api', { level: 'info', msg: 'order placed', order_id: 'A-1042', amount: 37.5, stream: 'stdout', trace_id: SAMPLE_TRACE_ID, span_id: SAMPLE_LOG_SPAN_ID }, 7),
  ];
}

/** frontend GET /checkout → api POST /orders → db INSERT and a cache lookup, one error on the cache. */
export function sampleTrace(nowMs: number): Span[] {
  const base = (nowMs - 120_000) * 1000;
  const span = (id: string, service: string, parent: string | undefined, op: string, offsetUs: number, durationUs: number, tags: Span['tags'] = []): Span => ({
    traceId: SAMPLE_TRACE_ID,
    spanId: id,
    operationName: op,
    references: parent ? [{ refType: 'CHILD_OF', traceId: SAMPLE_TRACE_ID, spanId: parent }] : [],
    flags: 1,
    startTimeMicros: base + offsetUs,
    durationMicros: durationUs,
    tags,
    logs: service === 'api' ? [{ timestampMicros: base + offsetUs + 900, fields: [{ key: 'event', type: 'string', value: 'order validated' }] }] : [],
    process: { serviceName: service, tags: [{ key: 'hostname', type: 'string', value: `${service}-1` }, { key: 'jaeger.version', type: 'string', value: 'Go-2.30.0' }] },
  });
  return [
    span('00000000000000f1', 'frontend', undefined, 'GET /checkout', 0, 48_000, [{ key: 'span.kind', type: 'string', value: 'server' }, { key: 'http.status_code', type: 'int64', value: 200 }]),
    span('00000000000000f2', 'api', '00000000000000f1', 'POST /orders', 2_000, 41_000, [{ key: 'span.kind', type: 'string', value: 'server' }]),
    span('00000000000000f3', 'cache', '00000000000000f2', 'GET cart', 3_500, 1_800, [{ key: 'error', type: 'bool', value: true }]),
    span('00000000000000f4', 'db', '00000000000000f2', 'INSERT orders', 6_000, 30_000, [{ key: 'db.statement', type: 'string', value: 'INSERT INTO orders VALUES (?, ?)' }]),
  ];
}

/** `docker_container_cpu usage_percent` of shop-web-1 (a slow wave) and shop-api-1 (steady), every 15 s for 30 minutes. */
export function sampleMetrics(nowMs: number): MetricPoint[] {
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    const ns = BigInt(nowMs - (119 - i) * 15_000) * 1_000_000n;
    const web = (20 + 15 * Math.sin(i / 10)).toFixed(2);
    const api = (5 + (i % 7) * 0.5).toFixed(2);
    lines.push(`docker_container_cpu,container_name=shop-web-1,host=node-1 usage_percent=${web},throttling_periods=0i ${ns}`);
    lines.push(`docker_container_cpu,container_name=shop-api-1,host=node-1 usage_percent=${api},throttling_periods=0i ${ns}`);
  }
  const parsed = parseLineProtocol(lines.join('\n'));
  if (parsed.points.length !== lines.length) throw new Error(`sample metrics: ${lines.length - parsed.points.length} lines did not parse`);
  return parsed.points;
}
