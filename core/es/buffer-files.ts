/**
 * The disk buffer's file access (./disk-buffer.ts): positioned reads, complete vectored writes, durable directory
 * entries, the saved read position, and reading segments of the previous format (`<seq>.ndjson`, one JSON array
 * of records per line, with `read-position.json`) for their migration.
 */
import { open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { describe, swError } from '../errors.js';
import { encodeFrame } from './buffer-frame.js';
import type { BulkItems } from './bulk-items.js';

const LEGACY_SEGMENT_RE = /^(\d{12})\.ndjson$/;
const LEGACY_POSITION_FILE = 'read-position.json';
/** Buffers per writev call, well under the system's IOV_MAX. */
const WRITEV_MAX_BUFFERS = 512;

/** A saved `{seq, offset}`; undefined when there is none or it is torn. */
export async function readPosition(file: string): Promise<{ seq: number; offset: number } | undefined> {
  try {
    const pos = JSON.parse(await readFile(file, 'utf8')) as { seq?: unknown; offset?: unknown };
    return typeof pos.seq === 'number' && typeof pos.offset === 'number' ? { seq: pos.seq, offset: pos.offset } : undefined;
  } catch (err) {
    // No saved position (or a torn one): the oldest segment is replayed from its start.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
    throw swError('SW_OUTPUT_FAILED', `cannot read ${file}: ${describe(err)}`, err);
  }
}

/** Up to `length` bytes at `offset`. */
export async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return bytesRead === length ? buf : buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Writes every byte of `buffers`, in order, at the file's end (it is opened for appending). */
export async function writeAll(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  for (let i = 0; i < buffers.length; i += WRITEV_MAX_BUFFERS) await writeSome(fh, buffers.slice(i, i + WRITEV_MAX_BUFFERS));
}

async function writeSome(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === 0) throw swError('SW_OUTPUT_FAILED', 'the disk buffer file took no bytes');
    // A short write (rare on a regular file): go on from where it stopped.
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) bytesWritten -= rest.shift()!.length;
    if (rest.length > 0 && bytesWritten > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)];
  }
}

/** Makes the directory's entries (a new segment's name) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The previous format's segment files, oldest first. */
export async function listLegacySegments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => LEGACY_SEGMENT_RE.test(n)).sort();
}

/**
 * One previous-format segment as frames, from its saved read position when it is the segment that position names.
 * A line `migrate` cannot read (a torn last line: it was never acknowledged to a source) is counted and left out.
 */
export async function readLegacySegment(
  dir: string, name: string, migrate: (line: string) => BulkItems | undefined,
): Promise<{ frames: Buffer[]; records: number; unreadableLines: number }> {
  const pos = await readPosition(path.join(dir, LEGACY_POSITION_FILE));
  const from = pos !== undefined && Number(LEGACY_SEGMENT_RE.exec(name)![1]) === pos.seq ? pos.offset : 0;
  const raw = await readFile(path.join(dir, name));
  const frames: Buffer[] = [];
  let records = 0;
  let unreadableLines = 0;
  for (const line of raw.subarray(from).toString('utf8').split('\n')) {
    if (line === '') continue;
    const items = migrate(line);
    if (items === undefined) unreadableLines++;
    else if (items.ends.length > 0) {
      frames.push(...encodeFrame(items));
      records += items.ends.length;
    }
  }
  return { frames, records, unreadableLines };
}

/** Deletes the migrated segments and their read position. */
export async function removeLegacySegments(dir: string, names: readonly string[]): Promise<void> {
  for (const n of names) await unlink(path.join(dir, n));
  await unlink(path.join(dir, LEGACY_POSITION_FILE)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw swError('SW_OUTPUT_FAILED', `cannot remove ${LEGACY_POSITION_FILE} in ${dir}`, err);
  });
}
