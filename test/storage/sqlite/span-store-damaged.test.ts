/**
 * Rows of the embedded store whose data cannot be read any more (damaged on disk, or written by a faulty release):
 * a trace holding one still reads whole, a search passes over it, and retention deletes it like any other row.
 * Before, a single such row failed every read of its trace, every search that met it, and every retention run from
 * then on (the oldest rows are deleted first, so the same row failed each run while the disk filled).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../platform/log.js';
import type { Span, SpanChunk } from '../../../model/span.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { JaegerCompactWalker } from '../../../model/jaeger-thrift/jaeger-compact-spans.js';
import { TAG, encodeEmitBatch } from '../../collector/traces/support/thrift-writer.js';

const T0 = 1_700_000_000_000_000;
const TRACE = '00000000000000000000000000000077';

/**
 * Three spans of one trace from a Jaeger datagram (stored from its bytes: span 2 alone, spans 1 and 3, which follow
 * each other there, as one run row), a span of another trace between them, and two spans as objects.
 */
function chunks(): SpanChunk[] {
  const walked = new JaegerCompactWalker({ maxSpans: 100 }).walk(encodeEmitBatch({
    process: { serviceName: 'wire-svc', tags: [{ key: 'host', vType: TAG.STRING, vStr: 'w1' }] },
    spans: [2n, 99n, 1n, 3n].map((id) => ({
      traceIdLow: id === 99n ? 0x78n : 0x77n, traceIdHigh: 0n, spanId: id, parentSpanId: id === 1n || id === 99n ? 0n : 1n, operationName: `wire-${id}`, flags: 1,
      startTime: BigInt(T0) + id, duration: 10n, tags: [{ key: 'only', vType: TAG.STRING, vStr: `wire-${id}` }, { key: 'shared', vType: TAG.STRING, vStr: 'yes' }],
      logs: [],
    })),
  }, 'compact'));
  assert.ok(walked.ok);
  const model = (id: number, parent: string | undefined): Span => ({
    traceId: TRACE, spanId: id.toString(16).padStart(16, '0'), operationName: `model-${id}`, flags: 0, startTimeMicros: T0 + id, durationMicros: 5,
    references: parent ? [{ refType: 'CHILD_OF', traceId: TRACE, spanId: parent }] : [],
    tags: [{ key: 'only', type: 'string', value: `model-${id}` }, { key: 'shared', type: 'string', value: 'yes' }], logs: [],
    process: { serviceName: 'model-svc', tags: [{ key: 'host', type: 'string', value: 'm1' }] },
  });
  return [walked.spans, [model(10, '0000000000000001'), model(11, '0000000000000001')]];
}

test('a damaged span row reads from its columns with a warning, matches no search, and is deleted by retention', async () => {
  const warnings: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'warn', sink: { write: (line: string) => warnings.push(JSON.parse(line) as Record<string, unknown>) } });
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 1, log });
  const store = new StoreSpanStorage(db);
  await store.writeChunks(chunks());
  const intact = await store.getTrace(TRACE);
  assert.equal(intact.length, 5);
  assert.deepEqual(db.db.prepare("SELECT span_id, n FROM spans WHERE typeof(data) = 'blob' ORDER BY id").raw().all(),
    [['0000000000000002', 1], ['0000000000000001', 2], ['0000000000000063', 1]], 'a run row and two single ones');

  const damage = db.db.prepare('UPDATE spans SET data = ? WHERE span_id = ?');
  damage.run(Buffer.from(db.db.prepare("SELECT data FROM spans WHERE span_id = '0000000000000002'").pluck().get() as Buffer).subarray(0, 12), '0000000000000002');
  damage.run('{"t":[["only","s"', '000000000000000a');
  damage.run('{"t":5}', '000000000000000b');

  const read = await store.getTrace(TRACE);
  assert.equal(read.length, 5, 'every span of the trace is still there');
  const byId = new Map(read.map((s) => [s.spanId, s]));
  for (const span of intact) {
    if (['0000000000000002', '000000000000000a', '000000000000000b'].includes(span.spanId)) {
      const got = byId.get(span.spanId)!;
      assert.deepEqual({ ...got, warnings: undefined }, {
        ...span, tags: [], logs: [], flags: 0, warnings: undefined,
        // The parent comes from its column: a CHILD_OF reference into the trace.
        references: [{ refType: 'CHILD_OF', traceId: TRACE, spanId: '0000000000000001' }],
      });
      assert.equal(got.warnings?.length, 1);
      assert.match(got.warnings![0]!, /^the stored data of this span is unreadable \(.+\): its tags, logs and references are lost$/);
    } else {
      assert.deepEqual(byId.get(span.spanId), span, `span ${span.spanId} reads as it was written`);
    }
  }
  assert.equal(warnings.length, 1, 'one warning for the damaged rows of a read');
  assert.equal(warnings[0]!.msg, 'span store rows are unreadable; read as far as their columns go');

  // The damaged spans' own tags match nothing; the intact spans' tags are found as before.
  for (const only of ['wire-2', 'model-10', 'model-11']) {
    assert.deepEqual(await store.findTraces({ tags: { only }, numTraces: 5 }), [], `only=${only}`);
  }
  for (const only of ['wire-1', 'wire-3']) {
    assert.deepEqual((await store.findTraces({ tags: { only }, numTraces: 5 })).map((t) => t.length), [5], `only=${only}`);
  }
  assert.equal(await store.countTraces({ tags: { shared: 'yes' }, numTraces: 5 }), 2);
  assert.equal(await store.countTraces({ serviceName: 'model-svc', tags: { shared: 'yes' }, numTraces: 5 }), 0,
    'the model spans are both damaged');

  // A damaged process row: its spans keep their service name.
  db.db.prepare("UPDATE processes SET tags = '[[' WHERE service = 'wire-svc'").run();
  const reread = await store.getTrace(TRACE);
  assert.deepEqual(reread.find((s) => s.spanId === '0000000000000001')!.process, { serviceName: 'wire-svc', tags: [] });
  assert.equal(await store.countTraces({ serviceName: 'wire-svc', tags: { host: 'w1' }, numTraces: 5 }), 0);

  // A damaged run row reads as its first span, from its columns; the warning names the spans lost with it.
  damage.run(Buffer.from(db.db.prepare("SELECT data FROM spans WHERE span_id = '0000000000000001'").pluck().get() as Buffer).subarray(0, 30), '0000000000000001');
  const withRun = await store.getTrace(TRACE);
  assert.deepEqual(withRun.map((s) => s.spanId), ['0000000000000002', '0000000000000001', '000000000000000a', '000000000000000b'], 'span 3 is lost');
  const first = withRun.find((s) => s.spanId === '0000000000000001')!;
  assert.equal(first.operationName, '', 'the run had two operations: its column names none');
  assert.equal(first.startTimeMicros, T0 + 3, "a run row's start is its latest span's");
  assert.match(first.warnings![0]!, /^this span and the 1 stored with it are unreadable \(.+\): their tags, logs and references are lost$/);
  for (const only of ['wire-1', 'wire-3']) {
    assert.deepEqual(await store.findTraces({ tags: { only }, numTraces: 5 }), [], `only=${only}`);
  }
  assert.deepEqual(await store.getDependencies(Math.floor(T0 / 1000) + 1_000, 10_000), [], 'no call between services is left readable');

  // Retention goes through the damaged rows and leaves no index row behind.
  const deleted = db.runRetention(Date.now() + 1_000);
  assert.equal(deleted.spans, 6);
  for (const table of ['spans', 'span_groups', 'group_tags', 'trace_spans']) {
    assert.equal(db.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get(), 0, `${table} is empty`);
  }
  db.close();
});
