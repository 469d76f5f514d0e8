/**
 * The Elasticsearch log output's disk buffer: the durable queue (delivery/durable-queue.ts) of its delivery chain,
 * under `SHIPWATCH_DATA_DIR/buffer/<output>/`. A batch is framed (./buffer-frame.ts) as the compact items the
 * output encodes a batch to (./compact-items.ts), or as bulk items (frames of earlier versions); both are read back
 * as an item run (./item-run.ts): several frames as one run, each expanded once, into its request's body. While the
 * chain keeps up, a batch this process wrote is read back from memory, as it was encoded, instead of from the file
 * (the durable queue's read-behind memory).
 *
 * Segments written by the previous format (`*.ndjson`, one JSON array of records per line) are migrated when the
 * buffer opens, through `migrateLegacyLine`: rewritten as frames, made durable, then deleted.
 */
import { swError } from '../../platform/errors.js';
import { silentLogger, type Logger } from '../../platform/log.js';
import type { Registry } from '../../platform/self-metrics.js';
import { DurableQueue, type FrameCodec, type FrameRead } from '../../delivery/durable-queue.js';
import { encodeFrame, FRAME_HEADER_BYTES, FRAME_MAGIC_PREFIX, readFrame } from './buffer-frame.js';
import type { BulkItems } from './bulk-items.js';
import type { CompactItems } from './compact-items.js';
import { ItemRun, runPart } from './item-run.js';
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

export type DiskBuffer = DurableQueue<BulkItems | CompactItems, ItemRun>;

/** Compact items the read-behind memory holds: their buffer is the queue's until read, not the encoder's to reuse. */
const heldInMemory = new WeakSet<CompactItems>();

/**
 * The buffer's frames, read back as item runs (./item-run.ts): a frame's `bytes` (what a run's byte bound counts)
 * are those of the bulk lines it stands for; frames read together are joined as parts, nothing copied.
 */
export const bulkFrames: FrameCodec<BulkItems | CompactItems, ItemRun> = {
  magicPrefix: FRAME_MAGIC_PREFIX,
  headerBytes: FRAME_HEADER_BYTES,
  encode: encodeFrame,
  records: (items) => items.ends.length,
  read(buf: Buffer, at: number): FrameRead<ItemRun> {
    const f = readFrame(buf, at);
    if (f.kind !== 'frame') return f;
    const part = runPart(f.items);
    if (typeof part === 'string') return { kind: 'damaged', reason: part };
    const run = new ItemRun([part]);
    return { kind: 'frame', value: run, records: run.records, bytes: run.byteLength, size: f.size };
  },
  join: ItemRun.join,
  // Compact items as they are: expanded once, into the request that sends them. Bulk items (a migration's) are
  // read from the file.
  readBack(items: BulkItems | CompactItems): ItemRun | undefined {
    if (!('heads' in items)) return undefined;
    const part = runPart(items);
    if (typeof part === 'string') return undefined;
    heldInMemory.add(items);
    return new ItemRun([part]);
  },
};

/** The queue's read-behind memory holds these items: the encoder must not reuse their buffer. */
export function heldByBuffer(items: BulkItems | CompactItems): boolean {
  return 'heads' in items && heldInMemory.has(items);
}

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
