/**
 * What the compact and binary Thrift readers share over their bytes: the position, the bounds check, and strings
 * and binaries read after a length prefix (whose encoding each protocol reads its own way: `length`).
 */
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
    this.pos += n;
    return shortString(this.buf, start, this.pos);
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
