/**
 * A bounded on-disk queue of batches for one output, under `SHIPWATCH_DATA_DIR/buffer/<output>/`: what every
 * output that must survive an outage or a crash keeps between accepting a batch and the backend acknowledging it.
 * What a batch is and how it is framed is the output's (a FrameCodec); how frames are kept, made durable, read
 * back, acknowledged and recovered is this file's.
 *
 * Frames are appended to numbered segment files and read back oldest first, several at a time, as one run. A
 * segment is deleted once every frame in it is acknowledged; the read position inside the oldest segment is saved
 * after each acknowledgement, so a restart replays only what was not yet acknowledged (at least once: an output
 * makes a replay harmless with deterministic ids).
 *
 * Durability: appends are committed in groups. The frames of every append waiting while a write is under way are
 * written together and made durable by one fdatasync, and each of those appends resolves then; a source may
 * acknowledge its sender (or save its position) behind a resolved append. (One fdatasync per batch made the
 * buffered log path the slowest of the pilot: docs/design/durable-queue.md.)
 *
 * Read-behind memory: a batch this process appended is kept in memory too, up to `memoryRecords` records, and read
 * back from there — not from the file, without its checksum or its frames decoded again — while the reader keeps up.
 * The disk still holds every frame until it is acknowledged; only a restart, or a reader far behind (an outage),
 * reads the file (docs/design/durable-queue.md).
 *
 * When the queue holds `maxBytes`, `append` waits for space (back-pressure), unless configured to drop, in which
 * case the batch is dropped and counted. Torn or damaged bytes (a crash mid-write, a bad disk) are skipped on
 * replay, copied aside into `damaged/` beside the segments, logged and counted; the frames after them are still
 * read, so a damaged segment never stops delivery or makes a crash loop.
 */
import { mkdir, open, readdir, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Counter, Gauge } from 'prom-client';
import { describe, swError } from '../platform/errors.js';
import { silentLogger, type Logger } from '../platform/log.js';
import { counter, gauge, type Registry } from '../platform/self-metrics.js';
import { readAt, readPosition, syncDirectory, writeAll } from './segment-files.js';

/** What reading a frame at an offset found. */
export type FrameRead<T> =
  | { kind: 'frame'; value: T; records: number; bytes: number; size: number }
  /** The buffer ends inside the frame; `size` is the whole frame's size when its header could be read, else 0. */
  | { kind: 'short'; size: number }
  | { kind: 'damaged'; reason: string };

/** How an output's batches are framed on disk. Pure: no I/O, never throws. */
export interface FrameCodec<In, Out> {
  /** Bytes every frame starts with: how the next intact frame is found again after damage. */
  readonly magicPrefix: Buffer;
  /** The fewest bytes a frame's header needs to tell its size. */
  readonly headerBytes: number;
  /** A batch's frame, as buffers written one after the other. */
  encode(batch: In): Buffer[];
  /** Records in a batch (what the counters count). */
  records(batch: In): number;
  /** The frame at `at` in `buf`. */
  read(buf: Buffer, at: number): FrameRead<Out>;
  /** Frames read together, as one value. */
  join(values: Out[]): Out;
  /**
   * What an appended batch reads back as, for the read-behind memory (without it the memory is off): the same
   * value the frames decode to, or undefined when this batch must be read from the file.
   */
  readBack?(batch: In): Out | undefined;
}

export interface DurableQueueOptions<In, Out> {
  /** Output name: the folder and the `output` label. */
  name: string;
  dataDir: string;
  /** The disk budget. */
  maxBytes: number;
  whenFull: 'block' | 'drop';
  /** Segment size at which a new file starts (default: an eighth of maxBytes, 1 KiB .. 16 MiB). */
  maxSegmentBytes?: number;
  codec: FrameCodec<In, Out>;
  /** Records of batches appended by this process kept in memory to be read back from there (default 0: off). */
  memoryRecords?: number;
  registry: Registry;
  log?: Logger;
}

/** Frames read together, acknowledged together. */
export interface QueuedRun<Out> {
  value: Out;
  records: number;
  /**
   * Some of its frames were written before this process opened the queue: they may have reached the backend already
   * (a crash between delivery and acknowledgement), for a sink without deterministic ids to check.
   */
  replayed?: boolean;
  /** Marks the run done: it will not be replayed. Runs are acknowledged in order. */
  ack(): Promise<void>;
}

interface Segment {
  seq: number;
  file: string;
  bytes: number;
  recovered?: boolean;
}

interface QueuedAppend {
  frame: Buffer[];
  bytes: number;
  /** Kept for the read-behind memory once placed in a segment. */
  readBack?: { value: unknown; records: number };
  resolve: () => void;
  reject: (err: Error) => void;
}

const SEGMENT_RE = /^(\d{12})\.seg$/;
const POSITION_FILE = 'replay-position.json';
const DAMAGED_DIR = 'damaged';
/** Bytes read from a segment at a time when replaying: about a request's worth of frames at the default bounds. */
const READ_CHUNK_BYTES = 1 << 20;

export class DurableQueue<In, Out> {
  private segments: Segment[] = [];
  /** Bytes in segment files, and bytes of appends waiting for their group to be written. */
  private diskBytes = 0;
  private reservedBytes = 0;
  private writer: { seq: number; fh: FileHandle } | undefined;
  /** Byte offset of the next unacknowledged frame in the oldest segment. */
  private readOffset = 0;
  /** The highest segment number seen or made. */
  private lastSeq = 0;
  private queued: QueuedAppend[] = [];
  /** Read-behind memory: appended batches by `seq:offset` of their first frame, and the records it holds. */
  private readonly memory = new Map<string, { seq: number; offset: number; value: Out; records: number; size: number }>();
  private memoryRecords = 0;
  private committing: Promise<void> | undefined;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly dataWaiters: Array<() => void> = [];
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly log: Logger;
  private readonly codec: FrameCodec<In, Out>;
  private readonly dropped: Counter<'output'>;
  private readonly writtenRecords: Counter<'output'>;
  private readonly skippedBytes: Counter<'output'>;
  private readonly syncs: Counter<'output'>;
  private readonly sizeGauge: Gauge<'output'>;

  private constructor(readonly dir: string, private readonly opts: DurableQueueOptions<In, Out>) {
    const r = opts.registry;
    this.log = opts.log ?? silentLogger;
    this.codec = opts.codec;
    this.dropped = counter(r, {
      name: 'shipwatch_buffer_dropped_events_total', help: 'Records dropped because the disk buffer was full and when_full=drop.', labelNames: ['output'] as const,
    });
    this.writtenRecords = counter(r, {
      name: 'shipwatch_buffer_written_events_total', help: 'Records written to the disk buffer.', labelNames: ['output'] as const,
    });
    this.skippedBytes = counter(r, {
      name: 'shipwatch_buffer_skipped_bytes_total',
      help: 'Disk-buffer bytes skipped on replay because they were torn (a crash mid-write) or damaged; copied aside into damaged/.',
      labelNames: ['output'] as const,
    });
    this.syncs = counter(r, {
      name: 'shipwatch_buffer_syncs_total', help: 'Disk-buffer writes made durable (one fdatasync for each group of appends).', labelNames: ['output'] as const,
    });
    this.sizeGauge = gauge(r, { name: 'shipwatch_buffer_bytes', help: 'Bytes waiting in the disk buffer.', labelNames: ['output'] as const });
  }

  /** Opens (and recovers) the queue of an output. */
  static async open<In, Out>(opts: DurableQueueOptions<In, Out>): Promise<DurableQueue<In, Out>> {
    const dir = path.join(opts.dataDir, 'buffer', opts.name);
    try {
      await mkdir(dir, { recursive: true });
      const queue = new DurableQueue(dir, opts);
      await queue.recover();
      return queue;
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

  /** How full the disk budget is, 0..1 (and past 1 for a batch larger than the whole budget). */
  get fill(): number {
    return this.sizeBytes / this.opts.maxBytes;
  }

  private get segmentLimit(): number {
    return this.opts.maxSegmentBytes ?? Math.max(1024, Math.min(16 * 1024 * 1024, Math.floor(this.opts.maxBytes / 8)));
  }

  private async recover(): Promise<void> {
    for (const n of (await readdir(this.dir)).filter((x) => SEGMENT_RE.test(x)).sort()) {
      const file = path.join(this.dir, n);
      const bytes = (await stat(file)).size;
      // Written by an earlier process (this one appends to new segments only).
      this.segments.push({ seq: Number(SEGMENT_RE.exec(n)![1]), file, bytes, recovered: true });
      this.lastSeq = Math.max(this.lastSeq, this.segments[this.segments.length - 1]!.seq);
      this.diskBytes += bytes;
    }
    const pos = await readPosition(path.join(this.dir, POSITION_FILE));
    if (pos !== undefined && this.segments[0]?.seq === pos.seq) this.readOffset = pos.offset;
    this.updateGauge();
  }

  /**
   * Writes a batch to disk and resolves once it is durable; waits for space when full, or drops the batch (counted)
   * when configured so. `refuseWhenFull`: answers 'full' at once instead, the batch neither kept nor counted (a
   * source that can tell its sender to come back later).
   */
  async append(batch: In, options?: { refuseWhenFull?: boolean }): Promise<'queued' | 'dropped' | 'full'> {
    const n = this.codec.records(batch);
    if (n === 0) return 'queued';
    const frame = this.codec.encode(batch);
    let bytes = 0;
    for (const b of frame) bytes += b.length;
    // A batch larger than the whole budget is still accepted into an empty queue, or it could never pass.
    while (!this.closed && this.sizeBytes > 0 && this.sizeBytes + bytes > this.opts.maxBytes) {
      if (options?.refuseWhenFull === true) return 'full';
      if (this.opts.whenFull === 'drop') {
        this.dropped.inc({ output: this.opts.name }, n);
        return 'dropped';
      }
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    const value = this.codec.readBack !== undefined && this.memoryRecords + n <= (this.opts.memoryRecords ?? 0) ? this.codec.readBack(batch) : undefined;
    if (value !== undefined) this.memoryRecords += n;
    await this.appendFrames(frame, bytes, value === undefined ? undefined : { value, records: n });
    this.writtenRecords.inc({ output: this.opts.name }, n);
    return 'queued';
  }

  /** Frames already encoded (a migration's), written whatever the budget, resolved once durable. */
  async appendFrames(frame: Buffer[], bytes: number, readBack?: QueuedAppend['readBack']): Promise<void> {
    if (this.closed) {
      if (readBack !== undefined) this.memoryRecords -= readBack.records;
      throw swError('SW_OUTPUT_FAILED', `disk buffer of ${this.opts.name} is closed`);
    }
    this.reservedBytes += bytes;
    await new Promise<void>((resolve, reject) => {
      this.queued.push({ frame, bytes, resolve, reject, readBack });
      this.committing ??= this.commit();
    });
    this.dataWaiters.splice(0).forEach((r) => r());
  }

  /** Writes the queued appends in groups, one fdatasync per group, until none is left. */
  private async commit(): Promise<void> {
    while (this.queued.length > 0) {
      const group = this.queued;
      this.queued = [];
      const buffers: Buffer[] = [];
      let bytes = 0;
      for (const a of group) {
        for (const b of a.frame) buffers.push(b);
        bytes += a.bytes;
      }
      try {
        await this.serial(() => this.writeGroup(buffers, bytes, (seq, offset) => this.remember(group, seq, offset)));
        for (const a of group) a.resolve();
      } catch (err) {
        const failure = swError('SW_OUTPUT_FAILED', `cannot write to the disk buffer of ${this.opts.name}`, err);
        for (const a of group) {
          if (a.readBack !== undefined) this.memoryRecords -= a.readBack.records;
          a.reject(failure);
        }
      }
    }
    this.committing = undefined;
  }

  /** Puts a written group's batches in the read-behind memory, by where each begins. */
  private remember(group: QueuedAppend[], seq: number, offset: number): void {
    for (const a of group) {
      if (a.readBack !== undefined) this.memory.set(`${seq}:${offset}`, { seq, offset, value: a.readBack.value as Out, records: a.readBack.records, size: a.bytes });
      offset += a.bytes;
    }
  }

  /** Takes a batch out of the read-behind memory. */
  private recall(seq: number, offset: number): void {
    const key = `${seq}:${offset}`;
    const kept = this.memory.get(key);
    if (kept === undefined) return;
    this.memory.delete(key);
    this.memoryRecords -= kept.records;
  }

  /**
   * Forgets the batches before the read position: read from the file after all (the memory was full for one before
   * them), or skipped as damage. The memory is in file order, so the oldest come first.
   */
  private forgetBefore(seq: number, offset: number): void {
    for (const kept of this.memory.values()) {
      if (kept.seq > seq || (kept.seq === seq && kept.offset >= offset)) return;
      this.recall(kept.seq, kept.offset);
    }
  }

  /**
   * Appends `buffers` (`bytes` reserved) to the newest segment, or a new one, and makes them durable; `placed` is
   * told where they begin.
   */
  private async writeGroup(buffers: Buffer[], bytes: number, placed?: (seq: number, offset: number) => void): Promise<void> {
    let seg = this.segments[this.segments.length - 1];
    try {
      if (seg === undefined || this.writer?.seq !== seg.seq || seg.bytes >= this.segmentLimit) {
        // After a restart a new segment is started: the newest one may end in a torn frame.
        await this.writer?.fh.close();
        this.writer = undefined;
        // Never a name used before in this process: a position saved for a deleted segment must not match a new one.
        const seq = Math.max(seg?.seq ?? 0, this.lastSeq) + 1;
        this.lastSeq = seq;
        const file = path.join(this.dir, `${String(seq).padStart(12, '0')}.seg`);
        const fh = await open(file, 'a');
        await syncDirectory(this.dir); // the new name survives a crash too
        this.writer = { seq, fh };
        seg = { seq, file, bytes: 0 };
        this.segments.push(seg);
      }
      const fh = this.writer!.fh;
      const offset = seg.bytes;
      await writeAll(fh, buffers);
      await fh.datasync();
      this.syncs.inc({ output: this.opts.name });
      placed?.(seg.seq, offset);
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
   * The oldest frames not yet acknowledged, together up to `maxRecords` records and `maxBytes` (at least one
   * frame), or undefined when there is none right now. One consumer: it acknowledges a run before asking for the next.
   */
  async next(limits: { maxRecords: number; maxBytes: number }): Promise<QueuedRun<Out> | undefined> {
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
  private async readRun(seg: Segment, limits: { maxRecords: number; maxBytes: number }): Promise<QueuedRun<Out> | undefined> {
    const start = this.readOffset;
    const fromMemory = this.readFromMemory(seg, start, limits);
    if (fromMemory !== undefined) return fromMemory;
    /** The file offset of `chunk`'s first byte, and the next frame's offset in `chunk`. */
    let chunkAt = start;
    let chunk = await readAt(seg.file, start, Math.min(seg.bytes - start, READ_CHUNK_BYTES));
    let at = 0;
    const parts: Out[] = [];
    let records = 0;
    let bytes = 0;
    while (chunkAt + at < seg.bytes && records < limits.maxRecords && bytes < limits.maxBytes) {
      const f = this.codec.read(chunk, at);
      if (f.kind === 'frame') {
        if (parts.length > 0 && (records + f.records > limits.maxRecords || bytes + f.bytes > limits.maxBytes)) break;
        parts.push(f.value);
        records += f.records;
        bytes += f.bytes;
        at += f.size;
        continue;
      }
      const need = f.kind === 'short' ? Math.max(f.size, this.codec.headerBytes) : 0;
      if (f.kind === 'short' && chunkAt + at + need <= seg.bytes) {
        // The frame goes on past this chunk, and the segment holds it: read on from the frame.
        chunkAt += at;
        at = 0;
        chunk = await readAt(seg.file, chunkAt, Math.min(seg.bytes - chunkAt, Math.max(READ_CHUNK_BYTES, need)));
        if (chunk.length >= need) continue;
      }
      if (parts.length > 0) break; // what was read goes first; the rest is looked at by the next call
      await this.skipDamage(seg, start, f.kind === 'damaged' ? f.reason : 'the segment ends inside a frame', f.kind === 'damaged');
      return undefined;
    }
    const seq = seg.seq;
    const end = chunkAt + at;
    return { value: parts.length === 1 ? parts[0]! : this.codec.join(parts), records, replayed: seg.recovered === true, ack: () => this.ack(seq, end) };
  }

  /** The batches at the read position that are in the read-behind memory, as a run; undefined when the first is not. */
  private readFromMemory(seg: Segment, start: number, limits: { maxRecords: number; maxBytes: number }): QueuedRun<Out> | undefined {
    const parts: Out[] = [];
    let records = 0;
    let bytes = 0;
    let at = start;
    while (at < seg.bytes && records < limits.maxRecords && bytes < limits.maxBytes) {
      const key = `${seg.seq}:${at}`;
      const kept = this.memory.get(key);
      if (kept === undefined) break;
      if (parts.length > 0 && (records + kept.records > limits.maxRecords || bytes + kept.size > limits.maxBytes)) break;
      this.recall(seg.seq, at);
      parts.push(kept.value);
      records += kept.records;
      bytes += kept.size;
      at += kept.size;
    }
    if (parts.length === 0) return undefined;
    const seq = seg.seq;
    return { value: parts.length === 1 ? parts[0]! : this.codec.join(parts), records, ack: () => this.ack(seq, at) };
  }

  /** Skips from `start` to the next intact frame (or the segment's end), keeping the skipped bytes aside. */
  private async skipDamage(seg: Segment, start: number, reason: string, damaged: boolean): Promise<void> {
    const rest = await readAt(seg.file, start, seg.bytes - start);
    const next = damaged ? this.findNextFrame(rest) : -1;
    const skipped = next < 0 ? rest.length : next;
    this.skippedBytes.inc({ output: this.opts.name }, skipped);
    const aside = await this.keepAside(seg, start, rest.subarray(0, skipped));
    this.log.warn('disk buffer: torn or damaged bytes skipped', {
      output: this.opts.name, segment: path.basename(seg.file), offset: start, bytes: skipped, reason, keptIn: aside,
    });
    await this.savePosition(seg.seq, start + skipped);
  }

  /** The offset of the next whole, intact frame after the first byte of `buf`, or -1. */
  private findNextFrame(buf: Buffer): number {
    const prefix = this.codec.magicPrefix;
    for (let at = buf.indexOf(prefix, 1); at >= 0; at = buf.indexOf(prefix, at + 1)) {
      if (this.codec.read(buf, at).kind === 'frame') return at;
    }
    return -1;
  }

  /** Copies skipped bytes into damaged/ for a person to look at; a failure to do so is logged, never fatal. */
  private async keepAside(seg: Segment, offset: number, bytes: Buffer): Promise<string | undefined> {
    const name = `${path.basename(seg.file, '.seg')}-${offset}.bin`;
    try {
      await mkdir(path.join(this.dir, DAMAGED_DIR), { recursive: true });
      await writeFile(path.join(this.dir, DAMAGED_DIR, name), bytes);
      return path.join(DAMAGED_DIR, name);
    } catch (err) {
      this.log.warn('disk buffer: damaged bytes could not be kept aside', { output: this.opts.name, err: describe(err) });
      return undefined;
    }
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
    this.forgetBefore(seq, endOffset);
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
