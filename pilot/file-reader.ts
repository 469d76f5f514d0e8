/**
 * Reads one file (one identity: device and inode) from a byte position, line by line, for as long as it is told
 * to: it follows the file's growth by polling, restarts at 0 when the file shrinks below its position
 * (copytruncate), and on `finish` reads to the end, hands out the unfinished last line, and waits until every line
 * it handed out is acknowledged.
 *
 * It never reads ahead of its consumer: `accept` resolves only when the consumer takes more (back-pressure), and
 * the saved position moves only as acknowledgements arrive (AckTracker), never as bytes are read.
 */
import type { FileHandle } from 'node:fs/promises';
import { AckTracker } from '../delivery/ack-tracker.js';
import { describe } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { LineSplitter } from './line-splitter.js';
import type { FileIdentity } from './positions.js';
import { WakeableSleep } from '../platform/wakeable-sleep.js';

export interface TailedFile {
  identity: FileIdentity;
  /** Truncations seen so far (names the content generation in record ids). */
  generation: number;
  /** Host path it was found at. */
  hostPath: string;
  /** Path inside the container (`stdout` for standard output). */
  containerPath: string;
}

export interface TailLine {
  text: string;
  /** Byte offset just after the line. */
  end: number;
  truncated: boolean;
}

export interface TailBatch {
  lines: TailLine[];
  /** Bytes read for these lines. */
  bytes: number;
  /** The file is finished: the consumer hands out what it still holds. */
  final: boolean;
  /** When the bytes were read, ms. */
  readTimeMs: number;
  /**
   * Registers the position this batch lets the file resume at (at most its last line's end; the final batch may
   * pass the file's end) and returns the function to call once every output acknowledged it.
   */
  issue(resumeAt: number): () => void;
}

/** What the pipeline gives each file. */
export interface FileConsumer {
  /** Resolves when the consumer can take more (it may hold the reader back while outputs are behind). */
  accept(batch: TailBatch): Promise<void>;
  /** The file was truncated: forget any partial state, records now come from `file` (its generation moved). */
  restarted(file: TailedFile): void;
}

export interface FileReaderOptions {
  pollIntervalMs: number;
  readChunkBytes: number;
  maxLineBytes: number;
  /** A rotated-away file is finished once it has not grown for this long. */
  rotatedGraceMs: number;
  log: Logger;
  /**
   * Every record before `offset` is acknowledged. `tail`: the bytes just before it (up to `FINGERPRINT_BYTES`), when
   * the reader knows them (nothing read past it), by which a restart recognises the file's content or its copy.
   */
  onCommit(file: TailedFile, offset: number, tail: Buffer | undefined): void;
  /** The file was truncated; `cut` says what was read of it (the file already moved to its next generation). */
  onTruncated?(file: TailedFile, cut: TruncatedAt): void;
  /** Reading failed (the file is let go; a later scan picks it up again if it is still there). Counted by the caller. */
  onReadFailure?(file: TailedFile, err: unknown): void;
}

export type FinishMode = 'now' | 'when-idle';

/**
 * Where reading stood when a file was truncated. Lines written after the last read and before the truncation are
 * not in the file any more; a copytruncate left them in its copy, at the same offsets (file-tail.ts looks for it).
 */
export interface TruncatedAt {
  /** The content generation the lines read belonged to. */
  generation: number;
  /** Just after the last whole line handed out: where the unread lines begin. */
  resumeAt: number;
  /** Bytes read, and the last of them (up to `FINGERPRINT_BYTES`): a copy holds these same bytes before `readTo`. */
  readTo: number;
  tail: Buffer;
}

/** Bytes compared to tell a file rewritten after a truncation from one that only grew. */
const FINGERPRINT_BYTES = 32;

export class FileReader {
  private splitter: LineSplitter;
  private readonly tracker: AckTracker;
  private readOffset: number;
  private finishing: FinishMode | undefined;
  private stopped = false;
  private readonly pause = new WakeableSleep();
  private lastGrowthMs = Date.now();
  /** The bytes just before readOffset, as read: after a pause they must still be there (see `rewritten`). */
  private tail = Buffer.alloc(0);
  /** Just after the last whole line handed out. */
  private lineEnd: number;
  private idleSinceRead = false;
  readonly done: Promise<void>;

  constructor(
    private readonly handle: FileHandle,
    readonly file: TailedFile,
    startOffset: number,
    private readonly consumer: FileConsumer,
    private readonly opts: FileReaderOptions,
  ) {
    this.readOffset = startOffset;
    this.lineEnd = startOffset;
    this.splitter = new LineSplitter({ startOffset, maxLineBytes: opts.maxLineBytes });
    this.tracker = new AckTracker(startOffset, (offset) => {
      opts.onCommit(this.file, offset, offset === this.readOffset && this.tail.length > 0 ? this.tail : undefined);
    });
    this.done = this.run();
  }

  get committed(): number {
    return this.tracker.committed;
  }

  get isFinishing(): boolean {
    return this.finishing !== undefined;
  }

  /** Read to the end (now, or once the file stops growing), then end. */
  finish(mode: FinishMode): void {
    if (this.finishing === 'now') return;
    this.finishing = mode;
    this.pause.wake();
  }

  /** The file is at its path again (a rotation that did not happen after all): keep following it. */
  resume(): void {
    if (this.finishing === 'when-idle') this.finishing = undefined;
  }

  /** Stops reading at once (shutdown); what was handed out may still be acknowledged. */
  stop(): Promise<void> {
    this.stopped = true;
    this.pause.wake();
    return this.done;
  }

  private async run(): Promise<void> {
    const buf = Buffer.allocUnsafe(this.opts.readChunkBytes);
    try {
      while (!this.stopped) {
        if (this.idleSinceRead && (await this.rewritten())) {
          this.truncated();
          continue;
        }
        const { bytesRead } = await this.handle.read(buf, 0, buf.length, this.readOffset);
        if (bytesRead > 0) {
          this.idleSinceRead = false;
          this.keepTail(buf.subarray(0, bytesRead));
          this.readOffset += bytesRead;
          this.lastGrowthMs = Date.now();
          const lines: TailLine[] = [];
          this.splitter.push(buf.subarray(0, bytesRead), (text, end, truncated) => lines.push({ text, end, truncated }));
          if (lines.length > 0) {
            this.lineEnd = lines[lines.length - 1]!.end;
            await this.consumer.accept(this.batch(lines, bytesRead, false));
          }
          continue;
        }
        const st = await this.handle.stat();
        if (st.size < this.readOffset) {
          this.truncated();
          continue;
        }
        this.idleSinceRead = true;
        const idle = Date.now() - this.lastGrowthMs >= this.opts.rotatedGraceMs;
        if (this.finishing === 'now' || (this.finishing === 'when-idle' && idle)) {
          const lines: TailLine[] = [];
          this.splitter.end((text, end, truncated) => lines.push({ text, end, truncated }));
          await this.consumer.accept(this.batch(lines, 0, true));
          // Acknowledged before the file is let go: that is what "read to the end" promises.
          while (!this.stopped && !(await this.tracker.settled(1000))) { /* outputs still working; keep waiting */ }
          break;
        }
        await this.sleep(this.opts.pollIntervalMs);
      }
    } catch (err) {
      this.opts.onReadFailure?.(this.file, err);
      this.opts.log.error('reading a log file failed', { path: this.file.hostPath, reason: describe(err) });
    } finally {
      await this.handle.close().catch((err: unknown) => this.opts.log.warn('closing a log file failed', { reason: describe(err) }));
    }
  }

  private batch(lines: TailLine[], bytes: number, final: boolean): TailBatch {
    return {
      lines, bytes, final, readTimeMs: Date.now(),
      issue: (resumeAt: number) => {
        const ticket = this.tracker.issue(resumeAt);
        return () => this.tracker.complete(ticket);
      },
    };
  }

  private keepTail(chunk: Buffer): void {
    const want = FINGERPRINT_BYTES;
    if (chunk.length >= want) this.tail = Buffer.from(chunk.subarray(chunk.length - want));
    else this.tail = Buffer.concat([this.tail, chunk]).subarray(-want);
  }

  /**
   * Copytruncate followed by fast writing can make the file grow past our position before we look: its size alone
   * says nothing. The bytes just before the position are compared with those we read there; changed, the file
   * was truncated and written again.
   */
  private async rewritten(): Promise<boolean> {
    const n = this.tail.length;
    if (n === 0) return false;
    const probe = Buffer.allocUnsafe(n);
    const { bytesRead } = await this.handle.read(probe, 0, n, this.readOffset - n);
    return bytesRead < n || !probe.equals(this.tail);
  }

  private truncated(): void {
    const cut: TruncatedAt = { generation: this.file.generation, resumeAt: this.lineEnd, readTo: this.readOffset, tail: this.tail };
    this.idleSinceRead = false;
    this.tail = Buffer.alloc(0);
    this.opts.log.info('log file truncated; reading it again from the start', { path: this.file.hostPath, position: this.readOffset });
    this.file.generation++;
    this.readOffset = 0;
    this.lineEnd = 0;
    this.splitter = new LineSplitter({ startOffset: 0, maxLineBytes: this.opts.maxLineBytes });
    this.consumer.restarted(this.file);
    this.tracker.reset(0);
    this.opts.onTruncated?.(this.file, cut);
  }

  private sleep(ms: number): Promise<void> {
    // stop() or finish() may have come while we were reading: their wake-up went to no one.
    if (this.stopped || this.finishing === 'now') return Promise.resolve();
    return this.pause.sleep(ms);
  }
}
