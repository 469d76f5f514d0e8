import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, test } from 'node:test';
import { DurableQueue, type DurableQueueOptions, type FrameCodec } from '../../delivery/durable-queue.js';
import { createRegistry, type Registry } from '../../platform/self-metrics.js';

/**
 * A small codec of string batches, as an output would write one: "TSQ1", u32 count, u32 length, u32 CRC-32, then
 * the strings joined by newlines.
 */
const HEADER = 16;
const MAGIC = Buffer.from('TSQ1', 'latin1');
const strings: FrameCodec<string[], string[]> = {
  magicPrefix: MAGIC.subarray(0, 3),
  headerBytes: HEADER,
  encode(batch) {
    const body = Buffer.from(batch.join('\n'), 'utf8');
    const head = Buffer.alloc(HEADER);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(batch.length, 4);
    head.writeUInt32LE(body.length, 8);
    head.writeUInt32LE(crc32(body), 12);
    return [head, body];
  },
  records: (batch) => batch.length,
  read(buf, at) {
    if (buf.length - at < HEADER) return { kind: 'short', size: 0 };
    if (!buf.subarray(at, at + 4).equals(MAGIC)) return { kind: 'damaged', reason: 'no frame starts here' };
    const n = buf.readUInt32LE(at + 4);
    const size = HEADER + buf.readUInt32LE(at + 8);
    if (buf.length - at < size) return { kind: 'short', size };
    const body = buf.subarray(at + HEADER, at + size);
    if (crc32(body) !== buf.readUInt32LE(at + 12)) return { kind: 'damaged', reason: 'checksum mismatch' };
    const value = body.toString('utf8').split('\n');
    return value.length === n ? { kind: 'frame', value, records: n, bytes: body.length, size } : { kind: 'damaged', reason: 'count mismatch' };
  },
  join: (values) => values.flat(),
};

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-queue-'));
});
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

function options(extra: Partial<DurableQueueOptions<string[], string[]>> = {}): DurableQueueOptions<string[], string[]> {
  return { name: 'spans', dataDir, maxBytes: 1 << 20, whenFull: 'block', maxSegmentBytes: 256, codec: strings, registry: createRegistry('test', false), ...extra };
}

const queueDir = (): string => path.join(dataDir, 'buffer', 'spans');
const segments = async (): Promise<string[]> => (await readdir(queueDir())).filter((f) => f.endsWith('.seg')).sort();
const batchOf = (prefix: string, n = 3): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function metric(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  return m ? (await m.get()).values.reduce((s, v) => s + v.value, 0) : 0;
}

async function drain(queue: DurableQueue<string[], string[]>, limits = { maxRecords: 1000, maxBytes: 1 << 20 }): Promise<string[]> {
  const out: string[] = [];
  for (let run = await queue.next(limits); run !== undefined; run = await queue.next(limits)) {
    out.push(...run.value);
    await run.ack();
  }
  return out;
}

test('batches come back in order across segments, several frames to a run within its limits', async () => {
  const queue = await DurableQueue.open(options());
  for (let i = 0; i < 10; i++) await queue.append(batchOf(`b${i}`));
  assert.ok((await segments()).length > 1, 'the batches span several segments');
  const run = await queue.next({ maxRecords: 7, maxBytes: 1 << 20 });
  assert.deepEqual(run?.value, [...batchOf('b0'), ...batchOf('b1')], 'whole frames only, up to the record limit');
  assert.equal(run?.records, 6);
  await run!.ack();
  const rest = await drain(queue);
  assert.equal(rest.length, 24);
  assert.equal(rest[0], 'b2-0');
  assert.ok(queue.isEmpty);
  assert.deepEqual(await segments(), [], 'acknowledged segments are deleted');
  await queue.close();
});

test('a restart replays exactly what was not acknowledged', async () => {
  const first = await DurableQueue.open(options());
  for (let i = 0; i < 4; i++) await first.append(batchOf(`r${i}`));
  const run = await first.next({ maxRecords: 3, maxBytes: 1 << 20 });
  await run!.ack();
  await first.next({ maxRecords: 3, maxBytes: 1 << 20 }); // read, never acknowledged: the process dies here
  await first.close();
  const second = await DurableQueue.open(options());
  assert.deepEqual(await drain(second), [...batchOf('r1'), ...batchOf('r2'), ...batchOf('r3')]);
  await second.close();
});

test('damaged bytes in the middle of a segment are skipped, kept aside and counted; the frames around them are delivered', async () => {
  const registry = createRegistry('test', false);
  const first = await DurableQueue.open(options({ maxSegmentBytes: 1 << 20 }));
  for (let i = 0; i < 5; i++) await first.append(batchOf(`d${i}`));
  await first.close();
  const [seg] = await segments();
  const file = path.join(queueDir(), seg!);
  const frameBytes = (await stat(file)).size / 5;
  const fh = await open(file, 'r+');
  await fh.write(Buffer.from('XX'), 0, 2, 2 * frameBytes + HEADER + 1);
  await fh.close();

  const second = await DurableQueue.open(options({ registry, maxSegmentBytes: 1 << 20 }));
  assert.deepEqual(await drain(second), [...batchOf('d0'), ...batchOf('d1'), ...batchOf('d3'), ...batchOf('d4')]);
  assert.equal(await metric(registry, 'shipwatch_buffer_skipped_bytes_total'), frameBytes);
  const aside = await readdir(path.join(queueDir(), 'damaged'));
  assert.equal(aside.length, 1);
  const kept = await readFile(path.join(queueDir(), 'damaged', aside[0]!));
  assert.equal(kept.length, frameBytes, 'the damaged frame\'s bytes are kept for a person to look at');
  assert.ok(kept.toString('latin1').includes('d2-1'));
  await second.close();
});

test('a segment cut inside its last frame (power loss mid-write) delivers every whole frame, then goes on with new ones', async () => {
  const registry = createRegistry('test', false);
  const first = await DurableQueue.open(options({ maxSegmentBytes: 1 << 20 }));
  for (let i = 0; i < 3; i++) await first.append(batchOf(`t${i}`));
  await first.close();
  const [seg] = await segments();
  const file = path.join(queueDir(), seg!);
  const size = (await stat(file)).size;
  const fh = await open(file, 'r+');
  await fh.truncate(size - 5);
  await fh.close();

  const second = await DurableQueue.open(options({ registry, maxSegmentBytes: 1 << 20 }));
  await second.append(batchOf('after'));
  assert.deepEqual(await drain(second), [...batchOf('t0'), ...batchOf('t1'), ...batchOf('after')]);
  assert.equal(await metric(registry, 'shipwatch_buffer_skipped_bytes_total'), size / 3 - 5);
  await second.close();
});

test('a segment of nothing but garbage is skipped whole and never stops the queue', async () => {
  const first = await DurableQueue.open(options({ maxSegmentBytes: 16 }));
  await first.append(batchOf('g0'));
  await first.append(batchOf('g1'));
  await first.close();
  const [, second] = await segments();
  const fh = await open(path.join(queueDir(), second!), 'r+');
  await fh.write(Buffer.alloc((await fh.stat()).size, 0x5a), 0);
  await fh.close();
  const reopened = await DurableQueue.open(options({ maxSegmentBytes: 16 }));
  await reopened.append(batchOf('g2'));
  assert.deepEqual(await drain(reopened), [...batchOf('g0'), ...batchOf('g2')]);
  await reopened.close();
});

test('a full queue makes append wait until a run is acknowledged, or drops and counts when configured to', async () => {
  const frame = strings.encode(batchOf('f0')).reduce((n, b) => n + b.length, 0);
  const blocking = await DurableQueue.open(options({ maxBytes: 3 * frame, maxSegmentBytes: frame }));
  for (let i = 0; i < 3; i++) await blocking.append(batchOf(`f${i}`));
  let appended = false;
  const waiting = blocking.append(batchOf('f3')).then(() => (appended = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(appended, false, 'the fourth batch waits for space');
  const run = await blocking.next({ maxRecords: 3, maxBytes: 1 << 20 });
  await run!.ack();
  await waiting;
  assert.equal(appended, true);
  await blocking.close();

  const registry = createRegistry('test', false);
  await rm(queueDir(), { recursive: true });
  const dropping = await DurableQueue.open(options({ maxBytes: 3 * frame, maxSegmentBytes: frame, whenFull: 'drop', registry }));
  for (let i = 0; i < 3; i++) assert.equal(await dropping.append(batchOf(`x${i}`)), 'queued');
  assert.equal(await dropping.append(batchOf('x3')), 'dropped');
  assert.equal(await metric(registry, 'shipwatch_buffer_dropped_events_total'), 3);
  assert.ok(dropping.fill >= 1);
  await dropping.close();
});

/** The string codec with the read-behind memory on: what an appended batch reads back as is the batch itself. */
const remembering: FrameCodec<string[], string[]> = { ...strings, readBack: (batch) => batch };

test('with read-behind memory a batch comes back as the very batch appended, while the file still holds it for a restart', async () => {
  const reads: number[] = [];
  const counting: FrameCodec<string[], string[]> = { ...remembering, read: (buf, at) => { reads.push(at); return strings.read(buf, at); } };
  const first = await DurableQueue.open(options({ codec: counting, memoryRecords: 100 }));
  const batches = Array.from({ length: 6 }, (_, i) => batchOf(`m${i}`));
  for (const b of batches) await first.append(b);
  const run = await first.next({ maxRecords: 3, maxBytes: 1 << 20 });
  assert.equal(run?.value, batches[0], 'the appended array itself, not a copy decoded from the file');
  await run!.ack();
  const second = await first.next({ maxRecords: 7, maxBytes: 1 << 20 });
  assert.deepEqual(second?.value, [...batches[1]!, ...batches[2]!], 'joined within the run limits');
  assert.deepEqual(reads, [], 'no frame was read from the file');
  // Not acknowledged: the process dies here. The file holds the batches from m1 on.
  await first.close();
  const again = await DurableQueue.open(options({ memoryRecords: 100 }));
  assert.deepEqual(await drain(again), batches.slice(1).flat());
  await again.close();
});

test('past its memory bound batches are read from the file, in order, none twice, and the memory is used again after', async () => {
  const queue = await DurableQueue.open(options({ codec: remembering, memoryRecords: 6 }));
  const batches = Array.from({ length: 8 }, (_, i) => batchOf(`f${i}`));
  for (const b of batches) await queue.append(b); // f0, f1 remembered; f2… only on disk
  assert.deepEqual(await drain(queue, { maxRecords: 4, maxBytes: 1 << 20 }), batches.flat());
  const later = batchOf('later');
  await queue.append(later);
  const run = await queue.next({ maxRecords: 100, maxBytes: 1 << 20 });
  assert.equal(run?.value, later, 'the memory was given back as its batches were read');
  await run!.ack();
  await queue.close();
});

test('a batch remembered behind one read from the file is not handed out again once the file read passed it', async () => {
  const queue = await DurableQueue.open(options({ codec: remembering, memoryRecords: 3, maxSegmentBytes: 1 << 20 }));
  await queue.append(batchOf('a')); // remembered
  await queue.append(batchOf('b')); // memory full: file only
  const first = await queue.next({ maxRecords: 3, maxBytes: 1 << 20 });
  assert.deepEqual(first?.value, batchOf('a'));
  await first!.ack();
  await queue.append(batchOf('c')); // remembered again, behind b
  const fromFile = await queue.next({ maxRecords: 100, maxBytes: 1 << 20 });
  assert.deepEqual(fromFile?.value, [...batchOf('b'), ...batchOf('c')], 'read from the file, b and c together');
  await fromFile!.ack();
  assert.equal(await queue.next({ maxRecords: 100, maxBytes: 1 << 20 }), undefined, 'c is not handed out a second time');
  await queue.append(batchOf('d'));
  const d = await queue.next({ maxRecords: 100, maxBytes: 1 << 20 });
  assert.equal(d?.value.length, 3);
  assert.equal(d?.value[0], 'd-0');
  await d!.ack();
  await queue.close();
});
