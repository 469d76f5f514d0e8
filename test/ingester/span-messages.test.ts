import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Span } from '../../model/span.js';
import { decodeOtlpTraces } from '../../collector/traces/codecs/otlp/otlp-decode.js';
import { decodeSpanMessage } from '../../ingester/span-message-decoder.js';
import { spanIdentity } from '../../ingester/idempotent-span-write.js';
import { spanMessages } from '../../storage/kafka/span-messages.js';

/** OTLP spans as a client sends them, received through the collector's own OTLP translation. */
function receivedSpans(traces: number, perTrace: number): Span[] {
  const spans = [];
  for (let t = 0; t < traces; t++) {
    const traceId = (t + 1).toString(16).padStart(32, 'a');
    for (let s = 0; s < perTrace; s++) {
      spans.push({
        traceId, spanId: (t * 1000 + s + 1).toString(16).padStart(16, '0'), ...(s > 0 ? { parentSpanId: (t * 1000 + 1).toString(16).padStart(16, '0') } : {}),
        name: `op-${s}`, kind: 2 + (s % 3), startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(t * 1000 + s) * 1000n + 7n), endTimeUnixNano: String(1_700_000_000_250_000_000n + BigInt(s)),
        attributes: [
          { key: 'http.status_code', value: { intValue: String(200 + s) } }, { key: 'ok', value: { boolValue: s % 2 === 0 } },
          { key: 'ratio', value: { doubleValue: s / 3 } }, { key: 'zero', value: { intValue: '0' } }, { key: 'big', value: { intValue: '9007199254740993' } },
          { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } }, { key: 'raw', value: { bytesValue: 'AQID' } },
        ],
        events: [{ timeUnixNano: '1700000000100000000', name: 'retry', attributes: [{ key: 'attempt', value: { intValue: '1' } }] }],
        links: s === 2 ? [{ traceId: 'ffffffffffffffffffffffffffffffff', spanId: '0000000000000abc', attributes: [{ key: 'why', value: { stringValue: 'batch' } }] }] : [],
        status: s === 1 ? { code: 2, message: 'boom' } : {},
      });
    }
  }
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }, { key: 'host.name', value: { stringValue: 'h1' } }] },
      scopeSpans: [{ scope: { name: 'io.opentelemetry.http', version: '1.2.3' }, spans }],
    }],
  };
  const out = decodeOtlpTraces(Buffer.from(JSON.stringify(body)), 'json', 1_000_000);
  assert.ok(out.ok);
  return out.translation.spans;
}

/** Spans as plain data: bytes as numbers whichever view holds them (the protobuf reader gives Buffers), int64 as text. */
function plain(spans: Span[]): unknown {
  return JSON.parse(JSON.stringify(spans, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (ArrayBuffer.isView(v)) return { bytes: Array.from(v as Uint8Array) };
    // A Buffer has been through its toJSON already.
    const b = v as { type?: unknown; data?: unknown } | null;
    return b !== null && typeof b === 'object' && b.type === 'Buffer' && Array.isArray(b.data) ? { bytes: b.data } : v;
  }));
}

for (const encoding of ['otlp_proto', 'otlp_json'] as const) {
  test(`spans written as ${encoding} messages are read back by the ingester as the same spans, one trace per message keyed by its id`, () => {
    const spans = receivedSpans(5, 4);
    const { messages, tooLarge } = spanMessages(spans, encoding, 1_000_000);
    assert.equal(tooLarge.length, 0);
    assert.equal(messages.length, 5);
    const back: Span[] = [];
    for (const m of messages) {
      const decoded = decodeSpanMessage(m.value, encoding, 1000);
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
      assert.equal(decoded.rejected, 0);
      assert.ok(decoded.spans.every((s) => s.traceId === m.key), 'a message holds only the trace of its key');
      back.push(...decoded.spans);
    }
    assert.deepEqual(plain(back), plain(spans));
  });
}

test('a trace larger than the message limit is cut into several messages under it, and a span too large alone is set apart', () => {
  const spans = receivedSpans(1, 40);
  const whole = spanMessages(spans, 'otlp_proto', 1_000_000).messages[0]!.value.length;
  const { messages } = spanMessages(spans, 'otlp_proto', Math.ceil(whole / 3));
  assert.ok(messages.length >= 3);
  assert.ok(messages.every((m) => m.value.length + m.key.length <= Math.ceil(whole / 3)));
  assert.equal(messages.reduce((n, m) => n + m.spans, 0), 40);
  const tiny = spanMessages(spans.slice(0, 1), 'otlp_proto', 64);
  assert.equal(tiny.messages.length, 0);
  assert.equal(tiny.tooLarge.length, 1);
  assert.ok(tiny.tooLarge[0]!.bytes > 64);
});

test('a message that is no valid encoding gives the reason, never a throw', () => {
  for (const [value, encoding, why] of [
    [Buffer.from('not json'), 'otlp_json', /otlp_json: malformed JSON/],
    [Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'otlp_proto', /otlp_proto: /],
    [Buffer.alloc(0), 'otlp_proto', /empty message/],
    [null, 'otlp_json', /empty message/],
  ] as const) {
    const decoded = decodeSpanMessage(value, encoding, 1000);
    assert.equal(decoded.ok, false);
    assert.match((decoded as { reason: string }).reason, why);
  }
  const invalidIds = Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz', spanId: 'yy', name: 'x' }] }] }] }));
  const decoded = decodeSpanMessage(invalidIds, 'otlp_json', 1000);
  assert.equal(decoded.ok, false);
  assert.match((decoded as { reason: string }).reason, /every span refused/);
});

test('the store check tells Zipkin\'s client and server halves, which share a span id, apart', () => {
  const [a] = receivedSpans(1, 1);
  const server = { ...a!, process: { ...a!.process, serviceName: 'backend' } };
  assert.notEqual(spanIdentity(a!), spanIdentity(server));
  assert.equal(spanIdentity(a!), spanIdentity({ ...a! }));
});
