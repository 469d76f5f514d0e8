import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpJsonMeasurement, parseHttpJson, type HttpJsonResult } from '../../../collector/monitoring/http-json.js';
import { type MetricPoint, fieldPairs, tagPairs } from '../../../model/metric-point.js';

const TIME_NS = 1_700_000_000_123_000_000n;
const BASE = { container_name: 'shop-web-1', host: 'node-a', docker_app: 'shop', docker_service: '' };

function parse(body: string, tagKeys: string[] = [], limits?: { maxDepth: number; maxFields: number; maxPoints: number }): HttpJsonResult {
  return parseHttpJson(body, { measurement: 'httpjson_shop-web-1', tagKeys, tags: BASE, timeNs: TIME_NS, ...(limits ? { limits } : {}) });
}

function ok(result: HttpJsonResult): { points: MetricPoint[]; warnings: string[] } {
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result;
}

test('an object is one point: numbers become floats, booleans and strings are kept, container tags added', () => {
  const { points, warnings } = ok(parse('{"requests": 12, "latency": 0.25, "up": true, "mode": "primary", "gone": null}'));
  assert.deepEqual(warnings, []);
  assert.deepEqual(points.map((p) => ({ measurement: p.measurement, tags: tagPairs(p), fields: fieldPairs(p), timeNs: p.timeNs })), [{
    measurement: 'httpjson_shop-web-1',
    tags: [['container_name', 'shop-web-1'], ['docker_app', 'shop'], ['host', 'node-a']],
    fields: [
      ['requests', { type: 'float', value: 12 }], ['latency', { type: 'float', value: 0.25 }],
      ['up', { type: 'bool', value: true }], ['mode', { type: 'string', value: 'primary' }],
    ],
    timeNs: TIME_NS,
  }]);
});

test('nested keys are joined with an underscore, array items by index', () => {
  const { points } = ok(parse('{"db": {"pool": {"active": 3, "idle": 7}}, "queues": [5, {"depth": 2}]}'));
  assert.deepEqual(fieldPairs(points[0]!), [
    ['db_pool_active', { type: 'float', value: 3 }], ['db_pool_idle', { type: 'float', value: 7 }],
    ['queues_0', { type: 'float', value: 5 }], ['queues_1_depth', { type: 'float', value: 2 }],
  ]);
});

test('an array of objects gives one point each, and the declared tag keys become tags (nested ones by their joined name)', () => {
  const body = JSON.stringify([
    { region: 'eu', node: { id: 7 }, load: 0.5 },
    { region: 'us', node: { id: 8 }, load: 1.5, host: 'from-the-body' },
  ]);
  const { points } = ok(parse(body, ['region', 'node_id', 'host']));
  assert.equal(points.length, 2);
  assert.deepEqual(tagPairs(points[0]!), [['container_name', 'shop-web-1'], ['docker_app', 'shop'], ['host', 'node-a'], ['node_id', '7'], ['region', 'eu']]);
  assert.deepEqual(fieldPairs(points[0]!), [['load', { type: 'float', value: 0.5 }]]);
  // A tag the body carries itself is not overwritten by the container's.
  assert.deepEqual(tagPairs(points[1]!), [['container_name', 'shop-web-1'], ['docker_app', 'shop'], ['host', 'from-the-body'], ['node_id', '8'], ['region', 'us']]);
});

test('a JSON scalar, null or an HTML page is refused with a reason that says what came', () => {
  for (const [body, what] of [['42', /number/], ['"fine"', /string/], ['true', /boolean/], ['null', /null/]] as const) {
    const r = parse(body);
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, what);
    assert.match((r as { reason: string }).reason, /not a JSON object or an array of objects/);
  }
  const html = parse('<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>');
  assert.equal(html.ok, false);
  assert.match((html as { reason: string }).reason, /not JSON.*starts with "<!DOCTYPE html> <html>/);
});

test('array items that are not objects, and objects without fields, are skipped with one summed warning', () => {
  const { points, warnings } = ok(parse(JSON.stringify([1, { a: 1 }, 'x', null, {}, [2], { b: true }])));
  assert.deepEqual(points.map((p) => fieldPairs(p).map(([k]) => k)), [['a'], ['b']]);
  assert.deepEqual(warnings, [
    '4 array item(s) that are not objects were skipped (the first at index 0)',
    '1 object(s) without any field were skipped',
  ]);
  assert.deepEqual(ok(parse('[]')).points, []);
});

test('empty keys are left out (line protocol has no empty names)', () => {
  const { points } = ok(parse('{"": 1, "a": {"": 2, "b": 3}}'));
  assert.deepEqual(fieldPairs(points[0]!), [['a_b', { type: 'float', value: 3 }]]);
});

test('deep nesting is bounded: values past the depth limit are skipped and counted, and a huge nesting never throws', () => {
  const { points, warnings } = ok(parse('{"a": {"b": {"c": {"d": 1}}, "e": 2}}', [], { maxDepth: 3, maxFields: 100, maxPoints: 10 }));
  assert.deepEqual(fieldPairs(points[0]!), [['a_e', { type: 'float', value: 2 }]]);
  assert.deepEqual(warnings, ['1 value(s) nested deeper than 3 levels were skipped']);
  const depth = 100_000;
  const deep = `{"x":${'{"y":'.repeat(depth)}1${'}'.repeat(depth)}, "top": 1}`;
  const r = ok(parse(deep));
  assert.deepEqual(fieldPairs(r.points[0]!), [['top', { type: 'float', value: 1 }]]);
  assert.deepEqual(r.warnings, ['1 value(s) nested deeper than 16 levels were skipped']);
  const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  assert.doesNotThrow(() => parse(arrays));
});

test('10,000 keys are bounded to the field limit per point, the rest counted', () => {
  const body = JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])));
  const { points, warnings } = ok(parse(body));
  assert.equal(fieldPairs(points[0]!).length, 1000);
  assert.deepEqual(fieldPairs(points[0]!)[999], ['k999', { type: 'float', value: 999 }]);
  assert.deepEqual(warnings, ['9000 field(s) beyond 1000 per object were skipped']);
  const many = JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ i })));
  const r = ok(parse(many, [], { maxDepth: 16, maxFields: 1000, maxPoints: 500 }));
  assert.equal(r.points.length, 500);
  assert.deepEqual(r.warnings, ['only the first 500 objects were read']);
});

test('the measurement is httpjson_ and the container name', () => {
  assert.equal(httpJsonMeasurement('/shop_web.1'), 'httpjson_shop_web.1');
  assert.equal(httpJsonMeasurement('odd name,x'), 'httpjson_odd_name_x');
});
