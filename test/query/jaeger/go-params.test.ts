import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoBool, parseGoDuration, parseGoInt, parseRfc3339Micros, parseTagParams, parseTraceIdParam } from '../../../query/jaeger/go-params.js';

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
