/**
 * Incremental line splitter for file tails, at the byte level, so positions are byte offsets.
 *
 * - Feed Buffers as they are read; each complete line is handed to `emit` with the offset just after its `\n`
 *   (the position to save once that line is acknowledged).
 * - `\n` ends a line; a `\r` just before it is dropped (CRLF files). A `\r` elsewhere is kept.
 * - Bytes are decoded as UTF-8; invalid sequences become U+FFFD. Decoding never throws. A line is only decoded
 *   once complete, so a character split across two reads is decoded whole.
 * - A line longer than `maxLineBytes` (its content, without `\r\n`) is cut at that many bytes (backing off to a
 *   character boundary) and emitted with `truncated = true` when its newline arrives; the bytes between the cut
 *   and the newline are skipped as they are read, never buffered. Memory per splitter is bounded by
 *   `maxLineBytes` plus one read.
 * - A trailing line without `\n` is held back (it may still be being written) until more bytes come or `end()`
 *   says the file is finished.
 *
 * The caller's Buffers are never kept: a partial line is copied, so a reader may reuse its read buffer.
 */

/** Receives one line: its text, the byte offset just after it, whether it was cut. */
export type LineSink = (line: string, endOffset: number, truncated: boolean) => void;

/** PILOT_MAX_LINE_BYTES's default: 1 MiB, filebeat-like order of size, far above the engine's 16 KiB chunks. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface LineSplitterOptions {
  /** Offset of the first byte fed (the saved position when resuming). Default 0. */
  startOffset?: number;
  maxLineBytes?: number;
}

const LF = 10;
const CR = 13;

/** End of the longest prefix of buf[start, end) that is at most `max` bytes and does not split a character. */
function cutAt(buf: Buffer, start: number, max: number): number {
  let cut = start + max;
  // Back off over continuation bytes (10xxxxxx): at most 3 for a well-formed character.
  for (let i = 0; i < 3 && cut > start && (buf[cut]! & 0xc0) === 0x80; i++) cut--;
  return cut;
}

export class LineSplitter {
  private readonly maxLineBytes: number;
  /** Absolute offset of the next byte to be fed. */
  private base: number;
  /** The unfinished line's bytes (at most maxLineBytes + 1: a `\r` may still be followed by `\n`). */
  private carry: Buffer;
  private carryLen = 0;
  /** Set while skipping the rest of an over-long line: its kept head, already decoded. */
  private truncatedHead: string | null = null;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLineBytes = Math.max(1, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.base = options.startOffset ?? 0;
    this.carry = Buffer.allocUnsafe(Math.min(this.maxLineBytes + 1, 64 * 1024));
  }

  /** Offset just after the last byte fed. */
  get fedOffset(): number {
    return this.base;
  }

  /** Bytes of an unfinished line held back (0 when the last byte fed was a `\n`). */
  get pendingBytes(): number {
    return this.carryLen;
  }

  /** Whether an unfinished line is held or being skipped. */
  get hasPending(): boolean {
    return this.carryLen > 0 || this.truncatedHead !== null;
  }

  push(chunk: Buffer, emit: LineSink): void {
    const n = chunk.length;
    const base = this.base;
    this.base = base + n;
    let start = 0;
    if (this.truncatedHead !== null) {
      const nl = chunk.indexOf(LF);
      if (nl < 0) return;
      const head = this.truncatedHead;
      this.truncatedHead = null;
      emit(head, base + nl + 1, true);
      start = nl + 1;
    } else if (this.carryLen > 0) {
      start = this.finishCarried(chunk, base, emit);
      if (start < 0) return;
    }
    const max = this.maxLineBytes;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && chunk[end - 1] === CR) end--;
      if (end - start <= max) emit(chunk.toString('utf8', start, end), base + nl + 1, false);
      else emit(chunk.toString('utf8', start, cutAt(chunk, start, max)), base + nl + 1, true);
      start = nl + 1;
    }
    if (start < n) this.hold(chunk, start, n);
  }

  /**
   * The file is finished (rotated away, container gone): hand out the unfinished line, if any, ending at the
   * last byte fed.
   */
  end(emit: LineSink): void {
    if (this.truncatedHead !== null) {
      const head = this.truncatedHead;
      this.truncatedHead = null;
      emit(head, this.base, true);
      return;
    }
    if (this.carryLen === 0) return;
    let len = this.carryLen;
    this.carryLen = 0;
    if (this.carry[len - 1] === CR) len--;
    if (len <= this.maxLineBytes) emit(this.carry.toString('utf8', 0, len), this.base, false);
    else emit(this.carry.toString('utf8', 0, cutAt(this.carry, 0, this.maxLineBytes)), this.base, true);
  }

  /** Completes the carried line with the head of `chunk`; returns where the rest of the chunk starts, -1 if none. */
  private finishCarried(chunk: Buffer, base: number, emit: LineSink): number {
    const nl = chunk.indexOf(LF);
    if (nl < 0) {
      this.hold(chunk, 0, chunk.length);
      return -1;
    }
    const max = this.maxLineBytes;
    const total = this.carryLen + nl;
    const last = nl > 0 ? chunk[nl - 1] : this.carry[this.carryLen - 1];
    const content = last === CR ? total - 1 : total;
    // One copy per read boundary, not per line.
    if (content <= max) {
      this.append(chunk, 0, nl);
      emit(this.carry.toString('utf8', 0, content), base + nl + 1, false);
    } else {
      this.append(chunk, 0, Math.min(nl, max + 1 - this.carryLen));
      emit(this.carry.toString('utf8', 0, cutAt(this.carry, 0, max)), base + nl + 1, true);
    }
    this.carryLen = 0;
    return nl + 1;
  }

  /** Keeps chunk[start, end) as (the continuation of) the unfinished line, or starts skipping when too long. */
  private hold(chunk: Buffer, start: number, end: number): void {
    const room = this.maxLineBytes + 1 - this.carryLen;
    if (end - start <= room) {
      this.append(chunk, start, end);
      return;
    }
    this.append(chunk, start, start + room);
    this.truncatedHead = this.carry.toString('utf8', 0, cutAt(this.carry, 0, this.maxLineBytes));
    this.carryLen = 0;
  }

  private append(src: Buffer, start: number, end: number): void {
    const need = this.carryLen + (end - start);
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(need, this.carry.length * 2), this.maxLineBytes + 1));
      this.carry.copy(grown, 0, 0, this.carryLen);
      this.carry = grown;
    }
    src.copy(this.carry, this.carryLen, start, end);
    this.carryLen = need;
  }
}
