import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { parseLineProtocol, parseLineProtocolSliced } from '../../../collector/metrics/line-protocol-parser.js';
import { fieldPairs, tagPairs, type MetricPoint } from '../../../model/metric-point.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const T0 = 1_700_000_000_123_456_789n;

test('a telegraf line gives its measurement, sorted tags, typed fields and time', () => {
  const r = parseLineProtocol('disk,path=/,device=sda1 free=12i,used_percent=41.5,inodes=7u,ro=F,label="root fs" 1700000000000000000\n');
  assert.deepEqual(r.failures, []);
  assert.deepEqual(r.points.map(view), [{
    measurement: 'disk',
    tags: [['device', 'sda1'], ['path', '/']],
    fields: [['free', { type: 'int', value: 12n }], ['used_percent', { type: 'float', value: 41.5 }], ['inodes', { type: 'uint', value: 7n }],
      ['ro', { type: 'bool', value: false }], ['label', { type: 'string', value: 'root fs' }]],
    timeNs: 1_700_000_000_000_000_000n,
  }]);
  // Integers are numbers while they are safe, bigints beyond.
  assert.deepEqual(r.points[0]!.fieldValues, [12, 41.5, 7, false, 'root fs']);
  const big = parseLineProtocol('m a=9007199254740991i,b=9007199254740992i,c=-9223372036854775808i,d=18446744073709551615u,e=-0i 1');
  assert.deepEqual(big.points[0]!.fieldValues, [9007199254740991, 9007199254740992n, -9223372036854775808n, 18446744073709551615n, 0]);
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
  assert.equal(r.points[0]!.fieldValues[0], 'a\nb');
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
  assert.deepEqual(tagPairs(p), [['t=k', 'a b,c=d']]);
  assert.deepEqual(fieldPairs(p), [['f k', { type: 'string', value: 'q"\\\n\\x' }]]);
});

test('a tag key given twice is refused, a field key given twice keeps its last value in its first place', () => {
  const dup = parseLineProtocol('m,a=1,a=2 v=1');
  assert.equal(dup.points.length, 0);
  assert.match(dup.failures[0]!.reason, /given twice/);
  const fields = parseLineProtocol('m x=1,y=2,x=3i 1');
  assert.deepEqual(fieldPairs(fields.points[0]!), [['x', { type: 'int', value: 3n }], ['y', { type: 'float', value: 2 }]]);
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
  assert.deepEqual(r.points.map((p) => [p.measurement, tagPairs(p), fieldPairs(p)]), [
    ['ok', [['t', '\u00e9']], [['v', { type: 'float', value: 1 }]]],
    ['ok2', [], [['s', { type: 'string', value: '\u00fc' }]]],
  ]);
  assert.deepEqual(r.failures.map((f) => [f.line, f.reason]), [[3, 'invalid UTF-8 in a name or a value']]);
});

test('floats follow the grammar exactly and must be finite', () => {
  const value = (text: string): unknown => {
    const r = parseLineProtocol(`m v=${text} 1`);
    return r.failures.length > 0 ? 'error' : r.points[0]!.fieldValues[0];
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

/** A point as plain pairs, to compare whole. */
function view(p: MetricPoint): { measurement: string; tags: Array<[string, string]>; fields: ReturnType<typeof fieldPairs>; timeNs: bigint } {
  return { measurement: p.measurement, tags: tagPairs(p), fields: fieldPairs(p), timeNs: p.timeNs };
}

test('lines of one series share its tag arrays, lines of one shape their key and type arrays, and nothing is changed by that', () => {
  const r = parseLineProtocol('cpu,host=a u=1,s=2i 1\ncpu,host=b u=3,s=4i 1\ncpu,host=a u=5,s=6i 2\ncpu,host=a u=7,s=8 2\ncpu,host=a s=9i,u=1 2\n');
  assert.equal(r.failures.length, 0);
  const [a1, b, a2, changedType, changedOrder] = r.points as [MetricPoint, MetricPoint, MetricPoint, MetricPoint, MetricPoint];
  assert.equal(a1.tagValues, a2.tagValues);
  assert.notEqual(a1.tagValues, b.tagValues);
  assert.equal(a1.fieldKeys, b.fieldKeys);
  assert.equal(a1.fieldTypes, a2.fieldTypes);
  assert.deepEqual(r.points.map(view), [
    { measurement: 'cpu', tags: [['host', 'a']], fields: [['u', { type: 'float', value: 1 }], ['s', { type: 'int', value: 2n }]], timeNs: 1n },
    { measurement: 'cpu', tags: [['host', 'b']], fields: [['u', { type: 'float', value: 3 }], ['s', { type: 'int', value: 4n }]], timeNs: 1n },
    { measurement: 'cpu', tags: [['host', 'a']], fields: [['u', { type: 'float', value: 5 }], ['s', { type: 'int', value: 6n }]], timeNs: 2n },
    { measurement: 'cpu', tags: [['host', 'a']], fields: [['u', { type: 'float', value: 7 }], ['s', { type: 'float', value: 8 }]], timeNs: 2n },
    { measurement: 'cpu', tags: [['host', 'a']], fields: [['s', { type: 'int', value: 9n }], ['u', { type: 'float', value: 1 }]], timeNs: 2n },
  ]);
  assert.notEqual(changedType.fieldTypes, a2.fieldTypes);
  assert.notEqual(changedOrder.fieldKeys, a2.fieldKeys);
});

test('a line that starts like a series or a key seen before is read for what it is', () => {
  const body = [
    'm,t=a f=1 1',
    'm,t=a\\ x f=2 1', // the first space is escaped: the tag value is "a x"
    'm,t=a f=3,g=4 1',
    'm,t=a f\\=x=5 1', // a field key "f=x", not "f"
    'm,t=a ff=6 1',
    'm,t=a f=7 12',
    'm,t=a f=8 1x',
    'm,t=a f=9 1 ',
    'm,t=a\tb f=10 1',
  ].join('\n');
  const r = parseLineProtocol(body);
  assert.deepEqual(r.points.map((p) => [tagPairs(p), fieldPairs(p).map(([k, v]) => [k, v.value]), p.timeNs]), [
    [[['t', 'a']], [['f', 1]], 1n],
    [[['t', 'a x']], [['f', 2]], 1n],
    [[['t', 'a']], [['f', 3], ['g', 4]], 1n],
    [[['t', 'a']], [['f=x', 5]], 1n],
    [[['t', 'a']], [['ff', 6]], 1n],
    [[['t', 'a']], [['f', 7]], 12n],
    [[['t', 'a']], [['f', 9]], 1n],
  ]);
  assert.deepEqual(r.failures.map((f) => [f.line, f.column]), [[7, 11], [9, 6]]);
});

test('a body of many corpus lines gives the points its lines give one by one', () => {
  // Every accepted case of the conformance corpus, in a body twice over and interleaved, so that the series and
  // keys remembered from one line meet the next ones: the points must be those of each case read alone.
  const corpus = JSON.parse(readFileSync(new URL('../../fixtures/line-protocol/corpus.json', import.meta.url), 'utf8')
    .replace(/"(time|defaultTime|int|uint)":\s*(-?\d+)/g, '"$1":"$2"')) as { decode: Record<string, { input: { text: unknown; precision: string }; output: object }> };
  const texts = Object.values(corpus.decode)
    .filter((c) => typeof c.input.text === 'string' && c.input.precision === '1ns' && 'result' in c.output)
    .map((c) => c.input.text as string);
  assert.ok(texts.length > 300);
  const order = [...texts, ...texts.slice().reverse(), ...texts.filter((_, i) => i % 3 === 0), ...texts];
  const options = { defaultTimeNs: T0 };
  const alone = order.flatMap((t) => parseLineProtocol(t, options).points.map(view));
  const whole = parseLineProtocol(Buffer.from(order.join('\n')), options);
  assert.deepEqual(whole.failures, []);
  assert.equal(whole.points.length, alone.length);
  assert.deepEqual(whole.points.map(view), alone);
});

test('series and field shapes remembered from one body are recognised in the next, and each line still gets its own', () => {
  const first = parseLineProtocol(Buffer.from('carry,host=web-1.eu-west-1.internal u=1,s=2i 1\n'));
  const next = parseLineProtocol(Buffer.from([
    'carry,host=web-1.eu-west-1.internal u=3,s=4i 2',
    'carry,host=web-1.eu-west-1.internal0 u=5,s=6i 2', // a longer text that starts like the remembered one
    'carry,host=web-1.eu-west-1.internal u=7,s="x" 3', // the same series with another field type
    'carry,host=web-1.eu-west-1.internal s=8i,u=9 3', // ... and the keys in another order
  ].join('\n')));
  assert.deepEqual(next.failures, []);
  const [same, longer, otherType, otherOrder] = next.points as [MetricPoint, MetricPoint, MetricPoint, MetricPoint];
  assert.equal(same.tagValues, first.points[0]!.tagValues);
  assert.equal(same.fieldKeys, first.points[0]!.fieldKeys);
  assert.deepEqual(next.points.map(view), [
    { measurement: 'carry', tags: [['host', 'web-1.eu-west-1.internal']], fields: [['u', { type: 'float', value: 3 }], ['s', { type: 'int', value: 4n }]], timeNs: 2n },
    { measurement: 'carry', tags: [['host', 'web-1.eu-west-1.internal0']], fields: [['u', { type: 'float', value: 5 }], ['s', { type: 'int', value: 6n }]], timeNs: 2n },
    { measurement: 'carry', tags: [['host', 'web-1.eu-west-1.internal']], fields: [['u', { type: 'float', value: 7 }], ['s', { type: 'string', value: 'x' }]], timeNs: 3n },
    { measurement: 'carry', tags: [['host', 'web-1.eu-west-1.internal']], fields: [['s', { type: 'int', value: 8n }], ['u', { type: 'float', value: 9 }]], timeNs: 3n },
  ]);
  assert.notEqual(otherType.fieldTypes, same.fieldTypes);
  assert.notEqual(otherOrder.fieldKeys, same.fieldKeys);
  assert.equal(longer.fieldKeys, same.fieldKeys);
});

test('more series than are remembered, in the same order body after body, each keep their own tags', () => {
  // Five times the series slots: every slot is taken over many times while the order is followed.
  const hosts = Array.from({ length: 20_000 }, (_, i) => `host-${i}.example.internal`);
  for (let round = 0; round < 3; round++) {
    const r = parseLineProtocol(Buffer.from(hosts.map((h, i) => `many,host=${h} v=${i}i ${round}`).join('\n')));
    assert.equal(r.failures.length, 0);
    assert.equal(r.points.length, hosts.length);
    r.points.forEach((p, i) => {
      assert.equal(p.tagValues[0], hosts[i]);
      assert.equal(p.fieldValues[0], i);
    });
  }
});

test('a body that is not UTF-8 and a UTF-8 body whose text has the same characters each read their own', () => {
  // As bytes the first is é (C3 A9) behind a comment that is not UTF-8; the second writes the characters Ã and ©.
  const notUtf8 = Buffer.concat([Buffer.from('# '), Buffer.from([0xff]), Buffer.from('\nlatin,t=\u00e9 v=1 1\n')]);
  const utf8 = Buffer.from('latin,t=\u00c3\u00a9 v=2 2\n');
  for (const order of [[notUtf8, utf8], [utf8, notUtf8], [notUtf8, utf8]]) {
    const tags = order.map((body) => parseLineProtocol(body).points.map((p) => tagPairs(p)));
    assert.deepEqual(tags, order.map((body) => [[['t', body === utf8 ? '\u00c3\u00a9' : '\u00e9']]]));
  }
});

test('a series or field keys too long to be kept are read in full on every line', () => {
  const value = 'v'.repeat(3000);
  const key = 'k'.repeat(3000);
  const body = [`long,t=${value} ${key}=1 1`, `long,t=${value}x ${key}=2 1`, `long,t=${value} ${key}=3i 2`].join('\n');
  for (let round = 0; round < 2; round++) {
    const r = parseLineProtocol(Buffer.from(body));
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.points.map((p) => [p.tagValues[0]!.length, p.fieldKeys[0], p.fieldValues[0], p.timeNs]), [[3000, key, 1, 1n], [3001, key, 2, 1n], [3000, key, 3, 2n]]);
  }
});

test('a large body read in parts gives what it gives as one text, even where string values span the parts', () => {
  // Multi-line string values of every size, some longer than a part, among good and bad lines.
  const random = seededRandom(11);
  const lines: string[] = [];
  for (let size = 0, i = 0; size < 600_000; i++) {
    const r = random();
    const line = r < 0.7 ? `cpu,host=web-${i % 50} usage=${i}.5,n=${i}i ${1_700_000_000_000_000_000n + BigInt(i)}`
      : r < 0.85 ? `log,host=web-${i % 50} msg="${'text\n'.repeat(Math.floor(random() * (random() < 0.01 ? 30_000 : 30)))}end",n=${i}i ${i}`
        : r < 0.95 ? `bad line ${i}` : `u,t=\u00e9\u{1f600} s="\u00fc\n\u4e2d" ${i}`;
    lines.push(line);
    size += line.length + 1;
  }
  const text = lines.join('\n') + '\nopen v="never closed\nmore\n';
  const options = { defaultTimeNs: T0 };
  const asText = parseLineProtocol(text, options);
  const asBytes = parseLineProtocol(Buffer.from(text), options);
  assert.ok(asText.points.length > 1000 && asText.failures.length > 100, `${asText.points.length} points, ${asText.failures.length} failures`);
  assert.deepEqual(asBytes.failures, asText.failures);
  assert.deepEqual(asBytes.points.map(view), asText.points.map(view));
  // Not UTF-8 (a comment at the start): the same points, and failures on the same lines.
  const notUtf8 = parseLineProtocol(Buffer.concat([Buffer.from([0x23, 0xff, 0x0a]), Buffer.from(text)]), options);
  assert.deepEqual(notUtf8.points.map(view), asText.points.map(view));
  assert.deepEqual(notUtf8.failures.map((f) => [f.line - 1, f.column, f.reason, f.text]), asText.failures.map((f) => [f.line, f.column, f.reason, f.text]));
});

test('a point is a plain object with the fields of the model', () => {
  const [p] = parseLineProtocol(Buffer.from('plain,t=a f=1.5,g=2i 3\n')).points as [MetricPoint];
  assert.equal(Object.getPrototypeOf(p), Object.prototype);
  assert.deepStrictEqual(p, {
    measurement: 'plain', tagKeys: ['t'], tagValues: ['a'], fieldKeys: ['f', 'g'], fieldTypes: Uint8Array.from([0, 1]), fieldValues: [1.5, 2], timeNs: 3n,
  });
});

test('a line of megabytes is decoded in pieces cut at character boundaries and reads as the whole body does', async () => {
  // 600 string fields of 3–4 KB with two-, three- and four-byte characters: a valid line of about 2.3 MB, so its
  // pieces of 1 MiB end inside characters unless cut back to a boundary; a short line on each side.
  const chars = ['é', '€', '𝄞', 'a'];
  const fields = Array.from({ length: 600 }, (_, i) => `s${i}="${chars[i % 4]!.repeat(1000 + (i % 7))}"`);
  const body = Buffer.from(`before v=1i 1\nlong,host=h ${fields.join(',')} 2\nafter v=2i 3\n`);
  const whole = parseLineProtocol(body);
  const sliced = await parseLineProtocolSliced(body, {}, 0);
  assert.equal(whole.failures.length, 0);
  assert.deepEqual(sliced, whole);
  assert.deepEqual(sliced.points.map((p) => p.measurement), ['before', 'long', 'after']);
  assert.equal(sliced.points[1]!.fieldValues[598], '𝄞'.repeat(1000 + (598 % 7)));
});

test('a line of megabytes over a limit is refused alone, decoded in pieces, and the lines around it are kept', async () => {
  const body = Buffer.from(`before v=1i 1\nbig,tag=${'€'.repeat(3_000_000)} v=1\nafter v=2i 3\n`);
  const sliced = await parseLineProtocolSliced(body, {}, 0);
  assert.deepEqual(sliced.points.map((p) => p.measurement), ['before', 'after']);
  assert.equal(sliced.failures.length, 1);
  assert.deepEqual(sliced, parseLineProtocol(body));
});
