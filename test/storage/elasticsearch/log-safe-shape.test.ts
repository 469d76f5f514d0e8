import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeShape } from '../../../storage/elasticsearch/log-safe-shape.js';

const record = {
  '@timestamp': '2026-12-06T10:00:00.000Z', message: 'paid', stream: 'stdout', source: 'stdout', target: 'shop', host: 'node-1',
  docker_container: 'shop-1', k8s_pod: 'shop-1-abc', truncated: true, parse_error: 'x', team: 'pay', amount: { eur: 3 }, _id: 'z',
};

test('the safe shape keeps the record fields and moves every other field into json_text, the reason beside', () => {
  const safe = JSON.parse(safeShape(JSON.stringify(record), 'document_parsing_exception: boom')!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(safe), [
    '@timestamp', 'message', 'stream', 'source', 'target', 'host', 'docker_container', 'k8s_pod', 'truncated', 'parse_error', 'json_text', 'mapping_error',
  ]);
  assert.deepEqual(JSON.parse(safe['json_text'] as string), { team: 'pay', amount: { eur: 3 }, _id: 'z' });
  assert.equal(safe['mapping_error'], 'document_parsing_exception: boom');
});

test('a record field of another type than its mapping moves too (a json line\'s message that is an object)', () => {
  const safe = JSON.parse(safeShape(JSON.stringify({ '@timestamp': 't', message: { text: 'hi' } }), 'r')!) as Record<string, unknown>;
  assert.equal(safe['message'], undefined);
  assert.deepEqual(JSON.parse(safe['json_text'] as string), { message: { text: 'hi' } });
});

test('a record already in the safe shape, or not a JSON object, has none', () => {
  const once = safeShape(JSON.stringify(record), 'r')!;
  assert.equal(safeShape(once, 'again'), undefined);
  assert.equal(safeShape('not json', 'r'), undefined);
  assert.equal(safeShape('[1]', 'r'), undefined);
});
