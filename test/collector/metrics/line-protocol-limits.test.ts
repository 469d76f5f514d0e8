import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../platform/config/load-config.js';
import { DEFAULT_LINE_LIMITS, parseLineProtocol, parseLineProtocolSliced, type LineLimits } from '../../../collector/metrics/line-protocol-parser.js';

const LIMITS: LineLimits = { maxFieldsPerLine: 4, maxTagValueBytes: 10, maxStringFieldBytes: 8, maxSeriesKeyBytes: 24 };

/** Parses `body` (as bytes, the way pushes come) under LIMITS: the measurements kept and the failures' lines and limits. */
function parse(body: string, limits: LineLimits = LIMITS) {
  const r = parseLineProtocol(Buffer.from(body), { limits });
  return { kept: r.points.map((p) => p.measurement), failures: r.failures.map((f) => ({ line: f.line, limit: f.limit, reason: f.reason })), points: r.points };
}

const fields = (n: number): string => Array.from({ length: n }, (_, i) => `f${i}=${i}`).join(',');

test('a line with exactly the most fields is kept, one more field refuses that line alone', () => {
  const r = parse(`at,h=a ${fields(4)}\nover,h=a ${fields(5)}\nafter v=1\n`);
  assert.deepEqual(r.kept, ['at', 'after']);
  assert.equal(r.points[0]!.fieldKeys.length, 4);
  assert.deepEqual(r.failures.map((f) => [f.line, f.limit]), [[2, 'fields_per_line']]);
  assert.match(r.failures[0]!.reason, /more than 4 fields in one line/);
});

test('a field key given again does not count as another field', () => {
  const r = parse(`m f0=1,f1=2,f2=3,f3=4,f0=5\n`);
  assert.deepEqual(r.failures, []);
  assert.deepEqual(r.points[0]!.fieldValues, [5, 2, 3, 4]);
});

test('a tag value of exactly the most bytes is kept, one byte more refuses that line alone', () => {
  const r = parse(`at,t=${'x'.repeat(10)} v=1\nover,t=${'x'.repeat(11)} v=1\nafter v=1\n`);
  assert.deepEqual(r.kept, ['at', 'after']);
  assert.deepEqual(r.failures.map((f) => [f.line, f.limit]), [[2, 'tag_value_bytes']]);
  assert.match(r.failures[0]!.reason, /tag "t" is 11 bytes, over the limit of 10 bytes per tag value/);
});

test('tag values are measured in UTF-8 bytes once unescaped', () => {
  // Five two-byte characters: 10 bytes; six: 12. Escaped spaces count one byte each.
  const r = parse(`at,t=${'é'.repeat(5)} v=1\nover,t=${'é'.repeat(6)} v=1\nesc,t=${'\\ '.repeat(10)} v=1\n`, { ...LIMITS, maxSeriesKeyBytes: 100 });
  assert.deepEqual(r.kept, ['at', 'esc']);
  assert.deepEqual(r.failures.map((f) => f.limit), ['tag_value_bytes']);
});

test('a tag value far over the limit is refused without reading it to its end', () => {
  const r = parse(`big,t=${'x'.repeat(5_000_000)} v=1\nafter v=1\n`, { ...DEFAULT_LINE_LIMITS });
  assert.deepEqual(r.kept, ['after']);
  assert.deepEqual(r.failures.map((f) => [f.line, f.limit]), [[1, 'tag_value_bytes']]);
  assert.match(r.failures[0]!.reason, /more than 131072 bytes, over the limit of 65535 bytes/);
});

test('a string field of exactly the most bytes is kept, one byte more refuses that line alone', () => {
  const r = parse(`at s="${'x'.repeat(8)}"\nover s="${'x'.repeat(9)}"\nesc s="${'\\"'.repeat(8)}"\nafter v=1\n`);
  assert.deepEqual(r.kept, ['at', 'esc', 'after']);
  assert.deepEqual(r.failures.map((f) => [f.line, f.limit]), [[2, 'field_value_bytes']]);
  assert.match(r.failures[0]!.reason, /string field "s" is 9 bytes, over the limit of 8 bytes/);
});

test('a string field over the limit that spans lines is skipped whole', () => {
  const r = parse(`over s="${'x\n'.repeat(5)}" 1\nafter v=1\n`);
  assert.deepEqual(r.kept, ['after']);
  assert.deepEqual(r.failures.map((f) => f.limit), ['field_value_bytes']);
});

test('a series key of exactly the most bytes is kept, one byte more refuses that line alone', () => {
  // "at,host=" is 8 bytes: a value of 16 makes a key of 24.
  const r = parse(`at,host=${'x'.repeat(16)} v=1\nat,host=${'y'.repeat(17)} v=1\nafter v=1\n`, { ...LIMITS, maxTagValueBytes: 100 });
  assert.deepEqual(r.kept, ['at', 'after']);
  assert.deepEqual(r.failures.map((f) => [f.line, f.limit]), [[2, 'series_key_bytes']]);
  assert.match(r.failures[0]!.reason, /series key \(measurement and tags\) is 25 bytes, over the limit of 24 bytes/);
});

test('a field key or a measurement over the series key limit refuses that line alone', () => {
  const r = parse(`m ${'k'.repeat(24)}=1\nm ${'k'.repeat(25)}=1\n${'m'.repeat(60)} v=1\nafter v=1\n`);
  assert.deepEqual(r.kept, ['m', 'after']);
  assert.deepEqual(r.failures.map((f) => [f.line, f.limit]), [[2, 'series_key_bytes'], [3, 'series_key_bytes']]);
});

test('a series seen under loose limits is checked again under strict ones', () => {
  const line = `seen,host=${'z'.repeat(30)} v=1\n`;
  assert.deepEqual(parse(line, DEFAULT_LINE_LIMITS).kept, ['seen']);
  assert.deepEqual(parse(line).failures.map((f) => f.limit), ['tag_value_bytes']);
});

test('a line of 100,000 fields is refused after the limit, in a few milliseconds', () => {
  const body = Buffer.from(`wide,h=a ${fields(100_000)}\nafter v=1\n`);
  parseLineProtocol(body);
  const startMs = performance.now();
  const r = parseLineProtocol(body);
  const tookMs = performance.now() - startMs;
  assert.deepEqual(r.points.map((p) => p.measurement), ['after']);
  assert.deepEqual(r.failures.map((f) => f.limit), ['fields_per_line']);
  assert.ok(tookMs < 100, `took ${tookMs.toFixed(1)} ms`);
});

test('the fields of a wide line under the limit are read in time linear in their number', () => {
  const limits = { ...DEFAULT_LINE_LIMITS, maxFieldsPerLine: 1_000_000 };
  const time = (n: number): number => {
    const body = Buffer.from(`wide,h=a ${fields(n)},f0=-1\n`);
    let best = Infinity;
    for (let k = 0; k < 3; k++) {
      const startMs = performance.now();
      const r = parseLineProtocol(body, { limits });
      best = Math.min(best, performance.now() - startMs);
      assert.equal(r.points[0]!.fieldKeys.length, n);
      assert.equal(r.points[0]!.fieldValues[0], -1);
    }
    return best;
  };
  time(2_000);
  const small = time(5_000);
  const large = time(50_000);
  // Ten times the fields: n² would be a hundred times the time.
  assert.ok(large < small * 30, `5,000 fields ${small.toFixed(1)} ms, 50,000 fields ${large.toFixed(1)} ms`);
});

test('the sliced parse gives the same points and failures as the whole parse', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 30_000; i++) lines.push(i % 1000 === 7 ? `bad,t=${'x'.repeat(20)} v=1` : `m${i % 50},host=h${i % 7} v=${i},s="${i}" ${1_700_000_000_000_000_000n + BigInt(i)}`);
  const body = Buffer.from(lines.join('\n'));
  const whole = parseLineProtocol(body, { limits: LIMITS, defaultTimeNs: 1n });
  const sliced = await parseLineProtocolSliced(body, { limits: LIMITS, defaultTimeNs: 1n }, 0);
  assert.equal(sliced.points.length, 30_000 - 30);
  assert.deepEqual(sliced, whole);
});

test('the limits default to the collector configuration defaults', () => {
  const c = loadConfig({}, 'collector').collector;
  assert.deepEqual(
    { maxFieldsPerLine: c.writeMaxFieldsPerLine, maxTagValueBytes: c.writeMaxTagValueBytes, maxStringFieldBytes: c.writeMaxStringFieldBytes, maxSeriesKeyBytes: c.writeMaxSeriesKeyBytes },
    { ...DEFAULT_LINE_LIMITS },
  );
});
