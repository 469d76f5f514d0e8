/**
 * The log disk buffer's record of one appended batch (a frame, ./disk-buffer.ts), little-endian. Two versions, told apart by the magic;
 * both are read back as the NDJSON items of a `_bulk` body (./bulk-items.ts).
 *
 * "SWB2", the compact items of a batch written to the buffer directly (./compact-items.ts):
 *
 *   0   u32  magic "SWB2"
 *   4   u32  item count n
 *   8   u32  byte length L of everything after this 16-byte header
 *   12  u32  CRC-32 of those L bytes
 *   16  u32  head count, then per head: u32 byte length, the head's UTF-8 bytes
 *       u32  shared text count, then per text: u32 byte length, the text's UTF-8 bytes
 *       per item (n of each, in this order): u32 head number, u32 shared text number (0xffffffff: none),
 *       u32 the shared text's byte offset in the source line, u32 item end (in the text that follows)
 *       the text: per item the id, `\n`, the source line without its shared text, `\n`
 *
 * "SWB1", bulk items as they are sent (what a failed request hands back, and every frame before SWB2):
 *
 *   0   u32  magic "SWB1"
 *   4   u32  item count n
 *   8   u32  byte length L of the items' NDJSON
 *   12  u32  CRC-32 of the item ends and the NDJSON
 *   16  n × u32 item ends (./bulk-items.ts)
 *   16 + 4n  L bytes: the `_bulk` action and source lines of the items, as they are sent
 *
 * A frame cut short by a crash (the file ends inside it) or damaged (wrong magic, wrong checksum) is told apart
 * from a good one, and the next good frame after damage can be found again by its magic and checksum.
 *
 * Pure: no I/O, never throws.
 */
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import type { BulkItems } from './bulk-items.js';
import type { CompactItems } from './compact-items.js';

export const FRAME_HEADER_BYTES = 16;
/** The bytes every frame starts with, by which the next frame is found after damage. */
export const FRAME_MAGIC_PREFIX = Buffer.from('SWB', 'latin1');
const MAGIC_V1 = Buffer.from('SWB1', 'latin1').readUInt32LE(0);
const MAGIC_V2 = Buffer.from('SWB2', 'latin1').readUInt32LE(0);
const LITTLE_ENDIAN = endianness() === 'LE';
/** Larger than any frame a bulk batch makes (the request bound is 5 MiB by default); a header above it is damage. */
const MAX_FRAME_BYTES = 1 << 30;

/** A frame's header (with its tables) and its text: written one after the other. */
export function encodeFrame(items: BulkItems | CompactItems): [Buffer, Buffer] {
  return 'heads' in items ? encodeCompactFrame(items) : encodeBulkFrame(items);
}

function encodeBulkFrame(items: BulkItems): [Buffer, Buffer] {
  const n = items.ends.length;
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 * n);
  for (let i = 0; i < n; i++) head.writeUInt32LE(items.ends[i]!, FRAME_HEADER_BYTES + 4 * i);
  head.writeUInt32LE(MAGIC_V1, 0);
  head.writeUInt32LE(n, 4);
  head.writeUInt32LE(items.bytes.length, 8);
  head.writeUInt32LE(crc32(items.bytes, crc32(head.subarray(FRAME_HEADER_BYTES))), 12);
  return [head, items.bytes];
}

function encodeCompactFrame(items: CompactItems): [Buffer, Buffer] {
  const n = items.ends.length;
  const heads = items.heads.map((h) => Buffer.from(h, 'utf8'));
  const shared = items.shared.map((t) => Buffer.from(t, 'utf8'));
  let tables = 8 + 16 * n;
  for (const b of heads) tables += 4 + b.length;
  for (const b of shared) tables += 4 + b.length;
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + tables);
  let at = writeStrings(head, FRAME_HEADER_BYTES, heads);
  at = writeStrings(head, at, shared);
  for (const column of [items.headOf, items.sharedOf, items.sharedAt, items.ends]) at = writeColumn(head, at, column);
  head.writeUInt32LE(MAGIC_V2, 0);
  head.writeUInt32LE(n, 4);
  head.writeUInt32LE(tables + items.bytes.length, 8);
  head.writeUInt32LE(crc32(items.bytes, crc32(head.subarray(FRAME_HEADER_BYTES))), 12);
  return [head, items.bytes];
}

/**
 * `column` as little-endian u32s at `at`; returns the offset after it. On a little-endian machine the array's own
 * bytes are copied: four calls per item had been a tenth of what a buffered batch adds (bench/pilot-pipeline).
 */
function writeColumn(buf: Buffer, at: number, column: Uint32Array): number {
  if (LITTLE_ENDIAN) return at + Buffer.from(column.buffer, column.byteOffset, column.byteLength).copy(buf, at);
  for (let i = 0; i < column.length; i++) at = buf.writeUInt32LE(column[i]!, at);
  return at;
}

/** A count and each string's length and bytes, at `at`; returns the offset after them. */
function writeStrings(buf: Buffer, at: number, strings: readonly Buffer[]): number {
  at = buf.writeUInt32LE(strings.length, at);
  for (const b of strings) {
    at = buf.writeUInt32LE(b.length, at);
    at += b.copy(buf, at);
  }
  return at;
}

export type FrameRead =
  | { kind: 'frame'; items: BulkItems | CompactItems; size: number }
  /** `buf` ends inside the frame; `size` is the whole frame's size when its header could be read, else 0. */
  | { kind: 'short'; size: number }
  | { kind: 'damaged'; reason: string };

/**
 * The frame starting at `at` in `buf`: a version 1 frame's bulk items, a version 2 frame's compact items, their
 * bytes views into `buf` (whether compact items stand for bulk lines is checked as they are sized, item-run.ts).
 */
export function readFrame(buf: Buffer, at: number): FrameRead {
  if (buf.length - at < FRAME_HEADER_BYTES) return { kind: 'short', size: 0 };
  const magic = buf.readUInt32LE(at);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return { kind: 'damaged', reason: 'no frame starts here' };
  const n = buf.readUInt32LE(at + 4);
  const length = buf.readUInt32LE(at + 8);
  const size = FRAME_HEADER_BYTES + (magic === MAGIC_V1 ? 4 * n : 0) + length;
  if (n === 0 || length === 0 || size > MAX_FRAME_BYTES) return { kind: 'damaged', reason: `impossible frame header (${n} items, ${length} bytes)` };
  if (buf.length - at < size) return { kind: 'short', size };
  const bodyAt = at + FRAME_HEADER_BYTES;
  const crc = magic === MAGIC_V1
    ? crc32(buf.subarray(bodyAt + 4 * n, at + size), crc32(buf.subarray(bodyAt, bodyAt + 4 * n)))
    : crc32(buf.subarray(bodyAt, at + size));
  if (crc !== buf.readUInt32LE(at + 12)) return { kind: 'damaged', reason: 'checksum mismatch' };
  const read = magic === MAGIC_V1 ? readBulkBody(buf, bodyAt, n, at + size) : readCompactBody(buf, bodyAt, n, at + size);
  return typeof read === 'string' ? { kind: 'damaged', reason: read } : { kind: 'frame', items: read, size };
}

/** `n` item ends at `endsAt`, each past the one before, the last at `length`; or what is wrong with them. */
function readEnds(buf: Buffer, endsAt: number, n: number, length: number): Uint32Array | string {
  const ends = new Uint32Array(n);
  let previous = 0;
  for (let i = 0; i < n; i++) {
    const end = buf.readUInt32LE(endsAt + 4 * i);
    if (end <= previous || end > length) return 'item ends out of order';
    ends[i] = previous = end;
  }
  return previous === length ? ends : 'item ends do not cover the frame';
}

function readBulkBody(buf: Buffer, endsAt: number, n: number, frameEnd: number): BulkItems | string {
  const bytesAt = endsAt + 4 * n;
  const ends = readEnds(buf, endsAt, n, frameEnd - bytesAt);
  return typeof ends === 'string' ? ends : { bytes: buf.subarray(bytesAt, frameEnd), ends };
}

function readCompactBody(buf: Buffer, at: number, n: number, frameEnd: number): CompactItems | string {
  const heads = readStrings(buf, at, frameEnd);
  if (typeof heads === 'string') return heads;
  const shared = readStrings(buf, heads.end, frameEnd);
  if (typeof shared === 'string') return shared;
  at = shared.end;
  if (frameEnd - at < 16 * n) return 'item tables past the frame';
  const column = (k: number): Uint32Array => {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = buf.readUInt32LE(at + 4 * (k * n + i));
    return out;
  };
  const textAt = at + 16 * n;
  const ends = readEnds(buf, at + 12 * n, n, frameEnd - textAt);
  if (typeof ends === 'string') return ends;
  return { heads: heads.strings, headOf: column(0), shared: shared.strings, sharedOf: column(1), sharedAt: column(2), bytes: buf.subarray(textAt, frameEnd), ends };
}

/** A count and that many length-prefixed UTF-8 strings at `at`, and the offset after them. */
function readStrings(buf: Buffer, at: number, frameEnd: number): { strings: string[]; end: number } | string {
  if (frameEnd - at < 4) return 'string table past the frame';
  const count = buf.readUInt32LE(at);
  at += 4;
  const strings: string[] = [];
  for (let k = 0; k < count; k++) {
    const len = frameEnd - at < 4 ? Infinity : buf.readUInt32LE(at);
    if (frameEnd - at - 4 < len) return 'string table past the frame';
    strings.push(buf.toString('utf8', at + 4, at + 4 + len));
    at += 4 + len;
  }
  return { strings, end: at };
}
