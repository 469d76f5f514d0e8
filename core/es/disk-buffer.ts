/**
 * A bounded on-disk buffer of log batches for one output (issue "Pilot delivery"), under
 * `SHIPWATCH_DATA_DIR/buffer/<output>/`.
 *
 * Batches are appended as lines (one JSON array of LogEvents per line) to numbered segment files and read back
 * oldest first. A segment is deleted once every batch in it is acknowledged; the read position inside the oldest
 * segment is saved after each acknowledgement, so a restart replays only what was not yet acknowledged (a batch whose
 * acknowledgement was not saved is replayed, and its deterministic ids make the replay overwrite, not duplicate).
 *
 * When the buffer holds `maxBytes`, `append` waits for space (back-pressure to the tail), unless configured to drop,
 * in which case the batch is dropped and counted. An append resolves once the batch is on disk (fdatasync), so a
 * source may save its position behind it.
 */
import { open, mkdir, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Counter, Gauge } from 'prom-client';
import { swError } from '../errors.js';
import type { LogEvent } from '../model/log-record.js';
import { counter, gauge, type Registry } from '../self-metrics.js';

export interface DiskBufferOptions {
  /** Output name: the folder and the `output` label. */
  name: string;
  dataDir: string;
  maxBytes: number;
  whenFull: 'block' | 'drop';
  /** Segment size at which a new file starts (default: an eighth of maxBytes, 1 KiB .. 16 MiB). */
  maxSegmentBytes?: number;
  registry: Registry;
}

export interface BufferedBatch {
  events: LogEvent[];
  /** Marks the batch done: it will not be replayed. Batches are acknowledged in order. */
  ack(): Promise<void>;
}

interface Segment {
  seq: number;
  file: string;
  bytes: number;
}

const SEGMENT_RE = /^(\d{12})\.ndjson$/;
const POSITION_FILE = 'read-position.json';

export class DiskBuffer {
  private segments: Segment[] = [];
  private totalBytes = 0;
  private writer: { seq: number; fh: FileHandle } | undefined;
  /** Byte offset of the next unread batch in the oldest segment, and the batches read ahead of acknowledgement. */
  private readOffset = 0;
  private loaded: { seq: number; lines: string[]; offsets: number[]; next: number } | undefined;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly dataWaiters: Array<() => void> = [];
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly dropped: Counter<'output'>;
  private readonly bufferedEvents: Counter<'output'>;
  private readonly sizeGauge: Gauge<'output'>;

  private constructor(private readonly dir: string, private readonly opts: DiskBufferOptions) {
    const r = opts.registry;
    this.dropped = counter(r, {
      name: 'shipwatch_buffer_dropped_events_total', help: 'Records dropped because the disk buffer was full and when_full=drop.', labelNames: ['output'] as const,
    });
    this.bufferedEvents = counter(r, {
      name: 'shipwatch_buffer_written_events_total', help: 'Records written to the disk buffer.', labelNames: ['output'] as const,
    });
    this.sizeGauge = gauge(r, { name: 'shipwatch_buffer_bytes', help: 'Bytes waiting in the disk buffer.', labelNames: ['output'] as const });
  }

  /** Opens (and recovers) the buffer of an output. */
  static async open(opts: DiskBufferOptions): Promise<DiskBuffer> {
    const dir = path.join(opts.dataDir, 'buffer', opts.name);
    try {
      await mkdir(dir, { recursive: true });
      const buf = new DiskBuffer(dir, opts);
      await buf.recover();
      return buf;
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `cannot open the disk buffer in ${dir}`, err);
    }
  }

  get isEmpty(): boolean {
    return this.segments.length === 0 || (this.segments.length === 1 && this.readOffset >= this.segments[0]!.bytes);
  }

  get sizeBytes(): number {
    return this.totalBytes;
  }

  private get segmentLimit(): number {
    return this.opts.maxSegmentBytes ?? Math.max(1024, Math.min(16 * 1024 * 1024, Math.floor(this.opts.maxBytes / 8)));
  }

  private async recover(): Promise<void> {
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    for (const n of names) {
      const file = path.join(this.dir, n);
      const bytes = (await stat(file)).size;
      this.segments.push({ seq: Number(SEGMENT_RE.exec(n)![1]), file, bytes });
      this.totalBytes += bytes;
    }
    try {
      const pos = JSON.parse(await readFile(path.join(this.dir, POSITION_FILE), 'utf8')) as { seq: number; offset: number };
      if (this.segments[0]?.seq === pos.seq) this.readOffset = pos.offset;
    } catch (err) {
      // No saved position: the oldest segment is replayed from its start.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    }
    this.sizeGauge.set({ output: this.opts.name }, this.totalBytes);
  }

  /** Writes a batch to disk; waits for space when full, or drops it (counted) when configured so. */
  async append(events: LogEvent[]): Promise<'buffered' | 'dropped'> {
    if (events.length === 0) return 'buffered';
    const line = JSON.stringify(events) + '\n';
    const bytes = Buffer.byteLength(line);
    // A batch larger than the whole buffer is still accepted into an empty buffer, or it could never pass.
    while (!this.closed && this.totalBytes > 0 && this.totalBytes + bytes > this.opts.maxBytes) {
      if (this.opts.whenFull === 'drop') {
        this.dropped.inc({ output: this.opts.name }, events.length);
        return 'dropped';
      }
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    if (this.closed) throw swError('SW_OUTPUT_FAILED', `disk buffer of ${this.opts.name} is closed`);
    this.totalBytes += bytes;
    await this.serial(async () => {
      let last = this.segments[this.segments.length - 1];
      if (last === undefined || last.bytes >= this.segmentLimit || this.writer?.seq !== last.seq) {
        // After a restart a new segment is started: the newest one may end in a torn line.
        await this.writer?.fh.close();
        const seq = (last?.seq ?? 0) + 1;
        const file = path.join(this.dir, `${String(seq).padStart(12, '0')}.ndjson`);
        this.writer = { seq, fh: await open(file, 'a') };
        last = { seq, file, bytes: 0 };
        this.segments.push(last);
      }
      await this.writer!.fh.write(line);
      await this.writer!.fh.datasync();
      last!.bytes += bytes;
    });
    this.bufferedEvents.inc({ output: this.opts.name }, events.length);
    this.sizeGauge.set({ output: this.opts.name }, this.totalBytes);
    this.dataWaiters.splice(0).forEach((r) => r());
    return 'buffered';
  }

  /**
   * The oldest batch not yet acknowledged, or undefined when there is none right now. One consumer: it acknowledges a
   * batch before asking for the next.
   */
  async next(): Promise<BufferedBatch | undefined> {
    return this.serial(async () => {
      await this.dropFinishedHead();
      const seg = this.segments[0];
      if (seg === undefined || this.readOffset >= seg.bytes) return undefined;
      if (this.loaded === undefined || this.loaded.seq !== seg.seq || this.loaded.next >= this.loaded.lines.length) {
        // Read the unacknowledged rest of the segment (it may have grown since it was last read).
        const fh = await open(seg.file, 'r');
        let text: string;
        try {
          const length = seg.bytes - this.readOffset;
          const buf = Buffer.alloc(length);
          await fh.read(buf, 0, length, this.readOffset);
          text = buf.toString('utf8');
        } finally {
          await fh.close();
        }
        const lines: string[] = [];
        const offsets: number[] = [];
        let offset = this.readOffset;
        for (const l of text.split('\n')) {
          if (offset >= seg.bytes) break;
          offset += Buffer.byteLength(l) + 1;
          lines.push(l);
          offsets.push(Math.min(offset, seg.bytes));
        }
        this.loaded = { seq: seg.seq, lines, offsets, next: 0 };
      }
      const i = this.loaded.next++;
      let events: LogEvent[];
      try {
        events = JSON.parse(this.loaded.lines[i]!) as LogEvent[];
      } catch {
        // A torn last line (a crash mid-write) was never acknowledged to a source: skip it.
        events = [];
      }
      const seq = seg.seq;
      const end = this.loaded.offsets[i]!;
      return { events, ack: () => this.ack(seq, end) };
    });
  }

  /** Resolves when a batch is appended (or at once if one is waiting). */
  waitForData(): Promise<void> {
    if (!this.isEmpty || this.closed) return Promise.resolve();
    return new Promise((r) => this.dataWaiters.push(r));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.spaceWaiters.splice(0).forEach((r) => r());
    this.dataWaiters.splice(0).forEach((r) => r());
    await this.serial(async () => {
      await this.writer?.fh.close();
      this.writer = undefined;
    });
  }

  private async ack(seq: number, endOffset: number): Promise<void> {
    await this.serial(async () => {
      if (this.segments[0]?.seq !== seq) return;
      this.readOffset = endOffset;
      await this.dropFinishedHead();
      const tmp = path.join(this.dir, `${POSITION_FILE}.tmp`);
      await writeFile(tmp, JSON.stringify({ seq: this.segments[0]?.seq ?? seq + 1, offset: this.readOffset }));
      await rename(tmp, path.join(this.dir, POSITION_FILE));
    });
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
    this.totalBytes -= seg.bytes;
    this.readOffset = 0;
    this.loaded = undefined;
    this.sizeGauge.set({ output: this.opts.name }, this.totalBytes);
    this.spaceWaiters.splice(0).forEach((r) => r());
  }

  /** File operations run one at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
