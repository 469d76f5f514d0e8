import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shortString } from '../../model/short-strings.js';
import { seededRandom } from '../helpers/seeded-random.js';

test('a short string read through the table is always the text of its bytes, repeated or replaced, valid UTF-8 or not', () => {
  const r = seededRandom(11);
  // A pool of byte strings seen again and again (so slots hit), with new ones in between (so slots are replaced).
  const pool = Array.from({ length: 300 }, (_, i) => {
    const n = Math.floor(r() * 40);
    const kind = i % 3;
    return Buffer.from(Array.from({ length: n }, () => (kind === 0 ? 0x61 + Math.floor(r() * 26) : kind === 1 ? Math.floor(r() * 256) : 0x80 + Math.floor(r() * 64))));
  });
  pool.push(Buffer.from('é😀 span.kind', 'utf8'), Buffer.alloc(0));
  for (let round = 0; round < 20_000; round++) {
    const bytes = r() < 0.7 ? pool[Math.floor(r() * pool.length)]! : Buffer.from(Array.from({ length: Math.floor(r() * 36) }, () => Math.floor(r() * 256)));
    // Inside a bigger buffer, at an offset, as a decoder reads it.
    const at = Math.floor(r() * 8);
    const buf = Buffer.concat([Buffer.alloc(at, 0x7a), bytes, Buffer.alloc(3, 0x7a)]);
    assert.equal(shortString(buf, at, at + bytes.length), bytes.toString('utf8'));
  }
});

test('strings that differ in one byte, or share a prefix, never stand in for each other', () => {
  const a = Buffer.from('http.status_code');
  const b = Buffer.from('http.status_codf');
  const c = Buffer.from('http.status_cod');
  for (let i = 0; i < 3; i++) {
    assert.equal(shortString(a, 0, a.length), 'http.status_code');
    assert.equal(shortString(b, 0, b.length), 'http.status_codf');
    assert.equal(shortString(c, 0, c.length), 'http.status_cod');
    assert.equal(shortString(a, 0, a.length - 1), 'http.status_cod');
  }
});
