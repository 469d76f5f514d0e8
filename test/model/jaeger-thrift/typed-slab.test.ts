import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypedSlab } from '../../../model/jaeger-thrift/typed-slab.js';

test('copies are views of one slab until it is full, then of a new one; each keeps its own values', () => {
  const slab = new TypedSlab((n) => new Int32Array(n), 16);
  const scratch = new Int32Array(8);
  const copies: Int32Array[] = [];
  for (let k = 0; k < 5; k++) {
    for (let i = 0; i < 4; i++) scratch[i] = k * 10 + i;
    copies.push(slab.copy(scratch, 4));
  }
  // The scratch is reused: the copies must not see it change.
  scratch.fill(-1);
  copies.forEach((c, k) => assert.deepEqual([...c], [k * 10, k * 10 + 1, k * 10 + 2, k * 10 + 3]));
  // Four copies of 4 fill a slab of 16; the fifth starts a new one.
  assert.equal(copies[0]!.buffer, copies[3]!.buffer);
  assert.notEqual(copies[3]!.buffer, copies[4]!.buffer);
  assert.equal(copies[4]!.byteOffset, 0);
  // Writing one copy leaves its neighbours alone.
  copies[1]!.fill(7);
  assert.deepEqual([...copies[0]!], [0, 1, 2, 3]);
  assert.deepEqual([...copies[2]!], [20, 21, 22, 23]);
});

test('an array beyond a quarter of a slab gets memory of its own; an empty copy is empty', () => {
  const slab = new TypedSlab((n) => new Float64Array(n), 16);
  const big = Float64Array.from({ length: 10 }, (_, i) => i + 0.5);
  const copy = slab.copy(big, 5);
  assert.deepEqual([...copy], [0.5, 1.5, 2.5, 3.5, 4.5]);
  assert.equal(copy.buffer.byteLength, 5 * 8);
  assert.equal(slab.copy(big, 0).length, 0);
  const small = slab.copy(big, 4);
  assert.equal(small.buffer.byteLength, 16 * 8);
  assert.deepEqual([...small], [0.5, 1.5, 2.5, 3.5]);
});
