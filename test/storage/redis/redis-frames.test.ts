/**
 * The Redis output's queue frames (storage/redis/redis-frames.ts): records read back as written, whatever they hold;
 * a torn or damaged frame is told apart from a good one, never read as records.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRedisFrame, joinBatches, readRedisFrame, redisFrames, sliceBatch, type RedisBatch } from '../../../storage/redis/redis-frames.js';

const batch: RedisBatch = {
  keys: ['app', 'app', 'kafka-ish.target_1', 'ünïcode'],
  docs: [
    '{"@timestamp":"2026-01-02T03:04:05.678Z","message":"line 1","stream":"stdout"}',
    '{"message":"a json line joined by multiline",\n  "nested": {"keeps": "its newlines"}}',
    '{"message":"tab\\there, quote \\" and 💥"}',
    '{"message":"漢字"}',
  ],
};

function frameBytes(b: RedisBatch): Buffer {
  return Buffer.concat(encodeRedisFrame(b));
}

test('a frame reads back as the records written, in order, newlines and any character included', () => {
  const bytes = frameBytes(batch);
  const r = readRedisFrame(bytes, 0);
  assert.equal(r.kind, 'frame');
  if (r.kind !== 'frame') return;
  assert.deepEqual(r.value, batch);
  assert.equal(r.records, 4);
  assert.equal(r.size, bytes.length);
});

test('frames one after the other are read at their offsets, as a queue segment holds them', () => {
  const second: RedisBatch = { keys: ['b'], docs: ['{"message":"second"}'] };
  const bytes = Buffer.concat([frameBytes(batch), frameBytes(second)]);
  const first = readRedisFrame(bytes, 0);
  assert.equal(first.kind, 'frame');
  const next = readRedisFrame(bytes, first.kind === 'frame' ? first.size : 0);
  assert.deepEqual(next.kind === 'frame' ? next.value : next, second);
});

test('a frame cut short by a crash is short, never records', () => {
  const bytes = frameBytes(batch);
  assert.deepEqual(readRedisFrame(bytes.subarray(0, 10), 0), { kind: 'short', size: 0 });
  assert.deepEqual(readRedisFrame(bytes.subarray(0, bytes.length - 1), 0), { kind: 'short', size: bytes.length });
});

test('a damaged frame is damaged: wrong magic, a flipped byte, a record length past the frame', () => {
  const bytes = frameBytes(batch);
  const magic = Buffer.from(bytes);
  magic[0] = 0x00;
  assert.equal(readRedisFrame(magic, 0).kind, 'damaged');
  const flipped = Buffer.from(bytes);
  flipped[40] = flipped[40]! ^ 0xff;
  assert.deepEqual(readRedisFrame(flipped, 0), { kind: 'damaged', reason: 'checksum mismatch' });
  assert.equal(readRedisFrame(Buffer.alloc(16), 0).kind, 'damaged');
});

test('the codec finds a frame again by its magic prefix and reads an appended batch back without decoding it', () => {
  const bytes = frameBytes(batch);
  assert.equal(bytes.indexOf(redisFrames.magicPrefix), 0);
  assert.equal(redisFrames.records(batch), 4);
  assert.equal(redisFrames.readBack?.(batch), batch);
});

test('slices and joins keep each record with its list', () => {
  const a = sliceBatch(batch, 0, 2);
  const b = sliceBatch(batch, 2, 4);
  assert.deepEqual(a.keys, ['app', 'app']);
  assert.deepEqual(joinBatches([a, b]), batch);
  assert.deepEqual(redisFrames.join([a, b]), batch);
});
