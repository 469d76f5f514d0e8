import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDeclarations } from '../../../pilot/log-declarations.js';
import type { FormatOutcome } from '../../../pilot/formats/format.js';
import { createJsonFormat, ELASTICSEARCH_JSON_LIMITS } from '../../../pilot/formats/json.js';
import { createRecordEncoder } from '../../../pilot/record-encoder.js';
import { containerMeta } from '../../helpers/container-meta.js';

const T = Date.UTC(2026, 2, 1, 12, 0, 0, 5);
/** PILOT_MAX_LINE_BYTES' default: the longest line the format is ever handed whole. */
const MAX_LINE_BYTES = 1024 * 1024;

/** `{"0":0,"1":0,…}` with `n` keys (base-36 names keep 100,000 keys under the line limit). */
const wide = (n: number): string => '{' + Array.from({ length: n }, (_, i) => `"${i.toString(36)}":0`).join(',') + '}';
/** An object `depth` levels deep: `{"a":{"a":…1…}}`. */
const deep = (depth: number): string => '{"a":'.repeat(depth - 1) + '{"a":1' + '}'.repeat(depth);

function failure(o: FormatOutcome): { reason: string; limit: string | undefined } {
  assert.ok(!o.ok, 'expected a failure');
  return { reason: o.reason, limit: o.limit };
}

test('the json limits default to what Elasticsearch refuses a document for: 1,000 keys and 20 levels', () => {
  assert.deepEqual({ ...ELASTICSEARCH_JSON_LIMITS }, { maxKeys: 1000, maxDepth: 20 });
  const f = createJsonFormat();
  assert.ok(f.parse(wide(1000)).ok);
  assert.equal(failure(f.parse(wide(1001))).limit, 'keys');
  assert.ok(f.parse(deep(20)).ok);
  assert.equal(failure(f.parse(deep(21))).limit, 'depth');
});

test('a json line at the key limit is parsed and one key past it fails naming the limit', () => {
  const f = createJsonFormat({ maxKeys: 5, maxDepth: 20 });
  const at = f.parse('{"a":1,"b":{"c":2,"d":[{"e":3}]}}');
  assert.ok(at.ok);
  assert.equal(at.keys, 5);
  assert.deepEqual(failure(f.parse('{"a":1,"b":{"c":2,"d":[{"e":3,"f":4}]}}')), { reason: 'over PILOT_JSON_MAX_KEYS: more than 5 keys', limit: 'keys' });
});

test('a json line at the depth limit is parsed and one level deeper fails naming the limit; arrays count as levels', () => {
  const f = createJsonFormat({ maxKeys: 1000, maxDepth: 3 });
  assert.ok(f.parse('{"a":{"b":{"c":1}}}').ok);
  assert.ok(f.parse('{"a":{"b":[1,2]}}').ok);
  assert.deepEqual(failure(f.parse('{"a":{"b":{"c":{}}}}')), { reason: 'over PILOT_JSON_MAX_DEPTH: nested deeper than 3 levels', limit: 'depth' });
  assert.equal(failure(f.parse('{"a":{"b":[[1]]}}')).limit, 'depth');
  assert.equal(failure(f.parse('{"a":[[[]]]}')).limit, 'depth');
});

test('a line of 100,000 keys or 100,000 levels under the line limit is shipped raw in bounded time without overflowing the stack', () => {
  const m = containerMeta({ labels: { 'aliyun.logs.app': 'stdout', 'aliyun.logs.app.format': 'json' } });
  const decl = parseDeclarations(m, { prefixes: ['aliyun'] }).declarations[0]!;
  const enc = createRecordEncoder(m, decl, { hostName: 'h', nodeName: '' }).forFile('', 'k');
  const lines = { keys: wide(100_000), depth: deep(100_000), arrays: '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}' };
  for (const [name, line] of Object.entries(lines)) {
    assert.ok(line.length < MAX_LINE_BYTES, `${name}: ${line.length} bytes, under the line limit`);
    const started = performance.now();
    const json = enc.encode(line, 1, false, 'stdout', T, NaN).json;
    const ms = performance.now() - started;
    const r = JSON.parse(json) as Record<string, unknown>;
    assert.equal(r['message'], line, name);
    assert.match(String(r['parse_error']), name === 'keys' ? /PILOT_JSON_MAX_KEYS/ : /PILOT_JSON_MAX_DEPTH/, name);
    // JSON.parse of a megabyte takes tens of ms; a quadratic walk of 100,000 keys or levels would take minutes.
    assert.ok(ms < 1000, `${name}: ${ms.toFixed(0)} ms`);
  }
});

test('the time of a refused line grows with its length, not with its square', () => {
  const f = createJsonFormat();
  const timeOf = (line: string): number => {
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      f.parse(line);
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  for (const make of [wide, deep]) {
    const small = timeOf(make(10_000));
    const large = timeOf(make(100_000));
    // Ten times the line: a linear path takes about ten times as long, a quadratic one a hundred times.
    assert.ok(large < small * 30 + 5, `${make.name}: ${small.toFixed(2)} ms at 10,000, ${large.toFixed(2)} ms at 100,000`);
  }
});

test('the record of a line past a limit keeps the whole line as message, names the limit in parse_error and is counted', () => {
  const m = containerMeta({ labels: { 'aliyun.logs.app': 'stdout', 'aliyun.logs.app.format': 'json' } });
  const decl = parseDeclarations(m, { prefixes: ['aliyun'], jsonLimits: { maxKeys: 2, maxDepth: 2 } }).declarations[0]!;
  const counted: string[] = [];
  const enc = createRecordEncoder(m, decl, { hostName: 'h', nodeName: '', onLimit: (limit) => counted.push(limit) }).forFile('', 'k');

  const at = JSON.parse(enc.encode('{"level":"info","req":{}}', 1, false, 'stdout', T, NaN).json) as Record<string, unknown>;
  assert.equal(at['level'], 'info');
  assert.deepEqual(at['req'], {});
  assert.equal(at['message'], undefined);
  assert.equal(at['parse_error'], undefined);

  const wideLine = '{"level":"info","user":7,"msg":"hi"}';
  const past = JSON.parse(enc.encode(wideLine, 2, false, 'stdout', T, NaN).json) as Record<string, unknown>;
  assert.equal(past['message'], wideLine);
  assert.equal(past['parse_error'], 'over PILOT_JSON_MAX_KEYS: more than 2 keys');
  assert.equal(past['level'], undefined, "the line's fields are not spread into the record");

  const deepLine = '{"req":{"headers":{"a":"b"}}}';
  const deeper = JSON.parse(enc.encode(deepLine, 3, false, 'stdout', T, NaN).json) as Record<string, unknown>;
  assert.equal(deeper['message'], deepLine);
  assert.equal(deeper['parse_error'], 'over PILOT_JSON_MAX_DEPTH: nested deeper than 2 levels');

  enc.encode('not json', 4, false, 'stdout', T, NaN);
  assert.deepEqual(counted, ['keys', 'depth'], 'only the lines past a limit are counted, with the limit');
});
