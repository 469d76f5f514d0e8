import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLines, lineFrames, readLineFrame } from '../../../collector/metrics/line-protocol-frames.js';

const lines = ['cpu,host=a usage=1 1000', 'cpu,host=b usage=2 2000', 'mem,host=a used=3i 3000'];

test('a frame reads back as the lines it was made of, newline-terminated, as they are sent', () => {
  const frame = Buffer.concat(lineFrames.encode(lines));
  const read = readLineFrame(frame, 0);
  assert.equal(read.kind, 'frame');
  if (read.kind !== 'frame') return;
  assert.equal(read.size, frame.length);
  assert.equal(read.records, 3);
  assert.equal(read.value.body.toString(), lines.join('\n') + '\n');
});

test('a frame cut short says how long it is, and damaged bytes say why', () => {
  const frame = Buffer.concat(lineFrames.encode(lines));
  assert.deepEqual(readLineFrame(frame.subarray(0, 10), 0), { kind: 'short', size: 0 });
  assert.deepEqual(readLineFrame(frame.subarray(0, frame.length - 1), 0), { kind: 'short', size: frame.length });
  const flipped = Buffer.from(frame);
  flipped[20] ^= 0xff;
  assert.deepEqual(readLineFrame(flipped, 0), { kind: 'damaged', reason: 'checksum mismatch' });
  assert.equal(readLineFrame(Buffer.alloc(32), 0).kind, 'damaged');
});

test('frames joined are one request body, and a body cuts at a line boundary', () => {
  const a = readLineFrame(Buffer.concat(lineFrames.encode(lines.slice(0, 1))), 0);
  const b = readLineFrame(Buffer.concat(lineFrames.encode(lines.slice(1))), 0);
  assert.ok(a.kind === 'frame' && b.kind === 'frame');
  const joined = lineFrames.join([a.value, b.value]);
  assert.equal(joined.lines, 3);
  const [head, tail] = cutLines(joined, 2);
  assert.deepEqual([head.lines, head.body.toString()], [2, `${lines[0]}\n${lines[1]}\n`]);
  assert.deepEqual([tail.lines, tail.body.toString()], [1, `${lines[2]}\n`]);
});
