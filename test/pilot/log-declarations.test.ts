import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDeclarations, type DeclarationWarning } from '../../pilot/log-declarations.js';
import { containerMeta } from '../helpers/container-meta.js';

const PREFIXES = { prefixes: ['aliyun'] };

function parse(labels: Record<string, string>, env: Record<string, string> = {}, prefixes = PREFIXES) {
  return parseDeclarations(containerMeta({ labels, env }), prefixes);
}

function skipped(warnings: DeclarationWarning[]): DeclarationWarning[] {
  return warnings.filter((w) => w.skipped);
}

test('a stdout label declares a log named after it, format none, target = name', () => {
  const { declarations, warnings } = parse({ 'aliyun.logs.catalina': 'stdout' });
  assert.deepEqual(warnings, []);
  assert.equal(declarations.length, 1);
  const d = declarations[0]!;
  assert.equal(d.name, 'catalina');
  assert.deepEqual(d.source, { kind: 'stdout' });
  assert.equal(d.format, 'none');
  assert.equal(d.target, 'catalina');
  assert.equal(d.multiline, null);
  assert.equal(d.declaredBy, 'aliyun.logs.catalina');
});

test('a file label with a wildcard keeps the directory and the glob of the last element', () => {
  const { declarations } = parse({ 'aliyun.logs.access': '/var/log/app/./*.log' });
  const s = declarations[0]!.source;
  assert.equal(s.kind, 'file');
  if (s.kind !== 'file') return;
  assert.equal(s.path, '/var/log/app/*.log');
  assert.equal(s.dir, '/var/log/app');
  assert.equal(s.fileGlob, '*.log');
  assert.equal(s.hasWildcards, true);
  assert.ok(s.fileName.test('access.log'));
  assert.ok(!s.fileName.test('access.log.1'));
});

test('format, keys, tags, target and multiline settings are read from labels', () => {
  const { declarations, warnings } = parse({
    'aliyun.logs.orders': '/data/orders.csv',
    'aliyun.logs.orders.format': 'csv',
    'aliyun.logs.orders.format.keys': 'time, level ,msg',
    'aliyun.logs.orders.format.time_key': 'time',
    'aliyun.logs.orders.format.time_format': '%Y-%m-%d %H:%M:%S',
    'aliyun.logs.orders.tags': 'env=prod, team = shop',
    'aliyun.logs.orders.target': 'Orders-Log',
    'aliyun.logs.orders.multiline.pattern': '^\\d{4}-',
    'aliyun.logs.orders.multiline.max_lines': '50',
    'aliyun.logs.orders.multiline.timeout': '2s',
  });
  assert.deepEqual(warnings, []);
  const d = declarations[0]!;
  assert.equal(d.format, 'csv');
  assert.deepEqual(d.lineFormat.fieldNames, ['time', 'level', 'msg']);
  assert.equal(d.timeKey, 'time');
  assert.equal(d.parseTime!('2026-03-01 12:00:00'), Date.UTC(2026, 2, 1, 12));
  assert.deepEqual({ ...d.tags }, { env: 'prod', team: 'shop' });
  assert.equal(d.target, 'orders-log');
  assert.equal(d.multiline!.maxLines, 50);
  assert.equal(d.multiline!.timeoutMs, 2000);
  assert.equal(d.multiline!.maxBytes, 1024 * 1024);
  assert.ok(d.multiline!.pattern.test('2026-03-01 boom'));
});

test('a tag target= names the index when no .target is given', () => {
  const { declarations } = parse({ 'aliyun.logs.web': 'stdout', 'aliyun.logs.web.tags': 'target=frontend,env=dev' });
  assert.equal(declarations[0]!.target, 'frontend');
  assert.deepEqual({ ...declarations[0]!.tags }, { env: 'dev' });
});

test('env declarations match known suffixes from the end, so a name may hold "_"', () => {
  const { declarations, warnings } = parse({}, {
    aliyun_logs_my_app: 'stdout',
    aliyun_logs_my_app_format: 'json',
    aliyun_logs_my_app_tags: 'k=v',
    aliyun_logs_my_app_target: 'apps',
    aliyun_logs_orders: '/var/log/o.csv',
    aliyun_logs_orders_format: 'csv',
    aliyun_logs_orders_format_keys: 'a,b',
    aliyun_logs_orders_format_time_format: 'epoch',
    aliyun_logs_orders_format_time_key: 'a',
    PATH: '/usr/bin',
  });
  assert.deepEqual(warnings, []);
  assert.deepEqual(declarations.map((d) => [d.name, d.format, d.target]), [['my_app', 'json', 'apps'], ['orders', 'csv', 'orders']]);
  assert.deepEqual({ ...declarations[0]!.tags }, { k: 'v' });
  assert.equal(declarations[1]!.parseTime!('1700000000'), 1_700_000_000_000);
});

test('an env name ending like a setting is a name when its base is not declared', () => {
  const { declarations } = parse({}, { aliyun_logs_audit_target: 'stdout' });
  assert.deepEqual(declarations.map((d) => d.name), ['audit_target']);
});

test('every prefix of PILOT_LOG_PREFIX is read', () => {
  const { declarations } = parse({ 'aliyun.logs.a': 'stdout', 'acme.logs.b': '/b.log' }, {}, { prefixes: ['aliyun', 'acme'] });
  assert.deepEqual(declarations.map((d) => d.name), ['a', 'b']);
});

test('env wins over a label for the same setting, with a warning that keeps the declaration', () => {
  const { declarations, warnings } = parse({ 'aliyun.logs.web': 'stdout', 'aliyun.logs.web.format': 'none' }, { aliyun_logs_web_format: 'json' });
  assert.equal(declarations[0]!.format, 'json');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.skipped, false);
  assert.equal(warnings[0]!.label, 'aliyun.logs.web.format');
});

const BAD: Array<[string, Record<string, string>, string, RegExp]> = [
  ['an empty value', { 'aliyun.logs.x': '' }, 'aliyun.logs.x', /empty/],
  ['a relative path', { 'aliyun.logs.x': 'var/log/x.log' }, 'aliyun.logs.x', /neither stdout nor an absolute path/],
  ['a bare directory', { 'aliyun.logs.x': '/var/log/app/' }, 'aliyun.logs.x', /is a directory/],
  ['the root directory', { 'aliyun.logs.x': '/' }, 'aliyun.logs.x', /is a directory/],
  ['a ".." element', { 'aliyun.logs.x': '/var/log/../../etc/shadow' }, 'aliyun.logs.x', /"\.\."/],
  ['wildcards in a directory', { 'aliyun.logs.x': '/var/*/app.log' }, 'aliyun.logs.x', /only the last element/],
  ['an unclosed [ in the glob', { 'aliyun.logs.x': '/var/log/[ab.log' }, 'aliyun.logs.x', /without its "\]"/],
  ['an unknown format', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'xml' }, 'aliyun.logs.x.format', /unknown format "xml"/],
  ['malformed tags', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.tags': 'env=prod,team' }, 'aliyun.logs.x.tags', /"team" is not key=value/],
  ['a tag with an empty value', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.tags': 'env=' }, 'aliyun.logs.x.tags', /not key=value/],
  ['a tag given twice', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.tags': 'a=1,a=2' }, 'aliyun.logs.x.tags', /given twice/],
  ['csv without keys', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'csv' }, 'aliyun.logs.x.format', /needs x's format.keys/],
  ['csv keys with a duplicate', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'csv', 'aliyun.logs.x.format.keys': 'a,b,a' }, 'aliyun.logs.x.format.keys', /"a" is given twice/],
  ['a bad regexp', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'regexp', 'aliyun.logs.x.format.pattern': '(?<a>[' }, 'aliyun.logs.x.format.pattern', /not a valid regular expression/],
  ['a regexp without named groups', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'regexp', 'aliyun.logs.x.format.pattern': '^(\\w+)$' }, 'aliyun.logs.x.format.pattern', /no named group/],
  ['regexp without pattern', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'regexp' }, 'aliyun.logs.x.format', /needs x's format.pattern/],
  ['a regexp with nested repetition over \\p{…}', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'regexp', 'aliyun.logs.x.format.pattern': '^(?<w>(\\p{L}+\\s?)*)$' }, 'aliyun.logs.x.format.pattern', /exponential time/],
  ['a multiline pattern with nested repetition over \\u{…}', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.multiline.pattern': '^(\\u{41}+)+:' }, 'aliyun.logs.x.multiline.pattern', /exponential time/],
  ['a bad multiline pattern', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.multiline.pattern': '^(\\d+' }, 'aliyun.logs.x.multiline.pattern', /not a valid regular expression/],
  ['a multiline pattern matching everything', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.multiline.pattern': '.*' }, 'aliyun.logs.x.multiline.pattern', /matches every line/],
  ['a bad multiline bound', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.multiline.pattern': '^\\S', 'aliyun.logs.x.multiline.max_lines': '0' }, 'aliyun.logs.x.multiline.max_lines', /whole number/],
  ['a multiline timeout too long', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.multiline.pattern': '^\\S', 'aliyun.logs.x.multiline.timeout': '2h' }, 'aliyun.logs.x.multiline.timeout', /10ms to 10m/],
  ['multiline bounds without a pattern', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.multiline.max_lines': '5' }, 'aliyun.logs.x.multiline.max_lines', /without multiline.pattern/],
  ['a name with a space', { 'aliyun.logs.a b': 'stdout' }, 'aliyun.logs.a b', /only letters, digits/],
  ['settings without a source', { 'aliyun.logs.x.format': 'json' }, 'aliyun.logs.x.format', /no source/],
  ['an invalid index name', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.target': 'a/b' }, 'aliyun.logs.x.target', /not a valid index name/],
  ['an unknown time format', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'json', 'aliyun.logs.x.format.time_key': 't', 'aliyun.logs.x.format.time_format': 'yyyy-MM-dd' }, 'aliyun.logs.x.format.time_format', /is not auto/],
  ['a csv time_key that is not a column', { 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.format': 'csv', 'aliyun.logs.x.format.keys': 'a,b', 'aliyun.logs.x.format.time_key': 't' }, 'aliyun.logs.x.format.time_key', /not one of the fields/],
];

for (const [what, labels, label, reason] of BAD) {
  test(`${what} skips that declaration with a warning naming the container, the label and the reason`, () => {
    const { declarations, warnings } = parse(labels);
    assert.deepEqual(declarations, []);
    const s = skipped(warnings);
    assert.equal(s.length, 1, JSON.stringify(warnings));
    assert.equal(s[0]!.container, 'shop-web-1');
    assert.equal(s[0]!.label, label);
    assert.match(s[0]!.reason, reason);
  });
}

test('a bad label beside a good one skips only the bad one', () => {
  const { declarations, warnings } = parse({
    'aliyun.logs.good': '/var/log/good.log',
    'aliyun.logs.good.format': 'json',
    'aliyun.logs.bad': 'relative/bad.log',
    'aliyun.logs.worse': 'stdout',
    'aliyun.logs.worse.format': 'yaml',
  });
  assert.deepEqual(declarations.map((d) => d.name), ['good']);
  assert.deepEqual(skipped(warnings).map((w) => w.label).sort(), ['aliyun.logs.bad', 'aliyun.logs.worse.format']);
});

test('a bad env declaration hints at a missing base declaration', () => {
  const { warnings } = parse({}, { aliyun_logs_web_format: 'json' });
  assert.match(warnings[0]!.reason, /declare that log's source too/);
  assert.equal(warnings[0]!.label, 'aliyun_logs_web_format');
});

test('a tag named like a record field is ignored with a warning, the declaration kept', () => {
  const { declarations, warnings } = parse({ 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.tags': 'host=h1,env=dev' });
  assert.deepEqual({ ...declarations[0]!.tags }, { env: 'dev' });
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.skipped, false);
  assert.match(warnings[0]!.reason, /tag "host" ignored/);
});

test('an unknown setting is reported but keeps the declaration', () => {
  const { declarations, warnings } = parse({ 'aliyun.logs.x': 'stdout', 'aliyun.logs.x.tag': 'a=b' });
  assert.equal(declarations.length, 1);
  assert.match(warnings[0]!.reason, /unknown setting "tag"/);
  assert.equal(warnings[0]!.skipped, false);
});

test('labels of other prefixes and unrelated labels are not declarations', () => {
  const { declarations, warnings } = parse({ 'com.docker.compose.project': 'shop', 'other.logs.x': 'stdout', 'aliyun.log': '/a.log' });
  assert.deepEqual(declarations, []);
  assert.deepEqual(warnings, []);
});

test("log-pilot's index tag names the target when neither .target nor a target tag is given, and stays a field", () => {
  const { declarations } = parse({ 'aliyun.logs.web': 'stdout', 'aliyun.logs.web.tags': 'index=Legacy-Web' });
  assert.equal(declarations[0]!.target, 'legacy-web');
  assert.deepEqual({ ...declarations[0]!.tags }, { index: 'Legacy-Web' });
});

test('an explicit .target wins over a differing target tag, with a warning', () => {
  const { declarations, warnings } = parse({ 'aliyun.logs.web': 'stdout', 'aliyun.logs.web.target': 'a', 'aliyun.logs.web.tags': 'target=b' });
  assert.equal(declarations[0]!.target, 'a');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.skipped, false);
});

test('a pattern with nested repetition is kept, and a hostile line fails it at once instead of holding the pilot', () => {
  // Matched by backtracking alone, the 5,000-character line would take longer than anyone waits (platform/user-pattern.ts).
  const { declarations, warnings } = parse({
    'aliyun.logs.x': 'stdout',
    'aliyun.logs.x.format': 'regexp',
    'aliyun.logs.x.format.pattern': '^(?<words>(\\w+\\s?)*)$',
    'aliyun.logs.x.multiline.pattern': '^(\\d+-?)+:',
  });
  assert.deepEqual(warnings, []);
  const d = declarations[0]!;
  const hostile = `${'a'.repeat(5_000)}!`;
  assert.deepEqual(d.lineFormat.parse(hostile), { ok: false, reason: 'line does not match the pattern' });
  assert.deepEqual(d.lineFormat.parse('two words'), { ok: true, fields: Object.assign(Object.create(null), { words: 'two words' }), rawJson: null });
  assert.equal(d.multiline!.pattern.test(`${'1'.repeat(5_000)}!`), false);
  assert.equal(d.multiline!.pattern.test('2026-11-22: started'), true);
});
