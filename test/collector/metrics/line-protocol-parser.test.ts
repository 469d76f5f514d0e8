import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLineProtocol } from '../../../collector/metrics/line-protocol-parser.js';

const T0 = 1_700_000_000_123_456_789n;

test('a telegraf line gives its measurement, sorted tags, typed fields and time', () => {
  const r = parseLineProtocol('disk,path=/,device=sda1 free=12i,used_percent=41.5,inodes=7u,ro=F,label="root fs" 1700000000000000000\n');
  assert.deepEqual(r.failures, []);
  assert.deepEqual(r.points, [{
    measurement: 'disk',
    tags: [['device', 'sda1'], ['path', '/']],
    fields: [['free', { type: 'int', value: 12n }], ['used_percent', { type: 'float', value: 41.5 }], ['inodes', { type: 'uint', value: 7n }],
      ['ro', { type: 'bool', value: false }], ['label', { type: 'string', value: 'root fs' }]],
    timeNs: 1_700_000_000_000_000_000n,
  }]);
});

test('bad lines are reported with their line number and the good lines around them are kept', () => {
  const body = [
    'ok1 v=1 1', // 1
    'no_fields', // 2
    'bad_tag,host value=1', // 3
    '# a comment', // 4
    '', // 5
    'bad_value v=1x', // 6
    'bad_int v=9223372036854775808i', // 7
    'bad_time v=1 12a', // 8
    'bad_bool v=tru', // 9
    'open_string v="never closed', // 10
  ].join('\n');
  const r = parseLineProtocol(body + '\nok2 v=2 2', { defaultTimeNs: T0 });
  assert.deepEqual(r.points.map((p) => p.measurement), ['ok1']);
  // The unclosed string swallows the rest of the body, as a string value may span lines.
  assert.deepEqual(r.failures.map((f) => f.line), [2, 3, 6, 7, 8, 9, 10]);
  assert.match(r.failures[0]!.reason, /tag key or a field/);
  assert.match(r.failures[1]!.reason, /'=' after tag key "host"/);
  assert.match(r.failures[2]!.reason, /invalid number "1x"/);
  assert.match(r.failures[3]!.reason, /out of range/);
  assert.match(r.failures[4]!.reason, /invalid timestamp/);
  assert.match(r.failures[5]!.reason, /invalid boolean/);
  assert.match(r.failures[6]!.reason, /no closing quote/);
  assert.equal(r.failures[1]!.text, 'bad_tag,host value=1');
  assert.equal(r.failures[1]!.column, 13);
});

test('a string value may span lines, and line numbers count its line feeds', () => {
  const r = parseLineProtocol('m s="a\nb" 5\nbad\nm v=1 6\n');
  assert.equal(r.points.length, 2);
  assert.equal((r.points[0]!.fields[0]![1] as { value: string }).value, 'a\nb');
  assert.deepEqual(r.failures.map((f) => [f.line, f.text]), [[3, 'bad']]);
});

test('an empty body, blank lines, comments and CRLF give no points and no failures', () => {
  assert.deepEqual(parseLineProtocol(''), { points: [], failures: [] });
  assert.deepEqual(parseLineProtocol('\n\r\n   \n# only a comment\r\n#\n'), { points: [], failures: [] });
  const crlf = parseLineProtocol('a v=1 1\r\nb v=2 2\r\n');
  assert.deepEqual(crlf.points.map((p) => [p.measurement, p.timeNs]), [['a', 1n], ['b', 2n]]);
});

test('a tab is not a separator and a control character in a comment is refused', () => {
  const r = parseLineProtocol('m\tv=1\n#\tcomment\nm v=1 1');
  assert.equal(r.points.length, 1);
  assert.deepEqual(r.failures.map((f) => f.line), [1, 2]);
});

test('escapes are undone per element, other backslashes are kept', () => {
  const r = parseLineProtocol('c\\ pu\\,x,t\\=k=a\\ b\\,c\\=d f\\ k="q\\"\\\\\\n\\x" 1');
  assert.deepEqual(r.failures, []);
  const p = r.points[0]!;
  assert.equal(p.measurement, 'c pu,x');
  assert.deepEqual(p.tags, [['t=k', 'a b,c=d']]);
  assert.deepEqual(p.fields, [['f k', { type: 'string', value: 'q"\\\n\\x' }]]);
});

test('a tag key given twice is refused, a field key given twice keeps its last value in its first place', () => {
  const dup = parseLineProtocol('m,a=1,a=2 v=1');
  assert.equal(dup.points.length, 0);
  assert.match(dup.failures[0]!.reason, /given twice/);
  const fields = parseLineProtocol('m x=1,y=2,x=3i 1');
  assert.deepEqual(fields.points[0]!.fields, [['x', { type: 'int', value: 3n }], ['y', { type: 'float', value: 2 }]]);
});

test('timestamps follow the precision, and lines without one get the default time cut to it', () => {
  const at = (precision: 'ns' | 'us' | 'ms' | 's' | 'm' | 'h', body: string): bigint => parseLineProtocol(body, { precision, defaultTimeNs: T0 }).points[0]!.timeNs;
  assert.equal(at('s', 'm v=1 1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(at('ms', 'm v=1 -1'), -1_000_000n);
  assert.equal(at('h', 'm v=1 2'), 7_200_000_000_000n);
  assert.equal(at('us', 'm v=1'), 1_700_000_000_123_456_000n);
  assert.equal(at('s', 'm v=1'), 1_700_000_000_000_000_000n);
  assert.equal(at('m', 'm v=1'), 1_699_999_980_000_000_000n);
  const over = parseLineProtocol('m v=1 9223372037', { precision: 's' });
  assert.match(over.failures[0]!.reason, /out of range/);
});

test('bytes must be UTF-8 in names and values, not in comments', () => {
  const body = Buffer.concat([
    Buffer.from('ok,t=\u00e9 v=1 1\n# '), Buffer.from([0xff]), Buffer.from(' in a comment\nbad,t='), Buffer.from([0xc3, 0x28]), Buffer.from(' v=1 2\nok2 s="\u00fc" 3\n'),
  ]);
  const r = parseLineProtocol(body);
  assert.deepEqual(r.points.map((p) => [p.measurement, p.tags, p.fields]), [
    ['ok', [['t', '\u00e9']], [['v', { type: 'float', value: 1 }]]],
    ['ok2', [], [['s', { type: 'string', value: '\u00fc' }]]],
  ]);
  assert.deepEqual(r.failures.map((f) => [f.line, f.reason]), [[3, 'invalid UTF-8 in a name or a value']]);
});

test('floats follow the grammar exactly and must be finite', () => {
  const value = (text: string): unknown => {
    const r = parseLineProtocol(`m v=${text} 1`);
    return r.failures.length > 0 ? 'error' : (r.points[0]!.fields[0]![1] as { value: unknown }).value;
  };
  assert.equal(value('1.'), 1);
  assert.equal(value('.5'), 0.5);
  assert.equal(value('-1.5e3'), -1500);
  assert.equal(value('1E-2'), 0.01);
  assert.equal(value('0.1'), 0.1);
  assert.equal(value('123456789012345678901234567890'), 1.2345678901234568e29);
  for (const bad of ['.', '-', '1e', '1.2.3', '0x10', '1_000', '1e400', 'inf', '-Inf', 'NaN', '+1']) assert.equal(value(bad), 'error', bad);
});

test('a huge body of good lines is read whole', () => {
  const line = 'cpu,host=a,cpu=cpu0 usage_idle=99.5,usage_user=0.5 1700000000000000000\n';
  const r = parseLineProtocol(Buffer.from(line.repeat(200_000)));
  assert.equal(r.points.length, 200_000);
  assert.equal(r.failures.length, 0);
});
