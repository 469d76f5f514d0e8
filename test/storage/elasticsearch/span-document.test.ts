/**
 * The Elasticsearch span document is written directly as bytes (./span-doc-bytes.ts): it must be exactly the text
 * JSON.stringify makes of the document object (`spanToDb`, its bigint values written as their digits), since a
 * span's `_id` hashes that text and a replayed span must overwrite its own document; it must read back as the span
 * (through the exact-integer parse); and it has Jaeger 2's shape (ids, typed values, tags as fields).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { KeyValue, Span } from '../../../model/span.js';
import { spanFromDb, spanToDb, type DbSpan } from '../../../storage/elasticsearch/jaeger-dbmodel.js';
import { parseJsonExact } from '../../../storage/elasticsearch/exact-json.js';
import { BulkBytes, SpanDocWriter, spanDocJson } from '../../../storage/elasticsearch/span-doc-bytes.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const awkward = ['', 'plain', 'quote " and \\ backslash', 'tab\tnew\nline\r', '\u0000\u001f\u007f', 'é ∑ 😀', '\ud800 lone', 'end \udfff', '</script>', '\u2028\u2029'];

function tags(r: () => number, n: number): KeyValue[] {
  const pick = (): string => awkward[Math.floor(r() * awkward.length)]!;
  return Array.from({ length: n }, (_, i): KeyValue => {
    const key = `${pick()}${i}`;
    switch (i % 6) {
      case 0: return { key, type: 'string', value: pick() };
      case 1: return { key, type: 'bool', value: r() < 0.5 };
      case 2: return { key, type: 'int64', value: r() < 0.5 ? Math.floor(r() * 1e12) - 5e11 : -9223372036854775808n };
      case 3: return { key, type: 'float64', value: [0.1, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e300, 5e-324][Math.floor(r() * 6)]! };
      case 4: return { key, type: 'binary', value: new Uint8Array([0, 1, 254, 255].slice(0, Math.floor(r() * 5))) };
      default: return r() < 0.5
        ? { key, type: 'string', value: pick().repeat(Math.floor(r() * 3)) }
        : { key, type: 'string', value: '["a",1]', any: { arrayValue: { values: [{ stringValue: pick() }, { intValue: '9223372036854775807' }] } } };
    }
  });
}

function span(r: () => number, i: number): Span {
  const s: Span = {
    traceId: i % 2 === 0 ? `0000000000000000${i.toString(16).padStart(16, '0')}` : `${(i + 1).toString(16).padStart(16, 'a')}${i.toString(16).padStart(16, '0')}`,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    operationName: awkward[i % awkward.length]!,
    references: i % 3 === 0 ? [] : [
      { refType: 'CHILD_OF', traceId: i % 2 === 0 ? `0000000000000000${i.toString(16).padStart(16, '0')}` : `${(i + 1).toString(16).padStart(16, 'a')}${i.toString(16).padStart(16, '0')}`, spanId: 'ab'.repeat(8) },
      { refType: 'FOLLOWS_FROM', traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), ...(i % 2 === 0 ? { tags: tags(r, 2) } : {}) },
    ],
    // The v1 model's flags are 0 (Jaeger's v1 API shows none); the flags sent are in otlp.
    flags: 0,
    startTimeMicros: 1_700_000_000_000_000 + i * 1_234,
    durationMicros: i % 7,
    tags: tags(r, i % 9),
    logs: i % 2 === 0 ? [] : [{ timestampMicros: 1_700_000_000_000_001 + i, fields: tags(r, i % 3) }],
    process: { serviceName: awkward[(i * 7) % awkward.length]!, tags: tags(r, 3) },
  };
  // Warnings: one (written as its text), several (as the JSON text of their list), one that is itself such a text.
  if (i % 6 === 5) s.warnings = i % 4 === 1 ? [awkward[i % awkward.length]!] : i % 4 === 3 ? ['["x"]'] : [awkward[i % awkward.length]!, 'a < b & c > d', '\u2028'];
  if (i % 5 === 1) s.scope = { tags: tags(r, 2) };
  if (i % 5 === 2) s.scope = { tags: [] };
  if (i % 4 === 3) {
    const all = { flags: 257, parentSpanId: 'ab'.repeat(8), startNanos: 789, durationNanos: 1, eventNanos: [0, 5], eventNames: ['', 'x "y"'], dropped: [1, 0, 2] as [number, number, number] };
    const links = [{ traceId: s.traceId, spanId: 'cd'.repeat(8), traceState: 'k=v', flags: 1, droppedAttributesCount: 3, attributes: tags(r, 3) }, { traceId: 'e'.repeat(32), spanId: 'f'.repeat(16), attributes: [] }];
    // Empty, every field with links, every field but links, and some fields without links (each field its own first).
    const k = (i >> 2) % 4;
    s.otlp = k === 0 ? {} : k === 1 ? { ...all, links } : k === 2 ? all : {
      ...(i % 3 === 0 ? { flags: 1 } : {}), ...(i % 2 === 0 ? { parentSpanId: awkward[i % awkward.length]! } : {}),
      ...(i % 5 < 2 ? { startNanos: 5 } : {}), ...(i % 7 < 3 ? { durationNanos: 999 } : {}), ...(i % 11 < 3 ? { eventNanos: [3] } : {}),
      ...(i % 13 < 3 ? { eventNames: ['é'] } : {}), ...(i % 17 < 5 ? { dropped: [0, 2, 0] as [number, number, number] } : {}),
    };
  }
  return s;
}

/** JSON.stringify writing a bigint as its digits and -0 as `-0` (what Go's encoder does with an int64 and a float64). */
function stringifyWithBigInts(value: unknown): string {
  const marks: string[] = [];
  const mark = (text: string): string => `\u0001big${marks.push(text) - 1}\u0001`;
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? mark(v.toString()) : Object.is(v, -0) ? mark('-0') : v));
  return text.replace(/"\\u0001big(\d+)\\u0001"/g, (_m, i: string) => marks[Number(i)]!);
}

test('the span document text is JSON.stringify of the document object, byte for byte', () => {
  const r = seededRandom(19);
  for (let i = 0; i < 3_000; i++) {
    const s = span(r, i);
    assert.equal(spanDocJson(s), stringifyWithBigInts(spanToDb(s)), `span ${i}`);
  }
});

test('the span document bytes of the bulk body, parts shared by spans reused, are the UTF-8 of its text, and its id hashes them', () => {
  const r = seededRandom(29);
  const writer = new SpanDocWriter();
  const spans = Array.from({ length: 3_000 }, (_, i) => span(r, i));
  // Spans sharing process and scope objects, as a receiver's batch does: their parts are written once and reused.
  for (let i = 1; i < spans.length; i += 3) {
    spans[i]!.process = spans[i - 1]!.process;
    if (spans[i - 1]!.scope) spans[i]!.scope = spans[i - 1]!.scope;
  }
  const body = new BulkBytes();
  const expected: string[] = [];
  spans.forEach((s, i) => {
    const text = stringifyWithBigInts(spanToDb(s));
    assert.deepEqual(writer.docBytes(s), Buffer.from(text, 'utf8'), `span ${i}`);
    const id = `${s.traceId}_${s.spanId}_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    assert.equal(writer.writeSpan(body, 'p-jaeger-span-"2024"', s), id, `span ${i}`);
    expected.push(JSON.stringify({ index: { _index: 'p-jaeger-span-"2024"', _id: id } }), text);
  });
  assert.equal(body.toString(), expected.join('\n') + '\n');
});

test('the span document text reads back as the span', () => {
  const r = seededRandom(23);
  for (let i = 0; i < 500; i++) {
    const s = span(r, i);
    const back = spanFromDb(parseJsonExact(spanDocJson(s)) as DbSpan);
    assert.ok('ok' in back, `span ${i}`);
    assert.equal(spanDocJson(back.ok), spanDocJson(s), `span ${i} reads back the same`);
  }
});

const base: Span = {
  traceId: '0000000000000000' + '0a0a0a0a00000001', spanId: '00000000000000b1', operationName: 'op', references: [], flags: 0,
  startTimeMicros: 1_700_000_000_123_456, durationMicros: 5, tags: [], logs: [], process: { serviceName: 'svc', tags: [] },
};

test('the document has Jaeger 2.x shape: 32-digit trace ids, typed values, span.kind and error as fields, nulls where Go writes them', () => {
  const s: Span = {
    ...base,
    references: [{ refType: 'CHILD_OF', traceId: base.traceId, spanId: '00000000000000a1' }],
    tags: [
      { key: 'span.kind', type: 'string', value: 'server' },
      { key: 'big', type: 'int64', value: 9223372036854775807n },
      { key: 'small', type: 'int64', value: -42 },
      { key: 'ok', type: 'bool', value: true },
      { key: 'ratio', type: 'float64', value: 0.25 },
      { key: 'tiny', type: 'float64', value: 1e-7 },
      { key: 'nan', type: 'float64', value: Number.NaN },
      { key: 'raw', type: 'binary', value: new Uint8Array([0, 255]) },
      { key: 'error', type: 'bool', value: true },
    ],
    process: { serviceName: 'svc', tags: [{ key: 'host.name', type: 'string', value: 'h' }] },
  };
  assert.equal(spanDocJson(s), '{"traceID":"00000000000000000a0a0a0a00000001","spanID":"00000000000000b1","operationName":"op",'
    + '"references":[{"refType":"CHILD_OF","traceID":"00000000000000000a0a0a0a00000001","spanID":"00000000000000a1"}],'
    + '"startTime":1700000000123456,"startTimeMillis":1700000000123,"duration":5,'
    + '"tags":[{"key":"big","type":"int64","value":9223372036854775807},{"key":"small","type":"int64","value":-42},'
    + '{"key":"ok","type":"bool","value":true},{"key":"ratio","type":"float64","value":0.25},{"key":"tiny","type":"float64","value":1e-7},'
    + '{"key":"nan","type":"float64","value":"NaN"},{"key":"raw","type":"binary","value":"00ff"}],'
    + '"tag":{"error":true,"span@kind":"server"},"logs":null,'
    + '"process":{"serviceName":"svc","tags":[{"key":"host.name","type":"string","value":"h"}]}}');
  assert.equal(spanDocJson(base), '{"traceID":"00000000000000000a0a0a0a00000001","spanID":"00000000000000b1","operationName":"op","references":null,'
    + '"startTime":1700000000123456,"startTimeMillis":1700000000123,"duration":5,"tags":[],"logs":null,"process":{"serviceName":"svc","tags":[]}}');
});

test('documents Jaeger 2.x wrote and documents older Shipwatch versions wrote read back exactly', () => {
  const jaeger = '{"traceID":"00000000000000000a0a0a0a00000001","spanID":"00000000000000b1","operationName":"op","references":null,'
    + '"startTime":1700000000123456,"startTimeMillis":1700000000123,"duration":5,'
    + '"tags":[{"key":"max","type":"int64","value":9223372036854775807},{"key":"min","type":"int64","value":-9223372036854775808},'
    + '{"key":"n","type":"int64","value":9007199254740993},{"key":"f","type":"float64","value":100000000000000000000},'
    + '{"key":"s","type":"string","value":"12345678901234567890"},{"key":"b","type":"bool","value":false}],'
    + '"tag":{"error":true,"span@kind":"client"},"logs":[{"timestamp":1700000000123457,"fields":[{"key":"event","type":"string","value":"x"},'
    + '{"key":"size","type":"int64","value":18446744073709551}]}],'
    + '"process":{"serviceName":"svc","tags":[],"tag":{"big":12345678901234567890123}}}';
  const doc = parseJsonExact(jaeger) as DbSpan;
  const back = spanFromDb(doc);
  assert.ok('ok' in back);
  const s = back.ok;
  assert.equal(s.traceId, '00000000000000000a0a0a0a00000001');
  assert.deepEqual(s.tags, [
    { key: 'max', type: 'int64', value: 9223372036854775807n },
    { key: 'min', type: 'int64', value: -9223372036854775808n },
    { key: 'n', type: 'int64', value: 9007199254740993n },
    { key: 'f', type: 'float64', value: 1e20 },
    { key: 's', type: 'string', value: '12345678901234567890' },
    { key: 'b', type: 'bool', value: false },
    // As Jaeger shows them: kind and status after the others, the ERROR status shown again beside error=true.
    { key: 'span.kind', type: 'string', value: 'client' },
    { key: 'otel.status_code', type: 'string', value: 'ERROR' },
    { key: 'error', type: 'bool', value: true },
  ]);
  assert.deepEqual(s.logs[0]!.fields[1], { key: 'size', type: 'int64', value: 18446744073709551n });
  assert.deepEqual(s.process.tags, [{ key: 'big', type: 'float64', value: 12345678901234567890123 }]);
  assert.equal(s.warnings, undefined);

  const older = '{"traceID":"0a0a0a0a00000001","spanID":"00000000000000b1","operationName":"op","references":[],"startTime":1700000000123456,'
    + '"startTimeMillis":1700000000123,"duration":5,"tags":[{"key":"max","type":"int64","value":"9223372036854775807"},'
    + '{"key":"ok","type":"bool","value":"true"},{"key":"r","type":"float64","value":"0.5"}],"logs":[],"process":{"serviceName":"svc","tags":[]}}';
  const old = spanFromDb(parseJsonExact(older) as DbSpan);
  assert.ok('ok' in old);
  assert.equal(old.ok.traceId, '00000000000000000a0a0a0a00000001');
  assert.deepEqual(old.ok.tags, [
    { key: 'max', type: 'int64', value: 9223372036854775807n },
    { key: 'ok', type: 'bool', value: true },
    { key: 'r', type: 'float64', value: 0.5 },
  ]);
});

test('an error span is written as Jaeger writes it and reads back as it was, references as Jaeger shows them', () => {
  const s: Span = {
    ...base,
    references: [{ refType: 'CHILD_OF', traceId: base.traceId, spanId: '00000000000000a1' }, { refType: 'FOLLOWS_FROM', traceId: base.traceId, spanId: '00000000000000a1' }],
    tags: [
      { key: 'http.status_code', type: 'int64', value: 200 },
      { key: 'span.kind', type: 'string', value: 'client' },
      { key: 'otel.status_code', type: 'string', value: 'ERROR' },
      { key: 'error', type: 'bool', value: true },
      { key: 'otel.status_description', type: 'string', value: 'boom' },
    ],
  };
  const doc = parseJsonExact(spanDocJson(s)) as DbSpan;
  assert.deepEqual(doc.tags, [{ key: 'http.status_code', type: 'int64', value: 200 }, { key: 'otel.status_description', type: 'string', value: 'boom' }]);
  assert.deepEqual(doc.tag, { error: true, 'span@kind': 'client' });
  const back = spanFromDb(doc);
  assert.ok('ok' in back);
  assert.deepEqual(back.ok.tags, s.tags);
  // A CHILD_OF and a FOLLOWS_FROM reference to the parent: Jaeger shows only FOLLOWS_FROM.
  assert.deepEqual(back.ok.references, [{ refType: 'FOLLOWS_FROM', traceId: base.traceId, spanId: '00000000000000a1' }]);
  // Jaeger on Elasticsearch shows a server span answered 500 as an error.
  const http = spanFromDb(parseJsonExact(spanDocJson({ ...base, tags: [{ key: 'http.response.status_code', type: 'int64', value: 500 }, { key: 'span.kind', type: 'string', value: 'server' }] })) as DbSpan);
  assert.ok('ok' in http);
  assert.deepEqual(http.ok.tags.map((t) => `${t.key}=${String(t.value)}`), ['http.response.status_code=500', 'span.kind=server', 'otel.status_code=ERROR', 'error=true']);
});

test('a Zipkin error text beside the ERROR status: the field is error=true as Jaeger writes it, the text stays in the nested list and reads back', () => {
  // As the Zipkin intake makes a client span tagged error="connection reset": the text, then the status's tags.
  const s: Span = {
    ...base,
    tags: [
      { key: 'error', type: 'string', value: 'connection reset' },
      { key: 'peer.service', type: 'string', value: 'api' },
      { key: 'span.kind', type: 'string', value: 'client' },
      { key: 'otel.status_code', type: 'string', value: 'ERROR' },
      { key: 'error', type: 'bool', value: true },
    ],
    process: { serviceName: 'svc', tags: [{ key: 'span.kind', type: 'string', value: 'odd' }, { key: 'span.kind', type: 'string', value: 'last' }] },
  };
  const doc = parseJsonExact(spanDocJson(s)) as DbSpan;
  assert.equal(spanDocJson(s), stringifyWithBigInts(spanToDb(s)));
  // Jaeger's reader puts the nested list before the fields: it shows error=true (its status), as from its own document.
  assert.deepEqual(doc.tags, [{ key: 'error', type: 'string', value: 'connection reset' }, { key: 'peer.service', type: 'string', value: 'api' }]);
  assert.deepEqual(doc.tag, { error: true, 'span@kind': 'client' });
  assert.deepEqual(doc.process.tags, [{ key: 'span.kind', type: 'string', value: 'odd' }]);
  assert.deepEqual(doc.process.tag, { 'span@kind': 'last' });
  const back = spanFromDb(doc);
  assert.ok('ok' in back);
  assert.deepEqual(back.ok.tags, s.tags);
  // A document Jaeger wrote for that span has the field alone: read as Jaeger shows it.
  const jaeger = spanFromDb({ ...doc, tags: [{ key: 'peer.service', type: 'string', value: 'api' }] });
  assert.ok('ok' in jaeger);
  assert.deepEqual(jaeger.ok.tags, s.tags.slice(1));
});

test('warnings are written as Jaeger 2.x writes them, a @jaeger@warnings tag, and read back; those Jaeger wrote read as its memory store shows them', () => {
  // A list (a sanitizer's): Go's encoding/json of it (<, >, & escaped), the text Jaeger writes.
  const one = parseJsonExact(spanDocJson({ ...base, warnings: ['w1'] })) as DbSpan;
  assert.deepEqual(one.tags, [{ key: '@jaeger@warnings', type: 'string', value: '["w1"]' }]);
  const several = parseJsonExact(spanDocJson({ ...base, tags: [{ key: 'k', type: 'string', value: 'v' }], warnings: ['a <b>', 'c & d'] })) as DbSpan;
  assert.deepEqual(several.tags, [{ key: 'k', type: 'string', value: 'v' }, { key: '@jaeger@warnings', type: 'string', value: '["a \\u003cb\\u003e","c \\u0026 d"]' }]);
  for (const warnings of [['w1'], ['a <b>', 'c & d'], ['["x","y"]'], ['[not json'], ['']]) {
    const back = spanFromDb(parseJsonExact(spanDocJson({ ...base, warnings })) as DbSpan);
    assert.ok('ok' in back);
    assert.deepEqual(back.ok.warnings, warnings);
    assert.deepEqual(back.ok.tags, []);
    assert.equal(back.ok.otlp, undefined);
  }
  // A Thrift span's tag, as sent while it is the only warning (Jaeger keeps the attribute it was); with Jaeger's own
  // warning beside it, the list.
  const parent = { refType: 'CHILD_OF' as const, traceId: base.traceId, spanId: '00000000000000a1' };
  for (const sent of [{ key: '@jaeger@warnings', type: 'string', value: 'sent as a tag' }, { key: '@jaeger@warnings', type: 'int64', value: 7 }] as KeyValue[]) {
    const thrift: Span = { ...base, references: [parent], warnings: [sent.type === 'string' ? sent.value : '7'], otlp: { parentSpanId: parent.spanId, warningsTag: sent } };
    const doc = parseJsonExact(spanDocJson(thrift)) as DbSpan;
    assert.deepEqual(doc.tags, [sent]);
    const back = spanFromDb(doc);
    assert.ok('ok' in back);
    assert.equal(spanDocJson(back.ok), spanDocJson(thrift));
    assert.deepEqual(back.ok.warnings, thrift.warnings);
    assert.deepEqual(back.ok.otlp?.warningsTag, sent);
  }
  const joined = parseJsonExact(spanDocJson({ ...base, warnings: ['sent', 'Negative duration detected'], otlp: { warningsTag: { key: '@jaeger@warnings', type: 'string', value: 'sent' } } })) as DbSpan;
  assert.deepEqual(joined.tags, [{ key: '@jaeger@warnings', type: 'string', value: '["sent","Negative duration detected"]' }]);
  // Jaeger's documents: a sanitizer's warning (the JSON text of the list), a warning sent as a Thrift tag (its text).
  const jaeger = (value: string): Span => {
    const r = spanFromDb({ ...(parseJsonExact(spanDocJson(base)) as DbSpan), references: [{ refType: 'CHILD_OF', traceID: base.traceId, spanID: parent.spanId }], tags: [{ key: '@jaeger@warnings', type: 'string', value }, { key: 'x', type: 'string', value: 'y' }] });
    assert.ok('ok' in r);
    return r.ok;
  };
  assert.deepEqual(jaeger('["Negative duration detected, sanitizing end timestamp."]').warnings, ['Negative duration detected, sanitizing end timestamp.']);
  assert.equal(jaeger('["Negative duration detected, sanitizing end timestamp."]').otlp, undefined);
  const told = jaeger('sent by the client');
  assert.deepEqual(told.warnings, ['sent by the client']);
  assert.deepEqual(told.otlp, { parentSpanId: parent.spanId, warningsTag: { key: '@jaeger@warnings', type: 'string', value: 'sent by the client' } });
  assert.deepEqual(told.tags, [{ key: 'x', type: 'string', value: 'y' }]);
  assert.deepEqual(jaeger('[1,2]').warnings, ['[1,2]']);
});

test('the exact parse leaves strings and fractions alone and keeps safe integers numbers', () => {
  const text = '{"a":"x:12345678901234567890","b":[1.12345678901234567890,12345678901234567890,-9007199254740991],"c":"\\"q\\":99999999999999999999","d":1234567890123456e5}';
  const v = parseJsonExact(text) as Record<string, unknown>;
  assert.equal(v.a, 'x:12345678901234567890');
  assert.deepEqual(v.b, [1.1234567890123457, '\u000012345678901234567890', -9007199254740991]);
  assert.equal(v.c, '"q":99999999999999999999');
  assert.equal(v.d, 1234567890123456e5);
});
