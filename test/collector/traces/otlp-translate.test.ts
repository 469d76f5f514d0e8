import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { otlpJsonToSpans } from '../../../collector/traces/codecs/otlp/otlp-translate.js';
import type { KeyValue, Span } from '../../../model/span.js';
import { fileURLToPath } from 'node:url';

/** The shared fixtures beside the repository (`../shared`). */
const FIXTURES = fileURLToPath(new URL('../../fixtures/jaeger-storage/traces', import.meta.url));

interface FixtureSpan {
  traceId: string;
  spanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: unknown[];
  events?: unknown[];
  links?: unknown[];
}

function fixtureSpans(body: { resourceSpans: Array<{ scopeSpans: Array<{ spans: FixtureSpan[] }> }> }): FixtureSpan[] {
  return body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

function tag(tags: KeyValue[], key: string): KeyValue | undefined {
  return tags.find((t) => t.key === key);
}

function one(body: unknown): Span {
  const out = otlpJsonToSpans(body);
  assert.equal(out.malformed, undefined);
  assert.deepEqual(out.errors, []);
  assert.equal(out.spans.length, 1);
  return out.spans[0]!;
}

function request(span: Record<string, unknown>, resourceAttrs: unknown[] = [{ key: 'service.name', value: { stringValue: 'svc' } }], scope: unknown = {}): unknown {
  return { resourceSpans: [{ resource: { attributes: resourceAttrs }, scopeSpans: [{ scope, spans: [span] }] }] };
}

const BASE = {
  traceId: '0102030405060708090A0B0C0D0E0F10',
  spanId: 'A1A2A3A4A5A6A7A8',
  name: 'op',
  startTimeUnixNano: '1485449191639875123',
  endTimeUnixNano: '1485449191639977999',
};

test('every Jaeger storage fixture translates, span for span, ids, times and counts preserved', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 30);
  for (const file of files) {
    const body = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
    const out = otlpJsonToSpans(body);
    assert.equal(out.malformed, undefined, file);
    assert.equal(out.rejected, 0, `${file}: ${out.errors.join('; ')}`);
    const expected = fixtureSpans(body);
    assert.equal(out.spans.length, expected.length, file);
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i]!;
      const s = out.spans[i]!;
      assert.equal(s.traceId, e.traceId.toLowerCase(), file);
      assert.equal(s.spanId, e.spanId.toLowerCase(), file);
      assert.equal(s.operationName, e.name, file);
      assert.equal(BigInt(s.startTimeMicros), BigInt(e.startTimeUnixNano) / 1000n, file);
      assert.equal(BigInt(s.durationMicros), (BigInt(e.endTimeUnixNano) - BigInt(e.startTimeUnixNano)) / 1000n, file);
      assert.equal(s.logs.length, (e.events ?? []).length, file);
      assert.ok(s.process.serviceName.length > 0, file);
    }
  }
});

test('the log tags fixture keeps typed log fields, bytes as binary', () => {
  const body = JSON.parse(readFileSync(join(FIXTURES, 'log_tags_trace.json'), 'utf8'));
  const span = otlpJsonToSpans(body).spans[0]!;
  assert.deepEqual(span.logs[0]!.fields, [
    { key: 'sameplacetag1', type: 'string', value: 'sameplacevalue' },
    { key: 'sameplacetag2', type: 'int64', value: 123 },
    { key: 'sameplacetag4', type: 'bool', value: true },
    { key: 'sameplacetag3', type: 'float64', value: 72.5 },
    { key: 'blob', type: 'binary', value: new Uint8Array([0, 0, 0x30, 0x39]) },
  ]);
  assert.equal(span.logs[0]!.timestampMicros, 1485449191639875);
  assert.equal(span.process.serviceName, 'query02-service');
  assert.deepEqual(span.process.tags, []);
});

test('the link attributes fixture: child_of links are CHILD_OF, follows_from FOLLOWS_FROM, other link attributes are the reference tags', () => {
  const body = JSON.parse(readFileSync(join(FIXTURES, 'link_attributes_trace.json'), 'utf8'));
  const span = otlpJsonToSpans(body).spans[0]!;
  assert.deepEqual(span.references, [
    {
      refType: 'CHILD_OF', traceId: '000000000000000000000000000000ff', spanId: '00000000000000ff',
      tags: [
        { key: 'sameplacelinkattribute1', type: 'string', value: 'sameplacevalue' },
        { key: 'sameplacelinkattribute2', type: 'int64', value: 123 },
        { key: 'sameplacelinkattribute4', type: 'bool', value: true },
        { key: 'sameplacelinkattribute3', type: 'float64', value: 72.5 },
        { key: 'linkblob', type: 'binary', value: new Uint8Array([0, 0, 0x30, 0x39]) },
      ],
    },
    { refType: 'CHILD_OF', traceId: '00000000000000000000000000000001', spanId: '0000000000000002' },
    { refType: 'FOLLOWS_FROM', traceId: '00000000000000000000000000000001', spanId: '0000000000000002' },
  ]);
});

test('the scope attributes fixture keeps the scope attributes beside the name and version tags, shared by the scope', () => {
  const body = JSON.parse(readFileSync(join(FIXTURES, 'scope_attributes_trace.json'), 'utf8'));
  const [span] = otlpJsonToSpans(body).spans;
  assert.deepEqual(span!.tags.slice(0, 2), [
    { key: 'otel.scope.name', type: 'string', value: 'testing-library' },
    { key: 'otel.scope.version', type: 'string', value: '1.1.1' },
  ]);
  assert.deepEqual(span!.scope, {
    tags: [
      { key: 'sameplacescopeattribute1', type: 'string', value: 'sameplacevalue' },
      { key: 'sameplacescopeattribute2', type: 'int64', value: 123 },
      { key: 'sameplacescopeattribute4', type: 'bool', value: true },
      { key: 'sameplacescopeattribute3', type: 'float64', value: 72.5 },
      { key: 'scopeblob', type: 'binary', value: new Uint8Array([0, 0, 0x30, 0x39]) },
    ],
  });
  const scopeSpans = body.resourceSpans[0].scopeSpans[0];
  scopeSpans.spans.push({ ...scopeSpans.spans[0], spanId: '0000000000000003' });
  const two = otlpJsonToSpans(body).spans;
  assert.equal(two.length, 2);
  assert.equal(two[0]!.scope, two[1]!.scope, 'the spans of one scope share its attributes');
  assert.equal(otlpJsonToSpans(request({ traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1' }, undefined, { name: 'x' })).spans[0]!.scope, undefined,
    'a scope without attributes leaves no scope on the span');
});

test('a link to the parent retypes the parent reference and gives it the link attributes; a bad link attribute rejects the span', () => {
  const traceId = '0'.repeat(31) + '1';
  const out = otlpJsonToSpans(request({
    traceId, spanId: '0'.repeat(15) + '2', parentSpanId: '0'.repeat(15) + '1',
    links: [{ traceId, spanId: '0'.repeat(15) + '1', attributes: [{ key: 'opentracing.ref_type', value: { stringValue: 'follows_from' } }, { key: 'why', value: { stringValue: 'retry' } }] }],
  }));
  assert.deepEqual(out.spans[0]!.references, [{ refType: 'FOLLOWS_FROM', traceId, spanId: '0'.repeat(15) + '1', tags: [{ key: 'why', type: 'string', value: 'retry' }] }]);
  const bad = otlpJsonToSpans(request({ traceId, spanId: '0'.repeat(15) + '2', links: [{ traceId, spanId: '0'.repeat(15) + '3', attributes: [{ key: 'n', value: { intValue: 'x' } }] }] }));
  assert.equal(bad.rejected, 1);
  assert.match(bad.errors[0]!, /links\[0\]/);
});

test('the scope fixture puts otel.scope.name and otel.scope.version first among the span tags', () => {
  const body = JSON.parse(readFileSync(join(FIXTURES, 'scope_name_version_trace.json'), 'utf8'));
  const span = otlpJsonToSpans(body).spans[0]!;
  assert.deepEqual(span.tags.slice(0, 2), [
    { key: 'otel.scope.name', type: 'string', value: 'testing-library' },
    { key: 'otel.scope.version', type: 'string', value: '1.1.1' },
  ]);
});

test('the example fixture maps kind 2 and 3 to span.kind server and client', () => {
  const body = JSON.parse(readFileSync(join(FIXTURES, 'example_trace.json'), 'utf8'));
  const spans = otlpJsonToSpans(body).spans;
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  assert.deepEqual(tag(byId.get('0000000000000006')!.tags, 'span.kind'), { key: 'span.kind', type: 'string', value: 'server' });
  assert.deepEqual(tag(byId.get('0000000000000007')!.tags, 'span.kind'), { key: 'span.kind', type: 'string', value: 'client' });
  assert.equal(tag(byId.get('0000000000000003')!.tags, 'span.kind'), undefined);
});

test('a full span maps ids, parent, kind, status, trace state, flags and tag order as Jaeger does', () => {
  const span = one(request({
    ...BASE,
    parentSpanId: '00000000000000AB',
    kind: 'SPAN_KIND_PRODUCER',
    traceState: 'vendor=1',
    flags: 0x301,
    attributes: [{ key: 'a', value: { stringValue: 'x' } }],
    status: { code: 2, message: 'boom' },
  }, undefined, { name: 'lib', version: '2.0', attributes: [{ key: 'dropped', value: { stringValue: 'y' } }] }));
  assert.equal(span.traceId, '0102030405060708090a0b0c0d0e0f10');
  assert.equal(span.spanId, 'a1a2a3a4a5a6a7a8');
  assert.deepEqual(span.references, [{ refType: 'CHILD_OF', traceId: span.traceId, spanId: '00000000000000ab' }]);
  assert.equal(span.flags, 0, 'Jaeger 2.x (v1.75.0) gives an OTLP span no v1 flags');
  assert.equal(span.otlp?.flags, 0x301, 'the flags as sent');
  assert.equal(span.startTimeMicros, 1485449191639875);
  // 102_876 ns truncated
  assert.equal(span.durationMicros, 102);
  assert.deepEqual(span.tags, [
    { key: 'otel.scope.name', type: 'string', value: 'lib' },
    { key: 'otel.scope.version', type: 'string', value: '2.0' },
    { key: 'a', type: 'string', value: 'x' },
    { key: 'span.kind', type: 'string', value: 'producer' },
    { key: 'otel.status_code', type: 'string', value: 'ERROR' },
    { key: 'error', type: 'bool', value: true },
    { key: 'otel.status_description', type: 'string', value: 'boom' },
    { key: 'w3c.tracestate', type: 'string', value: 'vendor=1' },
  ]);
});

test('status OK gives otel.status_code OK and no error tag; unset gives neither', () => {
  const ok = one(request({ ...BASE, status: { code: 'STATUS_CODE_OK' } }));
  assert.deepEqual(ok.tags, [{ key: 'otel.status_code', type: 'string', value: 'OK' }]);
  const unset = one(request({ ...BASE, status: {} }));
  assert.deepEqual(unset.tags, []);
});

test('int64 beyond 2^53 stays exact as a bigint, small ones are numbers, negative ones too', () => {
  const span = one(request({
    ...BASE,
    attributes: [
      { key: 'max', value: { intValue: '9223372036854775807' } },
      { key: 'min', value: { intValue: '-9223372036854775808' } },
      { key: 'small', value: { intValue: 42 } },
      { key: 'neg', value: { intValue: '-7' } },
      { key: 'nan', value: { doubleValue: 'NaN' } },
    ],
  }));
  assert.deepEqual(span.tags.slice(0, 4), [
    { key: 'max', type: 'int64', value: 9223372036854775807n },
    { key: 'min', type: 'int64', value: -9223372036854775808n },
    { key: 'small', type: 'int64', value: 42 },
    { key: 'neg', type: 'int64', value: -7 },
  ]);
  assert.ok(Number.isNaN(span.tags[4]!.value as number));
});

test('arrays and maps become Go-style JSON strings: sorted keys, HTML escaped, bytes base64, empty as null', () => {
  const span = one(request({
    ...BASE,
    attributes: [
      { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a<b' }, { intValue: '9223372036854775807' }, { doubleValue: 1.5 }, { boolValue: false }, {}] } } },
      { key: 'map', value: { kvlistValue: { values: [{ key: 'z', value: { bytesValue: 'AAE=' } }, { key: 'a', value: { arrayValue: {} } }] } } },
      { key: 'empty', value: {} },
    ],
  }));
  assert.deepEqual(span.tags, [
    {
      key: 'arr', type: 'string', value: '["a\\u003cb",9223372036854775807,1.5,false,null]',
      // the value as sent, for API v3, in OTLP/JSON's canonical form
      any: { arrayValue: { values: [{ stringValue: 'a<b' }, { intValue: '9223372036854775807' }, { doubleValue: 1.5 }, { boolValue: false }, {}] } },
    },
    {
      key: 'map', type: 'string', value: '{"a":[],"z":"AAE="}',
      any: { kvlistValue: { values: [{ key: 'z', value: { bytesValue: 'AAE=' } }, { key: 'a', value: { arrayValue: {} } }] } },
    },
    // an AnyValue with no variant: an empty string tag to Jaeger's v1 model, `{}` (kept in any) to its API v3
    { key: 'empty', type: 'string', value: '', any: {} },
  ]);
});

test('resource attributes become process tags without service.name', () => {
  const span = one(request(BASE, [
    { key: 'host.name', value: { stringValue: 'h1' } },
    { key: 'service.name', value: { stringValue: 'api' } },
    { key: 'pid', value: { intValue: '12' } },
  ]));
  assert.deepEqual(span.process, {
    serviceName: 'api',
    tags: [{ key: 'host.name', type: 'string', value: 'h1' }, { key: 'pid', type: 'int64', value: 12 }],
  });
});

test('service names are sanitized as Jaeger does: missing, wrong type, empty', () => {
  assert.equal(one(request(BASE, [])).process.serviceName, 'missing-service-name');
  assert.equal(one(request(BASE, [{ key: 'service.name', value: { intValue: '1' } }])).process.serviceName, 'service-name-wrong-type');
  assert.equal(one(request(BASE, [{ key: 'service.name', value: { stringValue: '' } }])).process.serviceName, 'empty-service-name');
});

test('an empty span name stays empty, as Jaeger 2.x (v1.75.0) keeps it for OTLP', () => {
  assert.equal(one(request({ ...BASE, name: '' })).operationName, '');
});

test('an end before the start gives a zero duration and Jaeger\'s warning', () => {
  const span = one(request({ ...BASE, startTimeUnixNano: '1485449191639875000', endTimeUnixNano: '1485449191000000000' }));
  assert.equal(span.durationMicros, 0);
  assert.deepEqual(span.warnings, [
    'Negative duration detected, sanitizing end timestamp. Original end timestamp: 2017-01-26 16:46:31 +0000 UTC, adjusted to: 2017-01-26 16:46:31.639875001 +0000 UTC',
  ]);
});

test('events become logs with the event field unless an event attribute exists', () => {
  const span = one(request({
    ...BASE,
    events: [
      { timeUnixNano: '1485449191639876999', name: 'exception', attributes: [{ key: 'exception.message', value: { stringValue: 'x' } }] },
      { timeUnixNano: '1485449191639877000', name: 'ignored', attributes: [{ key: 'event', value: { stringValue: 'own' } }] },
      { timeUnixNano: '1485449191639878000' },
    ],
  }));
  assert.deepEqual(span.logs, [
    { timestampMicros: 1485449191639876, fields: [{ key: 'event', type: 'string', value: 'exception' }, { key: 'exception.message', type: 'string', value: 'x' }] },
    { timestampMicros: 1485449191639877, fields: [{ key: 'event', type: 'string', value: 'own' }] },
    { timestampMicros: 1485449191639878, fields: [] },
  ]);
});

test('a link to the parent retypes the parent reference instead of adding one', () => {
  const span = one(request({
    ...BASE,
    parentSpanId: '0000000000000001',
    links: [
      { traceId: BASE.traceId, spanId: '0000000000000001', attributes: [{ key: 'opentracing.ref_type', value: { stringValue: 'follows_from' } }] },
      { traceId: 'ffffffffffffffffffffffffffffffff', spanId: '0000000000000002' },
    ],
  }));
  assert.deepEqual(span.references, [
    { refType: 'FOLLOWS_FROM', traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0000000000000001' },
    { refType: 'FOLLOWS_FROM', traceId: 'ffffffffffffffffffffffffffffffff', spanId: '0000000000000002' },
  ]);
});

test('snake_case keys and the old instrumentationLibrarySpans are read too', () => {
  const span = one({
    resource_spans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] },
      instrumentationLibrarySpans: [{ instrumentationLibrary: { name: 'old' }, spans: [{ trace_id: BASE.traceId, span_id: BASE.spanId, name: 'n', start_time_unix_nano: 5000, end_time_unix_nano: 9000 }] }],
    }],
  });
  assert.equal(span.startTimeMicros, 5);
  assert.equal(span.durationMicros, 4);
  assert.deepEqual(span.tags, [{ key: 'otel.scope.name', type: 'string', value: 'old' }]);
});

test('spans with bad ids, times or attributes are rejected one by one with a reason; the others pass', () => {
  const good = { ...BASE };
  const out = otlpJsonToSpans({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] },
      scopeSpans: [{
        spans: [
          good,
          { ...BASE, traceId: 'xyz' },
          { ...BASE, traceId: '00000000000000000000000000000000' },
          { ...BASE, spanId: '123' },
          { ...BASE, parentSpanId: 'zz' },
          { ...BASE, startTimeUnixNano: '-1' },
          { ...BASE, attributes: [{ key: 'i', value: { intValue: '1.5' } }] },
          { ...BASE, attributes: [{ key: 'i', value: { intValue: '9223372036854775808' } }] },
          'not a span',
        ],
      }],
    }],
  });
  assert.equal(out.malformed, undefined);
  assert.equal(out.spans.length, 1);
  assert.equal(out.rejected, 8);
  assert.equal(out.errors.length, 8);
  assert.match(out.errors[0]!, /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]: traceId is not 32 hex digits$/);
  assert.match(out.errors[1]!, /all zeros/);
  assert.match(out.errors[4]!, /startTimeUnixNano/);
  assert.match(out.errors[5]!, /intValue is not an int64/);
  assert.match(out.errors[7]!, /spans\[8\]: the span is not an object/);
});

test('a body that is not an ExportTraceServiceRequest is malformed; an empty one is no spans', () => {
  assert.ok(otlpJsonToSpans('x').malformed);
  assert.ok(otlpJsonToSpans([]).malformed);
  assert.ok(otlpJsonToSpans({ resourceSpans: 5 }).malformed);
  assert.ok(otlpJsonToSpans({ resourceSpans: [{ scopeSpans: [{ spans: {} }] }] }).malformed);
  assert.deepEqual(otlpJsonToSpans({}), { spans: [], rejected: 0, errors: [] });
});

test('spans of one resource share one process object', () => {
  const out = otlpJsonToSpans({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] }, scopeSpans: [{ spans: [BASE, { ...BASE, spanId: '0000000000000009' }] }] }],
  });
  assert.equal(out.spans.length, 2);
  assert.equal(out.spans[0]!.process, out.spans[1]!.process);
});
