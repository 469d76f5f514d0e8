import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import type { Span } from '../../../model/span.js';
import { decodeJaegerBatch } from '../../../model/jaeger-thrift/jaeger-thrift.js';
import { decodePostSpansRequest } from '../../../collector/traces/codecs/jaeger-proto/jaeger-proto-decode.js';
import { startGrpcServer, type RunningGrpcServer } from '../../../collector/traces/receivers/grpc-server.js';
import { jaegerGrpcCollectorService, jaegerGrpcSamplingService } from '../../../collector/traces/receivers/jaeger-grpc-receiver.js';
import type { SamplingStrategy } from '../../../model/sampling-strategy.js';
import { CollectingConsumer, counterValue } from './support/collecting-consumer.js';
import { loadJaegerApiV2, type JaegerApiV2 } from './support/jaeger-api-v2-protos.js';
import { encodeBatch, REF, TAG, type TBatch, type TSpan, type TTag } from './support/thrift-writer.js';

const api = await loadJaegerApiV2();
const skip = 'skip' in api ? api.skip : false;

const MAX_MESSAGE = 64 * 1024;
const byId = (spans: Span[]): Span[] => [...spans].sort((a, b) => (a.traceId + a.spanId < b.traceId + b.spanId ? -1 : 1));

// Thrift-shaped input → the api_v2 proto message proto-loader encodes (keepCase, longs and enums as strings).
const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, v));
  return b;
};
const traceIdBytes = (high: bigint, low: bigint): Buffer => Buffer.concat([u64(high), u64(low)]);
const timestamp = (micros: bigint) => ({ seconds: String(micros / 1_000_000n), nanos: Number(micros % 1_000_000n) * 1000 });
const duration = (micros: bigint) => ({ seconds: String(micros / 1_000_000n), nanos: Number(micros % 1_000_000n) * 1000 });
const V_TYPE = ['STRING', 'FLOAT64', 'BOOL', 'INT64', 'BINARY'];

function protoTag(t: TTag): Record<string, unknown> {
  const kv: Record<string, unknown> = { key: t.key, v_type: V_TYPE[t.vType] };
  if (t.vType === TAG.STRING) kv.v_str = t.vStr ?? '';
  if (t.vType === TAG.DOUBLE) kv.v_float64 = t.vDouble ?? 0;
  if (t.vType === TAG.BOOL) kv.v_bool = t.vBool ?? false;
  if (t.vType === TAG.LONG) kv.v_int64 = String(t.vLong ?? 0n);
  if (t.vType === TAG.BINARY) kv.v_binary = Buffer.from(t.vBinary ?? []);
  return kv;
}

function protoSpan(s: TSpan): Record<string, unknown> {
  const references = (s.references ?? []).map((r) => ({
    trace_id: traceIdBytes(r.traceIdHigh, r.traceIdLow), span_id: u64(r.spanId), ref_type: r.refType === REF.CHILD_OF ? 'CHILD_OF' : 'FOLLOWS_FROM',
  }));
  // The proto has no parentSpanId: Jaeger's clients send the parent as the first CHILD_OF reference.
  if (s.parentSpanId !== 0n) references.unshift({ trace_id: traceIdBytes(s.traceIdHigh, s.traceIdLow), span_id: u64(s.parentSpanId), ref_type: 'CHILD_OF' });
  return {
    trace_id: traceIdBytes(s.traceIdHigh, s.traceIdLow), span_id: u64(s.spanId), operation_name: s.operationName, references, flags: s.flags,
    start_time: timestamp(s.startTime), duration: duration(s.duration), tags: (s.tags ?? []).map(protoTag),
    logs: (s.logs ?? []).map((l) => ({ timestamp: timestamp(l.timestamp), fields: l.fields.map(protoTag) })),
  };
}

function protoBatch(b: TBatch): Record<string, unknown> {
  return { spans: b.spans.map(protoSpan), process: { service_name: b.process.serviceName, tags: (b.process.tags ?? []).map(protoTag) } };
}

const str = (key: string, v: string): TTag => ({ key, vType: TAG.STRING, vStr: v });
const T0 = 1_700_000_000_000_000n;

/** A batch exercising Jaeger's translation rules: tag types, kinds, statuses, references, warnings, ids, names. */
const PARITY_BATCH: TBatch = {
  process: {
    serviceName: 'ledger',
    tags: [str('hostname', 'box-1'), str('jaeger.version', 'Go-2.30.0'), { key: 'ip', vType: TAG.LONG, vLong: 167772161n }, str('client-uuid', 'u-1')],
  },
  spans: [
    {
      traceIdHigh: 0x0123456789abcdefn, traceIdLow: -2n, spanId: 1n, parentSpanId: 0n, operationName: 'GET /ledger', flags: 1,
      startTime: T0, duration: 1234n,
      tags: [
        str('span.kind', 'server'), { key: 'http.status_code', vType: TAG.LONG, vLong: 503n }, str('http.status_message', 'down'),
        { key: 'big', vType: TAG.LONG, vLong: 2n ** 63n - 1n }, { key: 'neg', vType: TAG.LONG, vLong: -(2n ** 63n) },
        { key: 'ratio', vType: TAG.DOUBLE, vDouble: -1.5e300 }, { key: 'ok', vType: TAG.BOOL, vBool: false },
        { key: 'blob', vType: TAG.BINARY, vBinary: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }, str('dup', 'first'), str('dup', 'second'),
        str('unicode', 'hello ✓'), str('empty', ''),
      ],
      logs: [{ timestamp: T0 + 10n, fields: [str('message', 'hi'), str('event', 'cache-miss'), { key: 'n', vType: TAG.LONG, vLong: 3n }] }],
    },
    {
      traceIdHigh: 0x0123456789abcdefn, traceIdLow: -2n, spanId: 2n, parentSpanId: 1n, operationName: 'SELECT', flags: 3,
      startTime: T0 + 100n, duration: 500n,
      references: [{ refType: REF.FOLLOWS_FROM, traceIdHigh: 0n, traceIdLow: 9n, spanId: 8n }],
      tags: [str('span.kind', 'client'), { key: 'error', vType: TAG.BOOL, vBool: true }, str('otel.status_description', 'deadlock'), str('db.system', 'pg')],
    },
    {
      traceIdHigh: 0n, traceIdLow: 77n, spanId: -3n, parentSpanId: 0n, operationName: '', flags: 0, startTime: T0 + 200n, duration: 0n,
      references: [{ refType: REF.FOLLOWS_FROM, traceIdHigh: 0n, traceIdLow: 77n, spanId: 5n }, { refType: REF.CHILD_OF, traceIdHigh: 0n, traceIdLow: 77n, spanId: 6n }],
      tags: [str('otel.status_code', 'ok'), str('@jaeger@warnings', 'sent by the client'), str('span.kind', 'sideways')],
    },
    {
      traceIdHigh: -1n, traceIdLow: -1n, spanId: 2n ** 63n, parentSpanId: 0n, operationName: 'logs', flags: 0, startTime: T0 + 300n, duration: 1n,
      tags: [str('http.status_code', '404'), str('span.kind', 'client')],
      logs: [{ timestamp: T0 + 301n, fields: [str('event', '')] }, { timestamp: T0 + 302n, fields: [] }],
    },
  ],
};

type Unary = (request: Record<string, unknown>, metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void) => void;

describe('the Jaeger gRPC receiver (jaeger.api_v2.CollectorService/PostSpans, SamplingManager)', { skip }, () => {
  const registry = createRegistry('collector', false);
  const consumer = new CollectingConsumer();
  let server: RunningGrpcServer;
  let authServer: RunningGrpcServer;
  let jaeger: JaegerApiV2;
  let postSpansMethod: MethodDefinition<object, object>;
  const strategy: SamplingStrategy = {
    strategyType: 'PROBABILISTIC',
    probabilisticSampling: { samplingRate: 0.25 },
    operationSampling: {
      defaultSamplingProbability: 0.25, defaultLowerBoundTracesPerSecond: 0.5, defaultUpperBoundTracesPerSecond: 10,
      perOperationStrategies: [{ operation: 'GET /ledger', probabilisticSampling: { samplingRate: 1 } }],
    },
  };
  const asked: string[] = [];

  before(async () => {
    jaeger = api as JaegerApiV2;
    postSpansMethod = (jaeger.definition['jaeger.api_v2.CollectorService'] as Record<string, MethodDefinition<object, object>>).PostSpans!;
    const services = () => [
      jaegerGrpcCollectorService({ consumer, registry, log: silentLogger, maxSpansPerBatch: 50, retryAfterMs: 1200 }),
      jaegerGrpcSamplingService({
        strategyFor: (service) => {
          asked.push(service);
          return service === 'rate-limited' ? { strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 7 } } : strategy;
        },
      }),
    ];
    server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, maxMessageBytes: MAX_MESSAGE, authToken: '', log: silentLogger, services: services() });
    authServer = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, maxMessageBytes: MAX_MESSAGE, authToken: 'tok', log: silentLogger, services: services() });
  });
  after(async () => {
    await server.close();
    await authServer.close();
  });

  function call(service: 'CollectorService' | 'SamplingManager', method: string, request: Record<string, unknown>, options: { port?: number; metadata?: grpc.Metadata; gzip?: boolean } = {}): Promise<{ ok: true; res: Record<string, unknown> } | { ok: false; error: grpc.ServiceError }> {
    const client = new jaeger[service](`127.0.0.1:${options.port ?? server.port}`, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': options.gzip === true ? 2 : 0,
    });
    return new Promise((resolve) => {
      ((client as unknown as Record<string, Unary>)[method]!).call(client, request, options.metadata ?? new grpc.Metadata(), (err, res) => {
        client.close();
        resolve(err ? { ok: false, error: err } : { ok: true, res: res! });
      });
    });
  }

  /** The raw bytes of a PostSpansRequest, as the real client would encode it. */
  const encodePostSpans = (batch: Record<string, unknown>): Buffer => postSpansMethod.requestSerialize({ batch });

  const identity = (b: Buffer): Buffer => b;
  function postRaw(message: Buffer): Promise<grpc.ServiceError | null> {
    const Raw = grpc.makeGenericClientConstructor({
      PostSpans: { path: postSpansMethod.path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
    }, 'CollectorService');
    const client = new Raw(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    return new Promise((resolve) => {
      (client as unknown as { PostSpans: (m: Buffer, cb: (err: grpc.ServiceError | null) => void) => void }).PostSpans(message, (err) => {
        client.close();
        resolve(err);
      });
    });
  }

  test('a batch sent by a client built on Jaeger\'s api_v2 protos gives the same spans as the same batch over Thrift (POST /api/traces)', async () => {
    consumer.spans.length = 0;
    const res = await call('CollectorService', 'PostSpans', { batch: protoBatch(PARITY_BATCH) });
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    assert.deepEqual(res.res, {});
    const thrift = decodeJaegerBatch(encodeBatch(PARITY_BATCH, 'binary'), 'binary');
    assert.ok(thrift.ok);
    const got = await consumer.waitFor(thrift.spans.length);
    assert.deepEqual(byId(got), byId(thrift.spans));
    // Spans of one batch share their process.
    assert.equal(got[0]!.process, got[1]!.process);
    assert.ok(await counterValue(registry, 'shipwatch_trace_spans_received_total', { protocol: 'jaeger-grpc' }) >= 4);
  });

  test('a gzip-compressed PostSpansRequest gives the same spans', async () => {
    consumer.spans.length = 0;
    assert.ok((await call('CollectorService', 'PostSpans', { batch: protoBatch(PARITY_BATCH) }, { gzip: true })).ok);
    const thrift = decodeJaegerBatch(encodeBatch(PARITY_BATCH, 'binary'), 'binary');
    assert.ok(thrift.ok);
    assert.deepEqual(byId(await consumer.waitFor(thrift.spans.length)), byId(thrift.spans));
  });

  test('a span\'s own process wins over the batch\'s; a batch without any process is missing-service-name', async () => {
    consumer.spans.length = 0;
    const one = protoSpan(PARITY_BATCH.spans[1]!);
    const own = { ...protoSpan(PARITY_BATCH.spans[0]!), process: { service_name: 'own', tags: [{ key: 'k', v_type: 'STRING', v_str: 'v' }] } };
    assert.ok((await call('CollectorService', 'PostSpans', { batch: { spans: [one, own], process: { service_name: 'batch-svc' } } })).ok);
    assert.ok((await call('CollectorService', 'PostSpans', { batch: { spans: [one] } })).ok);
    const got = await consumer.waitFor(3);
    assert.deepEqual(got.map((s) => [s.operationName, s.process.serviceName, s.process.tags]), [
      ['SELECT', 'batch-svc', []],
      ['GET /ledger', 'own', [{ key: 'k', type: 'string', value: 'v' }]],
      ['SELECT', 'missing-service-name', []],
    ]);
  });

  test('sub-microsecond times: start and duration are kept to the microsecond, a positive one under 1 µs has no warning', async () => {
    consumer.spans.length = 0;
    const span = { ...protoSpan(PARITY_BATCH.spans[1]!), start_time: { seconds: '1700000000', nanos: 1999 }, duration: { seconds: '0', nanos: 999 } };
    assert.ok((await call('CollectorService', 'PostSpans', { batch: { spans: [span], process: { service_name: 's' } } })).ok);
    const [got] = await consumer.waitFor(1);
    assert.equal(got!.startTimeMicros, 1_700_000_000_000_001);
    assert.equal(got!.durationMicros, 0);
    assert.equal(got!.warnings, undefined);
  });

  test('an empty request and an empty batch are answered OK with nothing stored', async () => {
    consumer.spans.length = 0;
    assert.ok((await call('CollectorService', 'PostSpans', {})).ok);
    assert.ok((await call('CollectorService', 'PostSpans', { batch: {} })).ok);
    assert.equal(consumer.spans.length, 0);
  });

  test('a trace id that is not 16 (or 8) bytes, or a span id that is not 8, fails the request with INVALID_ARGUMENT', async () => {
    for (const bad of [{ trace_id: Buffer.alloc(5, 1) }, { span_id: Buffer.alloc(4, 1) }, { trace_id: Buffer.alloc(0) }]) {
      const err = await postRaw(encodePostSpans({ spans: [{ ...protoSpan(PARITY_BATCH.spans[1]!), ...bad }], process: { service_name: 's' } }));
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(bad));
      assert.match(err.details, /span 0: (trace|span) id of \d+ bytes/);
    }
  });

  test('a truncated message is INVALID_ARGUMENT', async () => {
    const whole = encodePostSpans(protoBatch(PARITY_BATCH));
    for (const cut of [1, 10, Math.floor(whole.length / 2), whole.length - 1]) {
      const err = await postRaw(whole.subarray(0, cut));
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, `cut at ${cut}`);
      assert.match(err.details, /not a PostSpansRequest/);
    }
  });

  test('the bytes of another message (a SamplingStrategyParameters, an OTLP ExportTraceServiceRequest) are INVALID_ARGUMENT', async () => {
    const sampling = (jaeger.definition['jaeger.api_v2.SamplingManager'] as Record<string, MethodDefinition<object, object>>).GetSamplingStrategy!;
    const params = sampling.requestSerialize({ serviceName: 'svc' });
    const err = await postRaw(params);
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    // ExportTraceServiceRequest{resource_spans{resource{attributes{key "service.name", value{string_value "s"}}}}}
    const otlp = Buffer.from('0a1b0a190a170a0c736572766963652e6e616d6512070a05736861726b', 'hex');
    const err2 = await postRaw(otlp);
    assert.equal(err2?.code, grpc.status.INVALID_ARGUMENT);
  });

  test('the decoder never throws: 5,000 mutations of a real message (bytes flipped, cut, inserted) decode or are refused', () => {
    const whole = encodePostSpans(protoBatch(PARITY_BATCH));
    // A fixed-seed generator: a failure is reproducible.
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.from(whole);
      const edits = 1 + rand(4);
      let message: Buffer = bytes;
      for (let e = 0; e < edits; e++) {
        const at = rand(message.length);
        const kind = rand(3);
        if (kind === 0) message[at] = rand(256);
        else if (kind === 1) message = message.subarray(0, at);
        else message = Buffer.concat([message.subarray(0, at), Buffer.from([rand(256)]), message.subarray(at)]);
        if (message.length === 0) break;
      }
      const result = decodePostSpansRequest(message, 50);
      if (!result.ok) refused++;
    }
    assert.ok(refused > 1000, `${refused} of 5000 refused`);
  });

  test('a batch over COLLECTOR_JAEGER_MAX_SPANS and a message over the size limit are RESOURCE_EXHAUSTED', async () => {
    const many = Array.from({ length: 51 }, (_, i) => ({ ...protoSpan(PARITY_BATCH.spans[1]!), span_id: u64(BigInt(i + 1)) }));
    const tooMany = await call('CollectorService', 'PostSpans', { batch: { spans: many, process: { service_name: 's' } } });
    assert.ok(!tooMany.ok);
    assert.equal(tooMany.error.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(tooMany.error.details, /51 spans .*COLLECTOR_JAEGER_MAX_SPANS/);
    const huge = await call('CollectorService', 'PostSpans', { batch: { spans: [{ ...protoSpan(PARITY_BATCH.spans[1]!), operation_name: 'x'.repeat(MAX_MESSAGE) }] } });
    assert.ok(!huge.ok);
    assert.equal(huge.error.code, grpc.status.RESOURCE_EXHAUSTED);
  });

  test('while span storage is busy the client sees UNAVAILABLE with RetryInfo, and its retry is taken once there is room', async () => {
    consumer.spans.length = 0;
    consumer.busy = true;
    try {
      const res = await call('CollectorService', 'PostSpans', { batch: protoBatch(PARITY_BATCH) });
      assert.ok(!res.ok);
      assert.equal(res.error.code, grpc.status.UNAVAILABLE);
      const details = res.error.metadata.get('grpc-status-details-bin')[0] as Buffer;
      assert.ok(details.includes(Buffer.from('type.googleapis.com/google.rpc.RetryInfo')));
    } finally {
      consumer.busy = false;
    }
    assert.ok((await call('CollectorService', 'PostSpans', { batch: protoBatch(PARITY_BATCH) })).ok);
    assert.equal((await consumer.waitFor(4)).length, 4);
  });

  test('with COLLECTOR_AUTH_TOKEN set, PostSpans and GetSamplingStrategy need the bearer token', async () => {
    for (const [service, method, request] of [
      ['CollectorService', 'PostSpans', { batch: protoBatch(PARITY_BATCH) }], ['SamplingManager', 'GetSamplingStrategy', { serviceName: 'x' }],
    ] as const) {
      const none = await call(service, method, request, { port: authServer.port });
      assert.ok(!none.ok);
      assert.equal(none.error.code, grpc.status.UNAUTHENTICATED);
      const md = new grpc.Metadata();
      md.set('authorization', 'Bearer tok');
      assert.ok((await call(service, method, request, { port: authServer.port, metadata: md })).ok);
    }
  });

  test('SamplingManager/GetSamplingStrategy answers the provider\'s strategy for the service, decoded by the real protos', async () => {
    const res = await call('SamplingManager', 'GetSamplingStrategy', { serviceName: 'ledger' });
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    assert.equal(asked.at(-1), 'ledger');
    // PROBABILISTIC is the enum's 0: proto3 leaves it off the wire, the reader's default.
    assert.deepEqual(res.res, {
      probabilisticSampling: { samplingRate: 0.25 },
      operationSampling: {
        defaultSamplingProbability: 0.25, defaultLowerBoundTracesPerSecond: 0.5, defaultUpperBoundTracesPerSecond: 10,
        perOperationStrategies: [{ operation: 'GET /ledger', probabilisticSampling: { samplingRate: 1 } }],
      },
    });
    const rate = await call('SamplingManager', 'GetSamplingStrategy', { serviceName: 'rate-limited' });
    assert.ok(rate.ok);
    assert.deepEqual(rate.res, { strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 7 } });
  });
});
