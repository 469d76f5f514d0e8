/**
 * Multiline records (`.multiline.pattern`, Java stack traces): a line matching the pattern starts a new record;
 * any other line is appended, with `\n`, to the current one (a first line that does not match starts one too).
 *
 * Bounds: a record holding `maxLines` lines or whose next line would pass `maxBytes` (UTF-8) is emitted, and that
 * next line starts a new record; a record that got no line for `timeoutMs` is emitted when the caller's timer calls
 * `flushDue(nowMs)` (`nextDueMs()` says when). Standard output's two streams are never mixed: a line of the other
 * stream ends the current record.
 *
 * Positions: a record is named by, and acknowledged up to, the end of its last line; a record still pending holds
 * back nothing that was emitted before it, since records are emitted in the order of their lines.
 */
import type { MultilineSpec } from './log-declarations.js';
import type { Stream } from './docker-json-log.js';

export interface MultilineRecord {
  text: string;
  lines: number;
  /** Offset after the last line (names the record). */
  endOffset: number;
  /** Where to resume (the last line's; ≤ endOffset). */
  resumeOffset: number;
  /** Some line of it was cut at the line limit. */
  truncated: boolean;
  /** The first line's stream and time. */
  stream: Stream | null;
  timeMs: number;
}

export type MultilineSink = (record: MultilineRecord) => void;

interface Current {
  parts: string[];
  bytes: number;
  endOffset: number;
  resumeOffset: number;
  truncated: boolean;
  stream: Stream | null;
  timeMs: number;
  lastAppendMs: number;
}

export class MultilineAggregator {
  private cur: Current | null = null;

  /** `now` is read when a line arrives (a clock of the caller's choosing; tests pass their own). */
  constructor(
    private readonly spec: MultilineSpec,
    private readonly emit: MultilineSink,
    private readonly now: () => number = Date.now,
  ) {}

  push(text: string, endOffset: number, resumeOffset: number, truncated: boolean, stream: Stream | null, timeMs: number): void {
    const bytes = Buffer.byteLength(text);
    const cur = this.cur;
    if (cur !== null) {
      const starts = this.spec.pattern.test(text) || stream !== cur.stream;
      const full = cur.parts.length >= this.spec.maxLines || cur.bytes + 1 + bytes > this.spec.maxBytes;
      if (!starts && !full) {
        cur.parts.push(text);
        cur.bytes += 1 + bytes;
        cur.endOffset = endOffset;
        cur.resumeOffset = resumeOffset;
        cur.truncated ||= truncated;
        cur.lastAppendMs = this.now();
        return;
      }
      this.flush();
    }
    this.cur = { parts: [text], bytes, endOffset, resumeOffset, truncated, stream, timeMs, lastAppendMs: this.now() };
  }

  /** Emits the pending record when it waited `timeoutMs` or more. */
  flushDue(nowMs: number): void {
    if (this.cur !== null && nowMs - this.cur.lastAppendMs >= this.spec.timeoutMs) this.flush();
  }

  /** When `flushDue` will next have something to do; Infinity when nothing is pending. */
  nextDueMs(): number {
    return this.cur === null ? Infinity : this.cur.lastAppendMs + this.spec.timeoutMs;
  }

  get hasPending(): boolean {
    return this.cur !== null;
  }

  /** Emits the pending record now (end of file, shutdown). */
  flush(): void {
    const cur = this.cur;
    if (cur === null) return;
    this.cur = null;
    this.emit({
      text: cur.parts.length === 1 ? cur.parts[0]! : cur.parts.join('\n'),
      lines: cur.parts.length,
      endOffset: cur.endOffset,
      resumeOffset: cur.resumeOffset,
      truncated: cur.truncated,
      stream: cur.stream,
      timeMs: cur.timeMs,
    });
  }
}
