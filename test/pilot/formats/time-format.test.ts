import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTimeFormat, parseIsoTime, type TimeParser } from '../../../pilot/formats/time-format.js';

function parser(format: string | undefined): TimeParser {
  const p = compileTimeFormat(format);
  assert.ok(typeof p !== 'string', String(p));
  return p;
}

const T = Date.UTC(2026, 2, 1, 12, 34, 56, 789);

test('ISO 8601 / RFC 3339 with a zone, an offset, a space or no zone (UTC)', () => {
  assert.equal(parseIsoTime('2026-03-01T12:34:56.789Z'), T);
  assert.equal(parseIsoTime('2026-03-01T13:34:56.789123+01:00'), T);
  assert.equal(parseIsoTime('2026-03-01T07:04:56.789-0530'), T);
  assert.equal(parseIsoTime('2026-03-01 12:34:56,789'), T);
  assert.equal(parseIsoTime('2026-03-01'), Date.UTC(2026, 2, 1));
  assert.ok(Number.isNaN(parseIsoTime('2026-02-30T00:00:00Z')));
  assert.ok(Number.isNaN(parseIsoTime('01/03/2026')));
});

test('auto reads ISO strings and epoch seconds, ms, µs, ns by magnitude', () => {
  const p = parser('');
  assert.equal(p('2026-03-01T12:34:56.789Z'), T);
  assert.equal(p(T / 1000), T);
  assert.equal(p(T), T);
  assert.equal(p(T * 1000), T);
  assert.equal(p(String(T) + '000000'), T);
  assert.ok(Number.isNaN(p(true)));
  assert.ok(Number.isNaN(p('soon')));
});

test('epoch units are explicit when declared', () => {
  assert.equal(parser('epoch')('1772368496.789'), T);
  assert.equal(parser('epoch_ms')(T), T);
  assert.equal(parser('epoch_us')(T * 1000), T);
  assert.equal(parser('epoch_ns')(T * 1e6), T);
  assert.ok(Number.isNaN(parser('epoch')('12:00')));
});

test('strftime patterns as fluentd users wrote them for log-pilot', () => {
  assert.equal(parser('%Y-%m-%dT%H:%M:%S.%NZ')('2026-03-01T12:34:56.789000000Z'), T);
  assert.equal(parser('%d/%b/%Y:%H:%M:%S %z')('01/Mar/2026:13:34:56 +0100'), Date.UTC(2026, 2, 1, 12, 34, 56));
  assert.equal(parser('%F %T,%L')('2026-03-01 12:34:56,789'), T);
  assert.equal(parser('%a %b %e %H:%M:%S %Y')('Sun Mar  1 12:34:56 2026'), Date.UTC(2026, 2, 1, 12, 34, 56));
  assert.equal(parser('%m/%d/%y %I:%M %p')('03/01/26 12:34 PM'), Date.UTC(2026, 2, 1, 12, 34));
  assert.equal(parser('%m/%d/%y %I:%M %p')('03/01/26 12:34 AM'), Date.UTC(2026, 2, 1, 0, 34));
  assert.equal(parser('%s.%L')('1772368496.789'), T);
  assert.ok(Number.isNaN(parser('%Y-%m-%d')('2026-13-01')));
  assert.ok(Number.isNaN(parser('%Y-%m-%d')(20260301)));
});

test('unusable formats are refused with a reason', () => {
  assert.match(String(compileTimeFormat('%Y-%Q')), /unsupported directive %Q/);
  assert.match(String(compileTimeFormat('%H:%M')), /no year/);
  assert.match(String(compileTimeFormat('yyyy-MM-dd')), /is not auto/);
});
