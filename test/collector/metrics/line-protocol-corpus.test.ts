/**
 * The whole InfluxDB line protocol conformance corpus (influxdata/line-protocol, see test/fixtures/README.md):
 * every decode case accepted or rejected as expected, with the same points, and every encode case byte for byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BOOL, FLOAT, INT, intData, STRING, UINT, fieldPairs, tagPairs, type FieldData, type FieldType, type FieldValue, type MetricPoint } from '../../../model/metric-point.js';
import { parseLineProtocol } from '../../../collector/metrics/line-protocol-parser.js';
import type { Precision } from '../../../collector/metrics/line-protocol-precision.js';
import { serializePoint } from '../../../collector/metrics/line-protocol-serializer.js';

/** The fixtures live beside the repository (`../shared` from its root), here and in CI. */
const CORPUS_FILE = new URL('../../fixtures/line-protocol/corpus.json', import.meta.url);

type CorpusValue = { float: number } | { int: string } | { uint: string } | { string: string } | { bool: boolean };
interface CorpusPoint {
  time: string;
  name: string;
  tags: Array<{ key: string; value: string }>;
  fields: Array<{ key: string; value: CorpusValue }>;
}
interface DecodeCase {
  input: { key: string; text: string | { binary: string }; defaultTime: string; precision: string; implementation: string };
  output: { result: CorpusPoint[] } | { error: string };
}
interface EncodeCase {
  input: { key: string; point: CorpusPoint; precision: string };
  output: { result: string } | { error: string };
}

function loadCorpus(): { decode: Record<string, DecodeCase>; encode: Record<string, EncodeCase> } {
  const raw = readFileSync(CORPUS_FILE, 'utf8');
  // Times and 64-bit integers do not fit a double: they are read as text, then as BigInt.
  const exact = raw.replace(/"(time|defaultTime|int|uint)":\s*(-?\d+)/g, '"$1":"$2"');
  return JSON.parse(exact) as { decode: Record<string, DecodeCase>; encode: Record<string, EncodeCase> };
}

const PRECISIONS: Record<string, Precision> = { '1ns': 'ns', '1µs': 'us', '1ms': 'ms', '1s': 's' };

function precisionOf(p: string): Precision {
  const precision = PRECISIONS[p];
  assert.ok(precision, `unknown precision ${p} in the corpus`);
  return precision;
}

function toCorpusPoint(p: MetricPoint): CorpusPoint {
  return {
    time: p.timeNs.toString(),
    name: p.measurement,
    tags: tagPairs(p).map(([key, value]) => ({ key, value })),
    fields: fieldPairs(p).map(([key, v]) => ({ key, value: toCorpusValue(v) })),
  };
}

function toCorpusValue(v: FieldValue): CorpusValue {
  switch (v.type) {
    // Floats compare with ==, as in the corpus's own test, under which -0 equals 0 (the corpus writes -0 as 0).
    case 'float': return { float: v.value === 0 ? 0 : v.value };
    case 'int': return { int: v.value.toString() };
    case 'uint': return { uint: v.value.toString() };
    case 'string': return { string: v.value };
    case 'bool': return { bool: v.value };
  }
}

/** The corpus's point as it is, unsorted tags and repeated keys included: the serializer must judge those. */
function fromCorpusPoint(p: CorpusPoint): MetricPoint {
  const values = p.fields.map((f) => fromCorpusValue(f.value));
  return {
    measurement: p.name,
    tagKeys: p.tags.map((t) => t.key),
    tagValues: p.tags.map((t) => t.value),
    fieldKeys: p.fields.map((f) => f.key),
    fieldTypes: Uint8Array.from(values.map(([type]) => type)),
    fieldValues: values.map(([, value]) => value),
    timeNs: BigInt(p.time),
  };
}

function fromCorpusValue(v: CorpusValue): [FieldType, FieldData] {
  if ('float' in v) return [FLOAT, v.float];
  if ('int' in v) return [INT, intData(BigInt(v.int))];
  if ('uint' in v) return [UINT, intData(BigInt(v.uint))];
  if ('string' in v) return [STRING, v.string];
  return [BOOL, v.bool];
}

/** undefined when the outcome is the expected one, else what differs. */
function checkDecode(c: DecodeCase, body: string | Uint8Array): string | undefined {
  const result = parseLineProtocol(body, { precision: precisionOf(c.input.precision), defaultTimeNs: BigInt(c.input.defaultTime) });
  if ('error' in c.output) {
    return result.failures.length > 0 ? undefined : `accepted, but the corpus rejects it (${c.output.error})`;
  }
  if (result.failures.length > 0) {
    const f = result.failures[0]!;
    return `rejected at ${f.line}:${f.column}: ${f.reason}`;
  }
  try {
    assert.deepStrictEqual(result.points.map(toCorpusPoint), c.output.result);
    return undefined;
  } catch (err) {
    return (err as Error).message.slice(0, 600);
  }
}

const corpus = loadCorpus();

test('every decode case of the corpus is accepted or rejected as the corpus says, with the same points', (t) => {
  const cases = Object.values(corpus.decode);
  const mismatches: string[] = [];
  let rejected = 0;
  let accepted = 0;
  for (const c of cases) {
    const text = c.input.text;
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text.binary, 'base64');
    const problem = checkDecode(c, bytes) ?? (typeof text === 'string' ? checkDecode(c, text) : undefined);
    if (problem !== undefined) mismatches.push(`${c.input.key} ${JSON.stringify(text).slice(0, 120)}: ${problem}`);
    else if ('error' in c.output) rejected++;
    else accepted++;
  }
  t.diagnostic(`decode: ${cases.length} cases, ${accepted} accepted with the same points, ${rejected} rejected, ${mismatches.length} mismatches`);
  assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} decode cases differ`);
  assert.equal(cases.length, 6615);
  assert.equal(rejected, 6220);
  assert.equal(accepted, 395);
});

test('every encode case of the corpus is written byte for byte, and reads back to the same point', (t) => {
  const cases = Object.values(corpus.encode);
  const mismatches: string[] = [];
  let written = 0;
  let refused = 0;
  for (const c of cases) {
    const point = fromCorpusPoint(c.input.point);
    const precision = precisionOf(c.input.precision);
    const r = serializePoint(point, precision);
    if ('error' in c.output) {
      if (r.ok) mismatches.push(`${c.input.key}: written as ${JSON.stringify(r.line)}, but the corpus refuses it (${c.output.error})`);
      else refused++;
      continue;
    }
    if (!r.ok) {
      mismatches.push(`${c.input.key}: refused (${r.reason}), expected ${JSON.stringify(c.output.result)}`);
      continue;
    }
    if (r.line !== c.output.result) {
      mismatches.push(`${c.input.key}: ${JSON.stringify(r.line)} !== ${JSON.stringify(c.output.result)}`);
      continue;
    }
    const back = parseLineProtocol(r.line, { precision, defaultTimeNs: 0n });
    try {
      assert.equal(back.failures.length, 0);
      assert.deepStrictEqual(back.points.map(toCorpusPoint), [c.input.point]);
    } catch (err) {
      mismatches.push(`${c.input.key}: does not read back: ${(err as Error).message.slice(0, 300)}`);
      continue;
    }
    written++;
  }
  t.diagnostic(`encode: ${cases.length} cases, ${written} written byte for byte, ${refused} refused, ${mismatches.length} mismatches`);
  assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} encode cases differ`);
  assert.equal(cases.length, 115);
  assert.equal(written + refused, 115);
});
