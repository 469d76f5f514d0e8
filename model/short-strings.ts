/**
 * Short UTF-8 strings read from wire buffers, each made once: tag keys, service and operation names and most tag
 * values (`server`, `GET`, `200`'s key…) repeat from span to span. A string of up to `MAX_BYTES` bytes is looked up
 * by its bytes in a fixed table (direct-mapped: a slot holds the last string whose bytes hashed to it) and the same
 * string object is handed out again while its bytes match. Every later step gains: the spans waiting in the queue
 * hold one copy, and map lookups by these strings (listed tag values, names, last-seen times) compare one object
 * with itself and reuse its hash. Memory is bounded by the table. Synchronous; the decoders share one table.
 */

/** Longer strings (URLs, statements, ids) are mostly unique: decoded as they come. */
const MAX_BYTES = 32;
const SLOTS = 4096;

const strings: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);
const lengths = new Uint8Array(SLOTS);
const bytes = new Uint8Array(SLOTS * MAX_BYTES);

/** `buf.toString('utf8', start, end)`, the same string object as last time for the same short bytes. */
export function shortString(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n > MAX_BYTES) return buf.toString('utf8', start, end);
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
  const base = slot * MAX_BYTES;
  const cached = strings[slot];
  if (cached !== undefined && lengths[slot] === n) {
    let i = 0;
    while (i < n && bytes[base + i] === buf[start + i]) i++;
    if (i === n) return cached;
  }
  const s = buf.toString('utf8', start, end);
  strings[slot] = s;
  lengths[slot] = n;
  for (let i = 0; i < n; i++) bytes[base + i] = buf[start + i]!;
  return s;
}
