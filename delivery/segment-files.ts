/**
 * The durable queue's file access (./durable-queue.ts): positioned reads, complete vectored writes, durable
 * directory entries and the saved read position.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { describe, swError } from '../platform/errors.js';

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
    if (bytesWritten === 0) throw swError('SW_OUTPUT_FAILED', 'the queue segment took no bytes');
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
