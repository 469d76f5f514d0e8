/**
 * A bounded on-disk buffer of bulk items for one output (issue "Pilot delivery"), under
 * `SHIPWATCH_DATA_DIR/buffer/<output>/`.
 *
 * A batch is stored in a frame (./buffer-frame.ts) appended to numbered segment files — the documents and their ids
 * (./compact-items.ts), or the bytes its bulk request needs (./bulk-items.ts) — and read back oldest first, several
 * frames at a time, as one request's worth of bulk items. A segment is deleted once every frame in it is
 * acknowledged; the read position inside the oldest segment is saved after each acknowledgement, so a restart
 * replays only what was not yet acknowledged (a run whose acknowledgement was not saved is replayed, and its
 * deterministic ids make the replay overwrite, not duplicate).
 *
 * Appends are committed in groups: the frames of every append waiting while a write is under way are written
 * together and made durable by one fdatasync, and each of those appends resolves then. A source may save its
 * position behind a resolved append. (One fdatasync per batch, and batches kept as JSON, had made the buffered
 * path the slowest of the pilot: bench/pilot-pipeline, case es-buffer.)
 *
 * When the buffer holds `maxBytes`, `append` waits for space (back-pressure to the tail), unless configured to drop,
 * in which case the batch is dropped and counted. Torn or damaged frames are skipped on replay, reported and
 * counted; the frames after them are still read.
 *
 * Segments written by the previous format (`*.ndjson`, one JSON array of records per line) are migrated when the
 * buffer opens, through `migrateLegacyLine`: rewritten as frames, made durable, then deleted.
 */
import { mkdir, open, readdir, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Counter, Gauge } from 'prom-client';
import { swError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { counter, gauge, type Registry } from '../self-metrics.js';
import { listLegacySegments, readAt, readLegacySegment, readPosition, removeLegacySegments, syncDirectory, writeAll } from './buffer-files.js';
import { encodeFrame, findNextFrame, FRAME_HEADER_BYTES, readFrame } from './buffer-frame.js';
import { joinItems, type BulkItems } from './bulk-items.js';
import type { CompactItems } from './compact-items.js';

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

interface Segment {
  seq: number;
  file: string;
  bytes: number;
}

interface QueuedAppend {
  frame: Buffer[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const SEGMENT_RE = /^(\d{12})\.seg$/;
const POSITION_FILE = 'replay-position.json';
/** Bytes read from a segment at a time when replaying: about a request's worth of frames at the default bounds. */
const READ_CHUNK_BYTES = 1 << 20;

export class DiskBuffer {
  private segments: Segment[] = [];
  /** Bytes in segment files, and bytes of appends waiting for their group to be written. */
  private diskBytes = 0;
  private reservedBytes = 0;
  private writer: { seq: number; fh: FileHandle } | undefined;
  /** Byte offset of the next unacknowledged frame in the oldest segment. */
  private readOffset = 0;
  private queued: QueuedAppend[] = [];
  private committing: Promise<void> | undefined;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly dataWaiters: Array<() => void> = [];
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly log: Logger;
  private readonly dropped: Counter<'output'>;
  private readonly bufferedEvents: Counter<'output'>;
  private readonly skippedBytes: Counter<'output'>;
  private readonly syncs: Counter<'output'>;
  private readonly sizeGauge: Gauge<'output'>;

  private constructor(private readonly dir: string, private readonly opts: DiskBufferOptions) {
    const r = opts.registry;
    this.log = opts.log ?? silentLogger;
    this.dropped = counter(r, {
      name: 'shipwatch_buffer_dropped_events_total', help: 'Records dropped because the disk buffer was full and when_full=drop.', labelNames: ['output'] as const,
    });
    this.bufferedEvents = counter(r, {
      name: 'shipwatch_buffer_written_events_total', help: 'Records written to the disk buffer.', labelNames: ['output'] as const,
    });
    this.skippedBytes = counter(r, {
      name: 'shipwatch_buffer_skipped_bytes_total', help: 'Disk-buffer bytes skipped on replay because they were torn (a crash mid-write) or damaged.',
      labelNames: ['output'] as const,
    });
    this.syncs = counter(r, {
      name: 'shipwatch_buffer_syncs_total', help: 'Disk-buffer writes made durable (one fdatasync for each group of appends).', labelNames: ['output'] as const,
    });
    this.sizeGauge = gauge(r, { name: 'shipwatch_buffer_bytes', help: 'Bytes waiting in the disk buffer.', labelNames: ['output'] as const });
  }

  /** Opens (and recovers, migrating a previous-format buffer) the buffer of an output. */
  static async open(opts: DiskBufferOptions): Promise<DiskBuffer> {
    const dir = path.join(opts.dataDir, 'buffer', opts.name);
    try {
      await mkdir(dir, { recursive: true });
      const buf = new DiskBuffer(dir, opts);
      await buf.recover();
      await buf.migrateLegacy();
      return buf;
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `cannot open the disk buffer in ${dir}`, err);
    }
  }

  /** Nothing committed is left to replay. */
  get isEmpty(): boolean {
    return this.segments.length === 0 || (this.segments.length === 1 && this.readOffset >= this.segments[0]!.bytes);
  }

  /** Empty, and no append is waiting to be written either. */
  get idle(): boolean {
    return this.reservedBytes === 0 && this.isEmpty;
  }

  get sizeBytes(): number {
    return this.diskBytes + this.reservedBytes;
  }

  private get segmentLimit(): number {
    return this.opts.maxSegmentBytes ?? Math.max(1024, Math.min(16 * 1024 * 1024, Math.floor(this.opts.maxBytes / 8)));
  }

  private async recover(): Promise<void> {
    for (const n of (await readdir(this.dir)).filter((x) => SEGMENT_RE.test(x)).sort()) {
      const file = path.join(this.dir, n);
      const bytes = (await stat(file)).size;
      this.segments.push({ seq: Number(SEGMENT_RE.exec(n)![1]), file, bytes });
      this.diskBytes += bytes;
    }
    const pos = await readPosition(path.join(this.dir, POSITION_FILE));
    if (pos !== undefined && this.segments[0]?.seq === pos.seq) this.readOffset = pos.offset;
    this.updateGauge();
  }

  /** Rewrites previous-format segments (from their saved read position) as frames, then deletes them. */
  private async migrateLegacy(): Promise<void> {
    const legacy = await listLegacySegments(this.dir);
    if (legacy.length === 0) return;
    const migrate = this.opts.migrateLegacyLine;
    if (migrate === undefined) {
      this.log.warn('disk buffer holds segments of the previous format and no way to read them; left in place', { output: this.opts.name, segments: legacy.length });
      return;
    }
    let records = 0;
    let unreadable = 0;
    for (const file of legacy) {
      const read = await readLegacySegment(this.dir, file, migrate);
      records += read.records;
      unreadable += read.unreadableLines;
      if (read.frames.length > 0) {
        const bytes = read.frames.reduce((sum, b) => sum + b.length, 0);
        this.reservedBytes += bytes;
        await this.serial(() => this.writeGroup(read.frames, bytes));
      }
    }
    // Only once every frame is durable: a crash before this point migrates the old segments again (replayed twice,
    // overwritten by id in Elasticsearch), never loses them.
    await removeLegacySegments(this.dir, legacy);
    this.log.info('disk buffer of the previous format migrated', { output: this.opts.name, segments: legacy.length, records, unreadableLines: unreadable });
  }

  /**
   * Writes a batch to disk — as the compact items a batch bound for the buffer is encoded to, or as the bulk items a
   * failed request hands back; both are read back as bulk items — and waits for space when full, or drops it
   * (counted) when configured so.
   */
  async append(items: BulkItems | CompactItems): Promise<'buffered' | 'dropped'> {
    const n = items.ends.length;
    if (n === 0) return 'buffered';
    const frame = encodeFrame(items);
    const bytes = frame[0].length + frame[1].length;
    // A batch larger than the whole buffer is still accepted into an empty buffer, or it could never pass.
    while (!this.closed && this.sizeBytes > 0 && this.sizeBytes + bytes > this.opts.maxBytes) {
      if (this.opts.whenFull === 'drop') {
        this.dropped.inc({ output: this.opts.name }, n);
        return 'dropped';
      }
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    if (this.closed) throw swError('SW_OUTPUT_FAILED', `disk buffer of ${this.opts.name} is closed`);
    this.reservedBytes += bytes;
    await new Promise<void>((resolve, reject) => {
      this.queued.push({ frame, bytes, resolve, reject });
      this.committing ??= this.commit();
    });
    this.bufferedEvents.inc({ output: this.opts.name }, n);
    this.dataWaiters.splice(0).forEach((r) => r());
    return 'buffered';
  }

  /** Writes the queued appends in groups, one fdatasync per group, until none is left. */
  private async commit(): Promise<void> {
    while (this.queued.length > 0) {
      const group = this.queued;
      this.queued = [];
      const buffers: Buffer[] = [];
      let bytes = 0;
      for (const a of group) {
        buffers.push(...a.frame);
        bytes += a.bytes;
      }
      try {
        await this.serial(() => this.writeGroup(buffers, bytes));
        for (const a of group) a.resolve();
      } catch (err) {
        const failure = swError('SW_OUTPUT_FAILED', `cannot write to the disk buffer of ${this.opts.name}`, err);
        for (const a of group) a.reject(failure);
      }
    }
    this.committing = undefined;
  }

  /** Appends `buffers` (`bytes` reserved) to the newest segment, or a new one, and makes them durable. */
  private async writeGroup(buffers: Buffer[], bytes: number): Promise<void> {
    let seg = this.segments[this.segments.length - 1];
    try {
      if (seg === undefined || this.writer?.seq !== seg.seq || seg.bytes >= this.segmentLimit) {
        // After a restart a new segment is started: the newest one may end in a torn frame.
        await this.writer?.fh.close();
        this.writer = undefined;
        const seq = (seg?.seq ?? 0) + 1;
        const file = path.join(this.dir, `${String(seq).padStart(12, '0')}.seg`);
        const fh = await open(file, 'a');
        await syncDirectory(this.dir); // the new name survives a crash too
        this.writer = { seq, fh };
        seg = { seq, file, bytes: 0 };
        this.segments.push(seg);
      }
      const fh = this.writer!.fh;
      await writeAll(fh, buffers);
      await fh.datasync();
      this.syncs.inc({ output: this.opts.name });
    } catch (err) {
      this.reservedBytes -= bytes;
      if (seg !== undefined && this.writer?.seq === seg.seq) {
        // How much of the group reached the file is unknown: count what is there, and start a new segment next
        // time, so a torn frame can only be a segment's last.
        const size = (await stat(seg.file).catch(() => undefined))?.size ?? seg.bytes;
        this.diskBytes += size - seg.bytes;
        seg.bytes = size;
        await this.writer.fh.close().catch(() => undefined); // the write error is what is reported
        this.writer = undefined;
      }
      this.updateGauge();
      this.spaceWaiters.splice(0).forEach((r) => r());
      throw err;
    }
    seg.bytes += bytes;
    this.diskBytes += bytes;
    this.reservedBytes -= bytes;
    this.updateGauge();
  }

  /**
   * The oldest frames not yet acknowledged, together up to `maxItems` items and `maxBytes` (at least one frame), or
   * undefined when there is none right now. One consumer: it acknowledges a run before asking for the next.
   */
  async next(limits: { maxItems: number; maxBytes: number }): Promise<BufferedRun | undefined> {
    return this.serial(async () => {
      for (;;) {
        await this.dropFinishedHead();
        const seg = this.segments[0];
        if (seg === undefined || this.readOffset >= seg.bytes) return undefined;
        const run = await this.readRun(seg, limits);
        if (run !== undefined) return run;
      }
    });
  }

  /**
   * Frames from the read position, read a chunk at a time (a run is about one request: reading more ahead would be
   * read again for the next run); undefined when torn or damaged bytes were skipped instead (the caller reads on).
   */
  private async readRun(seg: Segment, limits: { maxItems: number; maxBytes: number }): Promise<BufferedRun | undefined> {
    const start = this.readOffset;
    /** The file offset of `chunk`'s first byte, and the next frame's offset in `chunk`. */
    let chunkAt = start;
    let chunk = await readAt(seg.file, start, Math.min(seg.bytes - start, READ_CHUNK_BYTES));
    let at = 0;
    const parts: BulkItems[] = [];
    let items = 0;
    let bytes = 0;
    while (chunkAt + at < seg.bytes && items < limits.maxItems && bytes < limits.maxBytes) {
      const f = readFrame(chunk, at);
      if (f.kind === 'frame') {
        if (parts.length > 0 && (items + f.items.ends.length > limits.maxItems || bytes + f.items.bytes.length > limits.maxBytes)) break;
        parts.push(f.items);
        items += f.items.ends.length;
        bytes += f.items.bytes.length;
        at += f.size;
        continue;
      }
      const need = f.kind === 'short' ? Math.max(f.size, FRAME_HEADER_BYTES) : 0;
      if (f.kind === 'short' && chunkAt + at + need <= seg.bytes) {
        // The frame goes on past this chunk, and the segment holds it: read on from the frame.
        chunkAt += at;
        at = 0;
        chunk = await readAt(seg.file, chunkAt, Math.min(seg.bytes - chunkAt, Math.max(READ_CHUNK_BYTES, need)));
        if (chunk.length >= need) continue;
      }
      if (parts.length > 0) break; // what was read goes first; the rest is looked at by the next call
      // A frame the segment ends inside (a crash mid-write), or damage: skip to the next intact frame, or the end.
      const rest = await readAt(seg.file, start, seg.bytes - start);
      const next = f.kind === 'damaged' ? findNextFrame(rest, 0) : -1;
      const skipped = next < 0 ? rest.length : next;
      this.skippedBytes.inc({ output: this.opts.name }, skipped);
      this.log.warn('disk buffer: torn or damaged bytes skipped', {
        output: this.opts.name, segment: path.basename(seg.file), offset: start, bytes: skipped, reason: f.kind === 'damaged' ? f.reason : 'the segment ends inside a frame',
      });
      await this.savePosition(seg.seq, start + skipped);
      return undefined;
    }
    const seq = seg.seq;
    const end = chunkAt + at;
    return { items: joinItems(parts), ack: () => this.ack(seq, end) };
  }

  /** Resolves when a batch is appended (or at once if one is waiting). */
  waitForData(): Promise<void> {
    if (!this.isEmpty || this.closed) return Promise.resolve();
    return new Promise((r) => this.dataWaiters.push(r));
  }

  /** Refuses new appends, lets the queued ones be written, closes the segment. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.spaceWaiters.splice(0).forEach((r) => r());
    this.dataWaiters.splice(0).forEach((r) => r());
    await this.committing;
    await this.serial(async () => {
      await this.writer?.fh.close();
      this.writer = undefined;
    });
  }

  private async ack(seq: number, endOffset: number): Promise<void> {
    await this.serial(() => this.savePosition(seq, endOffset));
  }

  /** Moves the read position (within the serial chain), deletes a finished head segment, saves the position. */
  private async savePosition(seq: number, endOffset: number): Promise<void> {
    if (this.segments[0]?.seq !== seq) return;
    this.readOffset = endOffset;
    await this.dropFinishedHead();
    const tmp = path.join(this.dir, `${POSITION_FILE}.tmp`);
    await writeFile(tmp, JSON.stringify({ seq: this.segments[0]?.seq ?? seq + 1, offset: this.readOffset }));
    await rename(tmp, path.join(this.dir, POSITION_FILE));
  }

  /** Deletes the oldest segment once it is read to its end. */
  private async dropFinishedHead(): Promise<void> {
    const seg = this.segments[0];
    if (seg === undefined || this.readOffset < seg.bytes) return;
    if (this.writer?.seq === seg.seq) {
      // The segment being filled is read to its end: close it too, the next append starts a new one.
      await this.writer.fh.close();
      this.writer = undefined;
    }
    await unlink(seg.file);
    this.segments.shift();
    this.diskBytes -= seg.bytes;
    this.readOffset = 0;
    this.updateGauge();
    this.spaceWaiters.splice(0).forEach((r) => r());
  }

  private updateGauge(): void {
    this.sizeGauge.set({ output: this.opts.name }, this.diskBytes);
  }

  /** File operations run one at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
