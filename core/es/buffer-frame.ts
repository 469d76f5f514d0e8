/**
 * The disk buffer's record of one appended batch (a frame), little-endian:
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
import { crc32 } from 'node:zlib';
import type { BulkItems } from './bulk-items.js';

export const FRAME_HEADER_BYTES = 16;
const MAGIC = Buffer.from('SWB1', 'latin1');
const MAGIC_U32 = MAGIC.readUInt32LE(0);
/** Larger than any frame a bulk batch makes (the request bound is 5 MiB by default); a header above it is damage. */
const MAX_FRAME_BYTES = 1 << 30;

/** A frame's header (with the item ends) and its NDJSON: written one after the other. */
export function encodeFrame(items: BulkItems): [Buffer, Buffer] {
  const n = items.ends.length;
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 * n);
  for (let i = 0; i < n; i++) head.writeUInt32LE(items.ends[i]!, FRAME_HEADER_BYTES + 4 * i);
  head.writeUInt32LE(MAGIC_U32, 0);
  head.writeUInt32LE(n, 4);
  head.writeUInt32LE(items.bytes.length, 8);
  head.writeUInt32LE(crc32(items.bytes, crc32(head.subarray(FRAME_HEADER_BYTES))), 12);
  return [head, items.bytes];
}

export type FrameRead =
  | { kind: 'frame'; items: BulkItems; size: number }
  /** `buf` ends inside the frame; `size` is the whole frame's size when its header could be read, else 0. */
  | { kind: 'short'; size: number }
  | { kind: 'damaged'; reason: string };

/** The frame starting at `at` in `buf`. The items' bytes are a view into `buf`. */
export function readFrame(buf: Buffer, at: number): FrameRead {
  if (buf.length - at < FRAME_HEADER_BYTES) return { kind: 'short', size: 0 };
  if (buf.readUInt32LE(at) !== MAGIC_U32) return { kind: 'damaged', reason: 'no frame starts here' };
  const n = buf.readUInt32LE(at + 4);
  const length = buf.readUInt32LE(at + 8);
  const size = FRAME_HEADER_BYTES + 4 * n + length;
  if (n === 0 || length === 0 || size > MAX_FRAME_BYTES) return { kind: 'damaged', reason: `impossible frame header (${n} items, ${length} bytes)` };
  if (buf.length - at < size) return { kind: 'short', size };
  const endsAt = at + FRAME_HEADER_BYTES;
  const bytesAt = endsAt + 4 * n;
  if (crc32(buf.subarray(bytesAt, at + size), crc32(buf.subarray(endsAt, bytesAt))) !== buf.readUInt32LE(at + 12)) {
    return { kind: 'damaged', reason: 'checksum mismatch' };
  }
  const ends = new Uint32Array(n);
  let previous = 0;
  for (let i = 0; i < n; i++) {
    const end = buf.readUInt32LE(endsAt + 4 * i);
    if (end <= previous || end > length) return { kind: 'damaged', reason: 'item ends out of order' };
    ends[i] = previous = end;
  }
  if (previous !== length) return { kind: 'damaged', reason: 'item ends do not cover the frame' };
  return { kind: 'frame', items: { bytes: buf.subarray(bytesAt, at + size), ends }, size };
}

/** The offset of the next whole, intact frame after `from` in `buf`, or -1. */
export function findNextFrame(buf: Buffer, from: number): number {
  for (let at = buf.indexOf(MAGIC, from + 1); at >= 0; at = buf.indexOf(MAGIC, at + 1)) {
    if (readFrame(buf, at).kind === 'frame') return at;
  }
  return -1;
}
