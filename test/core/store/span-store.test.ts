import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../core/log.js';
import type { Span } from '../../../core/model/span.js';
import { StoreDatabase } from '../../../core/store/database.js';
import { StoreSpanStorage } from '../../../core/store/span-store.js';

function span(id: number, service: string, startUs: number): Span {
  return {
    traceId: id.toString(16).padStart(32, '0'), spanId: id.toString(16).padStart(16, '0'), operationName: 'op', references: [], flags: 0,
    startTimeMicros: startUs, durationMicros: 5, tags: [{ key: 'n', type: 'int64', value: id }], logs: [],
    process: { serviceName: service, tags: [{ key: 'host', type: 'string', value: `${service}-host` }] },
  };
}

test('a batch that fails rolls back whole, and later spans of its new process stay visible', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const bad = span(2, 'new-svc', Number.NaN); // NOT NULL start time: the insert fails
  await assert.rejects(store.writeSpans([span(1, 'new-svc', 1_000), bad]), (err: Error & { code?: string }) => err.code === 'SW_STORE_FAILED');
  assert.deepEqual(await store.getTrace(span(1, 'x', 0).traceId), [], 'nothing of the failed batch is stored');
  assert.deepEqual(await store.getServices(), []);
  await store.writeSpans([span(3, 'new-svc', 2_000)]);
  const got = await store.getTrace(span(3, 'x', 0).traceId);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.process, { serviceName: 'new-svc', tags: [{ key: 'host', type: 'string', value: 'new-svc-host' }] });
  assert.deepEqual((await store.findTraces({ tags: { host: 'new-svc-host' }, numTraces: 10 })).length, 1, 'process tags are searchable');
  db.close();
});

test('int64 beyond 2^53, binary and non-finite floats survive the store exactly', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const s = span(9, 'svc', 1_000);
  s.tags = [
    { key: 'big', type: 'int64', value: 9223372036854775807n },
    { key: 'bytes', type: 'binary', value: new Uint8Array([0, 255, 16]) },
    { key: 'inf', type: 'float64', value: Number.POSITIVE_INFINITY },
    { key: 'ok', type: 'bool', value: false },
  ];
  s.warnings = ['clock skew adjusted'];
  s.references = [{ refType: 'FOLLOWS_FROM', traceId: s.traceId, spanId: '00000000000000aa' }];
  await store.writeSpans([s]);
  const [got] = await store.getTrace(s.traceId);
  assert.deepEqual(got, s);
  assert.equal((await store.findTraces({ tags: { bytes: '00ff10', big: '9223372036854775807', ok: 'false' }, numTraces: 5 })).length, 1,
    'tag values are searched in their text form (binary as hex)');
  db.close();
});
