/**
 * The Elasticsearch span document is written directly as text (`spanDocJson`): it must be exactly the text
 * JSON.stringify makes of the document object (`spanToDb`), since a span's `_id` hashes that text and a replayed
 * span must overwrite its own document; and it must read back as the span.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KeyValue, Span } from '../../../model/span.js';
import { spanDocJson, spanFromDb, spanToDb, type DbSpan } from '../../../storage/elasticsearch/jaeger-dbmodel.js';
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
      default: return { key, type: 'string', value: pick().repeat(Math.floor(r() * 3)) };
    }
  });
}

function span(r: () => number, i: number): Span {
  const s: Span = {
    traceId: i % 2 === 0 ? `0000000000000000${i.toString(16).padStart(16, '0')}` : `${(i + 1).toString(16).padStart(16, 'a')}${i.toString(16).padStart(16, '0')}`,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    operationName: awkward[i % awkward.length]!,
    references: i % 3 === 0 ? [] : [
      { refType: 'CHILD_OF', traceId: `0000000000000000${i.toString(16).padStart(16, '0')}`, spanId: 'ab'.repeat(8) },
      { refType: 'FOLLOWS_FROM', traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), ...(i % 2 === 0 ? { tags: tags(r, 2) } : {}) },
    ],
    flags: i % 4 === 0 ? 0 : i,
    startTimeMicros: 1_700_000_000_000_000 + i * 1_234,
    durationMicros: i % 7,
    tags: tags(r, i % 9),
    logs: i % 2 === 0 ? [] : [{ timestampMicros: 1_700_000_000_000_001 + i, fields: tags(r, i % 3) }],
    process: { serviceName: awkward[(i * 7) % awkward.length]!, tags: tags(r, 3) },
  };
  if (i % 5 === 1) s.scope = { tags: tags(r, 2) };
  if (i % 5 === 2) s.scope = { tags: [] };
  return s;
}

test('the span document text is JSON.stringify of the document object, byte for byte', () => {
  const r = seededRandom(19);
  for (let i = 0; i < 3_000; i++) {
    const s = span(r, i);
    assert.equal(spanDocJson(s), JSON.stringify(spanToDb(s)), `span ${i}`);
  }
});

test('the span document text reads back as the span', () => {
  const r = seededRandom(23);
  for (let i = 0; i < 500; i++) {
    const s = span(r, i);
    const back = spanFromDb(JSON.parse(spanDocJson(s)) as DbSpan);
    assert.ok('ok' in back, `span ${i}`);
    assert.equal(spanDocJson(back.ok), spanDocJson(s), `span ${i} reads back the same`);
  }
});
