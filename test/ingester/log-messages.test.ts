/**
 * The ingester's reading of the pilot's kafka output's messages (ingester/log-ingest.ts): a record keeps its
 * document, its id (the `shipwatch-id` header), its target and time (its index); anything else is a dead letter
 * with the reason.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { decodeLogMessage } from '../../ingester/log-ingest.js';
import { BulkEncoder } from '../../storage/elasticsearch/bulk-encoder.js';

function message(value: string | null, headers: Record<string, string> = {}, key = 'c0ffee'): KafkaMessage {
  return { key: Buffer.from(key), value: value === null ? null : Buffer.from(value), headers, timestamp: '0', attributes: 0, offset: '0' };
}

const doc = '{"@timestamp":"2026-12-07T10:11:12.345Z","message":"line 7","stream":"stdout","target":"web","docker_container":"shop"}';

test('a record of the pilot keeps its document, its id, and goes to the index of its target and day', () => {
  const out = decodeLogMessage(message(doc, { 'shipwatch-id': 'abc-123' }), 'web');
  assert.ok(out.ok);
  const [e] = out.items;
  assert.equal(e!.json, doc);
  assert.equal(e!.id, 'abc-123');
  assert.equal(e!.target, 'web');
  assert.equal(e!.timestampMs, Date.parse('2026-12-07T10:11:12.345Z'));
  assert.equal(e!.containerId, 'c0ffee');
  assert.equal(new BulkEncoder('daily').encodeOne(e!), `{"index":{"_index":"web-2026.12.07","_id":"abc-123"}}\n${doc}\n`);
});

test('a document written over several lines is sent on one line of the bulk body', () => {
  const out = decodeLogMessage(message('{\n "@timestamp": "2026-12-07T10:11:12.345Z",\n "message": "x"\n}', { 'shipwatch-id': 'i' }), 'web');
  assert.ok(out.ok);
  assert.equal(out.items[0]!.json, '{"@timestamp":"2026-12-07T10:11:12.345Z","message":"x"}');
  assert.equal(out.items[0]!.target, 'web', 'the topic when the record names no target');
});

test('messages that are not records are refused with the reason', () => {
  const cases: Array<[KafkaMessage, RegExp]> = [
    [message(doc), /no shipwatch-id header/],
    [message(doc, { 'shipwatch-id': 'x'.repeat(600) }), /longer than 512 bytes/],
    [message(null, { 'shipwatch-id': 'i' }), /empty message/],
    [message('line 7', { 'shipwatch-id': 'i' }), /^not JSON/],
    [message('[1,2]', { 'shipwatch-id': 'i' }), /not a JSON object/],
    [message('{"message":"no time"}', { 'shipwatch-id': 'i' }), /no readable @timestamp/],
    [message('{"@timestamp":"yesterday"}', { 'shipwatch-id': 'i' }), /no readable @timestamp/],
  ];
  for (const [m, reason] of cases) {
    const out = decodeLogMessage(m, 'web');
    assert.equal(out.ok, false);
    assert.match((out as { reason: string }).reason, reason);
  }
});
