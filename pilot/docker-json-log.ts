/**
 * The engine's json-file log (a container's stdout/stderr): one JSON object per line,
 * `{"log":"text\n","stream":"stdout","time":"2026-03-01T12:00:00.123456789Z"}` (optionally `attrs`).
 *
 * The engine cuts an output line longer than 16 KiB into several entries; all but the last have a `log` that does
 * not end with `\n`. `DockerLogAssembler` joins them back, per stream (stdout and stderr entries may interleave),
 * bounded by `maxLineBytes`: past it the line is cut, marked truncated, and the rest of its entries skipped.
 *
 * Positions: an assembled line is named by the offset after its last entry (`endOffset`, unique, for the record
 * id) and may only be acknowledged up to `resumeOffset`: the start of the oldest entry still waiting for its
 * continuation on the other stream (a restart there re-reads and re-sends lines with the same ids, which
 * Elasticsearch overwrites), else `endOffset`.
 */

export type Stream = 'stdout' | 'stderr';

/**
 * The line limit to give the splitter reading a json-file log: one entry holds at most 16 KiB of output, which
 * JSON escaping can grow up to 6× (`\u0000`), plus the other members (`attrs` may carry labels); a smaller limit
 * would cut entries into invalid JSON. The user's PILOT_MAX_LINE_BYTES then bounds the assembled line.
 */
export function jsonFileLineLimit(maxLineBytes: number): number {
  return Math.max(maxLineBytes, 16 * 1024 * 6 + 64 * 1024);
}

export interface DockerLogEntry {
  /** The text, without its trailing `\n` (and `\r\n`). */
  text: string;
  stream: Stream;
  /** Engine time, ms since the epoch. */
  timeMs: number;
  /** True when the engine cut the line here and more of it follows. */
  partial: boolean;
}

export interface AssembledLine {
  text: string;
  stream: Stream;
  /** Engine time of the line's first entry, ms. */
  timeMs: number;
  truncated: boolean;
  endOffset: number;
  resumeOffset: number;
}

let cachedMinute = '';
let cachedMinuteMs = 0;

/**
 * RFC 3339 time as the engine writes it (UTC, `Z`, 0 to 9 fraction digits) → ms. The `YYYY-MM-DDTHH:MM:` head
 * is cached, since consecutive lines share it. NaN when it is not that shape.
 */
export function engineTimeMs(text: string): number {
  if (text.length < 20 || text.charCodeAt(text.length - 1) !== 90 /* Z */ || text.charCodeAt(16) !== 58 /* : */) return NaN;
  const minute = text.slice(0, 17);
  if (minute !== cachedMinute) {
    const ms = Date.UTC(+minute.slice(0, 4), +minute.slice(5, 7) - 1, +minute.slice(8, 10), +minute.slice(11, 13), +minute.slice(14, 16));
    if (!Number.isFinite(ms) || minute[4] !== '-' || minute[10] !== 'T') return NaN;
    cachedMinute = minute;
    cachedMinuteMs = ms;
  }
  const s = +text.slice(17, 19);
  let frac = 0;
  if (text.charCodeAt(19) === 46 /* . */) frac = +(text.slice(20, Math.min(23, text.length - 1)) + '00').slice(0, 3);
  else if (text.length !== 20) return NaN;
  const ms = cachedMinuteMs + s * 1000 + frac;
  return Number.isFinite(ms) ? ms : NaN;
}

/** Decodes one line of a json-file log; returns the reason when it is not one. Never throws. */
export function decodeDockerJsonLine(raw: string): DockerLogEntry | string {
  let v: { log?: unknown; stream?: unknown; time?: unknown };
  try {
    v = JSON.parse(raw) as typeof v;
  } catch (err) {
    // Mapped to a failure reason: the caller counts it.
    return `not a json-file log entry: ${(err as Error).message.slice(0, 120)}`;
  }
  if (v === null || typeof v !== 'object' || typeof v.log !== 'string') return 'not a json-file log entry: no "log" text';
  const stream: Stream = v.stream === 'stderr' ? 'stderr' : 'stdout';
  const timeMs = typeof v.time === 'string' ? engineTimeMs(v.time) : NaN;
  let text = v.log;
  const partial = text.charCodeAt(text.length - 1) !== 10;
  if (!partial) text = text.charCodeAt(text.length - 2) === 13 ? text.slice(0, -2) : text.slice(0, -1);
  return { text, stream, timeMs, partial };
}

interface Pending {
  parts: string[];
  bytes: number;
  timeMs: number;
  startOffset: number;
  /** End of the latest entry taken. */
  lastEndOffset: number;
  truncated: boolean;
}

/** Joins the engine's 16 KiB partial entries back into lines. */
export class DockerLogAssembler {
  private readonly pending: Record<Stream, Pending | null> = { stdout: null, stderr: null };

  /** `maxLineBytes` bounds an assembled line (UTF-8 bytes of its text). */
  constructor(private readonly maxLineBytes: number) {}

  /**
   * One decoded entry that started at `startOffset` and ended at `endOffset` in the log file. Returns the
   * completed line, or null while it waits for its continuation.
   */
  push(entry: DockerLogEntry, startOffset: number, endOffset: number): AssembledLine | null {
    const p = this.pending[entry.stream];
    if (p === null && !entry.partial) {
      let text = entry.text;
      let truncated = false;
      if (text.length > this.maxLineBytes / 3 && Buffer.byteLength(text) > this.maxLineBytes) {
        text = cutUtf8(text, this.maxLineBytes);
        truncated = true;
      }
      return { text, stream: entry.stream, timeMs: entry.timeMs, truncated, endOffset, resumeOffset: this.resumeOffset(entry.stream, endOffset) };
    }
    const cur = p ?? { parts: [], bytes: 0, timeMs: entry.timeMs, startOffset, lastEndOffset: endOffset, truncated: false };
    cur.lastEndOffset = endOffset;
    if (!cur.truncated) {
      const bytes = Buffer.byteLength(entry.text);
      if (cur.bytes + bytes <= this.maxLineBytes) {
        cur.parts.push(entry.text);
        cur.bytes += bytes;
      } else {
        cur.parts.push(cutUtf8(entry.text, this.maxLineBytes - cur.bytes));
        cur.bytes = this.maxLineBytes;
        cur.truncated = true;
      }
    }
    if (entry.partial) {
      this.pending[entry.stream] = cur;
      return null;
    }
    this.pending[entry.stream] = null;
    return {
      text: cur.parts.join(''), stream: entry.stream, timeMs: cur.timeMs, truncated: cur.truncated,
      endOffset, resumeOffset: this.resumeOffset(entry.stream, endOffset),
    };
  }

  /**
   * The log is finished: hand out what waits for a continuation that will never come (each named by the end of
   * its latest entry; acknowledge up to the log's end once all are delivered).
   */
  end(): AssembledLine[] {
    const out: AssembledLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = this.pending[stream];
      if (!p) continue;
      this.pending[stream] = null;
      out.push({ text: p.parts.join(''), stream, timeMs: p.timeMs, truncated: p.truncated, endOffset: p.lastEndOffset, resumeOffset: p.lastEndOffset });
    }
    return out;
  }

  /** Where a file may resume after a line ending at `endOffset` that is no entry: before any line still pending. */
  resumeBefore(endOffset: number): number {
    let at = endOffset;
    for (const p of [this.pending.stdout, this.pending.stderr]) if (p) at = Math.min(at, p.startOffset);
    return at;
  }

  private resumeOffset(stream: Stream, endOffset: number): number {
    const other = this.pending[stream === 'stdout' ? 'stderr' : 'stdout'];
    return other ? Math.min(other.startOffset, endOffset) : endOffset;
  }
}

/** The longest prefix of `text` whose UTF-8 form fits `maxBytes`, never splitting a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let cut = maxBytes;
  while (cut > 0 && (buf[cut]! & 0xc0) === 0x80) cut--;
  return buf.toString('utf8', 0, cut);
}
