import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../platform/config/load-config.js';
import { parseDeclarations } from '../../pilot/log-declarations.js';
import { createRecordEncoder, type FileRecordEncoder } from '../../pilot/record-encoder.js';
import { traceContextOfFields, traceContextOfText, tracePatternOf } from '../../pilot/trace-context.js';
import { normalizeSpanId, normalizeTraceId } from '../../model/trace-ids.js';
import type { UserPattern } from '../../platform/user-pattern.js';
import { containerMeta } from '../helpers/container-meta.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const defaultPattern = tracePatternOf('')!;

function encoderFor(format: string, tracePattern: UserPattern | null = defaultPattern, extra: Record<string, string> = {}): FileRecordEncoder {
  const m = containerMeta({ labels: { 'aliyun.logs.app': 'stdout', 'aliyun.logs.app.format': format, ...extra } });
  const { declarations, warnings } = parseDeclarations(m, { prefixes: ['aliyun'] });
  assert.equal(declarations.length, 1, JSON.stringify(warnings));
  return createRecordEncoder(m, declarations[0]!, { hostName: 'node-1', nodeName: '', tracePattern: tracePattern ?? undefined }).forFile('', 'k');
}

describe('trace and span ids of a log line', () => {
  test('ids are normalised: lowercase, a 64-bit trace id padded to 32 digits; wrong lengths, non-hex and all-zero ids are refused', () => {
    assert.equal(normalizeTraceId(TRACE.toUpperCase()), TRACE);
    assert.equal(normalizeTraceId('a3ce929d0e0e4736'), '0000000000000000a3ce929d0e0e4736');
    for (const bad of ['', 'xyz', 'a3ce929d0e0e473', TRACE + '0', '0'.repeat(32), '0'.repeat(16), 'g'.repeat(32), 42, null]) assert.equal(normalizeTraceId(bad), undefined, String(bad));
    assert.equal(normalizeSpanId(SPAN.toUpperCase()), SPAN);
    for (const bad of ['', SPAN + '0', '0'.repeat(16), 'z'.repeat(16)]) assert.equal(normalizeSpanId(bad), undefined, bad);
  });

  test('from fields: traceparent, the common trace and span keys, dotted or nested, and Datadog decimal ids', () => {
    assert.deepEqual(traceContextOfFields({ traceparent: `00-${TRACE}-${SPAN}-01` }), { traceId: TRACE, spanId: SPAN });
    for (const [t, s] of [['trace_id', 'span_id'], ['traceId', 'spanId'], ['traceID', 'spanID'], ['trace.id', 'span.id'], ['otelTraceID', 'otelSpanID']]) {
      assert.deepEqual(traceContextOfFields({ msg: 'x', [t!]: TRACE, [s!]: SPAN }), { traceId: TRACE, spanId: SPAN }, t);
    }
    assert.deepEqual(traceContextOfFields({ trace: { id: TRACE }, span: { id: SPAN } }), { traceId: TRACE, spanId: SPAN });
    assert.deepEqual(traceContextOfFields({ traceId: 'a3ce929d0e0e4736' }), { traceId: '0000000000000000a3ce929d0e0e4736', spanId: '' });
    // 2^64-1 and 42 as Datadog writes them (decimal), as a string and as a number within 2^53.
    assert.deepEqual(traceContextOfFields({ dd: { trace_id: '18446744073709551615', span_id: 42 } }), { traceId: '0000000000000000ffffffffffffffff', spanId: '000000000000002a' });
    assert.deepEqual(traceContextOfFields({ 'dd.trace_id': '1', 'dd.span_id': '2' }), { traceId: '00000000000000000000000000000001', spanId: '0000000000000002' });
    // Not ids: skipped for the next key, or none at all.
    assert.deepEqual(traceContextOfFields({ trace_id: 'n/a', traceId: TRACE }), { traceId: TRACE, spanId: '' });
    for (const none of [{}, { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` }, { trace_id: 12 }, { dd: { trace_id: '18446744073709551616' } }, { dd: { trace_id: 2 ** 60 } }, { trace: 'abc' }]) {
      assert.equal(traceContextOfFields(none as Record<string, unknown>), undefined, JSON.stringify(none));
    }
  });

  test('from text, by the default pattern: traceparent=…, trace_id=… / traceId: … and a span id after it', () => {
    const found = (line: string) => traceContextOfText(line, defaultPattern);
    assert.deepEqual(found(`GET /cart traceparent=00-${TRACE}-${SPAN}-01 200`), { traceId: TRACE, spanId: SPAN });
    assert.deepEqual(found(`INFO [trace_id=${TRACE.toUpperCase()} span_id=${SPAN}] paid`), { traceId: TRACE, spanId: SPAN });
    assert.deepEqual(found(`WARN TraceId: "${TRACE}" slow`), { traceId: TRACE, spanId: '' });
    assert.deepEqual(found(`trace.id=a3ce929d0e0e4736 done`), { traceId: '0000000000000000a3ce929d0e0e4736', spanId: '' });
    for (const none of ['no ids here', 'trace_id=short', `00-${TRACE}-${SPAN}-01 without its name`, `trace_id=${'0'.repeat(32)}`]) assert.equal(found(none), undefined, none);
  });

  test('a pattern of the user; "off" leaves text alone; a pattern without a trace group or not a valid one is refused by the configuration', () => {
    const own = tracePatternOf('req=(?<trace>[0-9a-f]{32})/(?<span>[0-9a-f]{16})')!;
    assert.deepEqual(traceContextOfText(`x req=${TRACE}/${SPAN}`, own), { traceId: TRACE, spanId: SPAN });
    assert.equal(tracePatternOf('off'), undefined);
    const problems = (value: string) => {
      try {
        loadConfig({ PILOT_TRACE_ID_PATTERN: value }, 'pilot');
        return '';
      } catch (err) {
        return String((err as Error).message);
      }
    };
    assert.match(problems('id=([0-9a-f]+)'), /PILOT_TRACE_ID_PATTERN.*named group "trace"/s);
    assert.match(problems('(?<trace>[0-9a-f]+'), /PILOT_TRACE_ID_PATTERN/);
    assert.equal(problems('id=(?<trace>[0-9a-f]{32})'), '');
  });

  test('the record gets trace_id and span_id, the store its columns; a line that has trace_id keeps its own', () => {
    const plain = encoderFor('none').encode(`paid trace_id=${TRACE} span_id=${SPAN}`, 10, false, 'stdout', Date.now(), NaN);
    assert.deepEqual([plain.traceId, plain.spanId], [TRACE, SPAN]);
    const r = JSON.parse(plain.json) as Record<string, unknown>;
    assert.deepEqual([r.trace_id, r.span_id], [TRACE, SPAN]);

    const json = encoderFor('json').encode(JSON.stringify({ msg: 'paid', traceId: TRACE.toUpperCase() }), 20, false, 'stdout', Date.now(), NaN);
    assert.deepEqual([json.traceId, json.spanId], [TRACE, undefined]);
    const j = JSON.parse(json.json) as Record<string, unknown>;
    assert.deepEqual([j.traceId, j.trace_id, 'span_id' in j], [TRACE.toUpperCase(), TRACE, false]);

    const own = encoderFor('json').encode(JSON.stringify({ trace_id: `0x${TRACE}`, traceparent: `00-${TRACE}-${SPAN}-01` }), 30, false, 'stdout', Date.now(), NaN);
    const o = JSON.parse(own.json) as Record<string, unknown>;
    assert.equal(o.trace_id, `0x${TRACE}`, 'the line\'s own trace_id is left as it is');
    assert.equal(o.span_id, SPAN);
    assert.deepEqual([own.traceId, own.spanId], [TRACE, SPAN]);

    const none = encoderFor('none').encode('nothing to see', 40, false, 'stdout', Date.now(), NaN);
    assert.deepEqual([none.traceId, none.spanId, none.json.includes('trace_id')], [undefined, undefined, false]);
    const off = encoderFor('none', null).encode(`trace_id=${TRACE}`, 50, false, 'stdout', Date.now(), NaN);
    assert.equal(off.traceId, undefined, 'ids from fields only with the pattern off');
  });
});
