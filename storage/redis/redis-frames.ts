/**
 * The Redis output's batches and their frames in its durable queue (delivery/durable-queue.ts). A batch is records
 * in order, each its list (the record's target) and its document (the record's JSON, the Elasticsearch output's
 * document). Little-endian:
 *
 *   0   u32  magic "SWR1"
 *   4   u32  record count n
 *   8   u32  byte length L of the records
 *   12  u32  CRC-32 of those L bytes
 *   16  L bytes: n times { u16 key length k, u32 document length d, k bytes of key, d bytes of document }
 *
 * Lengths, not separators: a document may hold any character (a json line joined by multiline keeps its newlines).
 * A frame cut short (a crash mid-write) or damaged (magic, checksum, lengths) is told apart from a good one, and the
 * next good frame is found again by its magic. Pure: no I/O, never throws.
 */
import { crc32 } from 'node:zlib';
import type { FrameCodec, FrameRead } from '../../delivery/durable-queue.js';

/** Records in order: `keys[i]` is the list of `docs[i]`. */
export interface RedisBatch {
  keys: string[];
  docs: string[];
}

const HEADER_BYTES = 16;
const RECORD_HEAD_BYTES = 6;
const MAGIC_PREFIX = Buffer.from('SWR', 'latin1');
const MAGIC = Buffer.from('SWR1', 'latin1').readUInt32LE(0);
/** Far past any batch the output makes; a header above it is damage. */
const MAX_FRAME_BYTES = 1 << 30;

export function encodeRedisFrame(batch: RedisBatch): Buffer[] {
  const n = batch.docs.length;
  let length = 0;
  for (let i = 0; i < n; i++) length += RECORD_HEAD_BYTES + Buffer.byteLength(batch.keys[i]!) + Buffer.byteLength(batch.docs[i]!);
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const k = body.write(batch.keys[i]!, at + RECORD_HEAD_BYTES);
    const d = body.write(batch.docs[i]!, at + RECORD_HEAD_BYTES + k);
    body.writeUInt16LE(k, at);
    body.writeUInt32LE(d, at + 2);
    at += RECORD_HEAD_BYTES + k + d;
  }
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(n, 4);
  head.writeUInt32LE(length, 8);
  head.writeUInt32LE(crc32(body), 12);
  return [head, body];
}

export function readRedisFrame(buf: Buffer, at: number): FrameRead<RedisBatch> {
  if (buf.length - at < HEADER_BYTES) return { kind: 'short', size: 0 };
  if (buf.readUInt32LE(at) !== MAGIC) return { kind: 'damaged', reason: 'no frame starts here' };
  const n = buf.readUInt32LE(at + 4);
  const length = buf.readUInt32LE(at + 8);
  const size = HEADER_BYTES + length;
  if (n === 0 || length < (RECORD_HEAD_BYTES + 2) * n || size > MAX_FRAME_BYTES) return { kind: 'damaged', reason: `impossible frame header (${n} records, ${length} bytes)` };
  if (buf.length - at < size) return { kind: 'short', size };
  const body = buf.subarray(at + HEADER_BYTES, at + size);
  if (crc32(body) !== buf.readUInt32LE(at + 12)) return { kind: 'damaged', reason: 'checksum mismatch' };
  const keys: string[] = [];
  const docs: string[] = [];
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (body.length - p < RECORD_HEAD_BYTES) return { kind: 'damaged', reason: 'the records end early' };
    const k = body.readUInt16LE(p);
    const d = body.readUInt32LE(p + 2);
    const end = p + RECORD_HEAD_BYTES + k + d;
    if (end > body.length) return { kind: 'damaged', reason: 'a record runs past the frame' };
    keys.push(body.toString('utf8', p + RECORD_HEAD_BYTES, p + RECORD_HEAD_BYTES + k));
    docs.push(body.toString('utf8', p + RECORD_HEAD_BYTES + k, end));
    p = end;
  }
  if (p !== length) return { kind: 'damaged', reason: 'bytes after the last record' };
  return { kind: 'frame', value: { keys, docs }, records: n, bytes: length, size };
}

/** The records from `from` to `to` (exclusive) of a batch. */
export function sliceBatch(batch: RedisBatch, from: number, to: number): RedisBatch {
  return { keys: batch.keys.slice(from, to), docs: batch.docs.slice(from, to) };
}

export function joinBatches(batches: readonly RedisBatch[]): RedisBatch {
  if (batches.length === 1) return batches[0]!;
  return { keys: batches.flatMap((b) => b.keys), docs: batches.flatMap((b) => b.docs) };
}

export const redisFrames: FrameCodec<RedisBatch, RedisBatch> = {
  magicPrefix: MAGIC_PREFIX,
  headerBytes: HEADER_BYTES,
  encode: encodeRedisFrame,
  records: (batch) => batch.docs.length,
  read: readRedisFrame,
  join: joinBatches,
  // The strings appended are what a frame reads back as: while the sender keeps up nothing is decoded again.
  readBack: (batch) => batch,
};
