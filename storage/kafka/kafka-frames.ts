/**
 * The Kafka output's batches and their frames in its durable queue (delivery/durable-queue.ts). A batch is records
 * in order, each its topic (the record's target), its key (the container's id: one container's records share a
 * partition, so Kafka keeps their order), its id (the record's deterministic id, sent as a header so a consumer can
 * tell a replay) and its document (the record's JSON, the Elasticsearch output's document). Little-endian:
 *
 *   0   u32  magic "SWK1"
 *   4   u32  record count n
 *   8   u32  byte length L of the records
 *   12  u32  CRC-32 of those L bytes
 *   16  L bytes: n times { u16 topic length t, u16 key length k, u16 id length i, u32 document length d,
 *                          t + k + i + d bytes }
 *
 * Lengths, not separators: a document may hold any character. A frame cut short (a crash mid-write) or damaged
 * (magic, checksum, lengths) is told apart from a good one, and the next good frame is found again by its magic.
 * Pure: no I/O, never throws.
 */
import { crc32 } from 'node:zlib';
import type { FrameCodec, FrameRead } from '../../delivery/durable-queue.js';

/** Records in order: record `i` is `docs[i]` for `topics[i]`, keyed `keys[i]`, with id `ids[i]`. */
export interface KafkaBatch {
  topics: string[];
  keys: string[];
  ids: string[];
  docs: string[];
}

const HEADER_BYTES = 16;
const RECORD_HEAD_BYTES = 10;
const MAGIC_PREFIX = Buffer.from('SWK', 'latin1');
const MAGIC = Buffer.from('SWK1', 'latin1').readUInt32LE(0);
/** Far past any batch the output makes; a header above it is damage. */
const MAX_FRAME_BYTES = 1 << 30;
/** A topic, key or id longer than a u16 can say is cut (topics are at most 249 characters; ids and keys are short). */
const MAX_SHORT_BYTES = 0xffff;

function shortText(s: string): string {
  return Buffer.byteLength(s) <= MAX_SHORT_BYTES ? s : Buffer.from(s).subarray(0, MAX_SHORT_BYTES).toString();
}

export function encodeKafkaFrame(batch: KafkaBatch): Buffer[] {
  const n = batch.docs.length;
  let length = 0;
  for (let i = 0; i < n; i++) {
    length += RECORD_HEAD_BYTES + Buffer.byteLength(shortText(batch.topics[i]!)) + Buffer.byteLength(shortText(batch.keys[i]!)) +
      Buffer.byteLength(shortText(batch.ids[i]!)) + Buffer.byteLength(batch.docs[i]!);
  }
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (let i = 0; i < n; i++) {
    let p = at + RECORD_HEAD_BYTES;
    const t = body.write(shortText(batch.topics[i]!), p);
    p += t;
    const k = body.write(shortText(batch.keys[i]!), p);
    p += k;
    const id = body.write(shortText(batch.ids[i]!), p);
    p += id;
    const d = body.write(batch.docs[i]!, p);
    body.writeUInt16LE(t, at);
    body.writeUInt16LE(k, at + 2);
    body.writeUInt16LE(id, at + 4);
    body.writeUInt32LE(d, at + 6);
    at = p + d;
  }
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(n, 4);
  head.writeUInt32LE(length, 8);
  head.writeUInt32LE(crc32(body), 12);
  return [head, body];
}

export function readKafkaFrame(buf: Buffer, at: number): FrameRead<KafkaBatch> {
  if (buf.length - at < HEADER_BYTES) return { kind: 'short', size: 0 };
  if (buf.readUInt32LE(at) !== MAGIC) return { kind: 'damaged', reason: 'no frame starts here' };
  const n = buf.readUInt32LE(at + 4);
  const length = buf.readUInt32LE(at + 8);
  const size = HEADER_BYTES + length;
  if (n === 0 || length < RECORD_HEAD_BYTES * n || size > MAX_FRAME_BYTES) return { kind: 'damaged', reason: `impossible frame header (${n} records, ${length} bytes)` };
  if (buf.length - at < size) return { kind: 'short', size };
  const body = buf.subarray(at + HEADER_BYTES, at + size);
  if (crc32(body) !== buf.readUInt32LE(at + 12)) return { kind: 'damaged', reason: 'checksum mismatch' };
  const batch: KafkaBatch = { topics: new Array(n), keys: new Array(n), ids: new Array(n), docs: new Array(n) };
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (body.length - p < RECORD_HEAD_BYTES) return { kind: 'damaged', reason: 'the records end early' };
    const t = body.readUInt16LE(p);
    const k = body.readUInt16LE(p + 2);
    const id = body.readUInt16LE(p + 4);
    const d = body.readUInt32LE(p + 6);
    let q = p + RECORD_HEAD_BYTES;
    const end = q + t + k + id + d;
    if (end > body.length) return { kind: 'damaged', reason: 'a record runs past the frame' };
    batch.topics[i] = body.toString('utf8', q, (q += t));
    batch.keys[i] = body.toString('utf8', q, (q += k));
    batch.ids[i] = body.toString('utf8', q, (q += id));
    batch.docs[i] = body.toString('utf8', q, end);
    p = end;
  }
  if (p !== length) return { kind: 'damaged', reason: 'bytes after the last record' };
  return { kind: 'frame', value: batch, records: n, bytes: length, size };
}

/** The records from `from` to `to` (exclusive) of a batch. */
export function sliceKafkaBatch(batch: KafkaBatch, from: number, to: number): KafkaBatch {
  return { topics: batch.topics.slice(from, to), keys: batch.keys.slice(from, to), ids: batch.ids.slice(from, to), docs: batch.docs.slice(from, to) };
}

export function joinKafkaBatches(batches: readonly KafkaBatch[]): KafkaBatch {
  if (batches.length === 1) return batches[0]!;
  return {
    topics: batches.flatMap((b) => b.topics), keys: batches.flatMap((b) => b.keys),
    ids: batches.flatMap((b) => b.ids), docs: batches.flatMap((b) => b.docs),
  };
}

export const kafkaFrames: FrameCodec<KafkaBatch, KafkaBatch> = {
  magicPrefix: MAGIC_PREFIX,
  headerBytes: HEADER_BYTES,
  encode: encodeKafkaFrame,
  records: (batch) => batch.docs.length,
  read: readKafkaFrame,
  join: joinKafkaBatches,
  // The strings appended are what a frame reads back as: while the sender keeps up nothing is decoded again.
  readBack: (batch) => batch,
};
