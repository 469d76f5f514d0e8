import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Span } from '../../../model/span.js';
import { decodeSpan, encodeKvs, encodeSpanData, forEachEncodedTag, forEachSpanTag, type EncodedSpan } from '../../../storage/sqlite/span-codec.js';

const process = { serviceName: 'svc', tags: [] };

function span(): Span {
  return {
    traceId: '0123456789abcdef0123456789abcdef', spanId: '0123456789abcdef', operationName: 'op', flags: 1,
    startTimeMicros: 1_700_000_000_000_000, durationMicros: 42,
    references: [
      { refType: 'CHILD_OF', traceId: '0123456789abcdef0123456789abcdef', spanId: '00000000000000aa' },
      { refType: 'FOLLOWS_FROM', traceId: 'ffffffffffffffffffffffffffffffff', spanId: '00000000000000bb', tags: [{ key: 'why', type: 'string', value: 'retry "2"' }] },
    ],
    tags: [
      { key: 'quote"and\\backslash', type: 'string', value: 'line\nbreak\ttab \u2028 é 😀 \u0000' },
      { key: 'big', type: 'int64', value: -9223372036854775808n },
      { key: 'small', type: 'int64', value: -7 },
      { key: 'nan', type: 'float64', value: Number.NaN },
      { key: 'neg-zero', type: 'float64', value: -0 },
      { key: 'pi', type: 'float64', value: 3.141592653589793 },
      { key: 'yes', type: 'bool', value: true },
      { key: 'bytes', type: 'binary', value: new Uint8Array([1, 2, 255]) },
    ],
    logs: [{ timestampMicros: 1_700_000_000_000_001, fields: [{ key: 'event', type: 'string', value: 'cache miss' }] }],
    process,
    scope: { tags: [{ key: 'scope.attr', type: 'int64', value: 123 }] },
    warnings: ['clock "skew"'],
  };
}

test('span data written by hand is the JSON of the encoded arrays, and reads back to the same span', () => {
  const s = span();
  const data = encodeSpanData(s);
  const parsed = JSON.parse(data) as EncodedSpan;
  assert.deepEqual(parsed.t, JSON.parse(JSON.stringify(encodeKvs(s.tags))));
  assert.deepEqual(parsed.s, [['scope.attr', 'i', 123]]);
  const back = decodeSpan({ traceId: s.traceId, spanId: s.spanId, operationName: s.operationName, startTimeMicros: s.startTimeMicros, durationMicros: s.durationMicros, data, process });
  assert.deepEqual(back, { ...s, tags: s.tags.map((t) => (t.key === 'neg-zero' ? { ...t, value: 0 } : t)) }, 'JSON has no -0; everything else is exact');
});

test('a reference into the span\'s own trace stores no trace id, and data written with it still reads back', () => {
  const s = span();
  const parsed = JSON.parse(encodeSpanData(s)) as EncodedSpan;
  assert.deepEqual(parsed.r, [[0, 0, '00000000000000aa'], [1, 'ffffffffffffffffffffffffffffffff', '00000000000000bb', [['why', 's', 'retry "2"']]]]);
  // Data stored before references were written this way spells the span's own trace id out.
  const spelled = JSON.stringify({ r: [[0, s.traceId, '00000000000000aa']] });
  const back = decodeSpan({ traceId: s.traceId, spanId: s.spanId, operationName: s.operationName, startTimeMicros: s.startTimeMicros, durationMicros: s.durationMicros, data: spelled, process });
  assert.deepEqual(back.references, [{ refType: 'CHILD_OF', traceId: s.traceId, spanId: '00000000000000aa' }]);
});

test('log timestamps are stored after the span\'s start, and read back exact; data with absolute ones still reads', () => {
  const s = span();
  s.logs.push({ timestampMicros: s.startTimeMicros - 3, fields: [{ key: 'early', type: 'bool', value: true }] });
  const data = encodeSpanData(s);
  const parsed = JSON.parse(data) as EncodedSpan;
  assert.equal(parsed.l, undefined);
  assert.deepEqual(parsed.L!.map(([offset]) => offset), [1, -3]);
  const columns = { traceId: s.traceId, spanId: s.spanId, operationName: s.operationName, startTimeMicros: s.startTimeMicros, durationMicros: s.durationMicros, process };
  assert.deepEqual(decodeSpan({ ...columns, data }).logs, s.logs);
  // Data stored before, and a span with a timestamp that is no exact integer, keep absolute timestamps.
  const absolute = JSON.stringify({ l: [[s.startTimeMicros + 1, [['event', 's', 'cache miss']]]] });
  assert.deepEqual(decodeSpan({ ...columns, data: absolute }).logs, [s.logs[0]]);
  const fractional = span();
  fractional.logs[0]!.timestampMicros += 0.5;
  const kept = JSON.parse(encodeSpanData(fractional)) as EncodedSpan;
  assert.equal(kept.L, undefined);
  assert.deepEqual(kept.l!.map(([ts]) => ts), [fractional.logs[0]!.timestampMicros]);
  assert.deepEqual(decodeSpan({ ...columns, data: JSON.stringify(kept) }).logs, fractional.logs);
  const fromData: string[] = [];
  forEachEncodedTag(parsed, (k, v) => fromData.push(`${k}=${v}`));
  assert.ok(fromData.includes('event=cache miss') && fromData.includes('early=true'), 'log fields stay searchable');
});

test('a span without optional parts is an empty object, and the searchable tags read the same from data and model', () => {
  const bare: Span = { ...span(), references: [], flags: 0, tags: [], logs: [], warnings: undefined, scope: undefined };
  delete bare.warnings;
  delete bare.scope;
  assert.equal(encodeSpanData(bare), '{}');
  const s = span();
  const fromModel: string[] = [];
  const fromData: string[] = [];
  forEachSpanTag(s, (k, v) => fromModel.push(`${k}=${v}`));
  forEachEncodedTag(JSON.parse(encodeSpanData(s)) as EncodedSpan, (k, v) => fromData.push(`${k}=${v}`));
  assert.deepEqual(fromData, fromModel);
  assert.ok(fromModel.includes('why=retry "2"') && fromModel.includes('scope.attr=123') && fromModel.includes('bytes=0102ff'));
});

test('the tags an encoding hands to its sink are the searchable tags of the span, each value as text', () => {
  const s = span();
  const fromModel: string[] = [];
  const fromSink: string[] = [];
  forEachSpanTag(s, (k, v) => fromModel.push(`${k}=${v}`));
  const data = encodeSpanData(s, (k, v) => fromSink.push(`${k}=${v}`));
  assert.equal(data, encodeSpanData(s), 'the sink does not change the data');
  assert.deepEqual(fromSink.sort(), fromModel.sort());
  assert.ok(fromSink.includes('big=-9223372036854775808') && fromSink.includes('nan=NaN') && fromSink.includes('yes=true'));
});

test('span data longer than the byte buffer grows it and stays the JSON of the encoded arrays, one span after another', () => {
  const long = span();
  long.tags.push({ key: 'plain', type: 'string', value: 'x'.repeat(9_000) }, { key: 'wide', type: 'string', value: 'é😀"'.repeat(3_000) });
  for (const s of [long, span(), long]) {
    const parsed = JSON.parse(encodeSpanData(s)) as EncodedSpan;
    assert.deepEqual(parsed.t, JSON.parse(JSON.stringify(encodeKvs(s.tags))));
    assert.deepEqual(parsed.w, s.warnings);
  }
});

test('what OTLP sent beyond the v1 model (span.otlp, array and map values) is stored and read back; rows without it read as before', () => {
  const s: Span = {
    ...span(),
    tags: [
      { key: 'list', type: 'string', value: '["a",1]', any: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } } },
      { key: 'plain', type: 'string', value: 'x' },
    ],
    otlp: {
      flags: 257, parentSpanId: '00000000000000aa', startNanos: 789, durationNanos: 1, eventNanos: [999], eventNames: ['named'], dropped: [1, 0, 3],
      links: [
        { traceId: '0123456789abcdef0123456789abcdef', spanId: '00000000000000aa', attributes: [{ key: 'opentracing.ref_type', type: 'string', value: 'follows_from' }] },
        { traceId: 'ffffffffffffffffffffffffffffffff', spanId: '00000000000000bb', attributes: [], traceState: 'k=v', flags: 1, droppedAttributesCount: 2 },
      ],
    },
  };
  const columns = { traceId: s.traceId, spanId: s.spanId, operationName: s.operationName, startTimeMicros: s.startTimeMicros, durationMicros: s.durationMicros, process };
  const data = encodeSpanData(s);
  assert.deepEqual(decodeSpan({ ...columns, data }), s);
  // The array's text is what a tag search compares with.
  const seen: string[] = [];
  forEachEncodedTag(JSON.parse(data) as EncodedSpan, (k, v) => seen.push(`${k}=${v}`));
  assert.ok(seen.includes('list=["a",1]'));
  // A row written before: no "o", no "a" tags.
  const old = JSON.stringify({ t: [['list', 's', '["a",1]']] });
  const back = decodeSpan({ ...columns, data: old });
  assert.equal(back.otlp, undefined);
  assert.deepEqual(back.tags, [{ key: 'list', type: 'string', value: '["a",1]' }]);
});

test("the resource's, scope's and events' dropped counts, an empty OTLP value and a Thrift warnings tag are stored and read back; rows with three counts read as before", () => {
  const s: Span = {
    ...span(),
    tags: [{ key: 'empty', type: 'string', value: '', any: {} }],
    warnings: ['sent as a tag'],
    otlp: { dropped: [3, 0, 0, 1, 2, 0, 5], warningsTag: { key: '@jaeger@warnings', type: 'string', value: 'sent as a tag' } },
  };
  const columns = { traceId: s.traceId, spanId: s.spanId, operationName: s.operationName, startTimeMicros: s.startTimeMicros, durationMicros: s.durationMicros, process };
  const data = encodeSpanData(s);
  assert.deepEqual(JSON.parse(data).o, { x: [3, 0, 0, 1, 2, 0, 5], w: [['@jaeger@warnings', 's', 'sent as a tag']] });
  assert.deepEqual(decodeSpan({ ...columns, data }), s);
  const searched: string[] = [];
  forEachEncodedTag(JSON.parse(data) as EncodedSpan, (k, v) => searched.push(`${k}=${v}`));
  assert.ok(searched.includes('empty='), 'the empty value is searched as the empty text it is to the v1 model');
  assert.ok(!searched.some((t) => t.startsWith('@jaeger@warnings')), 'the warnings tag is no tag');
  // A row written before: the span's three counts only.
  const old = JSON.stringify({ o: { x: [3, 0, 0] } });
  assert.deepEqual(decodeSpan({ ...columns, data: old }).otlp, { dropped: [3, 0, 0] });
});
