/**
 * A protobuf wire-format reader: varints, fixed32/64, doubles, length-delimited fields, unknown-field skipping.
 * Bounds-checked and exception-free: a read past the end, an over-long varint or a bad wire type sets `error`,
 * moves the cursor to the end and returns a zero value, so decoding loops stop by themselves and the caller
 * checks `error` once.
 */
import { shortString } from '../../../../model/short-strings.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const HEX_BYTE: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class ProtoReader {
  pos: number;
  end: number;
  error: string | undefined;
  private readonly buf: Uint8Array;
  private readonly text: Buffer;
  private readonly view: DataView;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    // Buffer's utf8 slice beats TextDecoder on the short strings protobuf messages are made of (bench/otlp.bench.ts).
    this.text = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  /** True when no field is left in the current message (or an error stopped reading). */
  done(): boolean {
    return this.pos >= this.end;
  }

  fail(reason: string): void {
    if (this.error === undefined) this.error = `${reason} at byte ${this.pos}`;
    this.pos = this.end;
  }

  /** A field key: field number << 3 | wire type; 0 after an error. */
  tag(): number {
    const key = this.varint32();
    if (this.error === undefined && key >>> 3 === 0) this.fail('field number 0');
    return this.error === undefined ? key : 0;
  }

  /** A varint's low 32 bits, unsigned (enough for tags, lengths, enums, uint32, bool). */
  varint32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) {
        this.fail('truncated varint');
        return 0;
      }
      const b = buf[this.pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
      shift += 7;
    }
    this.fail('varint longer than 10 bytes');
    return 0;
  }

  /** An int64 varint: a number while it is a safe integer, else a bigint (two's complement for negatives). */
  int64(): number | bigint {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) {
        this.fail('truncated varint');
        return 0;
      }
      const b = buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (i * 7);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (i * 7 - 32);
      if (b < 0x80) return int64From(lo >>> 0, hi >>> 0);
    }
    this.fail('varint longer than 10 bytes');
    return 0;
  }

  fixed32(): number {
    if (this.end - this.pos < 4) {
      this.fail('truncated fixed32');
      return 0;
    }
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A fixed64 as its low and high 32-bit halves (unsigned). */
  fixed64Halves(out: { lo: number; hi: number }): void {
    if (this.end - this.pos < 8) {
      this.fail('truncated fixed64');
      out.lo = 0;
      out.hi = 0;
      return;
    }
    out.lo = this.view.getUint32(this.pos, true);
    out.hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
  }

  double(): number {
    if (this.end - this.pos < 8) {
      this.fail('truncated double');
      return 0;
    }
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** The extent of the last length-delimited field read by `delimited()`. */
  segStart = 0;
  segStop = 0;

  /** Reads a length-delimited field's extent into `[segStart, segStop)` and moves past it; false on error. */
  delimited(): boolean {
    const len = this.varint32();
    if (this.error !== undefined) return false;
    if (len > this.end - this.pos) {
      this.fail('length past the end of the message');
      return false;
    }
    this.segStart = this.pos;
    this.segStop = this.pos + len;
    this.pos = this.segStop;
    return true;
  }

  /**
   * Enters a length-delimited sub-message: reading is bounded by its end until `leave()`. Returns the outer end
   * to give back to `leave`, or -1 on error (then do not call `leave`).
   */
  enter(): number {
    if (!this.delimited()) return -1;
    const outer = this.end;
    this.pos = this.segStart;
    this.end = this.segStop;
    return outer;
  }

  /** Leaves a sub-message entered with `enter()`; after an error the outer message is abandoned too. */
  leave(outer: number): void {
    this.pos = this.error === undefined ? this.end : outer;
    this.end = outer;
  }

  string(): string {
    if (!this.delimited()) return '';
    const start = this.segStart;
    const stop = this.segStop;
    const len = stop - start;
    if (len === 0) return '';
    // Short strings (keys, names, most values) come from the shared table: one string per distinct bytes.
    return shortString(this.text, start, stop);
  }

  /** A copy of a bytes field (the request buffer is not kept alive by the spans). */
  bytes(): Uint8Array {
    if (!this.delimited()) return new Uint8Array(0);
    return this.buf.slice(this.segStart, this.segStop);
  }

  /** A bytes field as lowercase hex ('' when empty). */
  hex(): string {
    if (!this.delimited()) return '';
    let s = '';
    for (let i = this.segStart; i < this.segStop; i++) s += HEX_BYTE[this.buf[i]!]!;
    return s;
  }

  /** Skips a field of the given wire type (groups are refused: proto3 has none). */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint32();
        return;
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) this.fail('truncated fixed64');
        else this.pos += 8;
        return;
      case WIRE_LEN:
        this.delimited();
        return;
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) this.fail('truncated fixed32');
        else this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  /** Fails unless `wireType` is what the field needs; true when it is. */
  expect(field: string, wireType: number, wanted: number): boolean {
    if (wireType === wanted) return true;
    this.fail(`${field} has wire type ${wireType}, expected ${wanted}`);
    return false;
  }
}

function int64From(lo: number, hi: number): number | bigint {
  if (hi < 0x200000) return hi * 4294967296 + lo; // below 2^53
  if (hi === 0xffffffff && lo !== 0) return lo - 4294967296; // small negatives
  const b = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  const n = Number(b);
  return Number.isSafeInteger(n) ? n : b;
}
