/**
 * The Elasticsearch log output's disk buffer: the durable queue (delivery/durable-queue.ts) of its delivery chain,
 * under `SHIPWATCH_DATA_DIR/buffer/<output>/`. A batch is framed (./buffer-frame.ts) as the compact items the
 * output encodes a batch to (./compact-items.ts), or as bulk items (frames of earlier versions); both are read back
 * as bulk items, several frames as one request's worth. While the chain keeps up, a batch this process wrote is
 * read back from memory, already expanded, instead of from the file (the durable queue's read-behind memory).
 *
 * Segments written by the previous format (`*.ndjson`, one JSON array of records per line) are migrated when the
 * buffer opens, through `migrateLegacyLine`: rewritten as frames, made durable, then deleted.
 */
import { swError } from '../../platform/errors.js';
import { silentLogger, type Logger } from '../../platform/log.js';
import type { Registry } from '../../platform/self-metrics.js';
import { DurableQueue, type FrameCodec, type FrameRead } from '../../delivery/durable-queue.js';
import { encodeFrame, FRAME_HEADER_BYTES, FRAME_MAGIC_PREFIX, readFrame } from './buffer-frame.js';
import { joinItems, type BulkItems } from './bulk-items.js';
import { expandItems, type CompactItems } from './compact-items.js';
import { listLegacySegments, readLegacySegment, removeLegacySegments } from './legacy-buffer.js';

export interface DiskBufferOptions {
  /** Output name: the folder and the `output` label. */
  name: string;
  dataDir: string;
  maxBytes: number;
  whenFull: 'block' | 'drop';
  /** Segment size at which a new file starts (default: an eighth of maxBytes, 1 KiB .. 16 MiB). */
  maxSegmentBytes?: number;
  registry: Registry;
  log?: Logger;
  /** One line of a previous-format segment (a JSON array of records) as items; undefined when it cannot be read. */
  migrateLegacyLine?: (line: string) => BulkItems | undefined;
  /** Records of this process's batches read back from memory rather than the file (default 0: off). */
  memoryRecords?: number;
}

export type DiskBuffer = DurableQueue<BulkItems | CompactItems, BulkItems>;

/** The buffer's frames: a frame's `bytes` (what a run's byte bound counts) are those of the bulk lines it stands for. */
export const bulkFrames: FrameCodec<BulkItems | CompactItems, BulkItems> = {
  magicPrefix: FRAME_MAGIC_PREFIX,
  headerBytes: FRAME_HEADER_BYTES,
  encode: encodeFrame,
  records: (items) => items.ends.length,
  read(buf: Buffer, at: number): FrameRead<BulkItems> {
    const f = readFrame(buf, at);
    return f.kind === 'frame' ? { kind: 'frame', value: f.items, records: f.items.ends.length, bytes: f.items.bytes.length, size: f.size } : f;
  },
  join: joinItems,
  // Compact items as the bulk lines they stand for, in a buffer of their own (the caller reuses the compact items'
  // buffer once they are written); bulk items (a migration's) are read from the file.
  readBack(items: BulkItems | CompactItems): BulkItems | undefined {
    if (!('heads' in items)) return undefined;
    const expanded = expandItems(items);
    return typeof expanded === 'string' ? undefined : expanded;
  },
};

/** Opens (and recovers, migrating a previous-format buffer) the disk buffer of an output. */
export async function openDiskBuffer(opts: DiskBufferOptions): Promise<DiskBuffer> {
  const queue = await DurableQueue.open({ ...opts, codec: bulkFrames });
  try {
    await migrateLegacy(queue, opts);
  } catch (err) {
    await queue.close();
    throw swError('SW_OUTPUT_FAILED', `cannot migrate the disk buffer in ${queue.dir}`, err);
  }
  return queue;
}

/** Rewrites previous-format segments (from their saved read position) as frames, then deletes them. */
async function migrateLegacy(queue: DiskBuffer, opts: DiskBufferOptions): Promise<void> {
  const dir = queue.dir;
  const log = opts.log ?? silentLogger;
  const legacy = await listLegacySegments(dir);
  if (legacy.length === 0) return;
  const migrate = opts.migrateLegacyLine;
  if (migrate === undefined) {
    log.warn('disk buffer holds segments of the previous format and no way to read them; left in place', { output: opts.name, segments: legacy.length });
    return;
  }
  let records = 0;
  let unreadable = 0;
  for (const file of legacy) {
    const read = await readLegacySegment(dir, file, migrate);
    records += read.records;
    unreadable += read.unreadableLines;
    if (read.frames.length > 0) await queue.appendFrames(read.frames, read.frames.reduce((sum, b) => sum + b.length, 0));
  }
  // Only once every frame is durable: a crash before this point migrates the old segments again (replayed twice,
  // overwritten by id in Elasticsearch), never loses them.
  await removeLegacySegments(dir, legacy);
  log.info('disk buffer of the previous format migrated', { output: opts.name, segments: legacy.length, records, unreadableLines: unreadable });
}
