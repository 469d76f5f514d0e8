/**
 * The `jaeger_proto` and `jaeger_json` Kafka encodings (storage/kafka/jaeger-proto-encoder.ts, jaeger-json-span.ts,
 * ingester/span-message-decoder.ts): one Jaeger model.proto Span per message (in protobuf, or in jsonpb's JSON), holding its process, keyed by its trace as Jaeger's TraceID.String() prints
 * it; a span written by the collector's Kafka output is the span the ingester reads back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Span } from '../../../model/span.js';
import { decodeSpanMessage } from '../../../ingester/span-message-decoder.js';
import { jaegerTraceKey, spanMessages } from '../../../storage/kafka/span-messages.js';

/** Spans as a Jaeger client sends them: every tag type, references of both kinds, logs, process tags. */
function jaegerSpans(): Span[] {
  const process = { serviceName: 'checkout', tags: [{ key: 'hostname', type: 'string' as const, value: 'h1' }, { key: 'ip.count', type: 'int64' as const, value: 2 }] };
  return [0, 1, 2].map((i) => ({
    traceId: i === 2 ? '0000000000000000000000000000abcd' : 'f00dfeed0000000100000000000000a1',
    spanId: (0x1000 + i).toString(16).padStart(16, '0'),
    operationName: `GET /cart/${i}`,
    references: i === 0 ? [] : [
      { refType: 'CHILD_OF' as const, traceId: i === 2 ? '0000000000000000000000000000abcd' : 'f00dfeed0000000100000000000000a1', spanId: '0000000000001000' },
      ...(i === 1 ? [{ refType: 'FOLLOWS_FROM' as const, traceId: 'f00dfeed0000000100000000000000a1', spanId: '0000000000000fff' }] : []),
    ],
    flags: 1,
    startTimeMicros: 1_700_000_000_123_456 + i,
    durationMicros: 2_500_001 + i,
    tags: [
      { key: 'http.method', type: 'string' as const, value: 'GET' },
      { key: 'error', type: 'bool' as const, value: i === 1 },
      { key: 'http.status_code', type: 'int64' as const, value: 200 + i },
      { key: 'ratio', type: 'float64' as const, value: 0.25 * (i + 1) },
      { key: 'payload', type: 'binary' as const, value: Uint8Array.of(1, 2, 255) },
    ],
    logs: [{ timestampMicros: 1_700_000_000_200_000 + i, fields: [{ key: 'event', type: 'string' as const, value: 'retry' }, { key: 'attempt', type: 'int64' as const, value: 3 }] }],
    process,
  }));
}

/** The parts of a span both ends carry, as plain data. */
function plain(s: Span): unknown {
  const kv = (t: { key: string; type: string; value: unknown }) => ({ key: t.key, type: t.type, value: t.value instanceof Uint8Array ? [...t.value] : typeof t.value === 'bigint' ? Number(t.value) : t.value });
  return {
    traceId: s.traceId, spanId: s.spanId, operationName: s.operationName, startTimeMicros: s.startTimeMicros, durationMicros: s.durationMicros,
    references: s.references.map((r) => ({ refType: r.refType, traceId: r.traceId, spanId: r.spanId })),
    tags: s.tags.map(kv), logs: s.logs.map((l) => ({ timestampMicros: l.timestampMicros, fields: l.fields.map(kv) })),
    process: { serviceName: s.process.serviceName, tags: s.process.tags.map(kv) },
  };
}

/** Spans through Kafka: written as the collector's output writes them, read as the ingester reads them. */
function throughKafka(spans: Span[], encoding: 'jaeger_proto' | 'jaeger_json' = 'jaeger_proto'): { keys: string[]; spans: Span[] } {
  const { messages, tooLarge } = spanMessages(spans, encoding, 1_000_000);
  assert.equal(tooLarge.length, 0);
  assert.ok(messages.every((m) => m.spans === 1), 'one span per message');
  return {
    keys: messages.map((m) => m.key),
    spans: messages.map((m) => {
      const d = decodeSpanMessage(m.value, encoding, 1000);
      assert.ok(d.ok, JSON.stringify(d));
      assert.equal(d.spans.length, 1);
      return d.spans[0]!;
    }),
  };
}

test('jaeger_proto: a message per span, keyed by its trace as Jaeger prints it; a stored span written and read again is the same span', () => {
  const sent = jaegerSpans();
  // The first pass is Jaeger's translation of a client's span (as over gRPC: hostname becomes host.name, the error
  // tag the span's status); a span already translated, as the collector stores it, comes back unchanged.
  const first = throughKafka(sent);
  assert.deepEqual(first.keys, ['f00dfeed0000000100000000000000a1', 'f00dfeed0000000100000000000000a1', '000000000000abcd']);
  for (const [i, s] of first.spans.entries()) {
    const want = plain(sent[i]!) as { traceId: string; spanId: string; operationName: string; startTimeMicros: number; durationMicros: number; references: unknown; logs: unknown };
    const got = plain(s) as typeof want & { process: { serviceName: string } };
    assert.deepEqual([got.traceId, got.spanId, got.operationName, got.startTimeMicros, got.durationMicros, got.process.serviceName], [want.traceId, want.spanId, want.operationName, want.startTimeMicros, want.durationMicros, 'checkout']);
    assert.deepEqual(got.references, want.references);
    assert.deepEqual(got.logs, want.logs);
  }
  const second = throughKafka(first.spans);
  assert.deepEqual(second.spans.map(plain), first.spans.map(plain));
});

test('jaeger_proto: the key is the trace id as Jaeger\'s exporter writes it, 16 hex digits when the high half is zero', () => {
  assert.equal(jaegerTraceKey('00000000000000000123456789abcdef'), '0123456789abcdef');
  assert.equal(jaegerTraceKey('00000000000000010123456789abcdef'), '00000000000000010123456789abcdef');
});

test('jaeger_proto: a message that is no Span, or a span with an id of the wrong length, is refused with the reason', () => {
  const cases: Array<[Buffer | null, RegExp]> = [
    [null, /empty message: a Jaeger Span in jaeger_proto/],
    [Buffer.from('not protobuf \xff\xff\xff', 'latin1'), /^jaeger_proto: /],
    // trace_id (field 1) of 3 bytes
    [Buffer.of(0x0a, 3, 1, 2, 3, 0x12, 8, 0, 0, 0, 0, 0, 0, 0, 1), /^jaeger_proto: .*trace/i],
  ];
  for (const [value, reason] of cases) {
    const d = decodeSpanMessage(value, 'jaeger_proto', 1000);
    assert.equal(d.ok, false);
    assert.match((d as { reason: string }).reason, reason);
  }
});

test('jaeger_json: the same spans as jaeger_proto, in jsonpb\'s JSON (camelCase names, defaults left out, enums by name, int64 as text)', () => {
  const stored = throughKafka(jaegerSpans()).spans;
  const json = throughKafka(stored, 'jaeger_json');
  assert.deepEqual(json.keys, ['f00dfeed0000000100000000000000a1', 'f00dfeed0000000100000000000000a1', '000000000000abcd']);
  assert.deepEqual(json.spans.map(plain), stored.map(plain));
  const doc = JSON.parse(spanMessages([stored[1]!], 'jaeger_json', 1_000_000).messages[0]!.value.toString()) as Record<string, unknown>;
  assert.equal(doc['traceId'], Buffer.from('f00dfeed0000000100000000000000a1', 'hex').toString('base64'));
  assert.equal(doc['spanId'], 'AAAAAAAAEAE=');
  assert.equal(doc['startTime'], '2023-11-14T22:13:20.123457Z');
  assert.equal(doc['duration'], '2.500002s');
  const trace = Buffer.from('f00dfeed0000000100000000000000a1', 'hex').toString('base64');
  assert.deepEqual(doc['references'], [{ traceId: trace, spanId: 'AAAAAAAAEAA=' }, { traceId: trace, spanId: 'AAAAAAAAD/8=', refType: 'FOLLOWS_FROM' }]);
  const tags = doc['tags'] as Array<Record<string, unknown>>;
  assert.deepEqual(tags.find((t) => t['key'] === 'http.status_code'), { key: 'http.status_code', vType: 'INT64', vInt64: '201' });
  assert.deepEqual(tags.find((t) => t['key'] === 'http.method'), { key: 'http.method', vStr: 'GET' });
});

test('jaeger_json: a message as Jaeger 1.75\'s kafka exporter wrote it reads as its span', () => {
  const value = Buffer.from('{"traceId":"AAAAAAAAAAAAAAAAAAAAoQ==","spanId":"AAAAAAAAAAI=","operationName":"op","startTime":"2023-11-14T22:13:20.123456789Z","duration":"0.001543211s","tags":[{"key":"n","vType":"INT64","vInt64":"5"},{"key":"span.kind","vStr":"server"}],"process":{"serviceName":"svc"}}');
  const d = decodeSpanMessage(value, 'jaeger_json', 10);
  assert.ok(d.ok, JSON.stringify(d));
  const s = d.spans[0]!;
  assert.deepEqual([s.traceId, s.spanId, s.operationName, s.startTimeMicros, s.durationMicros, s.process.serviceName],
    ['000000000000000000000000000000a1', '0000000000000002', 'op', 1_700_000_000_123_456, 1543, 'svc']);
  assert.deepEqual(s.tags.filter((t) => t.key === 'n').map((t) => Number(t.value)), [5]);
});

test('jaeger_json: the proto\'s own field names, enums by number and int64 as numbers are read too, as jsonpb reads them', () => {
  const value = Buffer.from(JSON.stringify({
    trace_id: 'a1', span_id: '2', operation_name: 'op', start_time: '2026-12-07T10:00:00Z', duration: '0.000250s',
    references: [{ trace_id: 'a1', span_id: '1', ref_type: 1 }],
    tags: [{ key: 'n', v_type: 2, v_int64: 42 }, { key: 'b', vType: 'BOOL', vBool: true }],
    process: { service_name: 'svc' },
  }));
  const d = decodeSpanMessage(value, 'jaeger_json', 10);
  assert.ok(d.ok, JSON.stringify(d));
  const s = d.spans[0]!;
  assert.equal(s.traceId, '000000000000000000000000000000a1');
  assert.equal(s.spanId, '0000000000000002');
  assert.equal(s.startTimeMicros, Date.parse('2026-12-07T10:00:00Z') * 1000);
  assert.equal(s.durationMicros, 250);
  assert.deepEqual(s.references.map((r) => [r.refType, r.spanId]), [['FOLLOWS_FROM', '0000000000000001']]);
  assert.equal(s.process.serviceName, 'svc');
  assert.deepEqual(s.tags.filter((t) => t.key === 'n' || t.key === 'b').map((t) => [t.key, t.type, Number(t.value)]), [['n', 'int64', 42], ['b', 'bool', 1]]);
});

test('jaeger_json: a message that is no Span is refused with the reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /^jaeger_json: not JSON/],
    ['[1]', /^jaeger_json: not a JSON object/],
    ['{"traceId":"xyz","spanId":"1"}', /^jaeger_json: traceId: "xyz" is neither the base64 of 16 bytes nor hex/],
    ['{"traceId":"a","spanId":"1","startTime":"yesterday"}', /^jaeger_json: startTime: "yesterday" is not an RFC 3339 time/],
    ['{"traceId":"a","spanId":"1","duration":"5 minutes"}', /^jaeger_json: duration: "5 minutes" is not a duration/],
    ['{"traceId":"a","spanId":"1","tags":[{"key":"k","vType":"DECIMAL"}]}', /^jaeger_json: tags\[0\]\.vType: "DECIMAL" is not one of STRING/],
  ];
  for (const [text, reason] of cases) {
    const d = decodeSpanMessage(Buffer.from(text), 'jaeger_json', 10);
    assert.equal(d.ok, false, text);
    assert.match((d as { reason: string }).reason, reason);
  }
});
