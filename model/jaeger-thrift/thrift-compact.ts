/**
 * Reader of the Thrift compact protocol (Apache Thrift's `TCompactProtocol`, the protocol of Jaeger's agent port
 * 6831): field headers holding a field-id delta and the type in one byte, booleans folded into the field header,
 * zigzag varints for i16/i32/i64, little-endian doubles, varint-prefixed strings, list sizes up to 14 in the
 * header byte.
 *
 * Bounds: every varint is at most its protocol width (5 bytes for 32 bits, 10 for 64), every length and element
 * count is checked against the bytes left, nesting is bounded by the caller's struct depth and by `skipValue`.
 */
import { ThriftByteReader } from './thrift-byte-reader.js';
import {
  MAX_DEPTH, T_BOOL, T_BYTE, T_DOUBLE, T_I16, T_I32, T_I64, T_LIST, T_MAP, T_SET, T_STOP, T_STRING, T_STRUCT, T_UUID,
  ThriftError, skipValue, typeName, type MessageHeader, type ThriftReader,
} from './thrift-reader.js';

const PROTOCOL_ID = 0x82;
const VERSION = 1;

/** Compact type nibble → TType; -1 for codes the protocol does not define. */
const COMPACT_TO_TTYPE = [T_STOP, T_BOOL, T_BOOL, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_STRING, T_LIST, T_SET, T_MAP, T_STRUCT, T_UUID, -1, -1];

const NO_BOOL = -1;

export class CompactReader extends ThriftByteReader implements ThriftReader {
  private lastFieldId = 0;
  private readonly fieldIdStack: number[] = [];
  /** A boolean field's value travels in its header: 1 true, 0 false, NO_BOOL when none is pending. */
  private pendingBool = NO_BOOL;

  private byte(): number {
    if (this.pos >= this.end) throw new ThriftError(`truncated at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  /** Unsigned 32-bit varint. */
  private varint32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    throw new ThriftError(`varint longer than 5 bytes at byte ${this.pos}`);
  }

  /** Unsigned 64-bit varint into i64Hi:i64Lo (before zigzag). */
  private varint64(): void {
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.i64Hi = 0;
        this.i64Lo = lo >>> 0;
        return;
      }
    }
    b = this.byte();
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) throw new ThriftError(`varint longer than 10 bytes at byte ${this.pos}`);
        b = this.byte();
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.i64Hi = hi | 0;
    this.i64Lo = lo >>> 0;
  }

  readMessageBegin(): MessageHeader {
    const protocolId = this.byte();
    if (protocolId !== PROTOCOL_ID) throw new ThriftError(`not a compact protocol message (first byte 0x${protocolId.toString(16)}, expected 0x82)`);
    const versionAndType = this.byte();
    const version = versionAndType & 0x1f;
    if (version !== VERSION) throw new ThriftError(`unsupported compact protocol version ${version}`);
    const type = (versionAndType >>> 5) & 0x07;
    const seqId = this.varint32() | 0;
    const name = this.readString();
    return { name, type, seqId };
  }

  /** Structs being read, one inside the other. */
  get depth(): number {
    return this.fieldIdStack.length;
  }

  readStructBegin(): void {
    if (this.fieldIdStack.length >= MAX_DEPTH) throw new ThriftError(`nesting deeper than ${MAX_DEPTH} at byte ${this.pos}`);
    this.fieldIdStack.push(this.lastFieldId);
    this.lastFieldId = 0;
  }

  readStructEnd(): void {
    this.lastFieldId = this.fieldIdStack.pop() ?? 0;
  }

  readFieldBegin(): number {
    const header = this.byte();
    const compactType = header & 0x0f;
    if (compactType === 0) return T_STOP;
    const delta = header >>> 4;
    if (delta !== 0) this.fieldId = this.lastFieldId + delta;
    else this.fieldId = this.readI16();
    this.lastFieldId = this.fieldId;
    const type = COMPACT_TO_TTYPE[compactType]!;
    if (type < 0) throw new ThriftError(`unknown compact type ${compactType} for field ${this.fieldId} at byte ${this.pos - 1}`);
    if (type === T_BOOL) this.pendingBool = compactType === 1 ? 1 : 0;
    return type;
  }

  private elementType(nibble: number): number {
    const type = COMPACT_TO_TTYPE[nibble]!;
    if (type <= 0) throw new ThriftError(`invalid element type ${nibble} at byte ${this.pos - 1}`);
    return type;
  }

  readListBegin(): number {
    const header = this.byte();
    let size = header >>> 4;
    this.elemType = this.elementType(header & 0x0f);
    if (size === 15) size = this.varint32();
    // Every element takes at least one byte, so a count beyond the bytes left is a lie. (The message is built only
    // for the error: a list header is read several times per span.)
    if (size > this.end - this.pos) this.need(size, `a ${typeName(this.elemType)} list of ${size}`);
    return size;
  }

  readMapBegin(): number {
    const size = this.varint32();
    if (size === 0) {
      this.keyType = T_STOP;
      this.valueType = T_STOP;
      return 0;
    }
    const types = this.byte();
    this.keyType = this.elementType(types >>> 4);
    this.valueType = this.elementType(types & 0x0f);
    if (size * 2 > this.end - this.pos) this.need(size * 2, `a map of ${size}`);
    return size;
  }

  readBool(): boolean {
    if (this.pendingBool !== NO_BOOL) {
      const value = this.pendingBool === 1;
      this.pendingBool = NO_BOOL;
      return value;
    }
    // Inside containers a bool is a whole byte: 1 true, 2 (or 0 from old writers) false.
    return this.byte() === 1;
  }

  readByte(): number {
    return (this.byte() << 24) >> 24;
  }

  readI16(): number {
    const n = this.varint32();
    return (n >>> 1) ^ -(n & 1);
  }

  readI32(): number {
    const n = this.varint32();
    return (n >>> 1) ^ -(n & 1);
  }

  readI64(): void {
    this.varint64();
    const lo = this.i64Lo;
    const hi = this.i64Hi;
    const mask = -(lo & 1);
    this.i64Lo = (((lo >>> 1) | (hi << 31)) ^ mask) >>> 0;
    this.i64Hi = ((hi >>> 1) ^ mask) | 0;
  }

  readDouble(): number {
    this.need(8, 'a double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  protected length(what: string): number {
    const n = this.varint32();
    this.need(n, what);
    return n;
  }

  skip(type: number): void {
    skipValue(this, type, this.depth);
  }
}
