import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCsvFormat, splitCsvLine } from '../../../pilot/formats/csv.js';
import type { FormatOutcome } from '../../../pilot/formats/format.js';
import { createJsonFormat } from '../../../pilot/formats/json.js';
import { createNoneFormat } from '../../../pilot/formats/none.js';
import { compileGroupPattern, createRegexpFormat } from '../../../pilot/formats/regexp.js';

function fields(o: FormatOutcome): Record<string, unknown> {
  assert.ok(o.ok, !o.ok ? o.reason : '');
  return { ...o.fields };
}

function failure(o: FormatOutcome): string {
  assert.ok(!o.ok, 'expected a failure');
  return o.reason;
}

test('none keeps the line as message and parses nothing', () => {
  const f = createNoneFormat();
  assert.equal(f.keepsMessage, true);
  assert.deepEqual(f.parse('{"a":1}'), { ok: true, fields: null, rawJson: null });
});

test('a json line with a nested object keeps the nesting', () => {
  const o = createJsonFormat().parse('  {"level":"info","req":{"path":"/","ms":3},"tags":["a"]} ');
  assert.deepEqual(fields(o), { level: 'info', req: { path: '/', ms: 3 }, tags: ['a'] });
  assert.ok(o.ok && o.rawJson !== null);
});

test('invalid JSON, a non-object and plain text are failures with a reason', () => {
  const f = createJsonFormat();
  assert.match(failure(f.parse('{"level":"info",')), /^invalid JSON/);
  assert.match(failure(f.parse('{"a":1}}')), /^invalid JSON/);
  assert.equal(failure(f.parse('[1,2,3]')), 'not a JSON object');
  assert.equal(failure(f.parse('42')), 'not a JSON object');
  assert.equal(failure(f.parse('"text"')), 'not a JSON object');
  assert.equal(failure(f.parse('Exception in thread "main"')), 'not a JSON object');
  assert.equal(failure(f.parse('')), 'not a JSON object');
});

test('a failure reason stays short even for a huge bad line', () => {
  const reason = failure(createJsonFormat().parse('{"a":"' + 'x'.repeat(100_000)));
  assert.ok(reason.length <= 200);
});

test('csv fields follow RFC 4180 quoting', () => {
  assert.deepEqual(splitCsvLine('a,b,,c'), ['a', 'b', '', 'c']);
  assert.deepEqual(splitCsvLine('"a,1","say ""hi""",x'), ['a,1', 'say "hi"', 'x']);
  assert.deepEqual(splitCsvLine('"",""""'), ['', '"']);
  assert.deepEqual(splitCsvLine(' a , b '), [' a ', ' b ']);
  assert.deepEqual(splitCsvLine('x,"y"'), ['x', 'y']);
  assert.deepEqual(splitCsvLine('"end",'), ['end', '']);
  assert.match(String(splitCsvLine('"open,b')), /unterminated quoted field in column 1/);
  assert.match(String(splitCsvLine('a,"b"c')), /after the closing quote of column 2/);
});

test('csv names the columns with the keys; a wrong column count is a failure', () => {
  const f = createCsvFormat(['time', 'level', 'msg']);
  assert.deepEqual(fields(f.parse('2026-03-01,info,"hello, world"')), { time: '2026-03-01', level: 'info', msg: 'hello, world' });
  assert.equal(failure(f.parse('2026-03-01,info')), 'expected 3 columns, found 2');
  assert.equal(failure(f.parse('a,b,c,d')), 'expected 3 columns, found 4');
  assert.match(failure(f.parse('a,b,"c')), /unterminated/);
});

test('a csv key named __proto__ stays a plain field', () => {
  const o = createCsvFormat(['__proto__', 'b']).parse('1,2');
  assert.ok(o.ok);
  assert.deepEqual(Object.keys(o.fields!), ['__proto__', 'b']);
});

test('regexp named groups become fields; an unmatched optional group is left out; no match is a failure', () => {
  const compiled = compileGroupPattern('^(?<ip>\\S+) (?<method>[A-Z]+) (?<path>\\S+)(?: (?<status>\\d{3}))?$');
  assert.ok(typeof compiled !== 'string');
  const f = createRegexpFormat(compiled.re, compiled.groups);
  assert.deepEqual(f.fieldNames, ['ip', 'method', 'path', 'status']);
  assert.deepEqual(fields(f.parse('10.0.0.1 GET /a 200')), { ip: '10.0.0.1', method: 'GET', path: '/a', status: '200' });
  assert.deepEqual(fields(f.parse('10.0.0.1 GET /a')), { ip: '10.0.0.1', method: 'GET', path: '/a' });
  assert.equal(failure(f.parse('garbage')), 'line does not match the pattern');
});

test('a Ruby-only escape is refused rather than silently matching something else', () => {
  assert.match(String(compileGroupPattern('\\A(?<a>x)')), /not a valid regular expression/);
});

test('regexp group names are found exactly: Unicode names yes, an escaped "(?<x>" no', () => {
  const compiled = compileGroupPattern('^\\(?<notagroup>(?<größe>\\d+)$');
  assert.ok(typeof compiled !== 'string');
  assert.deepEqual(compiled.groups, ['größe']);
  assert.deepEqual(fields(createRegexpFormat(compiled.re, compiled.groups).parse('(<notagroup>42')), { größe: '42' });
});
