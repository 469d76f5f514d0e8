/**
 * The key of a tag in the store's tag index: a 52-bit hash of `key \0 value-as-text`, a safe integer SQLite keeps in
 * at most 7 bytes. An index row is then (integer, 16-byte trace id) instead of (key text, value text, span): the
 * rows are 3–4× smaller, which is what makes the tag index cheap to write (bench/traces-to-store.bench.ts).
 *
 * Two 32-bit FNV-1a style lanes with different primes and seeds over the UTF-16 code units; a collision only costs
 * a wasted look at a candidate span, since every search checks its candidates' own tags (span-search.ts).
 * Pure and synchronous.
 */

const TWO_POW_20 = 0x100000;

export function tagHash(key: string, value: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  // The separator: no key / value pair shifts into another (`ab`+`c` vs `a`+`bc`).
  a = Math.imul(a ^ 0xffff, 0x01000193);
  b = Math.imul(b ^ 0xffff, 0x5bd1e995);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  b ^= b >>> 15;
  // 32 bits of one lane above 20 of the other: below 2^52, exact in a double and in SQLite's INTEGER.
  return (a >>> 0) * TWO_POW_20 + ((b >>> 0) & (TWO_POW_20 - 1));
}
