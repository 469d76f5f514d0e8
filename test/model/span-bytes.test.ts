import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSpanBytes, encodeSpanBytes } from '../../model/span-bytes.js';
import type { KeyValue, Process, Span, SpanScope } from '../../model/span.js';
import { seededRandom } from '../helpers/seeded-random.js';

const edgeTags: KeyValue[] = [
  { key: 'int.max', type: 'int64', value: 9223372036854775807n },
  { key: 'int.min', type: 'int64', value: -9223372036854775808n },
  { key: 'int.small', type: 'int64', value: -42 },
  { key: 'int.safe', type: 'int64', value: Number.MAX_SAFE_INTEGER },
  { key: 'nan', type: 'float64', value: Number.NaN },
  { key: 'inf', type: 'float64', value: Number.NEGATIVE_INFINITY },
  { key: 'zero', type: 'float64', value: -0 },
  { key: 'ratio', type: 'float64', value: 0.1 },
  { key: 'bin', type: 'binary', value: new Uint8Array([0, 255, 1, 128]) },
  { key: 'empty.bin', type: 'binary', value: new Uint8Array(0) },
  { key: 'yes', type: 'bool', value: true },
  { key: 'no', type: 'bool', value: false },
  { key: '', type: 'string', value: '' },
  { key: 'unicode', type: 'string', value: 'é😀 ∑ \u0000 \uffff' },
  { key: 'long', type: 'string', value: 'x'.repeat(70_000) },
];

function span(i: number, process: Process, scope?: SpanScope): Span {
  const s: Span = {
    traceId: `${'0'.repeat(16)}${(i >> 1).toString(16).padStart(16, '0')}`,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    operationName: i % 2 === 0 ? 'GET /orders' : `op-${i}-${'ü'.repeat(i % 50)}`,
    references: i === 0 ? [] : [
      { refType: 'CHILD_OF', traceId: `${'0'.repeat(16)}${(i >> 1).toString(16).padStart(16, '0')}`, spanId: i.toString(16).padStart(16, '0') },
      { refType: 'FOLLOWS_FROM', traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), tags: i % 3 === 0 ? [] : [{ key: 'link', type: 'int64', value: i }] },
    ],
    flags: i % 3 === 0 ? 0xffffffff : 1,
    startTimeMicros: 1_700_000_000_000_000 + i,
    durationMicros: i % 5 === 0 ? 0.5 : i * 1000,
    tags: i % 4 === 0 ? edgeTags : [{ key: 'http.status_code', type: 'int64', value: 200 + i }],
    logs: i % 2 === 0 ? [] : [{ timestampMicros: 1_700_000_000_000_001 + i, fields: [{ key: 'event', type: 'string', value: 'retry' }] }, { timestampMicros: 1.5, fields: [] }],
    process,
  };
  if (scope !== undefined) s.scope = scope;
  if (i % 7 === 0) s.warnings = i % 14 === 0 ? [] : ['clock skew', ''];
  return s;
}

test('spans read back are the spans written, every value exact, absent and empty kept apart', () => {
  const processes: Process[] = [
    { serviceName: 'shop', tags: [{ key: 'host.name', type: 'string', value: 'node-1' }] },
    { serviceName: '', tags: edgeTags },
  ];
  const scope: SpanScope = { tags: [{ key: 'lib', type: 'string', value: '@shop/http' }] };
  const spans = Array.from({ length: 300 }, (_, i) => span(i, processes[i % 2]!, i % 3 === 0 ? undefined : scope));
  const back = decodeSpanBytes(encodeSpanBytes(spans));
  assert.deepEqual(back, spans);
  assert.ok(Object.is((back[0]!.tags.find((t) => t.key === 'zero')!.value), -0));
  assert.equal(back[1]!.scope, back[2]!.scope, 'spans that shared a scope share it again');
  assert.equal(back[0]!.process, back[2]!.process, 'spans that shared a process share it again');
  assert.equal('scope' in back[0]!, false);
  assert.equal('tags' in back[1]!.references[0]!, false, 'a link without attributes has none, not an empty list');
  assert.deepEqual(back[3]!.references[1]!.tags, [], 'an empty list of link attributes stays empty');
  assert.deepEqual(back[14]!.warnings, []);
  assert.equal('warnings' in back[1]!, false);
});

test('no spans, and random spans of random strings, round-trip', () => {
  assert.deepEqual(decodeSpanBytes(encodeSpanBytes([])), []);
  const r = seededRandom(7);
  const text = (): string => String.fromCodePoint(...Array.from({ length: Math.floor(r() * 200) }, () => (r() < 0.8 ? 0x20 + Math.floor(r() * 90) : 0x80 + Math.floor(r() * 0x2000))));
  const spans = Array.from({ length: 500 }, (_, i) => {
    const s = span(i, { serviceName: text(), tags: [{ key: text(), type: 'string', value: text() }] });
    s.tags = Array.from({ length: Math.floor(r() * 6) }, () => ({ key: text(), type: 'string' as const, value: text() }));
    return s;
  });
  assert.deepEqual(decodeSpanBytes(encodeSpanBytes(spans)), spans);
});

test('damaged bytes are refused with a reason, never read as other spans', () => {
  const bytes = encodeSpanBytes(Array.from({ length: 20 }, (_, i) => span(i, { serviceName: 'shop', tags: [] })));
  for (let cut = 0; cut < bytes.length; cut += 37) {
    assert.throws(() => decodeSpanBytes(bytes.subarray(0, cut)), /span bytes/, `cut at ${cut}`);
  }
  assert.throws(() => decodeSpanBytes(Buffer.concat([bytes, Buffer.from([0])])), /after the last span/);
  const otherVersion = Buffer.from(bytes);
  otherVersion[0] = 9;
  assert.throws(() => decodeSpanBytes(otherVersion), /unknown version 9/);
});

const otlpSpan = (i: number, process: Process): Span => ({
  ...span(i, process),
  tags: [
    { key: 'list', type: 'string', value: '["a",1]', any: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } } },
    { key: 'plain', type: 'string', value: 'x' },
  ],
  otlp: i % 2 === 0
    ? {
      flags: 257, parentSpanId: 'a'.repeat(16), startNanos: 789, durationNanos: 1, eventNanos: [0, 999], eventNames: ['', 'named'],
      dropped: i % 4 === 0 ? [1, 0, 3] : [1, 0, 3, 4, 0, 0, 7],
      ...(i % 4 === 2 ? { warningsTag: { key: '@jaeger@warnings', type: 'string' as const, value: 'sent as a tag' } } : {}),
      links: [
        { traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), attributes: [{ key: 'opentracing.ref_type', type: 'string', value: 'child_of' }], traceState: 'k=v', flags: 0xffffffff, droppedAttributesCount: 2 },
        { traceId: 'f'.repeat(32), spanId: '1'.repeat(16), attributes: [] },
      ],
    }
    : {},
});

test('what OTLP sent beyond the v1 model (span.otlp, array and map values) round-trips', () => {
  const process: Process = { serviceName: 'svc', tags: [{ key: 'm', type: 'string', value: '{"k":"v"}', any: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } }] };
  const spans = Array.from({ length: 10 }, (_, i) => otlpSpan(i, process));
  assert.deepEqual(decodeSpanBytes(encodeSpanBytes(spans)), spans);
});

test('batches of version 1 (written before span.otlp) are still read', () => {
  // Version 1 is version 2 without the otlp field after the warnings: one span, no tags, no otlp.
  const s = span(2, { serviceName: 'shop', tags: [] });
  s.tags = [];
  const v3 = encodeSpanBytes([s]);
  assert.equal(v3[0], 3);
  assert.equal(v3[v3.length - 1], 0, 'no otlp field');
  const v1 = Buffer.concat([Buffer.from([1]), v3.subarray(1, v3.length - 1)]);
  assert.deepEqual(decodeSpanBytes(v1), [s]);
});

test("batches of version 2 (three dropped counts, no count before them) are still read", () => {
  // A span whose otlp holds only its dropped counts ends with: the otlp bits + 1 (65), the counts' number (3), the counts.
  const s: Span = { ...span(3, { serviceName: 'shop', tags: [] }), tags: [], otlp: { dropped: [1, 0, 3] } };
  const v3 = encodeSpanBytes([s]);
  assert.deepEqual([...v3.subarray(v3.length - 5)], [65, 3, 1, 0, 3]);
  const v2 = Buffer.concat([Buffer.from([2]), v3.subarray(1, v3.length - 4), v3.subarray(v3.length - 3)]);
  assert.deepEqual(decodeSpanBytes(v2), [s]);
});
