import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from '../../platform/byte-writer.js';

test('strings written one after another come out as their UTF-8 bytes, growing past a too small estimate', () => {
  const parts = ['plain ascii', 'Grüße', '東京 🚀', 'é'.repeat(1000), '', 'end'];
  const out = new ByteWriter(8);
  for (const p of parts) {
    out.write(p);
    out.byte(10);
  }
  const expected = Buffer.from(parts.map((p) => p + '\n').join(''), 'utf8');
  assert.equal(out.length, expected.length);
  assert.deepEqual(out.bytes(), expected);
});

test('an exact estimate for ASCII text is used without growing', () => {
  const text = 'x'.repeat(500);
  const out = new ByteWriter(text.length + 1);
  out.write(text);
  out.byte(10);
  const bytes = out.bytes();
  assert.equal(bytes.length, 501);
  assert.equal(bytes.buffer.byteLength >= 501, true);
  assert.equal(bytes.toString('latin1'), text + '\n');
});

test('a buffer given back to the pool is written into by the next writer that fits in it, a small one is not kept', async () => {
  const { BufferPool } = await import('../../platform/byte-writer.js');
  const pool = new BufferPool(2, 1 << 20);
  const first = new ByteWriter(10_000, pool);
  first.write('a'.repeat(9000));
  const used = first.bytes();
  pool.give(used);
  const second = new ByteWriter(8000, pool);
  second.write('b'.repeat(8000));
  assert.equal(second.bytes().buffer, used.buffer, 'the same memory, reused');
  assert.equal(second.bytes().toString('latin1'), 'b'.repeat(8000));
  assert.equal(pool.take(8000), undefined, 'taken once, not handed out twice');
  pool.give(Buffer.alloc(100));
  assert.equal(pool.take(10), undefined, 'a small (pooled by Node) buffer is not kept');
  // Node's shared pool itself: small allocUnsafe buffers are cut from it, one of them at its offset 0.
  let atStart: Buffer | undefined;
  for (let i = 0; i < 1000 && atStart === undefined; i++) {
    const b = Buffer.allocUnsafe(300);
    if (b.byteOffset === 0 && b.buffer.byteLength === Buffer.poolSize) atStart = b;
  }
  assert.ok(atStart, 'a small buffer at the start of Node\'s pool');
  pool.give(atStart);
  assert.equal(pool.take(10), undefined, 'the memory of Node\'s pool, which other buffers share, is not kept');
  const bigger = new ByteWriter(20_000, pool);
  bigger.write('c');
  assert.notEqual(bigger.bytes().buffer, used.buffer);
});
