import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../platform/log.js';
import type { Span } from '../../../model/span.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { SPAN_MIGRATIONS } from '../../../storage/sqlite/span-schema.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { LAST_SEEN_REFRESH_US, SpanRowWriter, TAG_EPOCH_SPANS, TRACE_EPOCH_SPANS, tagEpoch, traceEpoch } from '../../../storage/sqlite/span-write.js';

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

test('spans stored by schema version 1 move to version 2 whole and stay searchable by their tags', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  db.migrate('spans', SPAN_MIGRATIONS.filter((m) => m.version === 1));
  const traceId = '00000000000000000000000000000abc';
  db.db.prepare("INSERT INTO processes (id, service, tags, last_seen_us) VALUES (1, 'old-svc', '[[\"host\",\"s\",\"h1\"]]', 1000)").run();
  db.db.prepare("INSERT INTO process_tags (key, value, process) VALUES ('host', 'h1', 1)").run();
  const insert = db.db.prepare('INSERT INTO spans (trace_id, span_id, parent_id, process, service, operation, kind, start_us, duration_us, data) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)');
  insert.run(traceId, '0000000000000001', null, 'old-svc', 'GET /', 'server', 1000, 50, '{"t":[["span.kind","s","server"],["http.status_code","i",500]],"l":[[1010,[["event","s","boom"]]]]}');
  insert.run(traceId, '0000000000000002', '0000000000000001', 'old-svc', 'SELECT', '', 1005, 20, '{"r":[[0,"00000000000000000000000000000abc","0000000000000001"]],"f":1}');
  db.db.prepare("INSERT INTO span_tags (key, value, span) VALUES ('http.status_code', '500', 1), ('span.kind', 'server', 1), ('event', 'boom', 1)").run();
  const store = new StoreSpanStorage(db);
  const spans = await store.getTrace(traceId);
  assert.deepEqual(spans.map((s) => [s.spanId, s.operationName, s.startTimeMicros, s.process.serviceName]), [
    ['0000000000000001', 'GET /', 1000, 'old-svc'], ['0000000000000002', 'SELECT', 1005, 'old-svc'],
  ]);
  assert.deepEqual(spans[0]!.logs, [{ timestampMicros: 1010, fields: [{ key: 'event', type: 'string', value: 'boom' }] }]);
  assert.deepEqual(spans[1]!.references, [{ refType: 'CHILD_OF', traceId, spanId: '0000000000000001' }]);
  const found = await store.findTraces({ serviceName: 'old-svc', tags: { 'http.status_code': '500', event: 'b.*', host: 'h1' }, numTraces: 5 });
  assert.deepEqual(found.map((t) => t.length), [2]);
  assert.deepEqual(await store.findTraces({ serviceName: 'old-svc', operationName: 'SELECT', tags: { 'http.status_code': '500' }, numTraces: 5 }), [],
    'the tags must be on the span of that operation');
  assert.deepEqual(db.db.prepare("SELECT name FROM sqlite_master WHERE name IN ('spans_v1', 'span_tags')").all(), []);
  db.close();
});

test('a version 2 tag index moves to version 3 epochs whole, and tags are found in every epoch before and after new writes', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  db.migrate('spans', SPAN_MIGRATIONS.filter((m) => m.version <= 2));
  const v2 = new SpanRowWriter(db.db, { epochs: false });
  const tagged = (id: number, value: string): Span => {
    const s = span(id, 'svc', 1_000 + id);
    s.tags.push({ key: 'rare', type: 'string', value });
    return s;
  };
  // A first group in epoch 0, a batch long enough to cross into the next epoch, a group in epoch 1.
  const filler = Array.from({ length: TAG_EPOCH_SPANS + 100 }, (_, i) => span(10 + i, 'bulk', 500));
  for (const batch of [[tagged(1, 'a')], filler, [tagged(2, 'c')]]) db.db.transaction(() => v2.write([batch])).immediate();
  const before = db.db.prepare('SELECT tag, grp FROM group_tags ORDER BY tag, grp').raw().all() as Array<[number, number]>;
  const store = new StoreSpanStorage(db);
  const after = db.db.prepare('SELECT epoch, tag, grp FROM group_tags ORDER BY tag, grp').raw().all() as Array<[number, number, number]>;
  assert.deepEqual(after.map(([, tag, grp]) => [tag, grp]), before, 'every index row is kept');
  assert.ok(after.every(([epoch, , grp]) => epoch === tagEpoch(grp)));
  assert.deepEqual(new Set(after.map(([epoch]) => epoch)), new Set([0, 1]), 'the rows span two epochs');
  await store.writeSpans([tagged(3, 'a'), tagged(4, 'e')]);
  const ids = async (q: { serviceName?: string; tags: Record<string, string> }) =>
    (await store.findTraces({ ...q, numTraces: 10 })).map((t) => t[0]!.spanId).sort();
  const id = (n: number) => span(n, 'x', 0).spanId;
  assert.deepEqual(await ids({ tags: { rare: 'a' } }), [id(1), id(3)], 'a posting list read across epochs');
  assert.deepEqual(await ids({ tags: { rare: 'c' } }), [id(2)]);
  assert.deepEqual(await ids({ serviceName: 'svc', tags: { rare: 'e' } }), [id(4)], 'a probe of the group in its epoch');
  assert.deepEqual(await ids({ serviceName: 'svc', tags: { rare: '[ac]' } }), [id(1), id(2), id(3)]);
  assert.deepEqual(await ids({ serviceName: 'svc', tags: { rare: 'b' } }), []);
  db.close();
});

test('retention deletes old spans with the index rows only they needed, and the rest stays searchable', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 60_000, retentionIntervalMs: 3_600_000, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const nowMs = 10_000_000;
  const old = span(1, 'svc', (nowMs - 120_000) * 1000);
  old.tags.push({ key: 'only', type: 'string', value: 'old' }, { key: 'shared', type: 'string', value: 'x' });
  const young = { ...span(2, 'svc', (nowMs - 1_000) * 1000), traceId: old.traceId };
  young.tags.push({ key: 'shared', type: 'string', value: 'x' });
  const other = span(3, 'svc', (nowMs - 130_000) * 1000);
  await store.writeSpans([old, young, other]);
  assert.equal(db.runRetention(nowMs).spans, 2);
  assert.deepEqual((await store.getTrace(old.traceId)).map((s) => s.spanId), [young.spanId]);
  assert.deepEqual(await store.getTrace(other.traceId), []);
  assert.equal((await store.findTraces({ tags: { shared: 'x' }, numTraces: 5 })).length, 1);
  assert.equal((await store.findTraces({ tags: { only: 'old' }, numTraces: 5 })).length, 0);
  const count = (sql: string) => db.db.prepare(sql).pluck().get() as number;
  assert.equal(count('SELECT COUNT(*) FROM trace_spans'), 1, "the deleted trace's range is gone");
  assert.equal(count('SELECT COUNT(*) FROM group_tags'), young.tags.length, "only the remaining span's own tags are left in the index");
  db.close();
});

test('a version 3 trace index moves to version 4 epochs whole, and a trace whose spans sit in several epochs reads whole', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  db.migrate('spans', SPAN_MIGRATIONS.filter((m) => m.version <= 2));
  const v2 = new SpanRowWriter(db.db, { epochs: false });
  const ofTrace = (id: number, traceOf: number): Span => ({ ...span(id, 'svc', 1_000 + id), traceId: span(traceOf, 'x', 0).traceId });
  const filler = Array.from({ length: TRACE_EPOCH_SPANS + 100 }, (_, i) => span(10 + i, 'bulk', 500));
  for (const batch of [[ofTrace(1, 1)], filler, [ofTrace(2, 1)]]) db.db.transaction(() => v2.write([batch])).immediate();
  db.migrate('spans', SPAN_MIGRATIONS.filter((m) => m.version === 3));
  const before = db.db.prepare('SELECT trace_id, first, spans FROM trace_spans ORDER BY trace_id, first').raw().all() as Array<[Buffer, number, number]>;
  const store = new StoreSpanStorage(db);
  const after = db.db.prepare('SELECT epoch, trace_id, first, spans FROM trace_spans ORDER BY trace_id, first').raw().all() as Array<[number, Buffer, number, number]>;
  assert.deepEqual(after.map(([, ...rest]) => rest), before, 'every range is kept');
  assert.ok(after.every(([epoch, , first]) => epoch === traceEpoch(first)));
  assert.deepEqual(new Set(after.map(([epoch]) => epoch)), new Set([0, 1]), 'the ranges sit in two epochs');
  const traceId = span(1, 'x', 0).traceId;
  assert.deepEqual((await store.getTrace(traceId)).map((s) => s.spanId), [span(1, 'x', 0).spanId, span(2, 'x', 0).spanId]);
  await store.writeSpans([ofTrace(3, 1)]);
  assert.equal((await store.getTrace(traceId)).length, 3, 'a later batch adds a range');
  const found = await store.findTraces({ serviceName: 'svc', tags: { n: '2' }, numTraces: 5 });
  assert.deepEqual(found.map((t) => t.length), [3], 'a search returns the whole trace');
  db.close();
});

test('a trace range crossing an epoch is found by retention from any of its spans, and dependencies find parents in other batches', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 60_000, retentionIntervalMs: 3_600_000, retentionBatchRows: 5_000, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const nowMs = 10_000_000;
  const oldUs = (nowMs - 120_000) * 1000;
  const long = Array.from({ length: TRACE_EPOCH_SPANS + 10 }, (_, i) => ({ ...span(100 + i, 'bulk', oldUs + i), traceId: span(99, 'x', 0).traceId }));
  const parent = span(1, 'front', (nowMs - 2_000) * 1000);
  const child = { ...span(2, 'back', (nowMs - 1_000) * 1000), traceId: parent.traceId };
  child.references = [{ refType: 'CHILD_OF', traceId: parent.traceId, spanId: parent.spanId }];
  await store.writeSpans([parent]);
  await store.writeSpans(long);
  await store.writeSpans([child]);
  const ranges = db.db.prepare('SELECT epoch, first, spans FROM trace_spans ORDER BY first').raw().all() as Array<[number, number, number]>;
  assert.ok(ranges.some(([epoch, first, n]) => traceEpoch(first + n - 1) > epoch), 'one range ends in a later epoch than it starts');
  assert.equal((await store.getTrace(long[0]!.traceId)).length, long.length);
  assert.deepEqual(await store.getDependencies(nowMs, 60_000), [{ parent: 'front', child: 'back', callCount: 1 }]);
  assert.equal(db.runRetention(nowMs).spans, long.length);
  const count = (sql: string) => db.db.prepare(sql).pluck().get() as number;
  assert.equal(count('SELECT COUNT(*) FROM trace_spans'), 2, "the long trace's range is gone, the other trace's two stay");
  assert.deepEqual((await store.getTrace(parent.traceId)).map((s) => s.spanId), [parent.spanId, child.spanId]);
  db.close();
});

test('span data written as bytes is stored as text: non-ASCII, escaped and lone-surrogate values read back and are found', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const s = span(21, 'svc', 1_000);
  s.tags.push(
    { key: 'city', type: 'string', value: 'Zürich 😀' }, { key: 'quote"key', type: 'string', value: 'a\\b\n"c"' },
    { key: 'lone', type: 'string', value: 'x\ud800y' }, { key: 'ratio', type: 'float64', value: 1e-7 },
  );
  s.logs = [{ timestampMicros: 1_001, fields: [{ key: 'event', type: 'string', value: 'ünïcode' }] }];
  s.warnings = ['naïve "warning"'];
  await store.writeSpans([s]);
  assert.equal(db.db.prepare('SELECT typeof(data) FROM spans').pluck().get(), 'text');
  assert.deepEqual((await store.getTrace(s.traceId))[0], s);
  // A value with a backslash is a regular expression (tag-pattern.ts): the backslash is escaped to be matched.
  const searches: Array<Record<string, string>> = [{ city: 'Zürich 😀' }, { 'quote"key': 'a\\\\b\n"c"' }, { event: 'ünïcode' }, { ratio: '1e-7' }];
  for (const tags of searches) {
    assert.equal((await store.findTraces({ serviceName: 'svc', tags, numTraces: 5 })).length, 1, JSON.stringify(tags));
  }
  db.close();
});

test('dependencies count every call when the children fill several reads, parents written in earlier batches', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const nowMs = 10_000_000;
  const parents = Array.from({ length: 3_000 }, (_, i) => span(1 + i, i % 2 === 0 ? 'front' : 'edge', (nowMs - 5_000) * 1000 + i));
  const children = parents.flatMap((p, i) => [0, 1].map((k): Span => ({
    ...span(10_000 + 2 * i + k, k === 0 ? 'back' : p.process.serviceName, (nowMs - 4_000) * 1000 + 2 * i + k), traceId: p.traceId,
    references: [{ refType: 'CHILD_OF', traceId: p.traceId, spanId: p.spanId }],
  })));
  await store.writeSpans(parents);
  for (let i = 0; i < children.length; i += 1_000) await store.writeSpans(children.slice(i, i + 1_000));
  assert.deepEqual(await store.getDependencies(nowMs, 60_000), [
    { parent: 'edge', child: 'back', callCount: 1_500 }, { parent: 'edge', child: 'edge', callCount: 1_500 },
    { parent: 'front', child: 'back', callCount: 1_500 }, { parent: 'front', child: 'front', callCount: 1_500 },
  ], 'a child of its own service is a call too, as Jaeger 2.x (v1.75.0) counts it in its memory store');
  db.close();
});

test('dependencies count the calls of a trace that lies wholly in the window, as Jaeger 2.x counts them', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const nowMs = 10_000_000;
  const fromUs = (nowMs - 60_000) * 1000;
  /** A trace of a root (service a) and a child (service b), with the root's start and the child's start and end. */
  const trace = (id: number, rootStartUs: number, childStartUs: number, childEndUs: number): Span[] => {
    const root = { ...span(id, 'a', rootStartUs), durationMicros: 1 };
    const child: Span = { ...span(id + 1, 'b', childStartUs), traceId: root.traceId, durationMicros: childEndUs - childStartUs, references: [{ refType: 'CHILD_OF', traceId: root.traceId, spanId: root.spanId }] };
    return [root, child];
  };
  await store.writeSpans([
    ...trace(100, fromUs + 1_000, fromUs + 2_000, fromUs + 3_000), // inside: counted
    ...trace(200, 0, fromUs + 2_000, fromUs + 3_000), // a root of no start time (0): the trace starts before the window
    ...trace(300, fromUs - 1_000, fromUs + 2_000, fromUs + 3_000), // starts before the window
    ...trace(400, fromUs, fromUs + 2_000, fromUs + 3_000), // starts on the window's start: not after it
    ...trace(500, nowMs * 1000 - 2_000, nowMs * 1000 - 1_000, nowMs * 1000 + 1_000), // ends after the window
    ...trace(600, nowMs * 1000 - 2_000, nowMs * 1000 - 1_000, nowMs * 1000), // ends on the window's end: not before it
  ]);
  assert.deepEqual(await store.getDependencies(nowMs, 60_000), [{ parent: 'a', child: 'b', callCount: 1 }]);
  assert.deepEqual(await store.getDependencies(nowMs + 1, 60_002), [{ parent: 'a', child: 'b', callCount: 3 }], 'a window 1 ms wider each side takes the traces on its edges');
  db.close();
});

test('last-seen times of services, operations and processes are written when new and then once per refresh period, whatever spans come between', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const t0 = 1_700_000_000_000_000;
  const at = (id: number, service: string, startUs: number, operation = 'op', kind?: string): Span => {
    const s = span(id, service, startUs);
    s.operationName = operation;
    if (kind) s.tags = [{ key: 'span.kind', type: 'string', value: kind }];
    return s;
  };
  const seen = (): unknown => ({
    services: db.db.prepare('SELECT name, last_seen_us FROM services ORDER BY name').raw().all(),
    operations: db.db.prepare('SELECT service, name, kind, last_seen_us FROM operations ORDER BY service, name, kind').raw().all(),
    processes: db.db.prepare('SELECT service, last_seen_us FROM processes ORDER BY service').raw().all(),
  });
  await store.writeSpans([at(1, 'a', t0), at(2, 'a', t0 + 5), at(3, 'a', t0 + 6, 'op', 'server'), at(4, 'b', t0 + 7)]);
  assert.deepEqual(seen(), {
    services: [['a', t0], ['b', t0 + 7]],
    operations: [['a', 'op', '', t0], ['a', 'op', 'server', t0 + 6], ['b', 'op', '', t0 + 7]],
    processes: [['a', t0], ['b', t0 + 7]],
  });
  // Just short of the refresh period: nothing is written again, in whatever order the names come.
  const short = t0 + LAST_SEEN_REFRESH_US - 1;
  await store.writeSpans([at(5, 'a', short), at(6, 'b', short), at(7, 'a', short), at(8, 'a', short, 'op', 'server')]);
  assert.deepEqual(seen(), {
    services: [['a', t0], ['b', t0 + 7]],
    operations: [['a', 'op', '', t0], ['a', 'op', 'server', t0 + 6], ['b', 'op', '', t0 + 7]],
    processes: [['a', t0], ['b', t0 + 7]],
  });
  // A period after the first write, a span like the last one written: its service is due (its kind `server`,
  // first seen 6 µs later, is not), and so is service b.
  const due = t0 + LAST_SEEN_REFRESH_US;
  await store.writeSpans([at(9, 'a', due, 'op', 'server'), at(10, 'b', due + 7)]);
  assert.deepEqual(seen(), {
    services: [['a', due], ['b', due + 7]],
    operations: [['a', 'op', '', t0], ['a', 'op', 'server', t0 + 6], ['b', 'op', '', due + 7]],
    processes: [['a', due], ['b', due + 7]],
  });
  await store.writeSpans([at(11, 'a', due + 6, 'op', 'server'), at(12, 'a', due + 7)]);
  assert.deepEqual((seen() as { operations: unknown[] }).operations, [['a', 'op', '', due + 7], ['a', 'op', 'server', due + 6], ['b', 'op', '', due + 7]]);
  db.close();
});
