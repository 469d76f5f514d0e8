import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BulkEncoder } from '../../../storage/elasticsearch/bulk-encoder.js';
import { joinItems, type BulkItems } from '../../../storage/elasticsearch/bulk-items.js';
import type { CompactItems } from '../../../storage/elasticsearch/compact-items.js';
import { ItemRun, runPart, type RunPart } from '../../../storage/elasticsearch/item-run.js';
import type { LogEvent } from '../../../model/log-record.js';
import { makeLogEvents } from '../../helpers/log-events.js';

const encoder = new BulkEncoder('daily');
const SHARED = ',"source":"stdout","target":"app","docker_container":"app-1","docker_container_id":"c0ffee"';
const events = (n: number, prefix: string): LogEvent[] => makeLogEvents(n, { target: 'app', timestampMs: Date.UTC(2024, 0, 1), idPrefix: prefix });
const compact = (n: number, prefix: string): CompactItems =>
  encoder.encodeCompact(events(n, prefix).map((e) => {
    const at = e.json.indexOf(SHARED);
    return { ...e, beforeShared: e.json.slice(0, at), shared: SHARED, afterShared: e.json.slice(at + SHARED.length) };
  }));
const bulk = (n: number, prefix: string): BulkItems => encoder.encodeItems(events(n, prefix));
const part = (items: BulkItems | CompactItems): RunPart => {
  const p = runPart(items);
  assert.ok(typeof p !== 'string', String(p));
  return p;
};

test('a run of compact and bulk batches reads as the bulk lines they stand for, in order', () => {
  const run = new ItemRun([part(compact(3, 'a')), part(bulk(2, 'b')), part(compact(4, 'c'))]);
  const expected = joinItems([bulk(3, 'a'), bulk(2, 'b'), bulk(4, 'c')]);
  assert.equal(run.records, 9);
  assert.equal(run.byteLength, expected.bytes.length);
  assert.deepEqual(run.bytes, expected.bytes);
  assert.deepEqual([...run.ends], [...expected.ends]);
});

test('a run is split by its stored parts within the item and byte bounds, a part cut only where a bound falls inside it', () => {
  const run = ItemRun.join([new ItemRun([part(compact(5, 'a'))]), new ItemRun([part(bulk(3, 'b'))]), new ItemRun([part(compact(4, 'c'))])]);
  const all = joinItems([bulk(5, 'a'), bulk(3, 'b'), bulk(4, 'c')]);
  const byCount = run.split(4, 1 << 20);
  assert.deepEqual(byCount.map((r) => r.records), [4, 4, 4]);
  assert.deepEqual(Buffer.concat(byCount.map((r) => r.bytes)), all.bytes, 'the parts hold every byte once, in order');
  const one = all.ends[0]!;
  const byBytes = run.split(100, Math.floor(2.5 * one));
  assert.ok(byBytes.every((r) => r.byteLength <= 2.5 * one), 'no request past the byte bound');
  assert.deepEqual(byBytes.map((r) => r.records), [2, 2, 2, 2, 2, 2]);
  assert.deepEqual(Buffer.concat(byBytes.map((r) => r.bytes)), all.bytes);
  const tiny = run.split(100, 1);
  assert.equal(tiny.length, 12, 'an item larger than the byte bound goes alone');
  assert.deepEqual(run.split(12, 1 << 20), [run], 'a run within the bounds is sent as it is');
});

test('compact items that stand for no bulk lines are refused with the reason, before anything is sent', () => {
  const c = compact(2, 'x');
  assert.match(String(runPart({ ...c, headOf: Uint32Array.of(0, 7) })), /head 7 of 1/);
  assert.match(String(runPart({ ...c, ends: Uint32Array.of(c.ends[1]! - 1, c.ends[1]!) })), /not an id and a line/);
});
