/**
 * What the compact and binary Thrift readers share over their bytes: the position, the bounds check, and strings
 * and binaries read after a length prefix (whose encoding each protocol reads its own way: `length`).
 */
import { isUtf8 } from 'node:buffer';
import { shortString } from '../short-strings.js';
import { ThriftError } from './thrift-reader.js';

export abstract class ThriftByteReader {
  fieldId = 0;
  elemType = 0;
  keyType = 0;
  valueType = 0;
  i64Hi = 0;
  i64Lo = 0;
  protected pos = 0;
  protected readonly end: number;
  protected readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = this.buf.length;
  }

  get offset(): number {
    return this.pos;
  }

  protected need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new ThriftError(`truncated: ${what} needs ${n} bytes at byte ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  /** A string's or binary's length prefix, checked against the bytes left. */
  protected abstract length(what: string): number;

  readString(): string {
    const n = this.length('a string');
    const start = this.pos;
    this.lastStringStart = start;
    this.pos += n;
    return shortString(this.buf, start, this.pos);
  }

  /** Where the last string `readString` read starts (it ends where that call left `offset`). */
  lastStringStart = 0;

  /**
   * The bytes of the last string read when they are not UTF-8 (a copy), else undefined. `s` is the string made of
   * them: only a string holding U+FFFD can be one (the decoder put it in place of a bad sequence).
   */
  badUtf8(s: string): Uint8Array | undefined {
    if (s.indexOf('\uFFFD') < 0) return undefined;
    const bytes = this.buf.subarray(this.lastStringStart, this.pos);
    return isUtf8(bytes) ? undefined : Uint8Array.from(bytes);
  }

  /**
   * Reads past a string or binary without making anything of it; returns where its bytes start (they end at
   * `offset`). `what` names it in the error, as `readString` / `readBinary` do.
   */
  skipBytes(what: 'a string' | 'a binary'): number {
    const n = this.length(what);
    const start = this.pos;
    this.pos += n;
    return start;
  }

  /** The bytes `start..end` as a string, as `readString` makes it. */
  text(start: number, end: number): string {
    return shortString(this.buf, start, end);
  }

  /** Moves to byte `pos` of the buffer (a place an earlier pass over the same bytes found). */
  seek(pos: number): void {
    this.pos = pos;
  }

  /** A copy of the bytes (never a view: a view would keep the whole datagram alive). */
  readBinary(): Uint8Array {
    const n = this.length('a binary');
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
}
