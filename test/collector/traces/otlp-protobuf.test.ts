import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { decodeExportTraceRequest, encodeExportTraceResponse, encodeRpcStatus } from '../../../collector/traces/codecs/otlp/otlp-protobuf.js';
import { otlpJsonToSpans } from '../../../collector/traces/codecs/otlp/otlp-translate.js';
import { ProtoReader } from '../../../collector/traces/codecs/otlp/protobuf-reader.js';
import { seededRandom } from '../../helpers/seeded-random.js';

/** Real spans from the SDK, with every attribute type, events, links, status, kinds, scopes and resources. */
async function realSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop', 'host.name': 'h', 'k8s.pod.count': 3, ratio: 0.5, on: true, tags: ['x', 'y'] }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const a = provider.getTracer('scope-a', '0.1.0');
  const b = provider.getTracer('scope-b');
  const root = a.startSpan('root', { kind: SpanKind.SERVER, attributes: { 'http.status_code': 200, big: 2 ** 52 + 1, neg: -123456789, f: -0.25, s: 'ü€𝄞<&>', arr: [1.5, 2.5] } });
  const ctx = trace.setSpan(context.active(), root);
  for (let i = 0; i < 5; i++) {
    const s = b.startSpan(`child-${i}`, { kind: (i % 5) as SpanKind, links: [{ context: root.spanContext(), attributes: { i } }] }, ctx);
    s.addEvent(`ev-${i}`, { n: i, ok: i % 2 === 0 });
    s.setStatus(i % 2 === 0 ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: `bad ${i}` });
    s.end();
  }
  root.end();
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

test('protobuf and JSON from the real OTLP serializers translate to identical spans', async () => {
  const spans = await realSpans();
  const proto = ProtobufTraceSerializer.serializeRequest(spans)!;
  const json = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8'));
  const decoded = decodeExportTraceRequest(proto);
  assert.ok('request' in decoded, 'error' in decoded ? decoded.error : '');
  const fromProto = otlpJsonToSpans(decoded.request);
  const fromJson = otlpJsonToSpans(json);
  assert.equal(fromProto.rejected, 0, fromProto.errors.join('; '));
  assert.equal(fromJson.rejected, 0, fromJson.errors.join('; '));
  assert.equal(fromProto.spans.length, 6);
  assert.deepEqual(fromProto.spans, fromJson.spans);
  const root = fromProto.spans.find((s) => s.operationName === 'root')!;
  assert.deepEqual(root.process.tags, [
    { key: 'host.name', type: 'string', value: 'h' },
    { key: 'k8s.pod.count', type: 'int64', value: 3 },
    { key: 'ratio', type: 'float64', value: 0.5 },
    { key: 'on', type: 'bool', value: true },
    { key: 'tags', type: 'string', value: '["x","y"]', any: { arrayValue: { values: [{ stringValue: 'x' }, { stringValue: 'y' }] } } },
  ]);
  assert.deepEqual(root.tags.find((t) => t.key === 's'), { key: 's', type: 'string', value: 'ü€𝄞<&>' });
  assert.deepEqual(root.tags.find((t) => t.key === 'big'), { key: 'big', type: 'int64', value: 2 ** 52 + 1 });
  assert.deepEqual(root.tags.find((t) => t.key === 'neg'), { key: 'neg', type: 'int64', value: -123456789 });
});

// ---- a small protobuf writer for hand-made messages ----
function varint(n: bigint): number[] {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const key = (field: number, wire: number): number[] => varint(BigInt(field << 3 | wire));
const len = (field: number, bytes: number[]): number[] => [...key(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
const str = (field: number, s: string): number[] => len(field, [...Buffer.from(s)]);
const fixed64 = (field: number, n: bigint): number[] => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return [...key(field, 1), ...b];
};
const intAttr = (key: string, n: bigint): number[] => len(9, [...str(1, key), ...len(2, [3 << 3 | 0, ...varint(n)])]);

function handMade(extraSpanFields: number[]): Uint8Array {
  const span = [...len(1, Array(16).fill(0xab)), ...len(2, Array(8).fill(0xcd)), ...str(5, 'op'),
    ...fixed64(7, 1485449191639875123n), ...fixed64(8, 18446744073709551615n), ...extraSpanFields];
  return Uint8Array.from(len(1, len(2, len(2, span))));
}

test('int64 attributes decode exactly: negatives, the extremes, and beyond 2^53 as bigint', () => {
  const buf = handMade([...intAttr('m1', -1n), ...intAttr('max', 2n ** 63n - 1n), ...intAttr('min', -(2n ** 63n)), ...intAttr('p53', 2n ** 53n + 1n), ...intAttr('n53', -(2n ** 53n) - 1n), ...intAttr('small', 300n)]);
  const decoded = decodeExportTraceRequest(buf);
  assert.ok('request' in decoded);
  const span = otlpJsonToSpans(decoded.request).spans[0]!;
  assert.deepEqual(span.tags.map((t) => t.value), [-1, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -(2n ** 53n) - 1n, 300]);
});

test('fixed64 times split exactly into micros and nanos, up to the largest uint64', () => {
  const decoded = decodeExportTraceRequest(handMade([]));
  assert.ok('request' in decoded);
  const span = otlpJsonToSpans(decoded.request).spans[0]!;
  assert.equal(span.traceId, 'ab'.repeat(16));
  assert.equal(span.spanId, 'cd'.repeat(8));
  assert.equal(span.startTimeMicros, 1485449191639875);
  // 18446744073709551615 - 1485449191639875123 ns = 16961294882069676492 ns; µs beyond 2^53 lose only float precision.
  assert.ok(Math.abs(span.durationMicros - 16961294882069676) < 4);
});

test('unknown fields are skipped and a known field with the wrong wire type is an error', () => {
  const unknown = handMade([...str(99, 'future'), ...key(100, 0), 5, ...fixed64(101, 7n), ...key(102, 5), 1, 2, 3, 4]);
  const ok = decodeExportTraceRequest(unknown);
  assert.ok('request' in ok);
  assert.equal(otlpJsonToSpans(ok.request).spans[0]!.operationName, 'op');
  const wrongType = handMade([...key(5, 0), 1]); // name as a varint
  const decoded = decodeExportTraceRequest(wrongType);
  assert.ok('error' in decoded);
  assert.match(decoded.error, /Span field 5 has wire type 0/);
});

test('invalid UTF-8 in a string decodes with U+FFFD in its place; the span and its other fields are kept', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'shop' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const root = provider.getTracer('t').startSpan('zzzzzz', { attributes: { v: 'yyyyyy', s: 'ü€𝄞<&>' } });
  provider.getTracer('t').startSpan('child', {}, trace.setSpan(context.active(), root)).end();
  root.end();
  const proto = Buffer.from(ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!);
  await provider.shutdown();
  // A lone 0xff, a lead byte cut short, and an overlong encoding of '/': each one replacement character.
  patch(proto, 'zzzzzz', [0x6f, 0x6b, 0xff, 0xc3, 0x21, 0x78]);
  patch(proto, 'yyyyyy', [0xc0, 0xaf, 0x61, 0x62, 0x63, 0x64]);
  const decoded = decodeExportTraceRequest(proto);
  assert.ok('request' in decoded, 'error' in decoded ? decoded.error : '');
  const out = otlpJsonToSpans(decoded.request);
  assert.equal(out.rejected, 0);
  assert.deepEqual(out.spans.map((sp) => sp.operationName).sort(), ['child', 'ok\uFFFD\uFFFD!x']);
  const stored = out.spans.find((sp) => sp.operationName !== 'child')!;
  assert.deepEqual(stored.tags.find((t) => t.key === 'v'), { key: 'v', type: 'string', value: '\uFFFD\uFFFDabcd' });
  assert.deepEqual(stored.tags.find((t) => t.key === 's'), { key: 's', type: 'string', value: 'ü€𝄞<&>' });
  assert.equal(out.spans.find((sp) => sp.operationName === 'child')!.references[0]!.spanId, stored.spanId);
});

/** Overwrites the only occurrence of the ASCII `marker` with `bytes` (as many). */
function patch(buf: Buffer, marker: string, bytes: number[]): void {
  const at = buf.indexOf(marker);
  assert.ok(at >= 0 && buf.indexOf(marker, at + 1) < 0 && bytes.length === marker.length);
  Buffer.from(bytes).copy(buf, at);
}

test('the answers encode as ExportTraceServiceResponse and google.rpc.Status', () => {
  assert.deepEqual([...encodeExportTraceResponse(0, '')], []);
  assert.deepEqual([...encodeExportTraceResponse(300, 'x')], [0x0a, 6, 0x08, 0xac, 0x02, 0x12, 1, 0x78]);
  assert.deepEqual([...encodeRpcStatus(3, 'no')], [0x08, 3, 0x12, 2, 0x6e, 0x6f]);
});


function decodeNeverThrows(buf: Uint8Array, label: string): 'ok' | 'error' {
  let result: ReturnType<typeof decodeExportTraceRequest>;
  try {
    result = decodeExportTraceRequest(buf);
  } catch (err) {
    assert.fail(`${label}: decoder threw ${(err as Error).stack}`);
  }
  if ('error' in result) {
    assert.equal(typeof result.error, 'string');
    return 'error';
  }
  try {
    const t = otlpJsonToSpans(result.request);
    assert.equal(t.spans.length + t.rejected >= 0, true);
  } catch (err) {
    assert.fail(`${label}: translation threw ${(err as Error).stack}`);
  }
  return 'ok';
}

test('fuzz: random bytes, every truncation and random byte flips of a real request never throw (seed 20240607)', async () => {
  const random = seededRandom(20240607);
  const valid = ProtobufTraceSerializer.serializeRequest(await realSpans())!;
  const outcomes = { ok: 0, error: 0 };
  for (let cut = 0; cut < valid.length; cut++) outcomes[decodeNeverThrows(valid.subarray(0, cut), `truncated at ${cut}`)]++;
  for (let i = 0; i < 3000; i++) {
    const mutated = Uint8Array.from(valid);
    const flips = 1 + Math.floor(random() * 8);
    for (let f = 0; f < flips; f++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
    outcomes[decodeNeverThrows(mutated, `mutation ${i}`)]++;
  }
  for (let i = 0; i < 3000; i++) {
    const junk = new Uint8Array(Math.floor(random() * 200));
    for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(random() * 256);
    outcomes[decodeNeverThrows(junk, `random ${i}`)]++;
  }
  // Both outcomes occur: the fuzz reaches past the first byte into the message structure.
  assert.ok(outcomes.ok > 100 && outcomes.error > 100, JSON.stringify(outcomes));
});

test('the reader refuses over-long varints, lengths past the end and group wire types', () => {
  const long = new ProtoReader(Uint8Array.from(Array(11).fill(0xff)));
  assert.equal(long.varint32(), 0);
  assert.match(long.error!, /longer than 10 bytes/);
  const past = new ProtoReader(Uint8Array.from([0x0a, 0x7f, 1]));
  past.tag();
  assert.equal(past.string(), '');
  assert.match(past.error!, /past the end/);
  const group = new ProtoReader(Uint8Array.from([0x0b]));
  group.skip(group.tag() & 7);
  assert.match(group.error!, /wire type 3/);
});

test('dropped counts of spans and links are read from protobuf and kept for API v3, as JSON gives them', () => {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const len = (field: number, body: number[]): number[] => [(field << 3) | 2, ...varint(body.length), ...body];
  const fixed64 = (field: number, v: bigint): number[] => [(field << 3) | 1, ...Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn))];
  const uint = (field: number, v: number): number[] => [field << 3, ...varint(v)];
  const traceId = Array.from({ length: 16 }, (_, i) => i + 1);
  const link = [...len(1, traceId), ...len(2, [9, 9, 9, 9, 9, 9, 9, 9]), ...uint(5, 7)];
  const span = [
    ...len(1, traceId), ...len(2, [1, 2, 3, 4, 5, 6, 7, 8]), ...len(5, [0x6f, 0x70]),
    ...fixed64(7, 1700000000123456789n), ...fixed64(8, 1700000000123457789n),
    ...uint(10, 3), ...uint(12, 300), ...uint(14, 5), ...len(13, link),
  ];
  const body = Uint8Array.from(len(1, len(2, len(2, span))));
  const decoded = decodeExportTraceRequest(body);
  assert.ok(!('error' in decoded));
  const [fromProto] = otlpJsonToSpans(decoded.request).spans;
  assert.deepEqual(fromProto!.otlp, {
    startNanos: 789,
    links: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0909090909090909', attributes: [], droppedAttributesCount: 7 }],
    dropped: [3, 300, 5],
  } as unknown);
  const fromJson = otlpJsonToSpans({ resourceSpans: [{ scopeSpans: [{ spans: [{
    traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', name: 'op', startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '1700000000123457789',
    droppedAttributesCount: 3, droppedEventsCount: 300, droppedLinksCount: 5, links: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0909090909090909', droppedAttributesCount: 7 }],
  }] }] }] }).spans[0]!;
  assert.deepEqual(fromProto, fromJson);
});

test("dropped attribute counts of the resource, the scope and each event are read from protobuf as from JSON, after the span's three", () => {
  const uint = (field: number, v: number): number[] => [...key(field, 0), ...varint(BigInt(v))];
  const event = (name: string, dropped: number): number[] => len(11, [...fixed64(1, 1485449191639875123n), ...str(2, name), ...(dropped ? uint(4, dropped) : [])]);
  const span = [...len(1, Array(16).fill(0xab)), ...len(2, Array(8).fill(0xcd)), ...str(5, 'op'),
    ...fixed64(7, 1485449191639875123n), ...fixed64(8, 1485449191639977999n), ...event('a', 0), ...event('b', 6), ...event('c', 0)];
  const resource = len(1, [...len(1, [...str(1, 'service.name'), ...len(2, str(1, 'svc'))]), ...uint(2, 4)]);
  const scope = len(1, [...str(1, 'lib'), ...uint(4, 2)]);
  const decoded = decodeExportTraceRequest(Uint8Array.from(len(1, [...resource, ...len(2, [...scope, ...len(2, span)])])));
  assert.ok(!('error' in decoded));
  const [fromProto] = otlpJsonToSpans(decoded.request).spans;
  // span attributes, events, links, resource, scope, then the events' (the last event's 0 left out)
  assert.deepEqual(fromProto!.otlp!.dropped, [0, 0, 0, 4, 2, 0, 6]);
  const ev = (name: string, dropped: number): Record<string, unknown> => ({ timeUnixNano: '1485449191639875123', name, ...(dropped ? { droppedAttributesCount: dropped } : {}) });
  const fromJson = otlpJsonToSpans({ resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }], droppedAttributesCount: 4 },
    scopeSpans: [{ scope: { name: 'lib', droppedAttributesCount: 2 }, spans: [{
      traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'op', startTimeUnixNano: '1485449191639875123', endTimeUnixNano: '1485449191639977999',
      events: [ev('a', 0), ev('b', 6), ev('c', 0)],
    }] }],
  }] }).spans[0]!;
  assert.deepEqual(fromProto, fromJson);
  // none dropped: no counts at all
  const plain = decodeExportTraceRequest(Uint8Array.from(len(1, len(2, len(2, [...len(1, Array(16).fill(0xab)), ...len(2, Array(8).fill(0xcd)), ...fixed64(7, 1n), ...fixed64(8, 2n), ...event('a', 0)])))));
  assert.ok(!('error' in plain));
  assert.equal(otlpJsonToSpans(plain.request).spans[0]!.otlp!.dropped, undefined);
});
