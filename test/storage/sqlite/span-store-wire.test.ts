/**
 * Spans of Jaeger compact datagrams are written from the datagram's bytes (their data a BLOB of the span's own
 * Thrift struct), every other span from objects. Both ways must store the same thing: here the same datagrams go
 * into one store as the walk hands them over and into another decoded into objects, and every read, search, listing
 * and retention is compared.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../platform/log.js';
import type { Span, SpanChunk } from '../../../model/span.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { MAX_LISTED_VALUES } from '../../../storage/sqlite/span-write.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import type { TraceQuery } from '../../../storage/span-storage.js';
import { JaegerCompactSpans, JaegerCompactWalker } from '../../../model/jaeger-thrift/jaeger-compact-spans.js';
import { irregularBatch } from '../../collector/traces/support/jaeger-fuzz.js';
import { REF, TAG, encodeEmitBatch, type TBatch, type TSpan } from '../../collector/traces/support/thrift-writer.js';

const T0 = 1_700_000_000_000_000n;
const walker = new JaegerCompactWalker({ maxSpans: 10_000 });

function walked(batch: TBatch): SpanChunk {
  const result = walker.walk(encodeEmitBatch(batch, 'compact'));
  assert.ok(result.ok);
  return result.spans;
}

function tspan(trace: bigint, id: bigint, parent: bigint, op: string, startUs: bigint, extra: Partial<TSpan> = {}): TSpan {
  return {
    traceIdLow: trace, traceIdHigh: trace % 3n, spanId: id, parentSpanId: parent, operationName: op, flags: 1, startTime: T0 + startUs, duration: 100n + id,
    tags: [
      { key: 'span.kind', vType: TAG.STRING, vStr: parent === 0n ? 'server' : 'client' }, { key: 'http.method', vType: TAG.STRING, vStr: id % 2n ? 'GET' : 'POST' },
      { key: 'http.status_code', vType: TAG.LONG, vLong: id % 3n ? 200n : 500n }, { key: 'error', vType: TAG.BOOL, vBool: id % 3n === 0n },
      { key: 'ratio', vType: TAG.DOUBLE, vDouble: Number(id) / 8 }, { key: 'raw', vType: TAG.BINARY, vBinary: Buffer.from([Number(id % 256n), 0xab]) },
      { key: 'big', vType: TAG.LONG, vLong: 2n ** 62n + id }, { key: 'größe', vType: TAG.STRING, vStr: `wert-${id % 3n}-ü` },
    ],
    logs: [{ timestamp: T0 + startUs + 3n, fields: [{ key: 'event', vType: TAG.STRING, vStr: `step ${id % 4n}` }, { key: 'rows', vType: TAG.LONG, vLong: id }] }],
    ...extra,
  };
}

/** Two services calling each other over several traces, a trace split over two datagrams, and odd datagrams. */
function datagramBatches(): TBatch[] {
  const frontend: TBatch = {
    process: { serviceName: 'frontend', tags: [{ key: 'hostname', vType: TAG.STRING, vStr: 'web-1' }, { key: 'ip', vType: TAG.STRING, vStr: '10.0.0.1' }] },
    spans: [1n, 2n, 3n].flatMap((t) => [tspan(t, t * 100n + 1n, 0n, 'GET /home', t * 1000n), tspan(t, t * 100n + 2n, t * 100n + 1n, 'call backend', t * 1000n + 10n)]),
  };
  const backend: TBatch = {
    process: { serviceName: 'backend', tags: [{ key: 'hostname', vType: TAG.STRING, vStr: 'api-1' }] },
    spans: [1n, 2n, 3n].map((t) => tspan(t, t * 100n + 3n, t * 100n + 2n, 'SELECT orders', t * 1000n + 20n, {
      references: [{ refType: REF.FOLLOWS_FROM, traceIdLow: 42n, traceIdHigh: 0n, spanId: 4242n }],
    })),
  };
  // Spans Jaeger 2.x's translation leaves as the walk indexes them (no error, no references but the parent): the
  // others are written decoded (model/jaeger-thrift/jaeger-compact-spans.ts, `plain`).
  const plainTags = (id: bigint): TSpan['tags'] => tspan(0n, id, 0n, '', 0n).tags!.map((t) => (t.key === 'error' ? { ...t, vBool: false } : t.key === 'http.status_code' ? { ...t, vLong: 200n } : t));
  const plain: TBatch = {
    process: frontend.process,
    spans: [4n, 5n].flatMap((t) => [tspan(t, t * 100n + 1n, 0n, 'GET /home', t * 1000n, { tags: plainTags(t * 100n + 1n) }), tspan(t, t * 100n + 2n, 0n, 'GET /about', t * 1000n + 10n, { tags: plainTags(t * 100n + 2n) })]),
  };
  return [frontend, backend, irregularBatch(), plain];
}

/** A span of another protocol (objects), written in the same batch. */
function modelSpan(): Span {
  return {
    traceId: '0000000000000000000000000000abcd', spanId: '000000000000abcd', operationName: 'otlp op', references: [], flags: 0,
    startTimeMicros: Number(T0) + 5_000, durationMicros: 7, tags: [{ key: 'http.method', type: 'string', value: 'GET' }, { key: 'span.kind', type: 'string', value: 'server' }],
    logs: [], process: { serviceName: 'frontend', tags: [{ key: 'hostname', type: 'string', value: 'web-1' }, { key: 'ip', type: 'string', value: '10.0.0.1' }] },
  };
}

function stores(): { wire: StoreSpanStorage; objects: StoreSpanStorage; wireDb: StoreDatabase; objectsDb: StoreDatabase } {
  const open = (): StoreDatabase => new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 60_000, retentionIntervalMs: 3_600_000, log: silentLogger });
  const wireDb = open();
  const objectsDb = open();
  return { wire: new StoreSpanStorage(wireDb), objects: new StoreSpanStorage(objectsDb), wireDb, objectsDb };
}

const rows = (db: StoreDatabase, sql: string): unknown[] => db.db.prepare(sql).raw().all();
/** A table's rows in a stable order. */
const table = (db: StoreDatabase, name: string): string[] =>
  rows(db, `SELECT * FROM ${name}`).map((r) => JSON.stringify(r, (_, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v))).sort();

test('spans written from datagram bytes read, list, search and count exactly as the same spans written as objects', async () => {
  const { wire, objects, wireDb, objectsDb } = stores();
  const chunks = datagramBatches().map(walked);
  const model = modelSpan();
  await wire.writeChunks([...chunks, [model]]);
  await objects.writeSpans([...chunks.flatMap((c) => (Array.isArray(c) ? c : c.decode())), model]);
  const plainSpans = chunks.reduce((n, c) => n + (c instanceof JaegerCompactSpans && c.plain ? c.count : 0), 0);
  const otherSpans = chunks.reduce((n, c) => n + (c instanceof JaegerCompactSpans && !c.plain ? c.count : 0), 0);
  assert.equal(plainSpans, 4);
  assert.deepEqual(rows(wireDb, "SELECT typeof(data), SUM(n) FROM spans GROUP BY 1 ORDER BY 1"), [['blob', plainSpans], ['text', otherSpans + 1]], 'plain datagram spans are kept as their Thrift struct');
  assert.ok((rows(wireDb, 'SELECT COUNT(*) FROM spans WHERE n > 1')[0] as [number])[0] > 0, 'spans of a trace next to each other in a datagram share a row');

  assert.deepEqual(await wire.getServices(), await objects.getServices());
  for (const service of await objects.getServices()) {
    for (const spanKind of [undefined, 'server', 'client', 'Unknown VType: 9', '']) {
      assert.deepEqual(await wire.getOperations({ serviceName: service, spanKind }), await objects.getOperations({ serviceName: service, spanKind }), `operations of ${service} (${spanKind})`);
    }
  }
  const all = [...chunks.flatMap((c) => (Array.isArray(c) ? c : c.decode())), model];
  for (const traceId of new Set(all.map((s) => s.traceId))) {
    const got = await wire.getTrace(traceId);
    assert.ok(got.length > 0, `trace ${traceId} is stored`);
    assert.deepEqual(got, await objects.getTrace(traceId), `trace ${traceId}`);
  }
  const queries: TraceQuery[] = [
    { serviceName: 'frontend', numTraces: 20 },
    { serviceName: 'backend', operationName: 'SELECT orders', numTraces: 20 },
    { serviceName: 'backend', durationMinMicros: 303, durationMaxMicros: 403, numTraces: 20 },
    { tags: { 'http.status_code': '500' }, numTraces: 20 },
    { tags: { error: 'true', 'http.method': 'GET' }, numTraces: 20 },
    { tags: { ratio: '12.625' }, numTraces: 20 },
    { tags: { raw: '65ab' }, numTraces: 20 },
    { tags: { big: String(2n ** 62n + 203n) }, numTraces: 20 },
    { tags: { größe: 'wert-1-ü' }, numTraces: 20 },
    { tags: { event: 'step 3' }, numTraces: 20 },
    { tags: { 'http.method': 'P.*' }, numTraces: 20 },
    { tags: { hostname: 'api-1' }, numTraces: 20 },
    { tags: { second: String(2n ** 63n - 1n) }, numTraces: 20 },
    { tags: { first: 'x' }, numTraces: 20 },
    { tags: { last: 'true' }, numTraces: 20 },
    { tags: { 'naïve ✓': 'wert ü' }, numTraces: 20 },
    { serviceName: 'frontend', tags: { 'http.method': 'GET' }, numTraces: 1, offset: 1 },
  ];
  for (const query of queries) {
    const expected = await objects.findTraces(query);
    assert.deepEqual(await wire.findTraces(query), expected, JSON.stringify(query));
    assert.equal(await wire.countTraces(query), await objects.countTraces(query));
  }
  assert.ok((await objects.findTraces(queries[4]!)).length > 0 && (await objects.findTraces(queries[14]!)).length === 1, 'the searches find something to compare');
  assert.equal((await objects.findTraces(queries[13]!)).length, 0, 'a repeated log fields list: only the last is searchable');
  const end = Number(T0 / 1000n) + 60_000;
  assert.deepEqual(await wire.getDependencies(end, 120_000), await objects.getDependencies(end, 120_000));
  // Calls within a service count too, as in Jaeger 2.x's (v1.75.0) memory store.
  assert.deepEqual(await objects.getDependencies(end, 120_000), [{ parent: 'frontend', child: 'backend', callCount: 3 }, { parent: 'frontend', child: 'frontend', callCount: 3 }]);
  for (const name of ['tag_keys', 'tag_values', 'processes', 'process_tags', 'services', 'operations', 'span_names', 'trace_spans', 'span_groups', 'group_tags']) {
    assert.deepEqual(table(wireDb, name), table(objectsDb, name), name);
  }
  wireDb.close();
  objectsDb.close();
});

test('a key past the listed values is marked many from datagram bytes as from objects, and retention leaves the same rows', async () => {
  const { wire, objects, wireDb, objectsDb } = stores();
  const nowMs = Number(T0 / 1000n) + 600_000;
  const batches: TBatch[] = [];
  for (let b = 0; b < 6; b++) {
    batches.push({
      process: { serviceName: `svc-${b % 2}` },
      spans: Array.from({ length: 400 }, (_, i) => {
        const n = BigInt(b * 400 + i + 1);
        // The first half of the batches is old: retention deletes it.
        return tspan(n / 4n + 1n, n, 0n, `op ${i % 3}`, b < 3 ? n : 590_000_000n + n, { tags: [{ key: 'uniq', vType: TAG.STRING, vStr: `u-${n}` }, { key: 'few', vType: TAG.STRING, vStr: `f-${n % 7n}` }] });
      }),
    });
  }
  for (const batch of batches) {
    const chunk = walked(batch);
    await wire.writeChunks([chunk]);
    await objects.writeSpans(Array.isArray(chunk) ? chunk : chunk.decode());
  }
  assert.ok(batches.length * 400 > MAX_LISTED_VALUES);
  for (const db of [wireDb, objectsDb]) {
    assert.deepEqual(rows(db, "SELECT key, many FROM tag_keys WHERE key IN ('few', 'uniq') ORDER BY key"), [['few', 0], ['uniq', 1]]);
  }
  assert.deepEqual(wireDb.runRetention(nowMs), objectsDb.runRetention(nowMs));
  for (const name of ['tag_keys', 'tag_values', 'trace_spans', 'span_groups', 'group_tags', 'services', 'operations']) {
    assert.deepEqual(table(wireDb, name), table(objectsDb, name), name);
  }
  const left = rows(wireDb, 'SELECT SUM(n) FROM spans')[0] as [number];
  assert.equal(left[0], 1_200, 'the young half is left');
  assert.deepEqual(await wire.findTraces({ tags: { few: 'f-3' }, numTraces: 500 }), await objects.findTraces({ tags: { few: 'f-3' }, numTraces: 500 }));
  wireDb.close();
  objectsDb.close();
});

/** A small deterministic generator (xorshift), so a failure names a reproducible case. */
function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

test('runs of a trace\'s spans in one row answer every search, time window and dependency as rows of one span each', async () => {
  const { wire, objects, wireDb, objectsDb } = stores();
  const r = random(20261122);
  const ops = ['GET /a', 'GET /b', 'SELECT x'];
  let clock = 0;
  let spanSeq = 1n;
  const chunks: SpanChunk[] = [];
  const parents = new Map<bigint, bigint[]>();
  const starts = new Set<number>();
  for (let d = 0; d < 40; d++) {
    const spans: TSpan[] = [];
    // Runs of 1–8 spans of 3–6 traces (two of them go on from the datagram before, another service's), traces
    // coming back later in the datagram; starts unique, in a window of 40 s (one datagram's of 200 s, past the run
    // extent).
    const traces = Array.from({ length: 3 + r(4) }, (_, t) => BigInt((t < 2 && d > 0 ? d - 1 : d) * 10 + t + 1));
    for (let run = 0; run < 8; run++) {
      const trace = traces[r(traces.length)]!;
      for (let i = 0, n = 1 + r(8); i < n; i++) {
        // Spans of other runs and traces start between a run's: a run's latest start is not where its trace
        // stands among the others.
        let start: number;
        do start = d * 50_000_000 + r(d === 7 ? 200_000_000 : 40_000_000);
        while (starts.has(start));
        starts.add(start);
        clock = Math.max(clock, start);
        const id = spanSeq++;
        const before = parents.get(trace) ?? [];
        const parent = before.length === 0 || r(4) === 0 ? 0n : before[r(before.length)]!;
        parents.set(trace, [...before, id]);
        spans.push(tspan(trace, id, parent, ops[r(ops.length)]!, BigInt(start), {
          duration: BigInt(1 + r(1000)),
          tags: [{ key: 'span.kind', vType: TAG.STRING, vStr: parent === 0n ? 'server' : 'client' }, { key: 'color', vType: TAG.STRING, vStr: ['red', 'green', 'blue'][r(3)]! },
            { key: 'n', vType: TAG.LONG, vLong: BigInt(r(5)) }],
        }));
      }
    }
    chunks.push(walked({ process: { serviceName: `svc-${d % 3}`, tags: [{ key: 'zone', vType: TAG.STRING, vStr: `z${d % 2}` }] }, spans }));
  }
  for (let i = 0; i < chunks.length; i += 8) {
    const part = chunks.slice(i, i + 8);
    await wire.writeChunks(part);
    await objects.writeSpans(part.flatMap((c) => (Array.isArray(c) ? c : c.decode())));
  }
  const all = chunks.flatMap((c) => (Array.isArray(c) ? c : c.decode()));
  const runRows = rows(wireDb, 'SELECT COUNT(*), SUM(n), MAX(n) FROM spans WHERE n > 1')[0] as [number, number, number];
  assert.ok(runRows[0] > 50 && runRows[2] > 4, `runs were written: ${runRows.join(', ')}`);
  assert.equal((rows(wireDb, 'SELECT SUM(n) FROM spans')[0] as [number])[0], all.length);

  for (const traceId of new Set(all.map((s) => s.traceId))) assert.deepEqual(await wire.getTrace(traceId), await objects.getTrace(traceId), `trace ${traceId}`);
  const t0 = Number(T0);
  let found = 0;
  for (let q = 0; q < 400; q++) {
    const query: TraceQuery = { numTraces: r(2) ? 3 + r(5) : 1000 };
    if (r(3)) query.serviceName = `svc-${r(3)}`;
    if (query.serviceName && r(2)) query.operationName = ops[r(ops.length)];
    if (r(2)) {
      query.startTimeMinMicros = t0 + r(clock);
      query.startTimeMaxMicros = query.startTimeMinMicros + r(clock / 4);
    }
    if (r(3) === 0) query.durationMinMicros = 1 + r(500);
    if (r(3) === 0) query.durationMaxMicros = 300 + r(700);
    if (r(3) === 0) query.tags = r(2) ? { color: ['red', 'green', 'blue'][r(3)]! } : { n: String(r(5)), zone: `z${r(2)}` };
    if (r(4) === 0) query.offset = r(3);
    const expected = await objects.findTraces(query);
    found += expected.length;
    assert.deepEqual(await wire.findTraces(query), expected, JSON.stringify(query));
    assert.equal(await wire.countTraces(query), await objects.countTraces(query), `count ${JSON.stringify(query)}`);
  }
  assert.ok(found > 1000, `the searches find traces to compare (${found})`);
  for (let w = 0; w < 20; w++) {
    const endMs = Math.floor((t0 + r(clock)) / 1000);
    const lookbackMs = 1 + r(Math.floor(clock / 2000));
    assert.deepEqual(await wire.getDependencies(endMs, lookbackMs), await objects.getDependencies(endMs, lookbackMs), `dependencies to ${endMs} − ${lookbackMs} ms`);
  }
  assert.ok((await objects.getDependencies(Math.floor((t0 + clock) / 1000) + 1, clock)).length > 0, 'there are calls to compare');
  for (const name of ['tag_keys', 'tag_values', 'processes', 'process_tags', 'services', 'operations', 'span_names', 'trace_spans', 'span_groups', 'group_tags']) {
    assert.deepEqual(table(wireDb, name), table(objectsDb, name), name);
  }
  wireDb.close();
  objectsDb.close();
});
