import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, encodeCursor } from '../../../storage/elasticsearch/log-reader.js';
import { textParts } from '../../../storage/elasticsearch/log-query-dsl.js';
import { rawSources } from '../../../storage/elasticsearch/raw-sources.js';

test('each hit\'s source is sliced as sent, a nested _source key and a quoted one included', () => {
  const a = '{"message":"say \\"_source\\":{ here","n":1.0}';
  const b = '{"_source":{"x":[1,{"y":"}"}]},"big":9007199254740993}';
  const body = `{"took":1,"hits":{"total":{"value":2},"hits":[{"_index":"i","_id":"1","_source":${a},"sort":[1]},{"_index":"i","_id":"2","_source" : ${b}}]}}`;
  assert.deepEqual(rawSources(body), [a, b]);
  assert.deepEqual(rawSources('{"hits":{"hits":[]}}'), []);
});

test('a body cut short is a failure reason, never a throw', () => {
  assert.ok('problem' in (rawSources('{"hits":{"hits":[{"_source":{"a":"b') as object));
  assert.ok('problem' in (rawSources('{"hits":{"hits":[{"_source":{"a":1') as object));
});

test('a tail cursor survives its text and anything else is not a cursor', () => {
  const cursor = new Map([['web-2024.05.01', 41], ['db-2024.05.02', -1]]);
  const text = encodeCursor(cursor);
  assert.match(text, /^[\w.-]+$/);
  assert.deepEqual(decodeCursor(text), cursor);
  for (const bad of ['42', 'e1.', 'e1.!!', `e1.${Buffer.from('[1]').toString('base64url')}`, `e1.${Buffer.from('{"a":1.5}').toString('base64url')}`]) {
    assert.equal(decodeCursor(bad), undefined, bad);
  }
});

test('free text splits into words, phrases and prefixes as the store splits it', () => {
  assert.deepEqual(textParts('GET "user alice" logg* * "" item/1*'), [
    { text: 'GET', prefix: false }, { text: 'user alice', prefix: false }, { text: 'logg', prefix: true },
    { text: '*', prefix: false }, { text: 'item/1', prefix: true },
  ]);
});
