import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { BulkEncoder } from '../../../storage/elasticsearch/bulk-encoder.js';
import { encodeFrame } from '../../../storage/elasticsearch/buffer-frame.js';
import { describeItem, itemCount, type BulkItems } from '../../../storage/elasticsearch/bulk-items.js';
import type { CompactItems } from '../../../storage/elasticsearch/compact-items.js';
import { heldByBuffer, openDiskBuffer, type DiskBuffer, type DiskBufferOptions } from '../../../storage/elasticsearch/disk-buffer.js';
import type { LogEvent } from '../../../model/log-record.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { makeLogEvents } from '../../helpers/log-events.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-buffer-'));
});
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

const encoder = new BulkEncoder('daily');

function options(extra: Partial<DiskBufferOptions> = {}): DiskBufferOptions {
  return { name: 'es', dataDir, maxBytes: 1 << 20, whenFull: 'block', maxSegmentBytes: 4096, registry: createRegistry('test', false), ...extra };
}

const events = (n: number, prefix: string): LogEvent[] => makeLogEvents(n, { target: 'app', timestampMs: Date.UTC(2024, 0, 1), idPrefix: prefix });
const batch = (n: number, prefix: string): BulkItems => encoder.encodeItems(events(n, prefix));
/** The records' constant fields, as the pilot marks them (LogEvent.shared). */
const SHARED = ',"source":"stdout","target":"app","docker_container":"app-1","docker_container_id":"c0ffee"';
const compactBatch = (n: number, prefix: string): CompactItems =>
  encoder.encodeCompact(events(n, prefix).map((e) => {
    const at = e.json.indexOf(SHARED);
    return { ...e, beforeShared: e.json.slice(0, at), shared: SHARED, afterShared: e.json.slice(at + SHARED.length) };
  }));
const idsOf = (items: BulkItems): string[] => Array.from({ length: itemCount(items) }, (_, i) => describeItem(items, i).id);
/** One stored batch per run. */
const ONE = { maxRecords: 1, maxBytes: 1 };
const segmentDir = (): string => path.join(dataDir, 'buffer', 'es');
const segmentFiles = async (): Promise<string[]> => (await readdir(segmentDir())).filter((f) => f.endsWith('.seg')).sort();

async function metric(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  return m ? (await m.get()).values.reduce((s, v) => s + v.value, 0) : 0;
}

async function drainIds(buf: DiskBuffer, limits = ONE, most = Infinity): Promise<string[][]> {
  const out: string[][] = [];
  while (out.length < most) {
    const run = await buf.next(limits);
    if (run === undefined) break;
    out.push(idsOf(run.value));
    await run.ack();
  }
  return out;
}

test('batches come back oldest first across segments, byte for byte, and acknowledged segments are deleted', async () => {
  const buf = await openDiskBuffer(options());
  const written: BulkItems[] = [];
  for (let i = 0; i < 12; i++) {
    written.push(batch(5, `b${i}`));
    assert.equal(await buf.append(written[i]!), 'queued');
  }
  assert.ok((await segmentFiles()).length > 1, 'several segments were written');
  for (const w of written) {
    const run = await buf.next(ONE);
    assert.ok(run);
    assert.deepEqual(run.value.bytes, w.bytes, 'the stored bytes are the bulk lines');
    assert.deepEqual([...run.value.ends], [...w.ends]);
    await run.ack();
  }
  assert.equal(await buf.next(ONE), undefined);
  assert.ok(buf.isEmpty);
  assert.ok((await segmentFiles()).length <= 1, 'read segments are gone');
  await buf.close();
});

test('a run joins stored batches up to the item and byte bounds, and a larger batch comes alone', async () => {
  const buf = await openDiskBuffer(options({ maxSegmentBytes: 1 << 20 }));
  for (let i = 0; i < 10; i++) await buf.append(batch(3, `s${i}`));
  await buf.append(batch(40, 'big'));
  await buf.append(batch(3, 'after'));
  const runs = await drainIds(buf, { maxRecords: 10, maxBytes: 1 << 20 });
  assert.deepEqual(runs.map((r) => r.length), [9, 9, 9, 3, 40, 3], 'three batches of 3 fit in 10 items; a batch of 40 exceeds the bound alone');
  assert.deepEqual(runs.flat().slice(0, 4), ['s0-0', 's0-1', 's0-2', 's1-0']);
  const bytes = batch(3, 's0').bytes.length;
  await buf.append(batch(3, 'x0'));
  await buf.append(batch(3, 'x1'));
  await buf.append(batch(3, 'x2'));
  assert.deepEqual((await drainIds(buf, { maxRecords: 1000, maxBytes: 2 * bytes + 1 })).map((r) => r.length), [6, 3], 'the byte bound also cuts runs');
  await buf.close();
});

test('runs are read across the read chunk, and a batch larger than the chunk comes whole', async () => {
  const buf = await openDiskBuffer(options({ maxSegmentBytes: 64 << 20, maxBytes: 256 << 20 }));
  const big = (n: number, prefix: string): BulkItems => encoder.encodeItems(makeLogEvents(n, {
    target: 'app', timestampMs: Date.UTC(2024, 0, 1), idPrefix: prefix, extra: () => ({ pad: 'p'.repeat(1000) }),
  }));
  const sizes = [600, 600, 600, 3000, 5];
  for (const [i, n] of sizes.entries()) await buf.append(big(n, `c${i}`));
  const runs = await drainIds(buf, { maxRecords: 100_000, maxBytes: 64 << 20 });
  assert.deepEqual(runs.map((r) => r.length), [sizes.reduce((a, b) => a + b, 0)], 'one run of every batch, read over several chunks');
  for (const [i, n] of sizes.entries()) await buf.append(big(n, `d${i}`));
  const limited = await drainIds(buf, { maxRecords: 1000, maxBytes: 64 << 20 });
  assert.deepEqual(limited.map((r) => r.length), [600, 600, 600, 3000, 5]);
  assert.deepEqual(limited.map((r) => r[r.length - 1]), sizes.map((n, i) => `d${i}-${n - 1}`));
  await buf.close();
});

test('appends waiting together are made durable by one fdatasync (group commit), each resolving once written', async () => {
  const registry = createRegistry('test', false);
  const buf = await openDiskBuffer(options({ registry, maxSegmentBytes: 16 << 20, maxBytes: 64 << 20 }));
  const n = 200;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => buf.append(batch(2, `g${i}`))));
  assert.ok(results.every((r) => r === 'queued'));
  const syncs = await metric(registry, 'shipwatch_buffer_syncs_total');
  assert.ok(syncs >= 1 && syncs < n / 4, `${n} concurrent appends took ${syncs} fdatasyncs`);
  const [seg] = await segmentFiles();
  assert.equal((await stat(path.join(segmentDir(), seg!))).size, buf.sizeBytes, 'every resolved append is in the file');
  const ids = (await drainIds(buf, { maxRecords: 10_000, maxBytes: 1 << 30 })).flat();
  assert.equal(ids.length, 2 * n);
  assert.deepEqual(ids.slice(0, 4), ['g0-0', 'g0-1', 'g1-0', 'g1-1'], 'in append order');
  await buf.close();
});

test('a restart replays only what was not acknowledged, and new batches follow it', async () => {
  const first = await openDiskBuffer(options());
  for (let i = 0; i < 6; i++) await first.append(batch(3, `b${i}`));
  const done = await drainIds(first, ONE, 2);
  assert.deepEqual(done.map((ids) => ids[0]), ['b0-0', 'b1-0']);
  await first.close();

  const second = await openDiskBuffer(options());
  assert.equal(second.isEmpty, false);
  await second.append(batch(3, 'after-restart'));
  const rest = await drainIds(second);
  assert.deepEqual(rest.map((ids) => ids[0]), ['b2-0', 'b3-0', 'b4-0', 'b5-0', 'after-restart-0']);
  await second.close();
});

test('a segment cut inside its last batch (a crash mid-write) is reported and skipped; the batches before and after are replayed', async () => {
  const registry = createRegistry('test', false);
  const first = await openDiskBuffer(options({ maxSegmentBytes: 1 << 20 }));
  for (let i = 0; i < 4; i++) await first.append(batch(3, `t${i}`));
  await first.close();
  const [seg] = await segmentFiles();
  const file = path.join(segmentDir(), seg!);
  const size = (await stat(file)).size;
  await truncate(file, size - 100);

  const second = await openDiskBuffer(options({ registry, maxSegmentBytes: 1 << 20 }));
  await second.append(batch(3, 'after'));
  const ids = await drainIds(second);
  assert.deepEqual(ids.map((r) => r[0]), ['t0-0', 't1-0', 't2-0', 'after-0']);
  const skipped = await metric(registry, 'shipwatch_buffer_skipped_bytes_total');
  assert.equal(skipped, size - 100 - 3 * (size / 4), 'the torn batch\'s bytes are counted as skipped');
  await second.close();
});

// Damage inside the third of five batches, of either form: in its items (bulk lines), in its last record (compact).
const DAMAGED: Array<[string, (n: number, prefix: string) => BulkItems | CompactItems, (frameBytes: number) => number]> = [
  ['bulk lines', batch, (frameBytes) => 2 * frameBytes + 40],
  ['compact items', compactBatch, (frameBytes) => 3 * frameBytes - 30],
];

for (const [form, make, damageAt] of DAMAGED) {
  test(`a damaged batch (${form}) in the middle of a segment is skipped and counted, the intact ones after it still replayed`, async () => {
    const registry = createRegistry('test', false);
    const first = await openDiskBuffer(options({ maxSegmentBytes: 1 << 20 }));
    for (let i = 0; i < 5; i++) await first.append(make(3, `d${i}`));
    await first.close();
    const [seg] = await segmentFiles();
    const file = path.join(segmentDir(), seg!);
    const frameBytes = (await stat(file)).size / 5;
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('XX'), 0, 2, damageAt(frameBytes));
    await fh.close();

    const second = await openDiskBuffer(options({ registry, maxSegmentBytes: 1 << 20 }));
    const ids = await drainIds(second, { maxRecords: 1000, maxBytes: 1 << 20 });
    assert.deepEqual(ids.flat().filter((id) => id.endsWith('-0')), ['d0-0', 'd1-0', 'd3-0', 'd4-0']);
    assert.equal(await metric(registry, 'shipwatch_buffer_skipped_bytes_total'), frameBytes);
    await second.close();
  });
}

test('a buffer of the previous format (JSON arrays of records) is migrated from its read position, and its files removed', async () => {
  await rm(segmentDir(), { recursive: true, force: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(segmentDir(), { recursive: true });
  const lines = [events(2, 'old0'), events(2, 'old1'), events(2, 'old2')].map((e) => JSON.stringify(e) + '\n');
  await writeFile(path.join(segmentDir(), '000000000001.ndjson'), lines.join('') + '[{"json":"torn');
  await writeFile(path.join(segmentDir(), '000000000002.ndjson'), JSON.stringify(events(2, 'old3')) + '\n');
  await writeFile(path.join(segmentDir(), 'read-position.json'), JSON.stringify({ seq: 1, offset: Buffer.byteLength(lines[0]!) }));
  const migrate = (line: string): BulkItems | undefined => {
    try {
      return encoder.encodeItems(JSON.parse(line) as LogEvent[]);
    } catch {
      return undefined;
    }
  };
  const buf = await openDiskBuffer(options({ migrateLegacyLine: migrate }));
  const ids = await drainIds(buf);
  assert.deepEqual(ids, [['old1-0', 'old1-1'], ['old2-0', 'old2-1'], ['old3-0', 'old3-1']], 'the acknowledged first line is not replayed, the torn last one is dropped');
  const left = await readdir(segmentDir());
  assert.deepEqual(left.filter((f) => f.endsWith('.ndjson') || f === 'read-position.json'), []);
  await buf.close();
});

test('a full buffer makes append wait until a replayed segment frees space', async () => {
  const buf = await openDiskBuffer(options({ maxBytes: 6000, maxSegmentBytes: 1500 }));
  while (buf.sizeBytes < 4500) await buf.append(batch(2, `fill${buf.sizeBytes}`));
  let appended = false;
  const pending = buf.append(batch(8, 'big')).then(() => (appended = true));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(appended, false, 'the append waits: back-pressure');
  // Replaying (and acknowledging) the first segment's batches frees it.
  while (!appended) {
    const run = await buf.next(ONE);
    if (run === undefined) break;
    await run.ack();
  }
  await pending;
  assert.equal(appended, true);
  const rest = await drainIds(buf);
  assert.equal(rest[rest.length - 1]![0], 'big-0', 'the waiting batch was written after the others');
  await buf.close();
});

test('with when_full=drop a batch that does not fit is dropped and counted', async () => {
  const registry = createRegistry('test', false);
  const buf = await openDiskBuffer(options({ maxBytes: 3000, maxSegmentBytes: 1000, whenFull: 'drop', registry }));
  const results: string[] = [];
  for (let i = 0; i < 10; i++) results.push(await buf.append(batch(2, `b${i}`)));
  assert.ok(results.includes('dropped'));
  const dropped = results.filter((r) => r === 'dropped').length;
  assert.equal(await metric(registry, 'shipwatch_buffer_dropped_events_total'), dropped * 2);
  const kept = await drainIds(buf);
  assert.equal(kept.length, 10 - dropped);
  await buf.close();
});

test('the stored file holds the bulk lines as they are sent', async () => {
  const buf = await openDiskBuffer(options());
  const items = batch(2, 'raw');
  await buf.append(items);
  await buf.close();
  const [seg] = await segmentFiles();
  const text = (await readFile(path.join(segmentDir(), seg!))).toString('latin1');
  assert.ok(text.includes(items.bytes.toString('latin1')), 'the NDJSON of the items is in the segment unchanged');
});

test('compact batches are stored without their action lines and shared text, and replayed as the bulk lines they stand for', async () => {
  const buf = await openDiskBuffer(options({ maxSegmentBytes: 1 << 20 }));
  await buf.append(compactBatch(20, 'cmp'));
  const [seg] = await segmentFiles();
  const stored = await readFile(path.join(segmentDir(), seg!));
  const bulk = batch(20, 'cmp');
  assert.equal(stored.toString('latin1').split('"_index"').length - 1, 1, 'the action head is stored once, not per record');
  assert.equal(stored.toString('latin1').split(SHARED).length - 1, 1, 'the records\' shared text is stored once');
  assert.ok(stored.length < bulk.bytes.length - 20 * 100, `${stored.length} bytes stored for ${bulk.bytes.length} of bulk lines`);
  const run = await buf.next({ maxRecords: 1000, maxBytes: 1 << 20 });
  assert.ok(run);
  assert.deepEqual(run.value.bytes, bulk.bytes);
  assert.deepEqual([...run.value.ends], [...bulk.ends]);
  await run.ack();
  await buf.close();
});

test('frames of the first version (bulk lines, as earlier runs wrote them) and compact frames replay together in order', async () => {
  const first = await openDiskBuffer(options());
  for (let i = 0; i < 6; i++) await first.append(i % 2 === 0 ? batch(4, `v1-${i}`) : compactBatch(4, `v2-${i}`));
  await first.close();
  const second = await openDiskBuffer(options());
  await second.append(compactBatch(2, 'after'));
  const runs = await drainIds(second, { maxRecords: 1000, maxBytes: 1 << 20 });
  const expected = [...[0, 1, 2, 3, 4, 5].map((i) => events(4, i % 2 === 0 ? `v1-${i}` : `v2-${i}`)), events(2, 'after')].flat().map((e) => e.id);
  assert.deepEqual(runs.flat(), expected);
  await second.close();
});


test('compact batches this process wrote are read back from memory as the same bulk lines the file holds', async () => {
  const buf = await openDiskBuffer(options({ maxSegmentBytes: 1 << 20, memoryRecords: 100 }));
  const written = compactBatch(20, 'mem');
  await buf.append(written);
  // The memory holds the items as encoded: the caller must not reuse their buffer.
  assert.equal(heldByBuffer(written), true);
  // Past the memory's bound a batch is read from the file: its buffer may be reused once written.
  const past = compactBatch(90, 'past');
  await buf.append(past);
  assert.equal(heldByBuffer(past), false);
  past.bytes.fill(0);
  const run = await buf.next({ maxRecords: 20, maxBytes: 1 << 20 });
  assert.ok(run);
  const bulk = batch(20, 'mem');
  assert.deepEqual(run.value.bytes, bulk.bytes);
  assert.deepEqual([...run.value.ends], [...bulk.ends]);
  await buf.close();
  await buf.close();
  // Not acknowledged: the next start reads the same from the file.
  const again = await openDiskBuffer(options({ maxSegmentBytes: 1 << 20, memoryRecords: 100 }));
  const fromFile = await again.next({ maxRecords: 20, maxBytes: 1 << 20 });
  assert.ok(fromFile);
  assert.deepEqual(fromFile.value.bytes, bulk.bytes);
  await fromFile.ack();
  const reused = await again.next({ maxRecords: 1000, maxBytes: 1 << 20 });
  assert.ok(reused);
  assert.deepEqual(reused.value.bytes, batch(90, 'past').bytes, 'the file holds what was written, whatever became of the buffer since');
  await reused.ack();
  await again.close();
});

test('a compact batch whose checksum holds but whose tables stand for no bulk lines is moved aside and counted, read from memory or the file', async () => {
  for (const memoryRecords of [0, 100]) {
    const registry = createRegistry('test', false);
    const buf = await openDiskBuffer(options({ registry, maxSegmentBytes: 1 << 20, memoryRecords }));
    const bad = compactBatch(3, 'bad');
    await buf.append(compactBatch(3, `m${memoryRecords}-a`));
    await buf.append({ ...bad, headOf: Uint32Array.of(0, 5, 0) });
    await buf.append(compactBatch(3, `m${memoryRecords}-b`));
    assert.equal(heldByBuffer(bad), false);
    const ids = await drainIds(buf, { maxRecords: 1000, maxBytes: 1 << 20 });
    assert.deepEqual(ids.flat(), [...events(3, `m${memoryRecords}-a`), ...events(3, `m${memoryRecords}-b`)].map((e) => e.id), 'no record lost or sent twice around it');
    const frameBytes = encodeFrame({ ...bad, headOf: Uint32Array.of(0, 5, 0) }).reduce((s, b) => s + b.length, 0);
    assert.equal(await metric(registry, 'shipwatch_buffer_skipped_bytes_total'), frameBytes, 'the bad frame\'s bytes are counted, no more');
    const aside = await readdir(path.join(segmentDir(), 'damaged'));
    assert.equal(aside.length, memoryRecords === 0 ? 1 : 2, 'its bytes are kept aside (one file per damage, this directory shared by both rounds)');
    await buf.close();
  }
});
