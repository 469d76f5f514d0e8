import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerMeta } from '../../model/container.js';
import { parseDeclarations } from '../../pilot/log-declarations.js';
import { createRecordEncoder, type FileRecordEncoder } from '../../pilot/record-encoder.js';
import { containerMeta } from '../helpers/container-meta.js';

const OPTIONS = { hostName: 'node-7', nodeName: '' };
const T = Date.UTC(2026, 2, 1, 12, 0, 0, 5);

function encoderFor(labels: Record<string, string>, meta: Partial<ContainerMeta> = {}, path = '/var/log/app/a.log'): FileRecordEncoder {
  const m = containerMeta({ labels, ...meta });
  const { declarations, warnings } = parseDeclarations(m, { prefixes: ['aliyun'] });
  assert.equal(declarations.length, 1, JSON.stringify(warnings));
  return createRecordEncoder(m, declarations[0]!, OPTIONS).forFile(path, '2049:1234:0');
}

/** The top-level keys as written (JSON.parse would hide a key written twice). */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && json[j + 1] === ':') keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      i = j;
    }
  }
  return keys;
}

function record(json: string): Record<string, unknown> {
  const r = JSON.parse(json) as Record<string, unknown>;
  const keys = topLevelKeys(json);
  assert.deepEqual(keys, Object.keys(r), 'no key is written twice');
  assert.ok(!json.includes('\n'), 'one physical line');
  return r;
}

test('a stdout line gets the engine time, its stream and the container fields', () => {
  const enc = encoderFor({ 'aliyun.logs.web': 'stdout', 'aliyun.logs.web.tags': 'env=prod' }, {
    app: 'shop', service: 'web', k8sPod: 'web-0', k8sNamespace: 'default', k8sContainer: 'web',
  });
  const e = enc.encode('hello "world"', 4242, false, 'stderr', T, NaN);
  assert.deepEqual(record(e.json), {
    '@timestamp': '2026-03-01T12:00:00.005Z', message: 'hello "world"', stream: 'stderr', source: 'stdout', target: 'web',
    host: 'node-7', docker_container: 'shop-web-1', docker_container_id: containerMeta().id, docker_app: 'shop',
    docker_service: 'web', k8s_pod: 'web-0', k8s_pod_namespace: 'default', k8s_container_name: 'web', env: 'prod',
  });
  assert.equal(e.target, 'web');
  assert.equal(e.timestampMs, T);
  assert.equal(e.text, 'hello "world"');
  assert.equal(e.containerName, 'shop-web-1');
  assert.equal(e.app, 'shop');
  assert.equal(e.service, 'web');
});

test('a file line has its path as source, no stream, and the read time', () => {
  const e = encoderFor({ 'aliyun.logs.app': '/var/log/app/*.log' }).encode('x', 2, false, null, NaN, T);
  assert.deepEqual(record(e.json), {
    '@timestamp': '2026-03-01T12:00:00.005Z', message: 'x', source: '/var/log/app/a.log', target: 'app', host: 'node-7',
    docker_container: 'shop-web-1', docker_container_id: containerMeta().id,
  });
});

test('a record marks where the constant fields of its container and file stand, the same text for every line of the file', () => {
  const enc = encoderFor({ 'aliyun.logs.app': '/var/log/app/*.log', 'aliyun.logs.app.format': 'json' });
  const a = enc.encode('{"level":"info","n":1}', 30, false, null, NaN, T);
  const b = enc.encode('{"msg":"Grüße","n":2}', 60, false, 'stdout', NaN, T);
  for (const e of [a, b]) {
    assert.ok(e.shared !== undefined);
    assert.equal(e.json, `${e.beforeShared}${e.shared}${e.afterShared}`);
    assert.ok(e.shared.includes('"docker_container_id"') && e.shared.includes('"source":"/var/log/app/a.log"'));
  }
  assert.equal(a.shared, b.shared);
});

test('the id is deterministic from container, source, file and position, and differs when any changes', () => {
  const labels = { 'aliyun.logs.app': '/var/log/app/*.log' };
  const a = encoderFor(labels).encode('x', 100, false, null, NaN, T).id;
  assert.equal(encoderFor(labels).encode('y', 100, false, null, NaN, T + 1).id, a);
  assert.match(a, /^[A-Za-z0-9_-]{22}-100$/);
  assert.notEqual(encoderFor(labels).encode('x', 101, false, null, NaN, T).id, a);
  assert.notEqual(encoderFor(labels, {}, '/var/log/app/b.log').encode('x', 100, false, null, NaN, T).id, a);
  assert.notEqual(encoderFor(labels, { id: 'a'.repeat(64) }).encode('x', 100, false, null, NaN, T).id, a);
});

test("a json line's fields go to the top level, its nesting kept, without a message", () => {
  const enc = encoderFor({ 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json' });
  const r = record(enc.encode('{"level":"warn","req":{"path":"/x","ms":12},"message":"slow"}', 9, false, 'stdout', T, NaN).json);
  assert.equal(r['level'], 'warn');
  assert.deepEqual(r['req'], { path: '/x', ms: 12 });
  assert.equal(r['message'], 'slow');
  assert.equal(r['stream'], 'stdout');
  assert.equal(r['source'], 'stdout');
  assert.equal(r['parse_error'], undefined);
});

test("a json line's field named like a record field keeps ours, its own value under original_<name>", () => {
  const enc = encoderFor({ 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json' });
  const line = '{"@timestamp":"yesterday","host":"app-host","original_host":"taken","stream":"s","a":1}';
  const r = record(enc.encode(line, 9, false, 'stdout', T, NaN).json);
  assert.equal(r['@timestamp'], '2026-03-01T12:00:00.005Z');
  assert.equal(r['original_@timestamp'], 'yesterday');
  assert.equal(r['host'], 'node-7');
  assert.equal(r['original_host'], 'taken');
  assert.equal(r['original_original_host'], 'app-host');
  assert.equal(r['stream'], 'stdout');
  assert.equal(r['original_stream'], 's');
  assert.equal(r['a'], 1);
});

test("integers beyond 2^53 in a json line keep their digits, whether its text is kept or its members rewritten", () => {
  const enc = encoderFor({ 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json' });
  const id = '1234567890123456789';
  const lines = [
    `{"id":${id},"n":[${id},-${id}]}`, // kept as it is
    `{"@timestamp":"yesterday", "id" : ${id} , "n":[ ${id}, -${id} ]}`, // a key of ours: members rewritten
    `{\n  "id": ${id},\n  "n": [${id}, -${id}]\n}`, // a multiline record: members rewritten
  ];
  for (const line of lines) {
    const json = enc.encode(line, 9, false, 'stdout', T, NaN).json;
    record(json);
    assert.ok(json.includes(`"id":${id}`), json);
    assert.ok(json.includes(`"n":[${id},-${id}]`), json);
  }
});

test("a json line's members rewritten (it has a key of ours): strings with braces, commas and escapes intact, a key written twice kept once with its last value", () => {
  const enc = encoderFor({ 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json' });
  const line = '{ "host" : "a, {b} [c] \\"q\\" \\\\", "k\\u00e9y": {"x": [1, {"y": "}"}], "z": null}, "dup": 1, "e": {}, "dup": 2, "f": [ ] }';
  const json = enc.encode(line, 9, false, 'stdout', T, NaN).json;
  const r = record(json);
  assert.equal(r['original_host'], 'a, {b} [c] "q" \\');
  assert.deepEqual(r['kéy'], { x: [1, { y: '}' }], z: null });
  assert.equal(r['dup'], 2);
  assert.deepEqual(r['e'], {});
  assert.deepEqual(r['f'], []);
  assert.deepEqual(topLevelKeys(json).slice(-5), ['original_host', 'kéy', 'dup', 'e', 'f']);
});

test('a json line with a key written twice (as zap writes a field given twice) keeps it once, with its last value', () => {
  // Elasticsearch refuses a document with a duplicate key: shipped as written, the line would be dead-lettered.
  const enc = encoderFor({ 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json' });
  const json = enc.encode('{"level":"info","user":"a","id":1234567890123456789,"user":"b"}', 9, false, 'stdout', T, NaN).json;
  const r = record(json);
  assert.equal(r['user'], 'b');
  assert.ok(json.includes('"id":1234567890123456789'), json);
});

test('invalid JSON is shipped raw in message with parse_error, never dropped', () => {
  const enc = encoderFor({ 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json' });
  for (const line of ['{"level":"info",', '[1,2]', 'plain text', '']) {
    const r = record(enc.encode(line, 1, false, 'stdout', T, NaN).json);
    assert.equal(r['message'], line);
    assert.equal(typeof r['parse_error'], 'string');
  }
});

test('a csv line with the wrong column count is shipped raw with parse_error', () => {
  const enc = encoderFor({ 'aliyun.logs.o': '/o.csv', 'aliyun.logs.o.format': 'csv', 'aliyun.logs.o.format.keys': 'a,b,host' });
  const good = record(enc.encode('1,"2,5",h', 1, false, null, NaN, T).json);
  assert.equal(good['a'], '1');
  assert.equal(good['b'], '2,5');
  assert.equal(good['host'], 'node-7');
  assert.equal(good['original_host'], 'h');
  assert.equal(good['message'], '1,"2,5",h');
  const bad = record(enc.encode('1,2', 2, false, null, NaN, T).json);
  assert.equal(bad['message'], '1,2');
  assert.equal(bad['parse_error'], 'expected 3 columns, found 2');
  assert.equal(bad['a'], undefined);
});

test('time_key sets @timestamp; an unreadable one falls back and says why', () => {
  const enc = encoderFor({
    'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json',
    'aliyun.logs.api.format.time_key': 'ts', 'aliyun.logs.api.format.time_format': 'epoch_ms',
  });
  const ok = enc.encode(`{"ts":${T - 1000},"a":1}`, 1, false, 'stdout', T, NaN);
  assert.equal(ok.timestampMs, T - 1000);
  assert.equal(record(ok.json)['@timestamp'], '2026-03-01T11:59:59.005Z');
  assert.equal(record(ok.json)['ts'], T - 1000);
  const bad = record(enc.encode('{"ts":"noon","a":1}', 2, false, 'stdout', T, NaN).json);
  assert.equal(bad['@timestamp'], '2026-03-01T12:00:00.005Z');
  assert.match(String(bad['parse_error']), /time_key "ts": "noon" does not fit/);
  assert.equal(bad['a'], 1);
  assert.match(String(record(enc.encode('{"a":1}', 3, false, 'stdout', T, NaN).json)['parse_error']), /time_key "ts" is missing/);
});

test('a truncated line is marked', () => {
  const r = record(encoderFor({ 'aliyun.logs.w': 'stdout' }).encode('cut', 1, true, 'stdout', T, NaN).json);
  assert.equal(r['truncated'], true);
});

test('a multiline json record is re-serialised onto one physical line', () => {
  const enc = encoderFor({ 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json' });
  const r = record(enc.encode('{\n  "a": 1,\n  "b": {"c": 2}\n}', 1, false, 'stdout', T, NaN).json);
  assert.equal(r['a'], 1);
  assert.deepEqual(r['b'], { c: 2 });
});

test('regexp groups become fields next to the message; invalid UTF-8 replacement characters are carried', () => {
  const enc = encoderFor({
    'aliyun.logs.n': 'stdout', 'aliyun.logs.n.format': 'regexp', 'aliyun.logs.n.format.pattern': '^(?<level>\\w+): (?<text>.*)$',
  });
  const r = record(enc.encode('ERROR: bad \ufffd byte', 1, false, 'stdout', T, NaN).json);
  assert.equal(r['level'], 'ERROR');
  assert.equal(r['text'], 'bad \ufffd byte');
  assert.equal(r['message'], 'ERROR: bad \ufffd byte');
  assert.equal(record(enc.encode('nope', 2, false, 'stdout', T, NaN).json)['parse_error'], 'line does not match the pattern');
});

test('k8s_node_name comes from the options when set', () => {
  const m = containerMeta({ labels: { 'aliyun.logs.w': 'stdout' } });
  const decl = parseDeclarations(m, { prefixes: ['aliyun'] }).declarations[0]!;
  const e = createRecordEncoder(m, decl, { hostName: 'h', nodeName: 'node-a' }).forFile('', 'k').encode('x', 1, false, 'stdout', T, NaN);
  assert.equal(record(e.json)['k8s_node_name'], 'node-a');
});

test('@timestamp is the record time in ISO form to the millisecond, across minutes, days, years and the whole range', () => {
  const enc = encoderFor({ 'aliyun.logs.web': 'stdout' });
  const times = [0, 1, 999, 1000, 59_999, 60_000, T, T + 7, T + 59_993, Date.UTC(2025, 11, 31, 23, 59, 59, 999), Date.UTC(2026, 0, 1), 253402300799999];
  let seed = 7;
  for (let i = 0; i < 500; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    times.push(T + seed * 37);
  }
  for (const ms of times) {
    const r = record(enc.encode('x', 10, false, 'stdout', ms, NaN).json);
    assert.equal(r['@timestamp'], new Date(ms).toISOString(), String(ms));
  }
  // Out of order, back and forth within one minute.
  for (const ms of [T + 30_000, T + 1, T + 59_999, T]) assert.equal(record(enc.encode('x', 10, false, 'stdout', ms, NaN).json)['@timestamp'], new Date(ms).toISOString());
});

test('a json line with a key written twice and another spaced from its colon is written with each key once, the last value kept', () => {
  const enc = encoderFor({ 'aliyun.logs.api': 'stdout', 'aliyun.logs.api.format': 'json' });
  const e = enc.encode('{"a":1,"a":2,"b" :3}', 10, false, 'stdout', T, NaN);
  const r = record(e.json);
  assert.equal(r['a'], 2);
  assert.equal(r['b'], 3);
});
