/**
 * Two ways of making the real jaeger-client send spans, each returning the spans Shipwatch must decode from them:
 *
 * - `traceWithTracer`: the OpenTracing API end to end (root, child-of, follows-from, tags of every type the tracer
 *   can make, logs, process tags). Expectations come from the client's own contexts and its documented tag rules
 *   (JS number → DOUBLE, Buffer → BINARY, object → JSON STRING), and from what Jaeger 2.x makes of Thrift (flags not
 *   carried, `hostname` / `jaeger.version` renamed, a FOLLOWS_FROM reference to the parent retyping it).
 * - `sendThriftSpans`: the client's sender fed thrift objects directly, for what the tracer API cannot make:
 *   LONG tags beyond 2^53, negative and extreme ids, every tag type in process tags and log fields.
 */
import type { KeyValue, Span } from '../../../../model/span.js';
import { translateThriftProcess } from '../../../../model/jaeger-thrift/jaeger-otel-translate.js';
import { i64, jaeger, thrift, type JaegerSpan, type ThriftSender } from './jaeger-client.js';

const pad = (hex: string, n: number): string => hex.padStart(n, '0');

function clientTag(key: string, value: unknown): KeyValue {
  if (typeof value === 'number') return { key, type: 'float64', value };
  if (typeof value === 'boolean') return { key, type: 'bool', value };
  if (Buffer.isBuffer(value)) return { key, type: 'binary', value: new Uint8Array(value) };
  if (typeof value === 'object') return { key, type: 'string', value: JSON.stringify(value) };
  return { key, type: 'string', value: String(value) };
}

export async function traceWithTracer(sender: ThriftSender): Promise<Span[]> {
  const tracer = new jaeger.Tracer('checkout', new jaeger.RemoteReporter(sender), new jaeger.ConstSampler(true), {
    tags: { 'deployment.zone': 'eu-1', 'build.number': 42, canary: false },
    traceId128bit: true,
  });
  const t0 = 1_700_000_000_123;
  const userTags: Array<[string, unknown]> = [
    ['http.method', 'POST'], ['retries', 3], ['ratio', 0.25], ['cache.hit', true], ['payload', Buffer.from([0, 1, 254, 255])],
    ['request', { id: 7, path: '/pay' }], ['ünïcode', 'žluťoučký kůň'],
  ];
  const root = tracer.startSpan('POST /pay', { startTime: t0 });
  for (const [k, v] of userTags) root.setTag(k, v);
  root.log({ event: 'authorised', amount: 12.5 }, t0 + 2);
  root.log({ event: 'charged', ok: true }, t0 + 5);
  const child = tracer.startSpan('db.query', { childOf: root, startTime: t0 + 1 });
  const explicit = tracer.startSpan('cache.get', { references: [jaeger.opentracing.childOf(root.context())], startTime: t0 + 2 });
  const follows = tracer.startSpan('audit', { references: [jaeger.opentracing.followsFrom(root.context())], startTime: t0 + 3 });
  child.finish(t0 + 4);
  explicit.finish(t0 + 6);
  follows.finish(t0 + 30);
  root.finish(t0 + 10);
  await new Promise<void>((resolve) => tracer.close(() => resolve()));

  const traceId = pad(root.context().traceIdStr, 32);
  const idOf = (s: JaegerSpan): string => pad(s.context().spanIdStr, 16);
  // The client's process tags (hostname, ip, jaeger.version, client-uuid, then the tracer's), renamed as Jaeger 2.x
  // does; the renames are asserted on their own in jaeger-thrift.test.ts.
  const process = translateThriftProcess('checkout', tracer._process.tags.map((t) => clientTag(t.key, t.value)), undefined, undefined);
  const base = { traceId, flags: 0, logs: [], tags: [], process };
  const ms = (n: number): number => n * 1000;
  const parent = { refType: 'CHILD_OF' as const, traceId, spanId: idOf(root) };
  return [
    {
      ...base, spanId: idOf(root), operationName: 'POST /pay', references: [], startTimeMicros: ms(t0), durationMicros: ms(10),
      // The client puts its sampler tags on the root span first.
      tags: [clientTag('sampler.type', 'const'), clientTag('sampler.param', true), ...userTags.map(([k, v]) => clientTag(k, v))],
      logs: [
        { timestampMicros: ms(t0 + 2), fields: [clientTag('event', 'authorised'), clientTag('amount', 12.5)] },
        { timestampMicros: ms(t0 + 5), fields: [clientTag('event', 'charged'), clientTag('ok', true)] },
      ],
    },
    // parentSpanId only: becomes the CHILD_OF reference.
    { ...base, spanId: idOf(child), operationName: 'db.query', references: [parent], startTimeMicros: ms(t0 + 1), durationMicros: ms(3) },
    // parentSpanId and the same CHILD_OF reference: not doubled.
    { ...base, spanId: idOf(explicit), operationName: 'cache.get', references: [parent], startTimeMicros: ms(t0 + 2), durationMicros: ms(4) },
    // The client makes a follows-from target the parent too; Jaeger 2.x then shows only FOLLOWS_FROM (and in API v3
    // the parent and a follows_from link to it).
    {
      ...base, spanId: idOf(follows), operationName: 'audit', startTimeMicros: ms(t0 + 3), durationMicros: ms(27),
      references: [{ refType: 'FOLLOWS_FROM', traceId, spanId: idOf(root) }],
      otlp: {
        parentSpanId: idOf(root),
        links: [{ traceId, spanId: idOf(root), attributes: [{ key: 'opentracing.ref_type', type: 'string', value: 'follows_from' }] }],
      },
    },
  ];
}

const hex = (v: bigint, digits: number): string => BigInt.asUintN(digits * 4, v).toString(16).padStart(digits, '0');

/** Tags of every thrift type, with values at the edges of their ranges, and what each must decode to. */
export function everyTagType(prefix: string): { thrift: unknown[]; expected: KeyValue[] } {
  const longs: bigint[] = [0n, 42n, -1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n)];
  const thriftTags: unknown[] = [];
  const expected: KeyValue[] = [];
  longs.forEach((v, i) => {
    thriftTags.push(new thrift.Tag({ key: `${prefix}.long${i}`, vType: 'LONG', vLong: i64(v) }));
    const safe = v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n;
    expected.push({ key: `${prefix}.long${i}`, type: 'int64', value: safe ? Number(v) : v });
  });
  const rest: Array<[unknown, KeyValue]> = [
    [{ key: `${prefix}.str`, vType: 'STRING', vStr: 'hello ✓' }, { key: `${prefix}.str`, type: 'string', value: 'hello ✓' }],
    [{ key: `${prefix}.empty`, vType: 'STRING', vStr: '' }, { key: `${prefix}.empty`, type: 'string', value: '' }],
    [{ key: `${prefix}.dbl`, vType: 'DOUBLE', vDouble: -1.5e300 }, { key: `${prefix}.dbl`, type: 'float64', value: -1.5e300 }],
    [{ key: `${prefix}.true`, vType: 'BOOL', vBool: true }, { key: `${prefix}.true`, type: 'bool', value: true }],
    [{ key: `${prefix}.false`, vType: 'BOOL', vBool: false }, { key: `${prefix}.false`, type: 'bool', value: false }],
    [{ key: `${prefix}.bin`, vType: 'BINARY', vBinary: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }, { key: `${prefix}.bin`, type: 'binary', value: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) }],
  ];
  for (const [t, e] of rest) {
    thriftTags.push(new thrift.Tag(t as Record<string, unknown>));
    expected.push(e);
  }
  return { thrift: thriftTags, expected };
}

export async function sendThriftSpans(sender: ThriftSender): Promise<Span[]> {
  const processTags = everyTagType('process');
  sender.setProcess({ serviceName: 'ledger', tags: processTags.thrift });
  const process = { serviceName: 'ledger', tags: processTags.expected };
  const spanTags = everyTagType('span');
  const logFields = everyTagType('log');
  const ids = [
    { high: 0n, low: 1n, span: 2n, parent: 0n },
    { high: -1n, low: -2n, span: -3n, parent: 2n ** 63n - 1n },
    { high: 0x0123456789abcdefn, low: -(2n ** 63n), span: 0x7fn, parent: -(2n ** 63n) },
  ];
  const expected: Span[] = [];
  for (const [i, id] of ids.entries()) {
    const traceId = hex(id.high, 16) + hex(id.low, 16);
    const start = 1_700_000_000_000_000n + BigInt(i);
    sender.append(new thrift.Span({
      traceIdLow: i64(id.low), traceIdHigh: i64(id.high), spanId: i64(id.span), parentSpanId: i64(id.parent),
      operationName: `op-${i}`, flags: i === 2 ? -1 : 3, startTime: i64(start), duration: i64(BigInt(i * 1000)),
      references: i === 1 ? [new thrift.SpanRef({ refType: 'FOLLOWS_FROM', traceIdLow: i64(9n), traceIdHigh: i64(0n), spanId: i64(8n) })] : [],
      tags: spanTags.thrift,
      logs: [new thrift.Log({ timestamp: i64(start + 5n), fields: logFields.thrift })],
    }));
    const references: Span['references'] = [];
    if (id.parent !== 0n) references.push({ refType: 'CHILD_OF', traceId, spanId: hex(id.parent, 16) });
    if (i === 1) references.push({ refType: 'FOLLOWS_FROM', traceId: hex(9n, 32), spanId: hex(8n, 16) });
    const span: Span = {
      traceId, spanId: hex(id.span, 16), operationName: `op-${i}`, references,
      flags: 0, startTimeMicros: Number(start), durationMicros: i * 1000,
      tags: spanTags.expected, logs: [{ timestampMicros: Number(start + 5n), fields: logFields.expected }], process,
    };
    // Jaeger 2.x's negative duration sanitizer takes a duration of 0 too: the span ends 1 ns after its start.
    if (i === 0) {
      span.warnings = ['Negative duration detected, sanitizing end timestamp. Original end timestamp: 2023-11-14 22:13:20 +0000 UTC, adjusted to: 2023-11-14 22:13:20.000000001 +0000 UTC'];
      span.otlp = { durationNanos: 1 };
    }
    // API v3: the parent, and the reference into another trace as a follows_from link.
    if (i === 1) {
      span.otlp = {
        parentSpanId: hex(id.parent, 16),
        links: [{ traceId: hex(9n, 32), spanId: hex(8n, 16), attributes: [{ key: 'opentracing.ref_type', type: 'string', value: 'follows_from' }] }],
      };
    }
    expected.push(span);
  }
  try {
    await new Promise<void>((resolve, reject) => sender.flush((_n, err) => (err ? reject(new Error(err)) : resolve())));
  } finally {
    sender.close();
  }
  return expected;
}
