import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { DiskBuffer, type DiskBufferOptions } from '../../../core/es/disk-buffer.js';
import { createRegistry } from '../../../core/self-metrics.js';
import { makeLogEvents } from '../../helpers/log-events.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-buffer-'));
});
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

function options(extra: Partial<DiskBufferOptions> = {}): DiskBufferOptions {
  return { name: 'es', dataDir, maxBytes: 1 << 20, whenFull: 'block', maxSegmentBytes: 4096, registry: createRegistry('test', false), ...extra };
}

const batch = (n: number, prefix: string) => makeLogEvents(n, { target: 'app', timestampMs: Date.UTC(2024, 0, 1), idPrefix: prefix });

async function drainIds(buf: DiskBuffer, limit = Infinity): Promise<string[][]> {
  const out: string[][] = [];
  while (out.length < limit) {
    const b = await buf.next();
    if (b === undefined) break;
    out.push(b.events.map((e) => e.id));
    await b.ack();
  }
  return out;
}

test('batches come back oldest first across segments, and acknowledged segments are deleted', async () => {
  const buf = await DiskBuffer.open(options());
  const written: string[][] = [];
  for (let i = 0; i < 12; i++) {
    const events = batch(5, `b${i}`);
    written.push(events.map((e) => e.id));
    assert.equal(await buf.append(events), 'buffered');
  }
  const dir = path.join(dataDir, 'buffer', 'es');
  assert.ok((await readdir(dir)).filter((f) => f.endsWith('.ndjson')).length > 1, 'several segments were written');
  assert.deepEqual(await drainIds(buf), written);
  assert.ok(buf.isEmpty);
  assert.ok((await readdir(dir)).filter((f) => f.endsWith('.ndjson')).length <= 1, 'read segments are gone');
  await buf.close();
});

test('a restart replays only what was not acknowledged, and new batches follow it', async () => {
  const first = await DiskBuffer.open(options());
  for (let i = 0; i < 6; i++) await first.append(batch(3, `b${i}`));
  const done = await drainIds(first, 2);
  assert.deepEqual(done.map((ids) => ids[0]), ['b0-0', 'b1-0']);
  await first.close();

  const second = await DiskBuffer.open(options());
  assert.equal(second.isEmpty, false);
  await second.append(batch(3, 'after-restart'));
  const rest = await drainIds(second);
  assert.deepEqual(rest.map((ids) => ids[0]), ['b2-0', 'b3-0', 'b4-0', 'b5-0', 'after-restart-0']);
  await second.close();
});

test('a full buffer makes append wait until a replayed segment frees space', async () => {
  const buf = await DiskBuffer.open(options({ maxBytes: 6000, maxSegmentBytes: 1500 }));
  while (buf.sizeBytes < 4500) await buf.append(batch(2, `fill${buf.sizeBytes}`));
  let appended = false;
  const pending = buf.append(batch(8, 'big')).then(() => (appended = true));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(appended, false, 'the append waits: back-pressure');
  // Replaying (and acknowledging) the first segment's batches frees it.
  while (!appended) {
    const b = await buf.next();
    if (b === undefined) break;
    await b.ack();
  }
  await pending;
  assert.equal(appended, true);
  const rest = await drainIds(buf);
  assert.equal(rest[rest.length - 1]![0], 'big-0', 'the waiting batch was written after the others');
  await buf.close();
});

test('with when_full=drop a batch that does not fit is dropped and counted', async () => {
  const registry = createRegistry('test', false);
  const buf = await DiskBuffer.open(options({ maxBytes: 3000, maxSegmentBytes: 1000, whenFull: 'drop', registry }));
  const results: string[] = [];
  for (let i = 0; i < 10; i++) results.push(await buf.append(batch(2, `b${i}`)));
  assert.ok(results.includes('dropped'));
  const dropped = results.filter((r) => r === 'dropped').length;
  const metric = await registry.getSingleMetric('shipwatch_buffer_dropped_events_total')!.get();
  assert.equal(metric.values[0]!.value, dropped * 2);
  const kept = await drainIds(buf);
  assert.equal(kept.length, 10 - dropped);
  await buf.close();
});
