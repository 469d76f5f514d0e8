/**
 * Syslog frames out of bytes: one datagram is one message (RFC 5426); a TCP stream is cut either by octet counting
 * (RFC 6587 §3.4.1, RFC 5425: `MSG-LEN SP SYSLOG-MSG`) or by a newline after each message (RFC 6587 §3.4.2).
 * A connection's first byte picks its framing: a digit means octet counting, anything else newline framing (every
 * syslog message starts with `<`, so the two cannot be confused).
 *
 * Nothing is dropped: a frame longer than `maxFrameBytes` is cut there (`truncated`), the rest of it skipped; an
 * octet count that does not read (`12x`, `0`, more than 9 digits) marks what follows as one raw line and the
 * connection goes on with newline framing, where a sender can be followed again; a frame the connection closed in
 * the middle of is handed out with what arrived (`error`). Cuts fall on a UTF-8 character boundary.
 *
 * Pure: no I/O, never throws.
 */

export interface SyslogFrame {
  bytes: Buffer;
  /** The frame was longer than the limit and was cut. */
  truncated: boolean;
  /** Set when the framing itself went wrong; the bytes are kept as they came. */
  error?: { code: 'bad_octet_count' | 'half_frame'; reason: string };
}

/** Longest octet count read: 9 digits (just under 1 GB); a longer one is not a count. */
const MAX_COUNT_DIGITS = 9;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;

/** `n` or fewer: the largest cut of `buf` at or below `n` that does not split a UTF-8 character. */
export function utf8Cut(buf: Buffer, n: number): number {
  if (n >= buf.length) return buf.length;
  let cut = n;
  // Back over continuation bytes (10xxxxxx) to the start of the character the cut falls in; at most 3.
  for (let i = 0; i < 3 && cut > 0 && (buf[cut]! & 0xc0) === 0x80; i++) cut--;
  return (buf[cut]! & 0xc0) === 0x80 ? n : cut;
}

function cutFrame(bytes: Buffer, maxFrameBytes: number): SyslogFrame {
  if (bytes.length <= maxFrameBytes) return { bytes, truncated: false };
  return { bytes: bytes.subarray(0, utf8Cut(bytes, maxFrameBytes)), truncated: true };
}

/** One datagram's message: trailing newlines (Docker's driver sends one) and NULs taken off, cut at the limit. */
export function datagramFrame(datagram: Buffer, maxFrameBytes: number): SyslogFrame {
  let end = datagram.length;
  while (end > 0 && (datagram[end - 1] === LF || datagram[end - 1] === CR || datagram[end - 1] === 0)) end--;
  return cutFrame(datagram.subarray(0, end), maxFrameBytes);
}

/** Takes a newline-framed message's trailing CR (a CRLF sender) and trailing newline inside an octet-counted one. */
function trimEnd(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === LF || bytes[end - 1] === CR)) end--;
  return end === bytes.length ? bytes : bytes.subarray(0, end);
}

type Mode = 'detect' | 'count' | 'body' | 'newline';

/** The frames of one TCP connection, as its bytes arrive. */
export class SyslogStreamFramer {
  private mode: Mode = 'detect';
  /** Parts of the frame being gathered (newline mode, or an octet-counted body). */
  private parts: Buffer[] = [];
  private kept = 0;
  /** Newline mode: past the limit, bytes up to the next newline are skipped. */
  private skipping = false;
  /** Octet counting: digits of the count read so far, and the body still to come. */
  private countText = '';
  private remaining = 0;
  private declared = 0;
  /** Marks the next newline frame (after a count that did not read). */
  private pendingError: SyslogFrame['error'];

  constructor(private readonly maxFrameBytes: number) {}

  /** The framing this connection uses, once its first byte came. */
  get framing(): 'octet-counting' | 'newline' | undefined {
    return this.mode === 'detect' ? undefined : this.mode === 'newline' ? 'newline' : 'octet-counting';
  }

  push(chunk: Buffer): SyslogFrame[] {
    const out: SyslogFrame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.mode === 'detect') {
        const b = chunk[at]!;
        if (b === LF || b === CR) { at++; continue; }
        this.mode = b >= 0x30 && b <= 0x39 ? 'count' : 'newline';
      } else if (this.mode === 'count') at = this.readCount(chunk, at, out);
      else if (this.mode === 'body') at = this.readBody(chunk, at, out);
      else at = this.readLine(chunk, at, out);
    }
    return out;
  }

  /** The connection closed: what was gathered of an unfinished frame, marked when it was known to be short. */
  end(): SyslogFrame[] {
    if (this.mode === 'body') {
      const got = this.declared - this.remaining;
      const frame = { ...this.take(), error: { code: 'half_frame' as const, reason: `the connection closed after ${got} of the ${this.declared} bytes its octet count announced` } };
      this.mode = 'count';
      return [frame];
    }
    if (this.mode === 'count' && this.countText !== '') {
      const bytes = Buffer.from(this.countText, 'latin1');
      this.countText = '';
      return [{ bytes, truncated: false, error: { code: 'half_frame', reason: `the connection closed inside an octet count ("${bytes.toString('latin1')}")` } }];
    }
    if (this.mode === 'newline' && (this.kept > 0 || this.pendingError)) {
      const frame = this.take();
      this.skipping = false;
      return frame.bytes.length > 0 || frame.error ? [frame] : [];
    }
    return [];
  }

  private readCount(chunk: Buffer, at: number, out: SyslogFrame[]): number {
    while (at < chunk.length) {
      const b = chunk[at]!;
      if (this.countText === '' && (b === LF || b === CR)) { at++; continue; } // a newline some senders put between frames
      if (b >= 0x30 && b <= 0x39 && this.countText.length < MAX_COUNT_DIGITS && !(this.countText === '' && b === 0x30)) {
        this.countText += String.fromCharCode(b);
        at++;
        continue;
      }
      if (b === SP && this.countText !== '') {
        this.declared = this.remaining = Number(this.countText);
        this.countText = '';
        this.mode = 'body';
        return at + 1;
      }
      // Not a count: what was read of it starts a raw line, and the connection goes on with newline framing.
      const seen = this.countText + (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`);
      this.pendingError = { code: 'bad_octet_count', reason: `"${seen}" is not an octet count (RFC 6587: digits, no leading zero, then a space); the rest of the connection is read as newline-framed` };
      if (this.countText !== '') this.gather(Buffer.from(this.countText, 'latin1'));
      this.countText = '';
      this.mode = 'newline';
      return at;
    }
    return at;
  }

  private readBody(chunk: Buffer, at: number, out: SyslogFrame[]): number {
    const n = Math.min(this.remaining, chunk.length - at);
    this.gather(chunk.subarray(at, at + n));
    this.remaining -= n;
    if (this.remaining === 0) {
      const frame = this.take();
      frame.bytes = trimEnd(frame.bytes);
      out.push(frame);
      this.mode = 'count';
    }
    return at + n;
  }

  private readLine(chunk: Buffer, at: number, out: SyslogFrame[]): number {
    const nl = chunk.indexOf(LF, at);
    const end = nl < 0 ? chunk.length : nl;
    if (!this.skipping) {
      this.gather(chunk.subarray(at, end));
      if (this.kept > this.maxFrameBytes) this.skipping = true;
    }
    if (nl < 0) return chunk.length;
    const frame = this.take();
    this.skipping = false;
    frame.bytes = trimEnd(frame.bytes);
    if (frame.bytes.length > 0 || frame.error) out.push(frame);
    return nl + 1;
  }

  /** Keeps bytes of the current frame up to the limit (one byte past it, so a cut is known to be needed). */
  private gather(bytes: Buffer): void {
    const room = this.maxFrameBytes + 1 - this.kept;
    if (room <= 0 || bytes.length === 0) return;
    const part = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.parts.push(part);
    this.kept += part.length;
  }

  /** The frame gathered so far; `gather` kept one byte past the limit when there was more, so that says it was cut. */
  private take(): SyslogFrame {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept);
    this.parts = [];
    this.kept = 0;
    const frame: SyslogFrame = cutFrame(all, this.maxFrameBytes);
    if (this.pendingError) {
      frame.error = this.pendingError;
      this.pendingError = undefined;
    }
    return frame;
  }
}
