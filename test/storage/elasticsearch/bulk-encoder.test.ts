import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BulkEncoder } from '../../../storage/elasticsearch/bulk-encoder.js';
import type { LogEvent } from '../../../model/log-record.js';

function event(target: string, timestampMs: number, id: string): LogEvent {
  return {
    json: JSON.stringify({ '@timestamp': new Date(timestampMs).toISOString(), message: 'm' }), target, timestampMs, id,
    containerId: 'c', containerName: 'n', app: '', service: '', text: 'm',
  };
}

function lines(body: string): unknown[] {
  assert.ok(body.endsWith('\n'));
  return body.slice(0, -1).split('\n').map((l) => JSON.parse(l) as unknown);
}

const LAST_MS_OF_2025 = Date.UTC(2025, 11, 31, 23, 59, 59, 999);

test('daily indices come from the record\'s UTC date, across a day boundary', () => {
  const enc = new BulkEncoder('daily');
  const body = enc.encode([event('web', LAST_MS_OF_2025, 'a-1'), event('web', LAST_MS_OF_2025 + 1, 'a-2'), event('api', LAST_MS_OF_2025, 'b-1')]);
  assert.deepEqual(lines(body), [
    { index: { _index: 'web-2025.12.31', _id: 'a-1' } }, { '@timestamp': '2025-12-31T23:59:59.999Z', message: 'm' },
    { index: { _index: 'web-2026.01.01', _id: 'a-2' } }, { '@timestamp': '2026-01-01T00:00:00.000Z', message: 'm' },
    { index: { _index: 'api-2025.12.31', _id: 'b-1' } }, { '@timestamp': '2025-12-31T23:59:59.999Z', message: 'm' },
  ]);
  // Back to the earlier day after the cache moved on.
  assert.equal(enc.indexName('web', LAST_MS_OF_2025), 'web-2025.12.31');
});

test('monthly, none and data stream modes', () => {
  const ms = Date.UTC(2026, 1, 28, 23, 0);
  assert.equal(new BulkEncoder('monthly').indexName('web', ms), 'web-2026.02');
  assert.equal(new BulkEncoder('monthly').indexName('web', Date.UTC(2026, 2, 1)), 'web-2026.03');
  assert.equal(new BulkEncoder('none').indexName('web', ms), 'web');
  assert.deepEqual(lines(new BulkEncoder('datastream').encodeOne(event('logs-web', ms, 'x-9')))[0], { create: { _index: 'logs-logs_web-default', _id: 'x-9' } });
  assert.equal(new BulkEncoder('datastream', 'prod').indexName('app-web', ms), 'logs-app_web-prod', 'Elasticsearch\'s Logs naming, the namespace configured');
});

test('an id needing escapes is escaped', () => {
  const body = new BulkEncoder('none').encodeOne(event('t', 0, 'a"b\\c'));
  assert.deepEqual(lines(body)[0], { index: { _index: 't', _id: 'a"b\\c' } });
});

test('encoded items are the body\'s bytes, each item ending where its two lines end, multi-byte characters included', async () => {
  const { describeItem, itemStart, sliceItems, joinItems } = await import('../../../storage/elasticsearch/bulk-items.js');
  const encoder = new BulkEncoder('daily');
  const day = Date.UTC(2024, 0, 1);
  const events = [
    { ...event('app', day, 'a'), json: JSON.stringify({ message: 'plain' }) },
    { ...event('app', day, 'b'), json: JSON.stringify({ message: 'Grüße, 東京 🚀' }) },
    { ...event('app', day + 86_400_000, 'c"quoted'), json: JSON.stringify({ message: 'é'.repeat(5000) }) },
  ];
  // Many multi-byte records: the buffer sized from character counts has to grow.
  for (let i = 0; i < 50; i++) events.push({ ...event('app', day, `m${i}`), json: JSON.stringify({ message: '東'.repeat(300) }) });
  const items = encoder.encodeItems(events);
  assert.equal(items.bytes.toString('utf8'), encoder.encode(events));
  assert.equal(items.ends.length, events.length);
  for (let i = 0; i < events.length; i++) {
    const text = items.bytes.toString('utf8', itemStart(items, i), items.ends[i]);
    assert.equal(text, encoder.encodeOne(events[i]!), `item ${i}`);
    assert.deepEqual(describeItem(items, i), { id: events[i]!.id, index: encoder.indexName('app', events[i]!.timestampMs), record: events[i]!.json });
  }
  const rejoined = joinItems([sliceItems(items, 0, 1), sliceItems(items, 1, 3), sliceItems(items, 3, events.length)]);
  assert.deepEqual(rejoined.bytes, items.bytes);
  assert.deepEqual([...rejoined.ends], [...items.ends]);
});

test('compact items hold no action lines and expand to the same bulk lines, ids needing escapes and non-ASCII ids included', async () => {
  const { expandItems } = await import('../../../storage/elasticsearch/compact-items.js');
  const encoder = new BulkEncoder('daily');
  const day = Date.UTC(2024, 0, 1);
  const events = [
    event('app', day, 'plain-1'), event('app', day, 'q"uote\\d'), event('app', day + 86_400_000, 'nl\nid'),
    event('web', day, 'grüße-東'), event('app', day, 'tab\tid'), event('app', day, 'plain-2'),
    { ...event('app', day, 'm'), json: JSON.stringify({ message: 'Grüße, 東京 🚀' }) },
  ];
  const compact = encoder.encodeCompact(events);
  assert.deepEqual(compact.heads.length, 3, 'one head per index and action');
  assert.ok(!compact.bytes.toString('utf8').includes('"_index"'), 'no action line is stored');
  const expanded = expandItems(compact);
  assert.ok(typeof expanded !== 'string', String(expanded));
  assert.equal(expanded.bytes.toString('utf8'), encoder.encode(events));
  assert.deepEqual([...expanded.ends], [...encoder.encodeItems(events).ends]);
  // The fast path's bytes agree with the escaping path's.
  assert.deepEqual(lines(expanded.bytes.toString('utf8')).filter((_, i) => i % 2 === 0).map((a) => (a as { index: { _id: string } }).index._id), events.map((e) => e.id));
});

test('a record\'s shared text is stored once and put back on expansion; parts that do not add up to the record leave it whole', async () => {
  const { expandItems, NO_SHARED } = await import('../../../storage/elasticsearch/compact-items.js');
  const encoder = new BulkEncoder('daily');
  const day = Date.UTC(2024, 0, 1);
  const shared = ',"host":"node-1","docker_container":"shop-api-1","docker_app":"shop"';
  const record = (before: string, i: number): LogEvent => {
    const beforeShared = `{"@timestamp":"2024-01-01T00:00:00.00${i}Z"${before}`;
    const afterShared = `,"n":${i}}`;
    return { ...event('app', day, `id-${i}`), json: beforeShared + shared + afterShared, beforeShared, shared, afterShared };
  };
  const events = [
    record('', 0), record(',"message":"Grüße, 東京 🚀"', 1),
    { ...record('', 2), afterShared: ',"n":22}' }, // does not add up to the record: stored whole
    { ...record('', 3), shared: undefined },
    record('', 4), { ...record('', 5), id: 'q"uoted' }, { ...record('', 6), id: 'grüße' },
  ];
  const compact = encoder.encodeCompact(events);
  assert.deepEqual([...compact.sharedOf].map((k) => (k === NO_SHARED ? null : compact.shared[k])), [shared, shared, null, null, shared, shared, shared]);
  assert.equal(compact.shared.length, 1);
  assert.equal(compact.bytes.toString('utf8').split(shared).length - 1, 2, 'the shared text stays only in the records it was not left out of');
  const expanded = expandItems(compact);
  assert.ok(typeof expanded !== 'string', String(expanded));
  assert.equal(expanded.bytes.toString('utf8'), encoder.encode(events));
});

test('compact items that do not hold an id and a line per item, name a missing head or shared text, or put it past the record, are refused', async () => {
  const { expandItems, NO_SHARED } = await import('../../../storage/elasticsearch/compact-items.js');
  const bytes = Buffer.from('id-1\n{}\nno-newline-here');
  const one = { heads: ['{"index":{"_id":"'], shared: [',"a":1'], sharedAt: Uint32Array.of(1), bytes: bytes.subarray(0, 8), ends: Uint32Array.of(8) };
  assert.match(String(expandItems({ ...one, headOf: Uint32Array.of(0, 0), sharedOf: Uint32Array.of(NO_SHARED, NO_SHARED), sharedAt: Uint32Array.of(0, 0), bytes, ends: Uint32Array.of(8, bytes.length) })), /not an id and a line/);
  assert.match(String(expandItems({ ...one, headOf: Uint32Array.of(1), sharedOf: Uint32Array.of(NO_SHARED) })), /head 1 of 1/);
  assert.match(String(expandItems({ ...one, headOf: Uint32Array.of(0), sharedOf: Uint32Array.of(2) })), /shared text 2 of 1/);
  assert.match(String(expandItems({ ...one, headOf: Uint32Array.of(0), sharedOf: Uint32Array.of(0), sharedAt: Uint32Array.of(3) })), /past its record/);
  const good = expandItems({ ...one, headOf: Uint32Array.of(0), sharedOf: Uint32Array.of(0) });
  assert.equal(typeof good === 'string' ? good : good.bytes.toString(), '{"index":{"_id":"id-1"}}\n{,"a":1}\n');
});
