/**
 * The Elasticsearch log output's disk buffer: the durable queue (delivery/durable-queue.ts) of bulk items, under
 * `SHIPWATCH_DATA_DIR/buffer/<output>/`. A batch is framed (./buffer-frame.ts) as the compact items a batch bound
 * for the buffer is encoded to (./compact-items.ts), or as the bulk items a failed request hands back; both are
 * read back as bulk items, several frames as one request's worth.
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
import type { CompactItems } from './compact-items.js';
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
}

/** Frames read together, acknowledged together. */
export interface BufferedRun {
  items: BulkItems;
  /** Marks the run done: it will not be replayed. Runs are acknowledged in order. */
  ack(): Promise<void>;
}

const bulkFrames: FrameCodec<BulkItems | CompactItems, BulkItems> = {
  magicPrefix: FRAME_MAGIC_PREFIX,
  headerBytes: FRAME_HEADER_BYTES,
  encode: encodeFrame,
  records: (items) => items.ends.length,
  read(buf: Buffer, at: number): FrameRead<BulkItems> {
    const f = readFrame(buf, at);
    return f.kind === 'frame' ? { kind: 'frame', value: f.items, records: f.items.ends.length, bytes: f.items.bytes.length, size: f.size } : f;
  },
  join: joinItems,
};

export class DiskBuffer {
  private constructor(private readonly queue: DurableQueue<BulkItems | CompactItems, BulkItems>) {}

  /** Opens (and recovers, migrating a previous-format buffer) the buffer of an output. */
  static async open(opts: DiskBufferOptions): Promise<DiskBuffer> {
    const queue = await DurableQueue.open({ ...opts, codec: bulkFrames });
    const buf = new DiskBuffer(queue);
    try {
      await buf.migrateLegacy(opts);
    } catch (err) {
      await queue.close();
      throw swError('SW_OUTPUT_FAILED', `cannot migrate the disk buffer in ${queue.dir}`, err);
    }
    return buf;
  }

  get isEmpty(): boolean {
    return this.queue.isEmpty;
  }

  get idle(): boolean {
    return this.queue.idle;
  }

  get sizeBytes(): number {
    return this.queue.sizeBytes;
  }

  /** Rewrites previous-format segments (from their saved read position) as frames, then deletes them. */
  private async migrateLegacy(opts: DiskBufferOptions): Promise<void> {
    const dir = this.queue.dir;
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
      if (read.frames.length > 0) await this.queue.appendFrames(read.frames, read.frames.reduce((sum, b) => sum + b.length, 0));
    }
    // Only once every frame is durable: a crash before this point migrates the old segments again (replayed twice,
    // overwritten by id in Elasticsearch), never loses them.
    await removeLegacySegments(dir, legacy);
    log.info('disk buffer of the previous format migrated', { output: opts.name, segments: legacy.length, records, unreadableLines: unreadable });
  }

  /**
   * Writes a batch to disk — as the compact items a batch bound for the buffer is encoded to, or as the bulk items a
   * failed request hands back — and waits for space when full, or drops it (counted) when configured so.
   */
  async append(items: BulkItems | CompactItems): Promise<'buffered' | 'dropped'> {
    return (await this.queue.append(items)) === 'queued' ? 'buffered' : 'dropped';
  }

  /** The oldest frames not yet acknowledged, up to `maxItems` items and `maxBytes` (at least one frame). */
  async next(limits: { maxItems: number; maxBytes: number }): Promise<BufferedRun | undefined> {
    const run = await this.queue.next({ maxRecords: limits.maxItems, maxBytes: limits.maxBytes });
    return run === undefined ? undefined : { items: run.value, ack: run.ack };
  }

  waitForData(): Promise<void> {
    return this.queue.waitForData();
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
