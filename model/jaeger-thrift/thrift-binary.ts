/**
 * Reader of the Thrift binary protocol (Apache Thrift's `TBinaryProtocol`, the protocol of Jaeger's agent port
 * 6832 and of `POST /api/traces`): big-endian fixed-width integers and doubles, a type byte and an i16 id per
 * field, i32-prefixed strings and container sizes. Messages in the strict form (version word 0x8001) and in the
 * old non-strict form (name first) are both read.
 *
 * Bounds: negative sizes are refused, every length and element count is checked against the bytes left, and
 * nesting is bounded.
 */
import { ThriftByteReader } from './thrift-byte-reader.js';
import {
  MAX_DEPTH, T_BOOL, T_BYTE, T_DOUBLE, T_I16, T_I32, T_I64, T_LIST, T_MAP, T_SET, T_STOP, T_STRING, T_STRUCT, T_UUID,
  ThriftError, skipValue, typeName, type MessageHeader, type ThriftReader,
} from './thrift-reader.js';

const VERSION_MASK = 0xffff0000 | 0;
const VERSION_1 = 0x80010000 | 0;

/** Smallest encoding of one value of each type, to bound element counts by the bytes left. */
const MIN_SIZE: Record<number, number> = {
  [T_BOOL]: 1, [T_BYTE]: 1, [T_DOUBLE]: 8, [T_I16]: 2, [T_I32]: 4, [T_I64]: 8, [T_STRING]: 4, [T_STRUCT]: 1,
  [T_MAP]: 6, [T_SET]: 5, [T_LIST]: 5, [T_UUID]: 16,
};

export class BinaryReader extends ThriftByteReader implements ThriftReader {
  private depth = 0;

  private checkType(code: number, what: string): number {
    if (MIN_SIZE[code] === undefined) throw new ThriftError(`unknown ${what} type ${code} at byte ${this.pos - 1}`);
    return code;
  }

  readMessageBegin(): MessageHeader {
    const first = this.readI32();
    if (first < 0) {
      if ((first & VERSION_MASK) !== VERSION_1) {
        throw new ThriftError(`unsupported binary protocol version 0x${(first >>> 16).toString(16)}`);
      }
      const name = this.readString();
      const seqId = this.readI32();
      return { name, type: first & 0xff, seqId };
    }
    // Non-strict: the first word is the name's length.
    this.need(first, 'a message name');
    const name = this.buf.toString('utf8', this.pos, this.pos + first);
    this.pos += first;
    const type = this.readByte();
    const seqId = this.readI32();
    return { name, type, seqId };
  }

  readStructBegin(): void {
    if (++this.depth > MAX_DEPTH) throw new ThriftError(`nesting deeper than ${MAX_DEPTH} at byte ${this.pos}`);
  }

  readStructEnd(): void {
    this.depth--;
  }

  readFieldBegin(): number {
    this.need(1, 'a field header');
    const type = this.buf[this.pos++]!;
    if (type === T_STOP) return T_STOP;
    this.checkType(type, 'field');
    this.fieldId = this.readI16();
    return type;
  }

  private count(size: number, elemMin: number, what: string): number {
    if (size < 0) throw new ThriftError(`negative ${what} size ${size} at byte ${this.pos - 4}`);
    if (size * elemMin > this.end - this.pos) this.need(size * elemMin, `a ${what} of ${size}`);
    return size;
  }

  readListBegin(): number {
    this.need(5, 'a list header');
    this.elemType = this.checkType(this.buf[this.pos++]!, 'element');
    return this.count(this.readI32(), MIN_SIZE[this.elemType]!, `${typeName(this.elemType)} list`);
  }

  readMapBegin(): number {
    this.need(6, 'a map header');
    this.keyType = this.checkType(this.buf[this.pos++]!, 'map key');
    this.valueType = this.checkType(this.buf[this.pos++]!, 'map value');
    return this.count(this.readI32(), MIN_SIZE[this.keyType]! + MIN_SIZE[this.valueType]!, 'map');
  }

  readBool(): boolean {
    this.need(1, 'a bool');
    return this.buf[this.pos++]! !== 0;
  }

  readByte(): number {
    this.need(1, 'a byte');
    return this.buf.readInt8(this.pos++);
  }

  readI16(): number {
    this.need(2, 'an i16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  readI32(): number {
    this.need(4, 'an i32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  readI64(): void {
    this.need(8, 'an i64');
    this.i64Hi = this.buf.readInt32BE(this.pos);
    this.i64Lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
  }

  readDouble(): number {
    this.need(8, 'a double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  protected length(what: string): number {
    const n = this.readI32();
    if (n < 0) throw new ThriftError(`${what} with negative length ${n} at byte ${this.pos - 4}`);
    this.need(n, what);
    return n;
  }

  skip(type: number): void {
    skipValue(this, type, this.depth);
  }
}
