import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../../platform/log.js';
import { deduplicateClientServerSpanIds } from '../../../model/shared-span-ids.js';
import { parentSpanId, type Span } from '../../../model/span.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { startZipkinReceiver, type ZipkinReceiver } from '../../../collector/traces/receivers/zipkin-receiver.js';
import { CollectingConsumer, counterValue } from './support/collecting-consumer.js';

const registry = createRegistry('collector', false);
const consumer = new CollectingConsumer();
let receiver: ZipkinReceiver;
let base: string;

before(async () => {
  receiver = await startZipkinReceiver({
    listen: { host: '127.0.0.1', port: 0 },
    consumer,
    registry,
    log: createLogger({ level: 'silent' }),
    maxBodyBytes: 64 * 1024,
    maxSpansPerRequest: 50,
    retryAfterMs: 1500,
  });
  base = `http://127.0.0.1:${receiver.port}`;
});

after(async () => {
  await receiver.close();
});

async function post(path: string, body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(base + path, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text };
}

/** Sends `body` and returns the spans it produced. */
async function received(path: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<Span[]> {
  const before = consumer.spans.length;
  const res = await post(path, body, headers);
  assert.equal(res.status, 202, res.body);
  assert.equal(res.body, '');
  return consumer.spans.slice(before);
}

const tags = (s: Span) => s.tags.map((t) => [t.key, t.value]);

test('spans from the real Zipkin exporter arrive mapped as Jaeger maps Zipkin', async () => {
  const before = consumer.spans.length;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'host.name': 'node-7', 'team': 'payments' }),
    spanProcessors: [new SimpleSpanProcessor(new ZipkinExporter({ url: `${base}/api/v2/spans` }))],
  });
  const tracer = provider.getTracer('zipkin-test');
  const parent = tracer.startSpan('POST /pay', { kind: SpanKind.SERVER, startTime: [1700000000, 500000000] });
  const child = tracer.startSpan('charge', { kind: SpanKind.CLIENT, startTime: [1700000000, 600000000] }, trace.setSpan(context.active(), parent));
  child.setAttributes({ amount: 42, ok: false, 'http.method': 'POST' });
  child.addEvent('retry', undefined, [1700000000, 650000000]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  child.end([1700000000, 700000000]);
  parent.end([1700000001, 0]);
  await provider.forceFlush();
  await provider.shutdown();

  const spans = (await consumer.waitFor(before + 2)).slice(before);
  const c = spans.find((s) => s.operationName === 'charge')!;
  const p = spans.find((s) => s.operationName === 'POST /pay')!;
  assert.equal(c.traceId, parent.spanContext().traceId);
  assert.equal(c.spanId, child.spanContext().spanId);
  assert.deepEqual(c.references, [{ refType: 'CHILD_OF', traceId: c.traceId, spanId: p.spanId }]);
  assert.equal(c.startTimeMicros, 1700000000600000);
  assert.equal(c.durationMicros, 100000);
  assert.equal(c.flags, 0);
  // Zipkin tags are strings; the exporter's "otel.status_code=ERROR" is not a value the translator knows, but the
  // "error" tag (the status message) makes the status ERROR and stays as a tag.
  assert.deepEqual(tags(c), [
    ['amount', '42'], ['ok', 'false'], ['http.method', 'POST'], ['error', 'card declined'], ['team', 'payments'],
    ['span.kind', 'client'], ['otel.status_code', 'ERROR'], ['error', true],
  ]);
  assert.deepEqual(c.logs, [{ timestampMicros: 1700000000650000, fields: [{ key: 'event', type: 'string', value: 'retry' }] }]);
  assert.equal(c.process.serviceName, 'checkout');
  assert.deepEqual(c.process.tags.find((t) => t.key === 'host.name'), { key: 'host.name', type: 'string', value: 'node-7' });
  assert.equal(p.references.length, 0);
  assert.deepEqual(tags(p).filter(([k]) => k === 'span.kind'), [['span.kind', 'server']]);
  assert.ok(await counterValue(registry, 'shipwatch_trace_spans_received_total', { protocol: 'zipkin-v2-json' }) >= 2);
});

// Envoy sidecars: ingress server A; frontend's egress client B (parent A); backend's ingress server B again
// (shared: the same id, parent A); backend's egress client C (parent B).
const TRACE = '463ac35c9f6413ad48485a3953bb6124';
const A = 'a000000000000001';
const B = 'b000000000000002';
const C = 'c000000000000003';
const envoy = [
  { traceId: TRACE, id: A, name: 'ingress', kind: 'SERVER', timestamp: 1700000000000000, duration: 9000, localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 }, tags: { 'http.status_code': '200', 'node_id': 'sidecar~10.0.0.1' } },
  { traceId: TRACE, id: B, parentId: A, name: 'egress backend', kind: 'CLIENT', timestamp: 1700000000001000, duration: 7000, localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1' }, remoteEndpoint: { serviceName: 'backend', ipv4: '10.0.0.2', port: 9090 } },
  { traceId: TRACE, id: B, parentId: A, name: 'ingress', kind: 'SERVER', shared: true, timestamp: 1700000000002000, duration: 5000, localEndpoint: { serviceName: 'backend', ipv6: '2001:DB8:0:0:0:0:0:1' } },
  { traceId: TRACE, id: C, parentId: B, name: 'egress db', kind: 'CLIENT', timestamp: 1700000000003000, duration: 1000, localEndpoint: { serviceName: 'backend' }, annotations: [{ timestamp: 1700000000003500, value: 'query sent' }] },
];

function assertEnvoyTrace(spans: Span[]): void {
  assert.equal(spans.length, 4);
  // As stored: two spans carry B, one client (frontend) and one server (backend).
  const withB = spans.filter((s) => s.spanId === B).map((s) => [s.process.serviceName, tags(s).find(([k]) => k === 'span.kind')![1]]);
  assert.deepEqual(withB.sort(), [['backend', 'server'], ['frontend', 'client']]);
  // As Jaeger reads it back: the server half gets its own id, under the client half; its children follow it.
  const adjusted = deduplicateClientServerSpanIds(spans);
  const byName = (service: string, name: string) => adjusted.find((s) => s.process.serviceName === service && s.operationName === name)!;
  const root = byName('frontend', 'ingress');
  const client = byName('frontend', 'egress backend');
  const server = byName('backend', 'ingress');
  const db = byName('backend', 'egress db');
  assert.equal(root.spanId, A);
  assert.equal(parentSpanId(root), undefined);
  assert.equal(client.spanId, B);
  assert.equal(parentSpanId(client), A);
  assert.equal(server.spanId, '0000000000000001');
  assert.equal(parentSpanId(server), B);
  assert.equal(db.spanId, C);
  assert.equal(parentSpanId(db), '0000000000000001');
  assert.equal(new Set(adjusted.map((s) => s.spanId)).size, 4);
  assert.ok(adjusted.every((s) => s.traceId === TRACE));
  // Endpoints become attributes; the IPv6 address in Go's canonical form.
  assert.deepEqual(tags(server).find(([k]) => k === 'net.host.ip'), ['net.host.ip', '2001:db8::1']);
  assert.deepEqual(tags(client).filter(([k]) => String(k).startsWith('peer') || String(k).startsWith('net.peer')), [['peer.service', 'backend'], ['net.peer.ip', '10.0.0.2'], ['net.peer.port', 9090]]);
  assert.deepEqual(db.logs, [{ timestampMicros: 1700000000003500, fields: [{ key: 'event', type: 'string', value: 'query sent' }] }]);
}

test('Envoy-style shared client/server spans come out as one trace with the right parents', async () => {
  assertEnvoyTrace(await received('/api/v2/spans', JSON.stringify(envoy)));
});

test('the same Envoy trace gzip-compressed is taken alike', async () => {
  assertEnvoyTrace(await received('/api/v2/spans', gzipSync(JSON.stringify(envoy)), { 'content-type': 'application/json', 'content-encoding': 'gzip' }));
});

// ---- a tiny proto3 writer for ListOfSpans ----
const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = BigInt(n);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};
const len = (f: number, b: number[]) => [(f << 3) | 2, ...varint(b.length), ...b];
const str = (f: number, s: string) => len(f, [...Buffer.from(s)]);
const hex = (f: number, h: string) => len(f, [...Buffer.from(h, 'hex')]);
const fixed64 = (f: number, n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return [(f << 3) | 1, ...b];
};
const KIND: Record<string, number> = { CLIENT: 1, SERVER: 2 };

function protoOf(spans: typeof envoy): Uint8Array {
  const out: number[] = [];
  for (const s of spans as Array<Record<string, any>>) {
    const ep = (e: Record<string, any>) => [
      ...(e.serviceName ? str(1, e.serviceName) : []),
      ...(e.ipv4 ? len(2, e.ipv4.split('.').map(Number)) : []),
      ...(e.ipv6 ? len(3, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) : []),
      ...(e.port ? [(4 << 3) | 0, ...varint(e.port)] : []),
    ];
    const body = [
      ...hex(1, s.traceId), ...(s.parentId ? hex(2, s.parentId) : []), ...hex(3, s.id),
      (4 << 3) | 0, KIND[s.kind]!, ...str(5, s.name), ...fixed64(6, s.timestamp), (7 << 3) | 0, ...varint(s.duration),
      ...len(8, ep(s.localEndpoint)), ...(s.remoteEndpoint ? len(9, ep(s.remoteEndpoint)) : []),
      ...(s.annotations ?? []).flatMap((a: { timestamp: number; value: string }) => len(10, [...fixed64(1, a.timestamp), ...str(2, a.value)])),
      ...Object.entries(s.tags ?? {}).flatMap(([k, v]) => len(11, [...str(1, k), ...str(2, v as string)])),
      ...(s.shared ? [(13 << 3) | 0, 1] : []),
    ];
    out.push(...len(1, body));
  }
  return Uint8Array.from(out);
}

test('the Envoy trace as Zipkin proto3 maps exactly as its JSON form', async () => {
  const fromProto = await received('/api/v2/spans', protoOf(envoy), { 'content-type': 'application/x-protobuf' });
  assertEnvoyTrace(fromProto);
  const fromJson = await received('/api/v2/spans', JSON.stringify(envoy));
  assert.deepEqual(fromProto, fromJson);
});

test('v1 JSON: core annotations give kind, service and times; binary annotations tags and status', async () => {
  const v1 = [
    {
      traceId: '48485a3953bb6124', id: '6b221d5bc9e6496c', parentId: '48485a3953bb6124', name: 'get /users',
      annotations: [
        { timestamp: 1700000000100000, value: 'cs', endpoint: { serviceName: 'web', ipv4: '10.1.0.1', port: 80 } },
        { timestamp: 1700000000150000, value: 'wire.send', endpoint: { serviceName: 'web' } },
        { timestamp: 1700000000300000, value: 'cr', endpoint: { serviceName: 'web', ipv4: '10.1.0.1', port: 80 } },
      ],
      binaryAnnotations: [
        { key: 'http.status_code', value: '503', endpoint: { serviceName: 'web' } },
        { key: 'lc', value: 'httpclient' },
        { key: 'sa', value: true, endpoint: { serviceName: 'users', ipv4: '10.1.0.2' } },
      ],
    },
    {
      traceId: '48485a3953bb6124', id: '6b221d5bc9e6496c', parentId: '48485a3953bb6124', name: 'get /users',
      timestamp: 1700000000120000, duration: 150000,
      annotations: [
        { timestamp: 1700000000120000, value: 'sr', endpoint: { serviceName: 'users' } },
        { timestamp: 1700000000270000, value: 'ss', endpoint: { serviceName: 'users' } },
      ],
      binaryAnnotations: [{ key: 'error', value: 'timeout' }],
    },
  ];
  const spans = await received('/api/v1/spans', JSON.stringify(v1));
  assert.equal(spans.length, 2);
  const [client, server] = spans as [Span, Span];
  assert.equal(client.traceId, '000000000000000048485a3953bb6124');
  assert.equal(client.process.serviceName, 'web');
  assert.deepEqual(client.process.tags, [{ key: 'ipv4', type: 'string', value: '10.1.0.1' }, { key: 'port', type: 'string', value: '80' }]);
  assert.equal(client.startTimeMicros, 1700000000100000);
  assert.equal(client.durationMicros, 200000);
  assert.deepEqual(tags(client), [
    ['http.status_code', '503'], ['component', 'httpclient'], ['sa', 'true'],
    ['span.kind', 'client'], ['otel.status_code', 'ERROR'], ['error', true],
  ]);
  assert.deepEqual(client.logs, [{ timestampMicros: 1700000000150000, fields: [{ key: 'event', type: 'string', value: 'wire.send' }] }]);
  assert.equal(server.process.serviceName, 'users');
  assert.equal(server.spanId, client.spanId);
  assert.equal(server.startTimeMicros, 1700000000120000);
  assert.equal(server.durationMicros, 150000);
  assert.deepEqual(tags(server), [['span.kind', 'server'], ['otel.status_code', 'ERROR'], ['error', true]]);
  const adjusted = deduplicateClientServerSpanIds(spans);
  assert.equal(parentSpanId(adjusted[1]!), client.spanId);
});

test('malformed JSON, bad ids and bad protobuf are 400s naming the problem', async () => {
  const bad = await post('/api/v2/spans', '[{"traceId":');
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).message, /malformed JSON/);
  const badId = await post('/api/v2/spans', JSON.stringify([{ ...envoy[0], id: 'xyz' }]));
  assert.equal(badId.status, 400);
  assert.match(JSON.parse(badId.body).message, /span 0: id is not 1 to 16 hex digits/);
  const zeroTrace = await post('/api/v2/spans', JSON.stringify([{ ...envoy[0], traceId: '0' }]));
  assert.equal(zeroTrace.status, 400);
  assert.match(JSON.parse(zeroTrace.body).message, /traceId is missing or all zeros/);
  const notArray = await post('/api/v2/spans', '{}');
  assert.equal(notArray.status, 400);
  const proto = await post('/api/v2/spans', Uint8Array.from([0x0a, 0x20, 1]), { 'content-type': 'application/x-protobuf' });
  assert.equal(proto.status, 400);
  assert.match(JSON.parse(proto.body).message, /invalid Zipkin protobuf/);
  const v1 = await post('/api/v1/spans', JSON.stringify([{ traceId: '123', id: '6b221d5bc9e6496c' }]));
  assert.equal(v1.status, 400);
  assert.match(JSON.parse(v1.body).message, /traceId is not 16 or 32 hex digits/);
});

test('another content type is a 415, v1 Thrift included', async () => {
  assert.equal((await post('/api/v2/spans', 'x', { 'content-type': 'text/plain' })).status, 415);
  assert.equal((await post('/api/v1/spans', 'x', { 'content-type': 'application/x-thrift' })).status, 415);
});

test('too large a body or too many spans is a 413', async () => {
  assert.equal((await post('/api/v2/spans', JSON.stringify([{ ...envoy[0], name: 'x'.repeat(70000) }]))).status, 413);
  const many = Array.from({ length: 51 }, (_, i) => ({ ...envoy[0], id: (i + 1).toString(16) }));
  const res = await post('/api/v2/spans', JSON.stringify(many));
  assert.equal(res.status, 413);
  assert.match(JSON.parse(res.body).message, /51 spans/);
});

test('a busy consumer gives 503 with Retry-After', async () => {
  consumer.busy = true;
  try {
    const res = await post('/api/v2/spans', JSON.stringify(envoy));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
  } finally {
    consumer.busy = false;
  }
  assert.equal(await counterValue(registry, 'shipwatch_trace_spans_refused_busy_total', { protocol: 'zipkin-v2-json' }), 4);
});
