import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAgentEmitBatch, decodeJaegerBatch, type JaegerDecodeResult } from '../../../model/jaeger-thrift/jaeger-thrift.js';
import type { Span } from '../../../model/span.js';
import { i64, thrift } from '../../collector/traces/support/jaeger-client.js';
import { everyTagType } from '../../collector/traces/support/jaeger-scenarios.js';
import { BinaryWriter, CompactWriter, REF, TAG, encodeBatch, encodeEmitBatch, type TBatch, type TSpan, type TTag } from '../../collector/traces/support/thrift-writer.js';

const T_I32 = 8, T_I64 = 10, T_STRING = 11, T_STRUCT = 12, T_MAP = 13, T_LIST = 15;

function spans(result: JaegerDecodeResult): Span[] {
  if (!result.ok) assert.fail(`decode failed: ${result.error}`);
  return result.spans;
}

function failure(result: JaegerDecodeResult): string {
  assert.equal(result.ok, false, 'decoding should have failed');
  return (result as { error: string }).error;
}

const base: TSpan = {
  traceIdLow: 0x1111n, traceIdHigh: 0x2222n, spanId: 0x33n, parentSpanId: 0n, operationName: 'op', flags: 1,
  startTime: 1_700_000_000_000_000n, duration: 7n,
};
const TRACE = '00000000000022220000000000001111';

test('a compact emitBatch assembled by hand from the specification decodes', () => {
  const datagram = Buffer.from([
    0x82, 0x81, 0x00, 0x09, ...Buffer.from('emitBatch'), // protocol id, oneway v1, seq 0, name
    0x1c, // args field 1: struct Batch
    0x1c, 0x18, 0x03, ...Buffer.from('svc'), 0x00, // process { serviceName }
    0x19, 0x1c, // spans: list of 1 struct
    0x16, 0x02, 0x16, 0x00, 0x16, 0x04, 0x16, 0x00, // traceIdLow 1, traceIdHigh 0, spanId 2, parentSpanId 0
    0x18, 0x02, ...Buffer.from('op'), // operationName
    0x25, 0x02, // flags 1 (field 7: delta 2)
    0x16, 0xd0, 0x0f, 0x16, 0x0a, // startTime 1000, duration 5
    0x19, 0x1c, 0x18, 0x01, 0x6b, 0x15, 0x06, 0x46, 0x01, 0x00, // tags [{ key "k", vType LONG, vLong -1 }]
    0x00, // end of span
    0x00, // end of batch
    0x00, // end of args
  ]);
  assert.deepEqual(spans(decodeAgentEmitBatch(datagram, 'compact')), [{
    // Jaeger 2.x does not carry Thrift flags through its OpenTelemetry translation: 0.
    traceId: '00000000000000000000000000000001', spanId: '0000000000000002', operationName: 'op', references: [], flags: 0,
    startTimeMicros: 1000, durationMicros: 5, tags: [{ key: 'k', type: 'int64', value: -1 }], logs: [],
    process: { serviceName: 'svc', tags: [] },
  }]);
});

test('the test writer\'s binary bytes are exactly jaeger-client\'s, and compact decodes to the same spans', () => {
  const tags = everyTagType('t');
  const batch: TBatch = {
    process: { serviceName: 'svc', tags: [{ key: 'p', vType: TAG.STRING, vStr: 'v' }] },
    spans: [{ ...base, parentSpanId: 5n, references: [{ refType: REF.FOLLOWS_FROM, traceIdLow: 9n, traceIdHigh: 0n, spanId: 8n }],
      tags: [{ key: 'l', vType: TAG.LONG, vLong: 2n ** 63n - 1n }, { key: 'd', vType: TAG.DOUBLE, vDouble: -0.5 }, { key: 'b', vType: TAG.BOOL, vBool: true }],
      logs: [{ timestamp: 1_700_000_000_000_001n, fields: [{ key: 'e', vType: TAG.STRING, vStr: 'x' }] }] }],
  };
  const theirs = thrift.Batch.rw.toBuffer(new thrift.Batch({
    process: new thrift.Process({ serviceName: 'svc', tags: [new thrift.Tag({ key: 'p', vType: 'STRING', vStr: 'v' })] }),
    spans: [new thrift.Span({
      traceIdLow: i64(base.traceIdLow), traceIdHigh: i64(base.traceIdHigh), spanId: i64(base.spanId), parentSpanId: i64(5n),
      operationName: 'op', flags: 1, startTime: i64(base.startTime), duration: i64(base.duration),
      references: [new thrift.SpanRef({ refType: 'FOLLOWS_FROM', traceIdLow: i64(9n), traceIdHigh: i64(0n), spanId: i64(8n) })],
      tags: [new thrift.Tag({ key: 'l', vType: 'LONG', vLong: i64(2n ** 63n - 1n) }), new thrift.Tag({ key: 'd', vType: 'DOUBLE', vDouble: -0.5 }), new thrift.Tag({ key: 'b', vType: 'BOOL', vBool: true })],
      logs: [new thrift.Log({ timestamp: i64(1_700_000_000_000_001n), fields: [new thrift.Tag({ key: 'e', vType: 'STRING', vStr: 'x' })] })],
    })],
  }));
  assert.equal(theirs.err, null);
  assert.deepEqual(encodeBatch(batch, 'binary'), theirs.value);
  const fromBinary = spans(decodeJaegerBatch(theirs.value, 'binary'));
  assert.deepEqual(spans(decodeJaegerBatch(encodeBatch(batch, 'compact'), 'compact')), fromBinary);
  assert.deepEqual(spans(decodeAgentEmitBatch(encodeEmitBatch(batch, 'compact'), 'compact')), fromBinary);
  assert.deepEqual(spans(decodeAgentEmitBatch(encodeEmitBatch(batch, 'binary'), 'binary')), fromBinary);
  // and every tag type at its edges: jaeger-client's bytes, and the same tags in compact
  const edge = everyTagType('t');
  const edgeSpan = { traceIdLow: 1n, traceIdHigh: 0n, spanId: 1n, parentSpanId: 0n, operationName: 'o', flags: 0, startTime: 0n, duration: 0n };
  const edgeBytes = thrift.Batch.rw.toBuffer(new thrift.Batch({
    process: new thrift.Process({ serviceName: 's', tags: [] }),
    spans: [new thrift.Span({ ...Object.fromEntries(Object.entries(edgeSpan).map(([k, v]) => [k, typeof v === 'bigint' ? i64(v) : v])), tags: edge.thrift })],
  }));
  assert.equal(edgeBytes.err, null);
  assert.deepEqual(spans(decodeJaegerBatch(edgeBytes.value, 'binary'))[0]!.tags, edge.expected);
  const compactTags = edge.thrift.map(fromThriftTag);
  assert.deepEqual(spans(decodeJaegerBatch(encodeBatch({ process: { serviceName: 's' }, spans: [{ ...edgeSpan, tags: compactTags }] }, 'compact'), 'compact'))[0]!.tags, edge.expected);
});

const TAG_NAMES: Record<string, number> = { STRING: 0, DOUBLE: 1, BOOL: 2, LONG: 3, BINARY: 4 };

/** jaeger-client's thrift Tag object → the test writer's shape (unset optional fields are null there). */
function fromThriftTag(t: unknown): TTag {
  const o = t as { key: string; vType: string; vStr: string | null; vDouble: number | null; vBool: boolean | null; vLong: Buffer | null; vBinary: Buffer | null };
  const tag: TTag = { key: o.key, vType: TAG_NAMES[o.vType]! };
  if (o.vStr != null) tag.vStr = o.vStr;
  if (o.vDouble != null) tag.vDouble = o.vDouble;
  if (o.vBool != null) tag.vBool = o.vBool;
  if (o.vLong != null) tag.vLong = o.vLong.readBigInt64BE();
  if (o.vBinary != null) tag.vBinary = o.vBinary;
  return tag;
}

test('references as Jaeger 2.x shows them: the parent first, CHILD_OF references to its span id folded into it, one to the parent span retyping it', () => {
  const ref = (refType: number, spanId: bigint, traceIdLow = base.traceIdLow) => ({ refType, traceIdLow, traceIdHigh: base.traceIdHigh, spanId });
  const cases: Array<[TSpan, Span['references']]> = [
    [{ ...base, parentSpanId: 0x44n }, [{ refType: 'CHILD_OF', traceId: TRACE, spanId: '0000000000000044' }]],
    [{ ...base, parentSpanId: 0x44n, references: [ref(REF.CHILD_OF, 0x44n)] }, [{ refType: 'CHILD_OF', traceId: TRACE, spanId: '0000000000000044' }]],
    [{ ...base, parentSpanId: 0x44n, references: [ref(REF.CHILD_OF, 0x55n)] },
      [{ refType: 'CHILD_OF', traceId: TRACE, spanId: '0000000000000044' }, { refType: 'CHILD_OF', traceId: TRACE, spanId: '0000000000000055' }]],
    // A parent and a FOLLOWS_FROM reference to the same span: only FOLLOWS_FROM.
    [{ ...base, parentSpanId: 0x44n, references: [ref(REF.FOLLOWS_FROM, 0x44n)] }, [{ refType: 'FOLLOWS_FROM', traceId: TRACE, spanId: '0000000000000044' }]],
    // A CHILD_OF reference naming the parent's span id in another trace is folded into the parent too (Jaeger
    // compares span ids only there).
    [{ ...base, parentSpanId: 0x44n, references: [ref(REF.CHILD_OF, 0x44n, 0x9999n)] }, [{ refType: 'CHILD_OF', traceId: TRACE, spanId: '0000000000000044' }]],
    [{ ...base, references: [ref(REF.FOLLOWS_FROM, 0x66n)] }, [{ refType: 'FOLLOWS_FROM', traceId: TRACE, spanId: '0000000000000066' }]],
    // Without a parent field, the first CHILD_OF of the trace is the parent, listed first; FOLLOWS_FROM only when no CHILD_OF.
    [{ ...base, references: [ref(REF.FOLLOWS_FROM, 0x66n), ref(REF.CHILD_OF, 0x55n)] },
      [{ refType: 'CHILD_OF', traceId: TRACE, spanId: '0000000000000055' }, { refType: 'FOLLOWS_FROM', traceId: TRACE, spanId: '0000000000000066' }]],
    [{ ...base, references: [ref(REF.CHILD_OF, 0x55n, 0x9999n)] }, [{ refType: 'CHILD_OF', traceId: '00000000000022220000000000009999', spanId: '0000000000000055' }]],
  ];
  for (const [input, want] of cases) {
    for (const protocol of ['compact', 'binary'] as const) {
      const [got] = spans(decodeJaegerBatch(encodeBatch({ process: { serviceName: 's' }, spans: [input] }, protocol), protocol));
      assert.deepEqual(got!.references, want);
    }
  }
});

/** Writes a Batch with one span through `body`, field by field, for shapes the regular writer will not make. */
function custom(protocol: 'compact' | 'binary', body: (w: CompactWriter | BinaryWriter) => void): Buffer {
  const w = protocol === 'compact' ? new CompactWriter() : new BinaryWriter();
  w.structBegin();
  w.field(T_LIST, 2); // spans first: a writer may put them before the process
  w.listBegin(T_STRUCT, 1);
  w.structBegin();
  body(w);
  w.structEnd();
  w.field(T_STRUCT, 1);
  w.structBegin();
  w.field(T_STRING, 1); w.string('late-process');
  w.structEnd();
  w.field(T_I64, 3); w.i64(77n); // Batch.seqNo (newer IDL)
  w.structEnd();
  return w.bytes();
}

function requiredSpanFields(w: CompactWriter | BinaryWriter, skip: number[] = []): void {
  const i64s: Array<[number, bigint]> = [[1, 1n], [2, 0n], [3, 2n], [4, 0n]];
  for (const [id, v] of i64s) if (!skip.includes(id)) { w.field(T_I64, id); w.i64(v); }
  if (!skip.includes(5)) { w.field(T_STRING, 5); w.string('op'); }
  if (!skip.includes(7)) { w.field(T_I32, 7); w.i32(1); }
  if (!skip.includes(8)) { w.field(T_I64, 8); w.i64(10n); }
  if (!skip.includes(9)) { w.field(T_I64, 9); w.i64(3n); }
}

test('unknown fields are skipped, whatever they hold, and the process may come after the spans', () => {
  for (const protocol of ['compact', 'binary'] as const) {
    const bytes = custom(protocol, (w) => {
      requiredSpanFields(w);
      w.boolField(12, true); // Span.incomplete (newer IDL)
      w.field(T_MAP, 99); // a future map<string, list<i32>>
      w.mapBegin(T_STRING, T_LIST, 1);
      w.string('k');
      w.listBegin(T_I32, 2); w.i32(1); w.i32(2);
      w.field(T_STRUCT, 100); w.structBegin(); w.field(T_STRING, 1); w.string('nested'); w.structEnd();
      w.field(T_LIST, 10); w.listBegin(T_STRUCT, 1);
      w.structBegin(); w.field(T_STRING, 1); w.string('k'); w.field(T_I32, 2); w.i32(0); w.field(T_STRING, 3); w.string('v'); w.structEnd();
    });
    const [span] = spans(decodeJaegerBatch(bytes, protocol));
    assert.equal(span!.process.serviceName, 'late-process');
    assert.deepEqual(span!.tags, [{ key: 'k', type: 'string', value: 'v' }]);
    assert.equal(span!.durationMicros, 3);
  }
});

test('a required field missing, or sent with the wrong type, is named in the failure', () => {
  for (const protocol of ['compact', 'binary'] as const) {
    for (const [id, name] of [[1, 'traceIdLow'], [3, 'spanId'], [4, 'parentSpanId'], [5, 'operationName'], [7, 'flags'], [8, 'startTime']] as const) {
      const bytes = custom(protocol, (w) => requiredSpanFields(w, [id]));
      assert.match(failure(decodeJaegerBatch(bytes, protocol)), new RegExp(`span 0: Span is missing its required field ${name}`));
    }
    const wrongType = custom(protocol, (w) => {
      requiredSpanFields(w, [5]);
      w.field(T_I32, 5); w.i32(12); // operationName as an i32: skipped, as Thrift does, so still missing
    });
    assert.match(failure(decodeJaegerBatch(wrongType, protocol)), /required field operationName/);
    const noKey = custom(protocol, (w) => {
      requiredSpanFields(w);
      w.field(T_LIST, 10); w.listBegin(T_STRUCT, 1); w.structBegin(); w.field(T_I32, 2); w.i32(0); w.structEnd();
    });
    assert.match(failure(decodeJaegerBatch(noKey, protocol)), /Tag is missing its required field key/);
    const w = protocol === 'compact' ? new CompactWriter() : new BinaryWriter();
    w.structBegin(); w.field(T_LIST, 2); w.listBegin(T_STRUCT, 0); w.structEnd();
    assert.equal(failure(decodeJaegerBatch(w.bytes(), protocol)), 'Batch is missing its required field process');
  }
});

test('a tag of an unknown type becomes the string Jaeger 2.x writes, a reference of an unknown type FOLLOWS_FROM', () => {
  for (const protocol of ['compact', 'binary'] as const) {
    const batch: TBatch = {
      process: { serviceName: 's' },
      spans: [{ ...base, tags: [{ key: 'odd', vType: 9, vStr: 'ignored' }], references: [{ refType: 7, traceIdLow: 1n, traceIdHigh: 0n, spanId: 0x99n }] }],
    };
    const [span] = spans(decodeJaegerBatch(encodeBatch(batch, protocol), protocol));
    assert.deepEqual(span!.tags, [{ key: 'odd', type: 'string', value: '<Unknown Jaeger TagType "<UNSET>">' }]);
    assert.deepEqual(span!.references, [{ refType: 'FOLLOWS_FROM', traceId: '00000000000000000000000000000001', spanId: '0000000000000099' }]);
    assert.equal(span!.warnings, undefined);
  }
});

test('an emitBatch envelope must name emitBatch, and a datagram holds one protocol', () => {
  const batch: TBatch = { process: { serviceName: 's' }, spans: [base] };
  const w = new CompactWriter();
  w.messageBegin('emitZipkinBatch', 4, 1);
  w.structBegin();
  w.structEnd();
  assert.match(failure(decodeAgentEmitBatch(w.bytes(), 'compact')), /unsupported agent method "emitZipkinBatch"/);
  assert.match(failure(decodeAgentEmitBatch(encodeEmitBatch(batch, 'binary'), 'compact')), /not a compact protocol message/);
  assert.equal(decodeAgentEmitBatch(encodeEmitBatch(batch, 'compact'), 'binary').ok, false);
  assert.equal(spans(decodeAgentEmitBatch(encodeEmitBatch(batch, 'binary', 12345), 'binary')).length, 1);
});

test('invalid UTF-8: the operation becomes invalid-span-name with its bytes in a tag, span and process tag values binary, log fields U+FFFD', () => {
  for (const protocol of ['compact', 'binary'] as const) {
    const bytes = encodeEmitBatch({
      process: { serviceName: 'svc', tags: [{ key: 'host', vType: TAG.STRING, vStr: 'xxxxxx' }] },
      spans: [{ ...base, operationName: 'zzzzzz', tags: [{ key: 'k', vType: TAG.STRING, vStr: 'yyyyyy' }, { key: 'n', vType: TAG.LONG, vLong: 5n }],
        logs: [{ timestamp: 1n, fields: [{ key: 'f', vType: TAG.STRING, vStr: 'wwwwww' }] }] }],
    }, protocol);
    // A lone 0xff, a lead byte cut short, an overlong '/', a lone continuation byte.
    patchBytes(bytes, 'zzzzzz', [0x6f, 0x6b, 0xff, 0xc3, 0x21, 0x78]);
    patchBytes(bytes, 'yyyyyy', [0xc0, 0xaf, 0x61, 0x62, 0x63, 0x64]);
    patchBytes(bytes, 'xxxxxx', [0x68, 0x80, 0x6f, 0x73, 0x74, 0x31]);
    patchBytes(bytes, 'wwwwww', [0x61, 0xff, 0x62, 0x63, 0x64, 0x65]);
    const [span] = spans(decodeAgentEmitBatch(bytes, protocol));
    assert.equal(span!.operationName, 'invalid-span-name', protocol);
    assert.deepEqual(span!.tags, [
      { key: 'k', type: 'binary', value: Uint8Array.from([0xc0, 0xaf, 0x61, 0x62, 0x63, 0x64]) }, { key: 'n', type: 'int64', value: 5 },
      { key: 'invalid-span-name', type: 'binary', value: Uint8Array.from([0x6f, 0x6b, 0xff, 0xc3, 0x21, 0x78]) },
    ]);
    assert.deepEqual(span!.process.tags, [{ key: 'host', type: 'binary', value: Uint8Array.from([0x68, 0x80, 0x6f, 0x73, 0x74, 0x31]) }]);
    assert.deepEqual(span!.logs[0]!.fields, [{ key: 'f', type: 'string', value: 'a\uFFFDbcde' }]);
    assert.equal(span!.traceId, TRACE);
  }
});

/** Overwrites the only occurrence of the ASCII `marker` with `bytes` (as many). */
function patchBytes(buf: Uint8Array, marker: string, bytes: number[]): void {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = b.indexOf(marker);
  assert.ok(at >= 0 && b.indexOf(marker, at + 1) < 0 && bytes.length === marker.length);
  Buffer.from(bytes).copy(b, at);
}

test('more spans than the limit are refused as such, before any is decoded', () => {
  const batch: TBatch = { process: { serviceName: 's' }, spans: Array.from({ length: 11 }, () => base) };
  const result = decodeJaegerBatch(encodeBatch(batch, 'binary'), 'binary', { maxSpans: 10 });
  assert.deepEqual(result, { ok: false, reason: 'too_many_spans', error: 'batch of 11 spans exceeds the limit of 10' });
  assert.equal(spans(decodeJaegerBatch(encodeBatch(batch, 'binary'), 'binary', { maxSpans: 11 })).length, 11);
});

test('times beyond 2^53 microseconds do not fail the span; a duration below zero becomes 0 with Jaeger\'s warning', () => {
  const [span] = spans(decodeJaegerBatch(encodeBatch({ process: { serviceName: 's' }, spans: [{ ...base, flags: -2, startTime: 2n ** 62n, duration: -1n }] }, 'compact'), 'compact'));
  assert.equal(span!.flags, 0);
  assert.equal(span!.startTimeMicros, 2 ** 62);
  assert.equal(span!.durationMicros, 0);
  assert.equal(span!.warnings?.length, 1);
});
