/**
 * The InfluxDB output's durable queue frames (delivery/durable-queue.ts): a batch of line protocol lines, kept as
 * the bytes that are sent, so that reading frames back costs no encoding and a request body is frames joined.
 * Little-endian:
 *
 *   0   u32  magic "SWL1"
 *   4   u32  line count n
 *   8   u32  byte length L of the lines
 *   12  u32  CRC-32 of those L bytes
 *   16  L bytes: n lines, each ending in `\n` (a serialised line holds no raw newline)
 *
 * A frame cut short (a crash mid-write) or damaged (wrong magic, checksum or line count) is told apart from a good
 * one, and the next good frame is found again by its magic. Pure: no I/O, never throws.
 */
import { crc32 } from 'node:zlib';
import type { FrameCodec, FrameRead } from '../../delivery/durable-queue.js';

/** Lines as they are sent: `n` lines, each ending in `\n`. */
export interface LineBatch {
  body: Buffer;
  lines: number;
}

const HEADER_BYTES = 16;
const MAGIC_PREFIX = Buffer.from('SWL', 'latin1');
const MAGIC = Buffer.from('SWL1', 'latin1').readUInt32LE(0);
const NEWLINE = 0x0a;
/** Far past any batch the output makes; a header above it is damage. */
const MAX_FRAME_BYTES = 1 << 30;

export function encodeLineFrame(lines: readonly string[]): Buffer[] {
  const body = Buffer.from(lines.join('\n') + '\n', 'utf8');
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(lines.length, 4);
  head.writeUInt32LE(body.length, 8);
  head.writeUInt32LE(crc32(body), 12);
  return [head, body];
}

export function readLineFrame(buf: Buffer, at: number): FrameRead<LineBatch> {
  if (buf.length - at < HEADER_BYTES) return { kind: 'short', size: 0 };
  if (buf.readUInt32LE(at) !== MAGIC) return { kind: 'damaged', reason: 'no frame starts here' };
  const n = buf.readUInt32LE(at + 4);
  const length = buf.readUInt32LE(at + 8);
  const size = HEADER_BYTES + length;
  if (n === 0 || length < 2 * n || size > MAX_FRAME_BYTES) return { kind: 'damaged', reason: `impossible frame header (${n} lines, ${length} bytes)` };
  if (buf.length - at < size) return { kind: 'short', size };
  const body = buf.subarray(at + HEADER_BYTES, at + size);
  if (crc32(body) !== buf.readUInt32LE(at + 12)) return { kind: 'damaged', reason: 'checksum mismatch' };
  if (body[body.length - 1] !== NEWLINE) return { kind: 'damaged', reason: 'the lines do not end in a newline' };
  return { kind: 'frame', value: { body, lines: n }, records: n, bytes: length, size };
}

/** The first `n` lines of `batch` (0 < n < batch.lines), and the rest; views of the same bytes. */
export function cutLines(batch: LineBatch, n: number): [LineBatch, LineBatch] {
  let at = 0;
  for (let i = 0; i < n; i++) at = batch.body.indexOf(NEWLINE, at) + 1;
  return [{ body: batch.body.subarray(0, at), lines: n }, { body: batch.body.subarray(at), lines: batch.lines - n }];
}

export const lineFrames: FrameCodec<readonly string[], LineBatch> = {
  magicPrefix: MAGIC_PREFIX,
  headerBytes: HEADER_BYTES,
  encode: encodeLineFrame,
  records: (lines) => lines.length,
  read: readLineFrame,
  join: (batches) => ({ body: Buffer.concat(batches.map((b) => b.body)), lines: batches.reduce((n, b) => n + b.lines, 0) }),
};
