/**
 * The remote write output's durable queue frames (delivery/durable-queue.ts): a batch of series entries
 * (./remote-write-proto.ts), kept as the bytes that are sent, so reading frames back costs no encoding and a request
 * body is frames joined (entries concatenated are a WriteRequest). Little-endian:
 *
 *   0   u32  magic "SWP1"
 *   4   u32  series count n
 *   8   u32  byte length L of the entries
 *   12  u32  CRC-32 of those L bytes
 *   16  L bytes: n WriteRequest entries
 *
 * A frame cut short (a crash mid-write) or damaged (wrong magic, checksum or entry count) is told apart from a good
 * one, and the next good frame is found again by its magic. Pure: no I/O, never throws.
 */
import { crc32 } from 'node:zlib';
import type { FrameCodec, FrameRead } from '../../delivery/durable-queue.js';
import { entryEnds } from './remote-write-proto.js';

/** Series entries as they are sent: `series` entries end to end. */
export interface SeriesBatch {
  body: Buffer;
  series: number;
}

const HEADER_BYTES = 16;
const MAGIC_PREFIX = Buffer.from('SWP', 'latin1');
const MAGIC = Buffer.from('SWP1', 'latin1').readUInt32LE(0);
/** Far past any batch the output makes; a header above it is damage. */
const MAX_FRAME_BYTES = 1 << 30;

export function encodeSeriesFrame(entries: readonly Buffer[]): Buffer[] {
  const body = entries.length === 1 ? entries[0]! : Buffer.concat(entries);
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(entries.length, 4);
  head.writeUInt32LE(body.length, 8);
  head.writeUInt32LE(crc32(body), 12);
  return [head, body];
}

export function readSeriesFrame(buf: Buffer, at: number): FrameRead<SeriesBatch> {
  if (buf.length - at < HEADER_BYTES) return { kind: 'short', size: 0 };
  if (buf.readUInt32LE(at) !== MAGIC) return { kind: 'damaged', reason: 'no frame starts here' };
  const n = buf.readUInt32LE(at + 4);
  const length = buf.readUInt32LE(at + 8);
  const size = HEADER_BYTES + length;
  // The smallest entry (no label, one sample) is a dozen bytes.
  if (n === 0 || length < 2 * n || size > MAX_FRAME_BYTES) return { kind: 'damaged', reason: `impossible frame header (${n} series, ${length} bytes)` };
  if (buf.length - at < size) return { kind: 'short', size };
  const body = buf.subarray(at + HEADER_BYTES, at + size);
  if (crc32(body) !== buf.readUInt32LE(at + 12)) return { kind: 'damaged', reason: 'checksum mismatch' };
  const ends = entryEnds(body);
  if (typeof ends === 'string') return { kind: 'damaged', reason: ends };
  if (ends.length !== n) return { kind: 'damaged', reason: `${ends.length} series where the header says ${n}` };
  return { kind: 'frame', value: { body, series: n }, records: n, bytes: length, size };
}

/** The first `n` series of `batch` (0 < n < batch.series), and the rest; views of the same bytes. */
export function cutSeries(batch: SeriesBatch, n: number): [SeriesBatch, SeriesBatch] {
  const ends = entryEnds(batch.body) as number[];
  const at = ends[n - 1]!;
  return [{ body: batch.body.subarray(0, at), series: n }, { body: batch.body.subarray(at), series: batch.series - n }];
}

/** Each series entry of the batch on its own (views). */
export function seriesEntries(batch: SeriesBatch): Buffer[] {
  const ends = entryEnds(batch.body) as number[];
  return ends.map((end, i) => batch.body.subarray(i === 0 ? 0 : ends[i - 1]!, end));
}

export const seriesFrames: FrameCodec<readonly Buffer[], SeriesBatch> = {
  magicPrefix: MAGIC_PREFIX,
  headerBytes: HEADER_BYTES,
  encode: encodeSeriesFrame,
  records: (entries) => entries.length,
  read: readSeriesFrame,
  join: (batches) => ({ body: batches.length === 1 ? batches[0]!.body : Buffer.concat(batches.map((b) => b.body)), series: batches.reduce((n, b) => n + b.series, 0) }),
};
