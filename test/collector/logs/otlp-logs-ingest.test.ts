/**
 * OTLP logs into the collector end to end: OpenTelemetry's own log exporters (OTLP/HTTP JSON, OTLP/HTTP protobuf,
 * OTLP/gRPC) send records with attributes and trace context to the collector's OTLP ports, and the query program's
 * log API (/api/logs) finds them, on the embedded store (collector and query sharing it as in `all`) and, with
 * SHIPWATCH_TEST_ES_URL, on Elasticsearch through the elasticsearch log output. Bad input is refused whole on each
 * transport, and full outputs answer 503 / UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OtlpGrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as OtlpHttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import Fastify from 'fastify';
import { start as startCollector } from '../../../collector/collector-program.js';
import { LogIntake } from '../../../collector/logs/log-intake.js';
import { OtlpLogRecordEncoder } from '../../../collector/logs/otlp-log-records.js';
import { otlpGrpcLogsService } from '../../../collector/logs/otlp-logs-grpc.js';
import { registerOtlpLogsHttp } from '../../../collector/logs/otlp-logs-http.js';
import { GrpcStatus } from '../../../collector/traces/receivers/grpc-server.js';
import type { LogEvent, LogSink } from '../../../model/log-record.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { silentLogger } from '../../../platform/log.js';
import { SharedResources, type RunningProgram } from '../../../platform/runtime.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { start as startQuery } from '../../../query/query-program.js';

const scratch = mkdtempSync(join(tmpdir(), 'shipwatch-otlp-logs-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Stack {
  otlpHttp: string;
  otlpGrpc: string;
  api: string;
  close(): Promise<void>;
}

const LISTENS = [
  'COLLECTOR_ADMIN_LISTEN', 'COLLECTOR_OTLP_HTTP_LISTEN', 'COLLECTOR_OTLP_GRPC_LISTEN', 'COLLECTOR_ZIPKIN_LISTEN', 'COLLECTOR_JAEGER_HTTP_LISTEN',
  'COLLECTOR_JAEGER_COMPACT_LISTEN', 'COLLECTOR_JAEGER_BINARY_LISTEN', 'COLLECTOR_JAEGER_GRPC_LISTEN', 'COLLECTOR_SAMPLING_LISTEN', 'QUERY_LISTEN', 'QUERY_ADMIN_LISTEN',
];

/** The collector and query of `all` (no pilot) on one runtime, every port chosen at start. */
async function startStack(name: string, env: Record<string, string>): Promise<Stack> {
  const vars: Record<string, string> = { SHIPWATCH_DATA_DIR: join(scratch, name), SHIPWATCH_HOSTNAME: 'otlp-test-host', COLLECTOR_CONTAINER_STATS: 'false', ...env };
  for (const l of LISTENS) vars[l] = '127.0.0.1:0';
  const config = loadConfig(vars, 'all');
  const shared = new SharedResources();
  const programs: RunningProgram[] = [];
  const close = async (): Promise<void> => {
    for (const p of programs) await p.close();
    await shared.closeAll();
  };
  try {
    programs.push(await startCollector({ config, log: silentLogger, shared }));
    programs.push(await startQuery({ config, log: silentLogger, shared }));
  } catch (err) {
    await close();
    throw err;
  }
  shared.started();
  const summary = programs.flatMap((p) => p.summary).join('\n');
  const port = (re: RegExp): string => re.exec(summary)![1]!;
  return {
    otlpHttp: `http://127.0.0.1:${port(/OTLP\/HTTP POST \/v1\/traces, \/v1\/logs on 127\.0\.0\.1:(\d+)/)}`,
    otlpGrpc: `http://127.0.0.1:${port(/LogsService\/Export on 127\.0\.0\.1:(\d+)/)}`,
    api: `http://127.0.0.1:${port(/log API on 127\.0\.0\.1:(\d+)/)}`,
    close,
  };
}

/** ExportResultCode.SUCCESS (@opentelemetry/core, not a dependency of its own). */
const EXPORT_SUCCESS = 0;
const RUN = `${process.pid}x${Date.now() % 1_000_000}`;

function ids(n: number): { traceId: string; spanId: string } {
  const hex = (Date.now() * 1000 + n).toString(16);
  return { traceId: ('4bf92f3577b34da6a3ce929d0e0e' + hex).slice(-32).padStart(32, 'a'), spanId: ('00f067aa0ba9' + hex).slice(-16) };
}

/** Records made by OpenTelemetry's SDK with trace context, then sent by `exporter`; asserts it reported success. */
async function sendWith(exporter: LogRecordExporter, transport: string, t: { traceId: string; spanId: string }): Promise<void> {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': `checkout-${RUN}`, 'deployment.environment': 'test' }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const logger = provider.getLogger('shop.orders', '1.4.2');
  const ctx = trace.setSpanContext(context.active(), { traceId: t.traceId, spanId: t.spanId, traceFlags: TraceFlags.SAMPLED });
  logger.emit({
    body: `order placed over ${transport} ${RUN}`, severityNumber: SeverityNumber.WARN, severityText: 'WARN', context: ctx,
    attributes: { 'http.method': 'POST', 'order.items': 3, 'order.express': true, 'order.tags': ['gift', 'fragile'], message: 'an attribute named like a record field' },
  });
  logger.emit({ body: { event: 'payment', amount: 12.5 } as never, severityNumber: SeverityNumber.INFO, context: ctx, attributes: { transport } });
  await provider.forceFlush();
  const records = memory.getFinishedLogRecords();
  assert.equal(records.length, 2);
  const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(records, resolve));
  assert.equal(result.code, EXPORT_SUCCESS, `${transport} export: ${result.error?.message}`);
  await exporter.shutdown();
  await provider.shutdown();
}

async function searchLogs(api: string, query: string, want: number, timeoutMs = 45_000): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${api}/api/logs?${query}`);
    // A new Elasticsearch index answers 503 until its shard is started.
    if (res.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { data: Array<Record<string, unknown>> };
    if (body.data.length >= want || Date.now() > deadline) return body.data;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function assertFound(stack: Stack, transport: string, t: { traceId: string; spanId: string }, target: string): Promise<void> {
  const found = await searchLogs(stack.api, `traceId=${t.traceId}`, 2);
  assert.equal(found.length, 2, `${transport}: both records found by their trace`);
  const text = found.find((r) => typeof r.message === 'string' && r.message.startsWith('order placed'))!;
  assert.ok(text, `${transport}: the string body is the message`);
  assert.equal(text.message, `order placed over ${transport} ${RUN}`);
  assert.equal(text.severity_text, 'WARN');
  assert.equal(text.severity_number, SeverityNumber.WARN);
  assert.equal(text.trace_id, t.traceId);
  assert.equal(text.span_id, t.spanId);
  assert.equal(text.trace_flags, 1);
  assert.equal(text['service.name'], `checkout-${RUN}`);
  assert.equal(text['deployment.environment'], 'test');
  assert.equal(text['otel.scope.name'], 'shop.orders');
  assert.equal(text['otel.scope.version'], '1.4.2');
  assert.equal(text['http.method'], 'POST');
  assert.equal(text['order.items'], 3);
  assert.equal(text['order.express'], true);
  assert.deepEqual(text['order.tags'], ['gift', 'fragile']);
  assert.equal(text.original_message, 'an attribute named like a record field');
  assert.equal(text.source, 'otlp');
  assert.equal(text.target, target);
  assert.equal(text.host, 'otlp-test-host');
  assert.ok(Math.abs(Date.parse(text['@timestamp'] as string) - Date.now()) < 120_000, 'the record time is kept');
  const structured = found.find((r) => r !== text)!;
  assert.deepEqual(JSON.parse(structured.message as string), { event: 'payment', amount: 12.5 }, `${transport}: a key/value body is the message as JSON`);
  assert.equal(structured.severity_number, SeverityNumber.INFO);
  assert.equal(structured.transport, transport);
  // Full text finds it too, and the span filter.
  const byText = await searchLogs(stack.api, `q=${encodeURIComponent(`"order placed over ${transport} ${RUN}"`)}`, 1);
  assert.equal(byText.length, 1);
  const bySpan = await searchLogs(stack.api, `spanId=${t.spanId}`, 2);
  assert.equal(bySpan.length, 2);
}

async function sendAllTransports(stack: Stack, target: string, first: number): Promise<void> {
  const transports: Array<[string, LogRecordExporter]> = [
    ['http-json', new OtlpHttpLogExporter({ url: `${stack.otlpHttp}/v1/logs` })],
    ['http-protobuf', new OtlpProtoLogExporter({ url: `${stack.otlpHttp}/v1/logs`, compression: 'gzip' as never })],
    ['grpc', new OtlpGrpcLogExporter({ url: stack.otlpGrpc })],
  ];
  for (const [i, [transport, exporter]] of transports.entries()) {
    const t = ids(first + i);
    await sendWith(exporter, transport, t);
    await assertFound(stack, transport, t, target);
  }
}

test('records from the OTLP log exporters (HTTP JSON, HTTP protobuf gzip, gRPC) are found through the log API with their attributes and trace context, on the embedded store', { timeout: 120_000 }, async (t) => {
  const stack = await startStack('store', { LOGGING_OUTPUT: 'store' });
  t.after(() => stack.close());
  await sendAllTransports(stack, 'otlp', 0);
  const byService = await searchLogs(stack.api, `service=checkout-${RUN}`, 6);
  assert.equal(byService.length, 6, 'the resource\'s service.name is the record\'s service');
});

test('records from the OTLP log exporters reach Elasticsearch through the elasticsearch log output and the log API finds them', { timeout: 120_000 }, async (t) => {
  const esUrl = process.env.SHIPWATCH_TEST_ES_URL;
  if (!esUrl) return t.skip('SHIPWATCH_TEST_ES_URL is not set');
  const target = `otlp-logs-test-${RUN.toLowerCase()}`;
  const stack = await startStack('es', {
    LOGGING_OUTPUT: 'elasticsearch', ELASTICSEARCH_HOSTS: esUrl, ELASTICSEARCH_FLUSH_INTERVAL: '100ms', COLLECTOR_OTLP_LOGS_TARGET: target,
    LOG_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: esUrl, QUERY_LOG_INDICES: `${target}-*`,
  });
  t.after(async () => {
    await stack.close();
    await fetch(`${esUrl}/${target}-*`, { method: 'DELETE' });
  });
  await sendAllTransports(stack, target, 10);
});

test('bad OTLP log requests are refused whole with a clear reason on HTTP (400, 415) and gRPC (INVALID_ARGUMENT), nothing written', { timeout: 60_000 }, async (t) => {
  const stack = await startStack('bad', { LOGGING_OUTPUT: 'store', COLLECTOR_OTLP_LOGS_TARGET: 'bad-input' });
  t.after(() => stack.close());
  const post = (body: Buffer | string, type: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.otlpHttp}/v1/logs`, { method: 'POST', body, headers: { 'content-type': type, ...headers } });
  const good = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `kept ${RUN}` } }] }] }] };
  const halfBad = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `never written ${RUN}` } }, { body: { stringValue: 'x' }, traceId: 'not-hex' }] }] }] };

  let res = await post('{"resourceLogs": [', 'application/json');
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { message: string }).message, /^bad request: not an ExportLogsServiceRequest: malformed JSON/);
  res = await post(JSON.stringify(halfBad), 'application/json');
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { message: string }).message, /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[1\]\.traceId is not 16 bytes of hex/);
  res = await post(JSON.stringify({ resourceLogs: {} }), 'application/json');
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { message: string }).message, /resourceLogs is not an array/);
  res = await post(Buffer.from([0x0a, 0x05, 0x12, 0x03, 0x12]), 'application/x-protobuf');
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
  assert.match(Buffer.from(await res.arrayBuffer()).toString('latin1'), /invalid protobuf/);
  res = await post(Buffer.from('not gzip'), 'application/json', { 'content-encoding': 'gzip' });
  assert.equal(res.status, 400);
  res = await post('hello', 'text/plain');
  assert.equal(res.status, 415);
  res = await fetch(`${stack.otlpHttp}/v1/logs`);
  assert.equal(res.status, 405);

  const client = new grpc.Client(stack.otlpGrpc.replace('http://', ''), grpc.credentials.createInsecure());
  t.after(() => client.close());
  const call = (message: Buffer) => new Promise<grpc.ServiceError | null>((resolve) => {
    client.makeUnaryRequest('/opentelemetry.proto.collector.logs.v1.LogsService/Export', (b: Buffer) => b, (b: Buffer) => b, message, (err) => resolve(err));
  });
  const bad = await call(Buffer.from([0x0a, 0x05, 0x12, 0x03, 0x12]));
  assert.equal(bad?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(bad!.details, /not an ExportLogsServiceRequest: invalid protobuf/);
  // A LogRecord whose trace_id is 3 bytes: refused as the Go collector refuses it.
  const shortTrace = Buffer.from([0x0a, 0x09, 0x12, 0x07, 0x12, 0x05, 0x4a, 0x03, 0x01, 0x02, 0x03]);
  const refused = await call(shortTrace);
  assert.equal(refused?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(refused!.details, /traceId is not 16 bytes of hex/);

  // A good gzip'd JSON request is taken; of the bad ones, nothing was written.
  res = await post(gzipSync(JSON.stringify(good)), 'application/json', { 'content-encoding': 'gzip' });
  assert.equal(res.status, 200);
  const kept = await searchLogs(stack.api, 'target=bad-input', 1);
  assert.deepEqual(kept.map((r) => r.message), [`kept ${RUN}`]);
});

/** A log output that holds every batch until released: the outputs are "behind". */
class HeldSink implements LogSink {
  readonly name = 'held';
  readonly taken: LogEvent[] = [];
  private release: Array<() => void> = [];
  write(events: LogEvent[]): Promise<void> {
    return new Promise((resolve) => this.release.push(() => {
      this.taken.push(...events);
      resolve();
    }));
  }
  releaseAll(): void {
    for (const r of this.release.splice(0)) r();
  }
  async close(): Promise<void> {}
}

test('while the log outputs are behind, OTLP log requests past the in-flight bound get 503 with Retry-After (HTTP) and UNAVAILABLE (gRPC)', async () => {
  const registry = createRegistry('collector', false);
  const sink = new HeldSink();
  const intake = new LogIntake({ sinks: [sink], maxInFlightBytes: 64 * 1024, registry, log: silentLogger });
  const encoder = new OtlpLogRecordEncoder({ target: 'otlp', hostName: 'h' });
  const app = Fastify();
  await registerOtlpLogsHttp(app, { intake, encoder, maxBodyBytes: 1 << 20, retryAfterMs: 2000, registry, log: silentLogger });
  const service = otlpGrpcLogsService({ intake, encoder, retryAfterMs: 2000, registry });
  const request = JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x'.repeat(40_000) } }] }] }] });
  const inject = () => app.inject({ method: 'POST', url: '/v1/logs', headers: { 'content-type': 'application/json' }, payload: request });

  const first = inject(); // taken by the intake, held by the output
  await new Promise((r) => setTimeout(r, 50));
  const second = await inject();
  assert.equal(second.statusCode, 503);
  assert.equal(second.headers['retry-after'], '2');
  assert.match(second.json<{ message: string }>().message, /log outputs are behind \(COLLECTOR_LOGS_MAX_IN_FLIGHT\)/);
  // gRPC: a protobuf request with one 40 kB record.
  const body = Buffer.alloc(40_000, 0x78);
  const anyValue = Buffer.concat([Buffer.from([0x0a, 0xc0, 0xb8, 0x02]), body]);
  const record = Buffer.concat([Buffer.from([0x2a, 0xc4, 0xb8, 0x02]), anyValue]);
  const scope = Buffer.concat([Buffer.from([0x12, 0xc8, 0xb8, 0x02]), record]);
  const resource = Buffer.concat([Buffer.from([0x12, 0xcc, 0xb8, 0x02]), scope]);
  const message = Buffer.concat([Buffer.from([0x0a, 0xd0, 0xb8, 0x02]), resource]);
  const answer = await service.methods.Export!(message, undefined as never);
  assert.equal(answer.ok, false);
  assert.equal(!answer.ok && answer.code, GrpcStatus.UNAVAILABLE);
  assert.equal(!answer.ok && answer.retryAfterMs, 2000);
  assert.equal(sink.taken.length, 0);

  sink.releaseAll();
  assert.equal((await first).statusCode, 200);
  assert.equal(sink.taken.length, 1);
  // Room again: the gRPC request is taken now.
  const retried = service.methods.Export!(message, undefined as never);
  await new Promise((r) => setTimeout(r, 20));
  sink.releaseAll();
  assert.equal((await retried).ok, true);
  assert.equal(sink.taken[1]!.text, body.toString());
  await app.close();
});
