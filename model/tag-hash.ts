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

const PRIME_A = 0x01000193;
const PRIME_B = 0x5bd1e995;

export function tagHash(key: string, value: string): number {
  let a = keyLaneA(key);
  let b = keyLaneB(key);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, PRIME_A);
    b = Math.imul(b ^ c, PRIME_B);
  }
  return finish(a, b);
}

/** The first lane after the key and the separator (no key / value pair shifts into another: `ab`+`c` vs `a`+`bc`). */
export function keyLaneA(key: string): number {
  let a = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) a = Math.imul(a ^ key.charCodeAt(i), PRIME_A);
  return Math.imul(a ^ 0xffff, PRIME_A);
}

/** The second lane after the key and the separator. */
export function keyLaneB(key: string): number {
  let b = PRIME_A ^ PRIME_B;
  for (let i = 0; i < key.length; i++) b = Math.imul(b ^ key.charCodeAt(i), PRIME_B);
  return Math.imul(b ^ 0xffff, PRIME_B);
}

/**
 * `tagHash(key, value)` from the key's lanes and the value's UTF-8 bytes `start..end`, which equal its UTF-16 code
 * units while they are ASCII; -1 at the first byte that is not (the caller then hashes the decoded string).
 */
export function tagHashAscii(laneA: number, laneB: number, buf: Uint8Array, start: number, end: number): number {
  let a = laneA;
  let b = laneB;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return -1;
    a = Math.imul(a ^ c, PRIME_A);
    b = Math.imul(b ^ c, PRIME_B);
  }
  return finish(a, b);
}

function finish(a: number, b: number): number {
  b ^= b >>> 15;
  // 32 bits of one lane above 20 of the other: below 2^52, exact in a double and in SQLite's INTEGER.
  return (a >>> 0) * TWO_POW_20 + ((b >>> 0) & (TWO_POW_20 - 1));
}

/**
 * `tagHash` of a key and value read as bytes: `key` takes the key's bytes (false when they are not ASCII), then
 * `valueBytes` or `value` writes the hash into `out[at]` (`valueBytes`: false, and nothing written, when the value's
 * bytes are not ASCII). Written into the caller's array rather than returned: a 52-bit hash returned from a call
 * that is not inlined is boxed, one heap number per tag. Reused; nothing is allocated.
 */
export class AsciiTagHasher {
  private a = 0;
  private b = 0;

  key(buf: Uint8Array, start: number, end: number): boolean {
    let a = 0x811c9dc5;
    let b = PRIME_A ^ PRIME_B;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return false;
      a = Math.imul(a ^ c, PRIME_A);
      b = Math.imul(b ^ c, PRIME_B);
    }
    this.a = Math.imul(a ^ 0xffff, PRIME_A);
    this.b = Math.imul(b ^ 0xffff, PRIME_B);
    return true;
  }

  valueBytes(buf: Uint8Array, start: number, end: number, out: Float64Array, at: number): boolean {
    let a = this.a;
    let b = this.b;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return false;
      a = Math.imul(a ^ c, PRIME_A);
      b = Math.imul(b ^ c, PRIME_B);
    }
    b ^= b >>> 15;
    out[at] = (a >>> 0) * TWO_POW_20 + ((b >>> 0) & (TWO_POW_20 - 1));
    return true;
  }

  value(text: string, out: Float64Array, at: number): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, PRIME_A);
      b = Math.imul(b ^ c, PRIME_B);
    }
    b ^= b >>> 15;
    out[at] = (a >>> 0) * TWO_POW_20 + ((b >>> 0) & (TWO_POW_20 - 1));
  }
}
