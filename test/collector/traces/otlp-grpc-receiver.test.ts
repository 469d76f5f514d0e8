import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import type { Span } from '../../../model/span.js';
import { ProtoReader } from '../../../collector/traces/codecs/otlp/protobuf-reader.js';
import { startGrpcServer, type RunningGrpcServer } from '../../../collector/traces/receivers/grpc-server.js';
import { OTLP_TRACE_SERVICE, otlpGrpcTraceService } from '../../../collector/traces/receivers/otlp-grpc-receiver.js';
import { startOtlpHttpReceiver, type OtlpHttpReceiver } from '../../../collector/traces/receivers/otlp-http-receiver.js';
import { CollectingConsumer, counterValue } from './support/collecting-consumer.js';

const MAX_MESSAGE = 64 * 1024;
const registry = createRegistry('collector', false);
const consumer = new CollectingConsumer();
const httpConsumer = new CollectingConsumer();
let server: RunningGrpcServer;
let authServer: RunningGrpcServer;
let http: OtlpHttpReceiver;
let target: string;

function service(c: CollectingConsumer, maxSpans = 100) {
  return otlpGrpcTraceService({ consumer: c, registry, log: silentLogger, maxSpansPerRequest: maxSpans, retryAfterMs: 2500 });
}

before(async () => {
  server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, maxMessageBytes: MAX_MESSAGE, authToken: '', log: silentLogger, services: [service(consumer)] });
  authServer = await startGrpcServer({
    listen: { host: '127.0.0.1', port: 0 }, maxMessageBytes: MAX_MESSAGE, authToken: 's3cret', log: silentLogger, services: [service(consumer)],
  });
  http = await startOtlpHttpReceiver({
    listen: { host: '127.0.0.1', port: 0 }, consumer: httpConsumer, registry: createRegistry('collector', false), log: silentLogger,
    maxBodyBytes: MAX_MESSAGE, maxSpansPerRequest: 100, retryAfterMs: 2000, authToken: '',
  });
  target = `127.0.0.1:${server.port}`;
});

after(async () => {
  await server.close();
  await authServer.close();
  await http.close();
});

/** Spans made by the real SDK: a server span and a client child with attributes of every type, an event, a link, an error. */
async function sdkSpans(service: string): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'h1', 'process.pid': 4242 }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('test-scope', '1.2.3');
  const parent = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER, startTime: [1700000000, 123456789] });
  const producer = tracer.startSpan('enqueue', { root: true, kind: SpanKind.PRODUCER, startTime: [1700000000, 0] });
  producer.end([1700000000, 1000]);
  const child = tracer.startSpan('SELECT orders', {
    kind: SpanKind.CLIENT, startTime: [1700000000, 200000000],
    links: [{ context: producer.spanContext(), attributes: { 'messaging.system': 'kafka' } }],
  }, trace.setSpan(context.active(), parent));
  child.setAttributes({ str: 'text', int: 42, neg: -7, dbl: 2.5, bool: true, strs: ['a', 'b'], ints: [1, 2] });
  child.addEvent('retry', { attempt: 2, reason: 'timeout' }, [1700000000, 250000999]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock' });
  child.end([1700000000, 300000500]);
  parent.setStatus({ code: SpanStatusCode.OK });
  parent.end([1700000001, 0]);
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

function exportThrough(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) => {
    exporter.export(spans, (result) => (result.code === 0 ? resolve() : reject(result.error ?? new Error('export failed'))));
  });
}

const byId = (spans: Span[]): Span[] => [...spans].sort((a, b) => (a.spanId < b.spanId ? -1 : 1));

for (const compression of ['none', 'gzip'] as const) {
  test(`spans from the real OTLP/gRPC exporter (compression ${compression}) are the spans the same SDK spans make over OTLP/HTTP protobuf`, async () => {
    consumer.spans.length = 0;
    httpConsumer.spans.length = 0;
    const spans = await sdkSpans(`grpc-${compression}`);
    const grpcExporter = new OtlpGrpcExporter({ url: `http://${target}`, compression: compression as never });
    await exportThrough(grpcExporter, spans);
    await grpcExporter.shutdown();
    const httpExporter = new OtlpProtoExporter({ url: `http://127.0.0.1:${http.port}/v1/traces` });
    await exportThrough(httpExporter, spans);
    await httpExporter.shutdown();
    const got = byId(await consumer.waitFor(3));
    assert.equal(got.length, 3);
    assert.deepEqual(got, byId(await httpConsumer.waitFor(3)));
    const child = got.find((s) => s.operationName === 'SELECT orders')!;
    assert.equal(child.process.serviceName, `grpc-${compression}`);
    assert.equal(child.durationMicros, 100000);
    assert.deepEqual(child.tags.find((t) => t.key === 'int'), { key: 'int', type: 'int64', value: 42 });
    assert.deepEqual(child.logs[0]!.fields[0], { key: 'event', type: 'string', value: 'retry' });
  });
}

test('the received spans are counted under protocol otlp-grpc', async () => {
  assert.ok(await counterValue(registry, 'shipwatch_trace_spans_received_total', { protocol: 'otlp-grpc' }) >= 6);
  assert.ok(await counterValue(registry, 'shipwatch_trace_requests_received_total', { protocol: 'otlp-grpc' }) >= 2);
});

// A raw client: the message's bytes in and out, the status, its details trailer.
const identity = (b: Buffer): Buffer => b;
const RawClient = grpc.makeGenericClientConstructor({
  Export: {
    path: `/${OTLP_TRACE_SERVICE}/Export`, requestStream: false, responseStream: false,
    requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
  },
}, 'TraceService');

type Outcome = { ok: true; bytes: Buffer } | { ok: false; error: grpc.ServiceError };

function exportRaw(message: Buffer, options: { port?: number; metadata?: grpc.Metadata; gzip?: boolean } = {}): Promise<Outcome> {
  const client = new RawClient(`127.0.0.1:${options.port ?? server.port}`, grpc.credentials.createInsecure(), {
    'grpc.default_compression_algorithm': options.gzip ? 2 : 0,
  });
  return new Promise((resolve) => {
    (client as unknown as { Export: (m: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void })
      .Export(message, options.metadata ?? new grpc.Metadata(), (err, res) => {
        client.close();
        resolve(err ? { ok: false, error: err } : { ok: true, bytes: res! });
      });
  });
}

/** A protobuf field: key, then a varint, 8 fixed bytes, or a length-delimited value. */
function field(n: number, value: number | bigint | Uint8Array | string): Buffer {
  const varint = (v: bigint): number[] => {
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return out;
  };
  if (typeof value === 'number') return Buffer.from([...varint(BigInt(n << 3)), ...varint(BigInt(value))]);
  if (typeof value === 'bigint') {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(value);
    return Buffer.from([...varint(BigInt((n << 3) | 1)), ...b]);
  }
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from([...varint(BigInt((n << 3) | 2)), ...varint(BigInt(bytes.length))]), bytes]);
}

function otlpSpan(traceId: Buffer, spanId: Buffer, name: string): Buffer {
  return Buffer.concat([field(1, traceId), field(2, spanId), field(5, name), field(7, 1_700_000_000_000_000_000n), field(8, 1_700_000_000_001_000_000n)]);
}

function exportRequest(spans: Buffer[]): Buffer {
  const resource = field(1, field(1, Buffer.concat([field(1, 'service.name'), field(2, field(1, 'raw-svc'))])));
  return field(1, Buffer.concat([resource, field(2, Buffer.concat(spans.map((s) => field(2, s))))]));
}

const TRACE = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');

test('a request with bad spans is answered with a partial_success counting and naming them; the good ones are kept', async () => {
  consumer.spans.length = 0;
  const res = await exportRaw(exportRequest([
    otlpSpan(TRACE, Buffer.from('eee19b7ec3c1b174', 'hex'), 'good'),
    otlpSpan(Buffer.from('0102', 'hex'), Buffer.from('eee19b7ec3c1b175', 'hex'), 'short trace id'),
  ]));
  assert.ok(res.ok, res.ok ? '' : res.error.message);
  // ExportTraceServiceResponse{partial_success(1){rejected_spans(1), error_message(2)}}
  const r = new ProtoReader(res.bytes);
  assert.equal(r.tag(), (1 << 3) | 2);
  const outer = r.enter();
  let rejected = 0;
  let message = '';
  while (!r.done()) {
    const key = r.tag();
    if (key >>> 3 === 1) rejected = r.varint32();
    else if (key >>> 3 === 2) message = r.string();
    else r.skip(key & 7);
  }
  r.leave(outer);
  assert.equal(r.error, undefined);
  assert.equal(rejected, 1);
  assert.match(message, /trace/i);
  assert.deepEqual(consumer.spans.map((s) => s.operationName), ['good']);
});

test('a fully good request is answered with an empty ExportTraceServiceResponse, with or without gzip', async () => {
  for (const gzip of [false, true]) {
    const res = await exportRaw(exportRequest([otlpSpan(TRACE, Buffer.from('eee19b7ec3c1b176', 'hex'), 'ok')]), { gzip });
    assert.ok(res.ok);
    assert.equal(res.bytes.length, 0);
  }
});

test('a truncated message is INVALID_ARGUMENT naming the problem', async () => {
  const whole = exportRequest([otlpSpan(TRACE, Buffer.from('eee19b7ec3c1b177', 'hex'), 'cut')]);
  const res = await exportRaw(whole.subarray(0, whole.length - 7));
  assert.ok(!res.ok);
  assert.equal(res.error.code, grpc.status.INVALID_ARGUMENT);
  assert.match(res.error.details, /not an ExportTraceServiceRequest: .*past the end/);
});

test('the bytes of another message (a Jaeger SamplingStrategyResponse) are INVALID_ARGUMENT', async () => {
  // SamplingStrategyResponse{strategyType: RATE_LIMITING, rateLimitingSampling{maxTracesPerSecond: 5}}
  const res = await exportRaw(Buffer.concat([field(1, 1), field(3, field(1, 5))]));
  assert.ok(!res.ok);
  assert.equal(res.error.code, grpc.status.INVALID_ARGUMENT);
  assert.match(res.error.details, /wire type/);
});

test('a message over the size limit is RESOURCE_EXHAUSTED, compressed or not', async () => {
  const spans = Array.from({ length: 40 }, (_, i) => otlpSpan(TRACE, Buffer.from(`eee19b7ec3c1${String(i).padStart(4, '0')}`, 'hex'), 'x'.repeat(2000)));
  const big = exportRequest(spans);
  assert.ok(big.length > MAX_MESSAGE && gzipSync(big).length < MAX_MESSAGE);
  for (const gzip of [false, true]) {
    const res = await exportRaw(big, { gzip });
    assert.ok(!res.ok);
    assert.equal(res.error.code, grpc.status.RESOURCE_EXHAUSTED, res.error.message);
  }
});

test('more spans than COLLECTOR_OTLP_MAX_SPANS is RESOURCE_EXHAUSTED without RetryInfo', async () => {
  const spans = Array.from({ length: 101 }, (_, i) => otlpSpan(TRACE, Buffer.from(`aee19b7ec3c1${String(i).padStart(4, '0')}`, 'hex'), 'n'));
  const res = await exportRaw(exportRequest(spans));
  assert.ok(!res.ok);
  assert.equal(res.error.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.match(res.error.details, /101 spans .*COLLECTOR_OTLP_MAX_SPANS/);
  assert.equal(res.error.metadata.get('grpc-status-details-bin').length, 0);
});

test('while span storage is busy the answer is UNAVAILABLE with a google.rpc.RetryInfo of the configured delay', async () => {
  consumer.busy = true;
  try {
    const res = await exportRaw(exportRequest([otlpSpan(TRACE, Buffer.from('eee19b7ec3c1b178', 'hex'), 'busy')]));
    assert.ok(!res.ok);
    assert.equal(res.error.code, grpc.status.UNAVAILABLE);
    const details = res.error.metadata.get('grpc-status-details-bin')[0] as Buffer;
    assert.ok(Buffer.isBuffer(details));
    assert.ok(details.includes(Buffer.from('type.googleapis.com/google.rpc.RetryInfo')));
    // RetryInfo{retry_delay(1): Duration{seconds(1): 2, nanos(2): 500_000_000}}
    assert.ok(details.includes(Buffer.concat([field(1, 2), field(2, 500_000_000)])));
    assert.ok(await counterValue(registry, 'shipwatch_trace_spans_refused_busy_total', { protocol: 'otlp-grpc' }) >= 1);
  } finally {
    consumer.busy = false;
  }
});

test('the real exporter sees UNAVAILABLE while storage is busy (it does not retry by itself), and is taken once there is room', async () => {
  consumer.spans.length = 0;
  consumer.busy = true;
  const spans = await sdkSpans('refused');
  const exporter = new OtlpGrpcExporter({ url: `http://${target}` });
  try {
    const refused = await exportThrough(exporter, spans).then(() => undefined, (err: grpc.ServiceError) => err);
    assert.equal(refused?.code, grpc.status.UNAVAILABLE);
    assert.match(refused?.details ?? '', /cannot keep up/);
    assert.equal(consumer.refused >= 3, true);
  } finally {
    consumer.busy = false;
  }
  await exportThrough(exporter, spans);
  await exporter.shutdown();
  assert.equal((await consumer.waitFor(3)).length, 3);
});

test('with COLLECTOR_AUTH_TOKEN set, calls need authorization: Bearer <token> metadata, else UNAUTHENTICATED', async () => {
  const message = exportRequest([otlpSpan(TRACE, Buffer.from('eee19b7ec3c1b179', 'hex'), 'auth')]);
  const none = await exportRaw(message, { port: authServer.port });
  assert.ok(!none.ok);
  assert.equal(none.error.code, grpc.status.UNAUTHENTICATED);
  const wrong = new grpc.Metadata();
  wrong.set('authorization', 'Bearer nope');
  const bad = await exportRaw(message, { port: authServer.port, metadata: wrong });
  assert.ok(!bad.ok);
  assert.equal(bad.error.code, grpc.status.UNAUTHENTICATED);
  const right = new grpc.Metadata();
  right.set('authorization', 'Bearer s3cret');
  assert.ok((await exportRaw(message, { port: authServer.port, metadata: right })).ok);
  // The real exporter with its metadata option.
  consumer.spans.length = 0;
  const exporter = new OtlpGrpcExporter({ url: `http://127.0.0.1:${authServer.port}`, metadata: right });
  await exportThrough(exporter, await sdkSpans('with-token'));
  await exporter.shutdown();
  assert.equal((await consumer.waitFor(3)).length, 3);
});

/** A gRPC call over a raw HTTP/2 stream: what a broken client sends, the status the server ends with. */
function rawCall(port: number, body: Buffer, headers: Record<string, string> = {}): Promise<{ status?: number; grpcStatus?: string; grpcMessage?: string }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST', ':path': `/${OTLP_TRACE_SERVICE}/Export`, 'content-type': 'application/grpc', te: 'trailers', ...headers,
    });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => { head = h; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', () => {});
    req.on('end', () => {
      session.close();
      const status = (head['grpc-status'] ?? trailers['grpc-status']) as string | undefined;
      const message = (head['grpc-message'] ?? trailers['grpc-message']) as string | undefined;
      resolve({ status: head[':status'] as number | undefined, grpcStatus: status, grpcMessage: message === undefined ? undefined : decodeURIComponent(message) });
    });
    req.on('error', (err) => {
      session.close();
      reject(err);
    });
    req.end(body);
  });
}

/** A gRPC length-prefixed message: the compressed flag, the length it claims, the bytes. */
function frame(message: Buffer, compressed = false, claimed = message.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(claimed, 1);
  return Buffer.concat([head, message]);
}

test('a frame shorter than the length it claims, and a cut frame header, end with an error status', async () => {
  const cut = await rawCall(server.port, frame(Buffer.from([0x0a, 0x00]), false, 50));
  assert.equal(cut.status, 200);
  assert.notEqual(cut.grpcStatus, undefined);
  assert.notEqual(cut.grpcStatus, '0');
  const header = await rawCall(server.port, Buffer.from([0, 0, 0]));
  assert.notEqual(header.grpcStatus, undefined);
  assert.notEqual(header.grpcStatus, '0');
});

test('a message compressed with an encoding the server does not know (snappy, bogus) is UNIMPLEMENTED', async () => {
  for (const encoding of ['snappy', 'bogus']) {
    const res = await rawCall(server.port, frame(Buffer.from([1, 2, 3]), true), { 'grpc-encoding': encoding });
    assert.equal(res.grpcStatus, String(grpc.status.UNIMPLEMENTED), JSON.stringify(res));
    assert.match(res.grpcMessage ?? '', new RegExp(`unsupported encoding "${encoding}"`));
  }
  const badGzip = await rawCall(server.port, frame(Buffer.from([1, 2, 3]), true), { 'grpc-encoding': 'gzip' });
  assert.equal(badGzip.grpcStatus, String(grpc.status.INTERNAL));
});

test('a garbage client (HTTP/1.1, a broken HTTP/2 preface) is dropped and the server keeps serving', async () => {
  for (const garbage of [
    Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n\r\n${'x'.repeat(100)}`),
    Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 4, 9, 9, 9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])]),
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1]), // a TLS ClientHello's start
  ]) {
    await new Promise<void>((resolve) => {
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write(garbage));
      const done = (): void => {
        socket.destroy();
        resolve();
      };
      socket.on('close', done);
      socket.on('error', done);
      setTimeout(done, 1000).unref();
    });
  }
  const res = await exportRaw(exportRequest([otlpSpan(TRACE, Buffer.from('eee19b7ec3c1b17a', 'hex'), 'still up')]));
  assert.ok(res.ok);
});
