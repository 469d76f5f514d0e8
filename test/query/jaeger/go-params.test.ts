import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goJsonSyntaxError, parseGoBool, parseGoDuration, parseGoInt, parseRfc3339Micros, parseTagParams, parseTraceIdParam } from '../../../query/jaeger/go-params.js';

test('Go durations parse as time.ParseDuration does, in nanoseconds', () => {
  const ok: Array<[string, number]> = [
    ['0', 0], ['1.5h', 5.4e12], ['2h45m', 9.9e12], ['300ms', 3e8], ['10us', 1e4], ['10µs', 1e4], ['7ns', 7], ['.5s', 5e8], ['1m30s', 9e10], ['+2s', 2e9],
  ];
  for (const [text, ns] of ok) assert.deepEqual(parseGoDuration(text), { value: ns }, text);
  assert.deepEqual(parseGoDuration('-1s'), { value: -1e9 });
  assert.deepEqual(parseGoDuration('abc'), { error: 'time: invalid duration "abc"' });
  assert.deepEqual(parseGoDuration('10'), { error: 'time: missing unit in duration "10"' });
  assert.deepEqual(parseGoDuration('1d'), { error: 'time: unknown unit "d" in duration "1d"' });
  assert.deepEqual(parseGoDuration(''), { error: 'time: invalid duration ""' });
  assert.deepEqual(parseGoDuration('.s'), { error: 'time: invalid duration ".s"' });
});

test('integers and booleans parse as strconv does', () => {
  assert.deepEqual(parseGoInt('2147483647', 32), { value: 2147483647 });
  assert.deepEqual(parseGoInt('2147483648', 32), { error: 'strconv.ParseInt: parsing "2147483648": value out of range' });
  assert.deepEqual(parseGoInt('1e3'), { error: 'strconv.ParseInt: parsing "1e3": invalid syntax' });
  assert.deepEqual(parseGoBool('T'), { value: true });
  assert.ok('error' in parseGoBool('yes'));
});

test('trace ids take 1 to 32 hex digits or the base64 of 16 bytes', () => {
  assert.deepEqual(parseTraceIdParam('ABC'), { value: '00000000000000000000000000000abc' });
  assert.deepEqual(parseTraceIdParam(Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex').toString('base64')), { value: '0102030405060708090a0b0c0d0e0f10' });
  assert.match((parseTraceIdParam('g1') as { error: string }).error, /invalid syntax/);
  assert.match((parseTraceIdParam('1'.repeat(33)) as { error: string }).error, /cannot be longer than 32/);
});

test('RFC 3339 times keep their microseconds', () => {
  assert.deepEqual(parseRfc3339Micros('2017-01-26T15:46:31.639875Z'), { value: 1485445591639875 });
  assert.deepEqual(parseRfc3339Micros('2017-01-26T16:46:31.6398759+01:00'), { value: 1485445591639875 });
  assert.ok('error' in parseRfc3339Micros('2017-01-26 15:46:31'));
});

test('tag parameters: key:value keeps the colons of the value, JSON wins last', () => {
  assert.deepEqual(parseTagParams(['url:http://x:80/a', 'k:1'], ['{"k":"2"}']), { value: { url: 'http://x:80/a', k: '2' } });
  assert.ok('error' in parseTagParams([], ['[1]']));
  assert.ok('error' in parseTagParams([], ['{"a":true}']));
});

// The expected texts are what Go 1.26's time.Parse(time.RFC3339Nano, …) and json.Unmarshal answer for these inputs.
test('a time that is not RFC 3339 gets Go\'s parse error', () => {
  const err = (t: string): string => (parseRfc3339Micros(t) as { error: string }).error;
  const layout = '"2006-01-02T15:04:05.999999999Z07:00"';
  assert.equal(err('yesterday'), `parsing time "yesterday" as ${layout}: cannot parse "yesterday" as "2006"`);
  assert.equal(err('2024-01-02 10:00:00Z'), `parsing time "2024-01-02 10:00:00Z" as ${layout}: cannot parse " 10:00:00Z" as "T"`);
  assert.equal(err('2024-1-02T10:00:00Z'), `parsing time "2024-1-02T10:00:00Z" as ${layout}: cannot parse "1-02T10:00:00Z" as "01"`);
  assert.equal(err('2024-01-02T10:00:00'), `parsing time "2024-01-02T10:00:00" as ${layout}: cannot parse "" as "Z07:00"`);
  assert.equal(err('2024-01-02T10:00:00+0100'), `parsing time "2024-01-02T10:00:00+0100" as ${layout}: cannot parse "+0100" as "Z07:00"`);
  assert.equal(err('2024-13-01T00:00:00Z'), 'parsing time "2024-13-01T00:00:00Z": month out of range');
  assert.equal(err('2024-02-30T00:00:00Z'), 'parsing time "2024-02-30T00:00:00Z": day out of range');
  assert.equal(err('2024-01-02T10:00:00Zx'), 'parsing time "2024-01-02T10:00:00Zx": extra text: "x"');
  assert.equal(err('é'), `parsing time "\\xc3\\xa9" as ${layout}: cannot parse "\\xc3\\xa9" as "2006"`);
});

test('bad tags JSON gets Go\'s encoding/json syntax error', () => {
  assert.deepEqual(parseTagParams([], ['{bad']), { error: "malformed 'tags' parameter, cannot unmarshal JSON: invalid character 'b' looking for beginning of object key string" });
  const cases: Array<[string, string | undefined]> = [
    ['{"a":"b"}', undefined], ['', 'unexpected end of JSON input'], ['{"a":1', 'unexpected end of JSON input'],
    ['x', "invalid character 'x' looking for beginning of value"], ['{"a"x', "invalid character 'x' after object key"],
    ['{"a":1 x', "invalid character 'x' after object key:value pair"], ['[1 2]', "invalid character '2' after array element"],
    ['{} x', "invalid character 'x' after top-level value"], ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['"a\u0001"', "invalid character '\\x01' in string literal"], ['"\\x"', "invalid character 'x' in string escape code"],
    ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"], ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['1ex', "invalid character 'x' in exponent of numeric literal"], ['-', "invalid character ' ' in numeric literal"],
    ['tru', "invalid character ' ' in literal true (expecting 'e')"], ['{"a":01}', "invalid character '1' after object key:value pair"],
    ['[1,]', "invalid character ']' looking for beginning of value"], ['\u00a0', "invalid character '\u00c2' looking for beginning of value"], ['\u0080', "invalid character '\u00c2' looking for beginning of value"],
  ];
  for (const [text, want] of cases) assert.equal(goJsonSyntaxError(text), want, text);
});
