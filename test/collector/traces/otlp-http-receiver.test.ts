import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../../platform/log.js';
import type { KeyValue, Span } from '../../../model/span.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { decodeExportTraceRequest } from '../../../collector/traces/codecs/otlp/otlp-protobuf.js';
import { startOtlpHttpReceiver, type OtlpHttpReceiver } from '../../../collector/traces/receivers/otlp-http-receiver.js';
import { CollectingConsumer, counterValue } from './support/collecting-consumer.js';

const registry = createRegistry('collector', false);
const consumer = new CollectingConsumer();
let receiver: OtlpHttpReceiver;
let url: string;

before(async () => {
  receiver = await startOtlpHttpReceiver({
    listen: { host: '127.0.0.1', port: 0 },
    consumer,
    registry,
    log: createLogger({ level: 'silent' }),
    maxBodyBytes: 64 * 1024,
    maxSpansPerRequest: 100,
    retryAfterMs: 2000,
  });
  url = `http://127.0.0.1:${receiver.port}/v1/traces`;
});

after(async () => {
  await receiver.close();
});

function tagsOf(span: Span): Record<string, unknown> {
  return Object.fromEntries(span.tags.map((t: KeyValue) => [t.key, t.value]));
}

/** Emits a parent and a child span through `exporter` with attributes of every type, an event, a link, an error. */
async function emitThrough(exporter: SpanExporter, service: string, batch = false): Promise<Emitted> {
  const processor = batch ? new BatchSpanProcessor(exporter, { scheduledDelayMillis: 10 }) : new SimpleSpanProcessor(exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'h1', 'process.pid': 4242 }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('test-scope', '1.2.3');
  const parent = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER, startTime: [1700000000, 123456789] });
  const linked = parent.spanContext();
  const producer = tracer.startSpan('enqueue', { root: true, kind: SpanKind.PRODUCER, startTime: [1700000000, 0] });
  producer.end([1700000000, 1000]);
  const child = tracer.startSpan('SELECT orders', {
    kind: SpanKind.CLIENT,
    startTime: [1700000000, 200000000],
    links: [{ context: producer.spanContext(), attributes: { 'messaging.system': 'kafka' } }],
  }, trace.setSpan(context.active(), parent));
  child.setAttributes({
    'str': 'text', 'int': 42, 'neg': -7, 'dbl': 2.5, 'bool': true,
    'strs': ['a', 'b'], 'ints': [1, 2], 'bools': [true, false], 'dbls': [1.5, 2.25],
  });
  child.addEvent('retry', { attempt: 2, reason: 'timeout' }, [1700000000, 250000999]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock' });
  child.end([1700000000, 300000500]);
  parent.setStatus({ code: SpanStatusCode.OK });
  parent.end([1700000001, 0]);
  await provider.forceFlush();
  await provider.shutdown();
  return { traceId: linked.traceId, parentId: linked.spanId, childId: child.spanContext().spanId, producer: producer.spanContext() };
}

type Emitted = { traceId: string; parentId: string; childId: string; producer: { traceId: string; spanId: string } };

function assertMapped(spans: Span[], ids: Emitted, service: string): void {
  const parent = spans.find((s) => s.spanId === ids.parentId)!;
  const child = spans.find((s) => s.spanId === ids.childId)!;
  assert.ok(parent && child);
  assert.equal(child.traceId, ids.traceId);
  assert.equal(child.operationName, 'SELECT orders');
  assert.equal(child.flags, 0, 'Jaeger 2.x (v1.75.0) shows an OTLP span no v1 flags');
  assert.equal(child.otlp?.flags, 257, 'the flags as sent (sampled, and the SDK\'s has-is-remote bit), for API v3');
  assert.equal(child.startTimeMicros, 1700000000200000);
  assert.equal(child.durationMicros, 100000); // 100_000_500 ns truncated
  assert.deepEqual(child.references, [
    { refType: 'CHILD_OF', traceId: ids.traceId, spanId: ids.parentId },
    { refType: 'FOLLOWS_FROM', traceId: ids.producer.traceId, spanId: ids.producer.spanId, tags: [{ key: 'messaging.system', type: 'string', value: 'kafka' }] },
  ]);
  assert.notEqual(ids.producer.traceId, ids.traceId);
  // The v1 model keeps arrays as Go-style JSON strings; `any` is the value as sent, for API v3.
  assert.deepEqual(child.tags.find((t) => t.key === 'ints'), {
    key: 'ints', type: 'string', value: '[1,2]', any: { arrayValue: { values: [{ intValue: '1' }, { intValue: '2' }] } },
  });
  assert.deepEqual(child.otlp?.parentSpanId, ids.parentId);
  assert.equal(child.otlp?.durationNanos, 500);
  assert.deepEqual(child.otlp?.links?.map((l) => [l.traceId, l.spanId, l.attributes]), [
    [ids.producer.traceId, ids.producer.spanId, [{ key: 'messaging.system', type: 'string', value: 'kafka' }]],
  ]);
  assert.deepEqual(child.tags.map((t) => (t.type === 'string' ? { key: t.key, type: t.type, value: t.value } : t)), [
    { key: 'otel.scope.name', type: 'string', value: 'test-scope' },
    { key: 'otel.scope.version', type: 'string', value: '1.2.3' },
    { key: 'str', type: 'string', value: 'text' },
    { key: 'int', type: 'int64', value: 42 },
    { key: 'neg', type: 'int64', value: -7 },
    { key: 'dbl', type: 'float64', value: 2.5 },
    { key: 'bool', type: 'bool', value: true },
    { key: 'strs', type: 'string', value: '["a","b"]' },
    { key: 'ints', type: 'string', value: '[1,2]' },
    { key: 'bools', type: 'string', value: '[true,false]' },
    { key: 'dbls', type: 'string', value: '[1.5,2.25]' },
    { key: 'span.kind', type: 'string', value: 'client' },
    { key: 'otel.status_code', type: 'string', value: 'ERROR' },
    { key: 'error', type: 'bool', value: true },
    { key: 'otel.status_description', type: 'string', value: 'deadlock' },
  ]);
  assert.deepEqual(child.logs, [{
    timestampMicros: 1700000000250000,
    fields: [
      { key: 'event', type: 'string', value: 'retry' },
      { key: 'attempt', type: 'int64', value: 2 },
      { key: 'reason', type: 'string', value: 'timeout' },
    ],
  }]);
  assert.equal(child.process.serviceName, service);
  assert.deepEqual(child.process.tags.filter((t) => t.key === 'host.name' || t.key === 'process.pid'), [
    { key: 'host.name', type: 'string', value: 'h1' },
    { key: 'process.pid', type: 'int64', value: 4242 },
  ]);
  assert.equal(parent.references.length, 0);
  assert.equal(parent.startTimeMicros, 1700000000123456);
  assert.equal(parent.durationMicros, 876543);
  assert.equal(tagsOf(parent)['span.kind'], 'server');
  assert.equal(tagsOf(parent)['otel.status_code'], 'OK');
  assert.equal(tagsOf(parent)['error'], undefined);
}

test('spans from the real OTLP/HTTP JSON exporter arrive mapped exactly', async () => {
  const before = consumer.spans.length;
  const ids = await emitThrough(new OtlpJsonExporter({ url }), 'json-svc');
  const spans = (await consumer.waitFor(before + 3)).slice(before);
  assertMapped(spans, ids, 'json-svc');
  assert.ok(await counterValue(registry, 'shipwatch_trace_spans_received_total', { protocol: 'otlp-json' }) >= 3);
});

test('spans from the real OTLP/HTTP protobuf exporter arrive mapped exactly', async () => {
  const before = consumer.spans.length;
  const ids = await emitThrough(new OtlpProtoExporter({ url }), 'proto-svc');
  const spans = (await consumer.waitFor(before + 3)).slice(before);
  assertMapped(spans, ids, 'proto-svc');
  assert.ok(await counterValue(registry, 'shipwatch_trace_spans_received_total', { protocol: 'otlp-protobuf' }) >= 3);
});

test('gzip-compressed requests from both real exporters are taken, through a batch processor', async () => {
  const before = consumer.spans.length;
  const a = await emitThrough(new OtlpJsonExporter({ url, compression: 'gzip' as never }), 'gz-json', true);
  const b = await emitThrough(new OtlpProtoExporter({ url, compression: 'gzip' as never }), 'gz-proto', true);
  const spans = (await consumer.waitFor(before + 6)).slice(before);
  assertMapped(spans, a, 'gz-json');
  assertMapped(spans, b, 'gz-proto');
});

const GOOD_SPAN = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'op', startTimeUnixNano: '1544712660000000000', endTimeUnixNano: '1544712661000000000' };
const body = (spans: unknown[]) => JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] }, scopeSpans: [{ spans }] }] });

async function post(payload: string | Uint8Array, headers: Record<string, string>): Promise<{ status: number; headers: Headers; bytes: Uint8Array; json?: unknown }> {
  const res = await fetch(url, { method: 'POST', body: payload, headers });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, bytes, json: type.startsWith('application/json') ? JSON.parse(Buffer.from(bytes).toString()) : undefined };
}

test('a request with some bad spans answers 200 with a partial success naming them, and keeps the good ones', async () => {
  const before = consumer.spans.length;
  const res = await post(body([GOOD_SPAN, { ...GOOD_SPAN, traceId: 'nothex' }, { ...GOOD_SPAN, spanId: '' }]), { 'content-type': 'application/json' });
  assert.equal(res.status, 200);
  const partial = (res.json as { partialSuccess: { rejectedSpans: string; errorMessage: string } }).partialSuccess;
  assert.equal(partial.rejectedSpans, '2');
  assert.match(partial.errorMessage, /spans\[1\]: traceId is not 32 hex digits; .*spans\[2\]: spanId is missing/);
  assert.equal(consumer.spans.length, before + 1);
});

test('a fully good JSON request answers 200 with an empty response', async () => {
  const res = await post(body([GOOD_SPAN]), { 'content-type': 'application/json; charset=utf-8' });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, {});
});

test('malformed JSON is a 400 with a JSON Status naming the problem', async () => {
  const res = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
  assert.equal(res.status, 400);
  assert.equal((res.json as { code: number }).code, 3);
  assert.match((res.json as { message: string }).message, /malformed JSON/);
  const wrongShape = await post('{"resourceSpans": 7}', { 'content-type': 'application/json' });
  assert.equal(wrongShape.status, 400);
  assert.match((wrongShape.json as { message: string }).message, /resourceSpans is not an array/);
});

test('malformed protobuf is a 400 with a protobuf Status', async () => {
  const res = await post(new Uint8Array([0x0a, 0x05, 0x01]), { 'content-type': 'application/x-protobuf' });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
  // google.rpc.Status: field 1 varint 3, field 2 the message
  assert.deepEqual([...res.bytes.slice(0, 2)], [0x08, 3]);
  assert.match(Buffer.from(res.bytes).toString('latin1'), /length past the end/);
});

test('a protobuf request with a bad span id answers a protobuf partial success', async () => {
  // One resource, one scope, one span whose span_id has 3 bytes.
  const span = [0x0a, 16, ...Array(16).fill(1), 0x12, 3, 1, 2, 3, 0x2a, 1, 0x78];
  const scope = [0x12, span.length, ...span];
  const rs = [0x12, scope.length, ...scope];
  const res = await post(new Uint8Array([0x0a, rs.length, ...rs]), { 'content-type': 'application/x-protobuf' });
  assert.equal(res.status, 200);
  // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1) = 1, error_message (2) } }
  assert.equal(res.bytes[0], 0x0a);
  assert.deepEqual([...res.bytes.slice(2, 4)], [0x08, 1]);
  assert.match(Buffer.from(res.bytes).toString('latin1'), /spanId is not 16 hex digits/);
  assert.ok('request' in decodeExportTraceRequest(new Uint8Array([0x0a, rs.length, ...rs])));
});

test('another content type is a 415; another method a 405', async () => {
  const res = await post('x', { 'content-type': 'text/plain' });
  assert.equal(res.status, 415);
  const get = await fetch(url);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
});

test('an unknown content encoding is a 415; a body that is not gzip a 400', async () => {
  assert.equal((await post(body([GOOD_SPAN]), { 'content-type': 'application/json', 'content-encoding': 'br' })).status, 415);
  assert.equal((await post(body([GOOD_SPAN]), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status, 400);
});

test('a body over the limit is a 413, compressed or once inflated', async () => {
  const big = body([{ ...GOOD_SPAN, name: 'x'.repeat(70 * 1024) }]);
  assert.equal((await post(big, { 'content-type': 'application/json' })).status, 413);
  const bomb = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
  assert.ok(bomb.length < 64 * 1024);
  const res = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.equal(res.status, 413);
  assert.match((res.json as { message: string }).message, /inflates past/);
});

test('more spans than allowed in one request is a 413', async () => {
  const spans = Array.from({ length: 101 }, (_, i) => ({ ...GOOD_SPAN, spanId: (i + 1).toString(16).padStart(16, '0') }));
  const res = await post(body(spans), { 'content-type': 'application/json' });
  assert.equal(res.status, 413);
  assert.match((res.json as { message: string }).message, /101 spans/);
});

test('a busy consumer gives 503 with Retry-After, and the spans are counted as refused', async () => {
  consumer.busy = true;
  try {
    const res = await post(body([GOOD_SPAN]), { 'content-type': 'application/json' });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.equal((res.json as { code: number }).code, 14);
  } finally {
    consumer.busy = false;
  }
  assert.equal(await counterValue(registry, 'shipwatch_trace_spans_refused_busy_total', { protocol: 'otlp-json' }), 1);
});
