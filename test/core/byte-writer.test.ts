import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from '../../core/byte-writer.js';

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
