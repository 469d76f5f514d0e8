import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BulkEncoder } from '../../../core/es/bulk-encoder.js';
import type { LogEvent } from '../../../core/model/log-record.js';

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
  assert.deepEqual(lines(new BulkEncoder('datastream').encodeOne(event('logs-web', ms, 'x-9')))[0], { create: { _index: 'logs-web', _id: 'x-9' } });
});

test('an id needing escapes is escaped', () => {
  const body = new BulkEncoder('none').encodeOne(event('t', 0, 'a"b\\c'));
  assert.deepEqual(lines(body)[0], { index: { _index: 't', _id: 'a"b\\c' } });
});
