/**
 * What the Thrift compact and binary readers share: the value types (Apache Thrift's `TType` codes, which the
 * binary protocol writes as they are and the compact reader translates to), the reader contract the Jaeger
 * decoder is written against, skipping of unknown values, and 64-bit integers kept as two 32-bit halves.
 *
 * Readers work on untrusted bytes (UDP datagrams, HTTP bodies). Every length and element count is checked against
 * the bytes left before anything is read or allocated, and nesting is bounded, so hostile input costs at most its
 * own size. A reader signals bad input by throwing `ThriftError`; only the decoder entry points catch it, and they
 * return a failure reason instead (parsers never throw to their callers).
 */

export const T_STOP = 0;
export const T_BOOL = 2;
export const T_BYTE = 3;
export const T_DOUBLE = 4;
export const T_I16 = 6;
export const T_I32 = 8;
export const T_I64 = 10;
export const T_STRING = 11;
export const T_STRUCT = 12;
export const T_MAP = 13;
export const T_SET = 14;
export const T_LIST = 15;
export const T_UUID = 16;

const TYPE_NAMES: Record<number, string> = {
  [T_BOOL]: 'bool', [T_BYTE]: 'byte', [T_DOUBLE]: 'double', [T_I16]: 'i16', [T_I32]: 'i32', [T_I64]: 'i64',
  [T_STRING]: 'string', [T_STRUCT]: 'struct', [T_MAP]: 'map', [T_SET]: 'set', [T_LIST]: 'list', [T_UUID]: 'uuid',
};

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

/** Thrift message types. */
export const MESSAGE_CALL = 1;
export const MESSAGE_ONEWAY = 4;

/** Nesting of structs and containers a reader accepts (Apache Thrift's default recursion limit). */
export const MAX_DEPTH = 64;

/** Bad input. Thrown inside a reader, caught at the decoder's entry point and turned into a failure reason. */
export class ThriftError extends Error {
  override readonly name = 'ThriftError';
}

export interface MessageHeader {
  name: string;
  type: number;
  seqId: number;
}

/**
 * A pull reader over one buffer. Calls that return several values leave them in fields instead of allocating:
 * `readFieldBegin` returns the field's type and sets `fieldId`; `readListBegin` returns the size and sets
 * `elemType`; `readMapBegin` sets `keyType` and `valueType`; `readI64` sets `i64Hi` (signed) and `i64Lo` (unsigned).
 */
export interface ThriftReader {
  readonly offset: number;
  fieldId: number;
  elemType: number;
  keyType: number;
  valueType: number;
  i64Hi: number;
  i64Lo: number;
  readMessageBegin(): MessageHeader;
  readStructBegin(): void;
  readStructEnd(): void;
  /** The next field's type, or T_STOP at the end of the struct. */
  readFieldBegin(): number;
  readListBegin(): number;
  readMapBegin(): number;
  readBool(): boolean;
  readByte(): number;
  readI16(): number;
  readI32(): number;
  readI64(): void;
  readDouble(): number;
  readString(): string;
  /** The bytes of the last string read (`s`) when they are not UTF-8, else undefined. */
  badUtf8(s: string): Uint8Array | undefined;
  /** A copy of the bytes (never a view: a view would keep the whole datagram alive). */
  readBinary(): Uint8Array;
  /** Reads past one value of `type`, whatever it holds. */
  skip(type: number): void;
}

/** Skips one value through the reader's own primitives; containers and structs recurse at most MAX_DEPTH deep. */
export function skipValue(r: ThriftReader, type: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new ThriftError(`nesting deeper than ${MAX_DEPTH} at byte ${r.offset}`);
  switch (type) {
    case T_BOOL: r.readBool(); return;
    case T_BYTE: r.readByte(); return;
    case T_I16: r.readI16(); return;
    case T_I32: r.readI32(); return;
    case T_I64: r.readI64(); return;
    case T_DOUBLE: r.readDouble(); return;
    case T_STRING: r.readString(); return;
    case T_UUID: for (let i = 0; i < 16; i++) r.readByte(); return;
    case T_STRUCT: {
      r.readStructBegin();
      for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) skipValue(r, t, depth + 1);
      r.readStructEnd();
      return;
    }
    case T_LIST:
    case T_SET: {
      const n = r.readListBegin();
      const elem = r.elemType;
      for (let i = 0; i < n; i++) skipValue(r, elem, depth + 1);
      return;
    }
    case T_MAP: {
      const n = r.readMapBegin();
      const k = r.keyType;
      const v = r.valueType;
      for (let i = 0; i < n; i++) {
        skipValue(r, k, depth + 1);
        skipValue(r, v, depth + 1);
      }
      return;
    }
    default:
      throw new ThriftError(`cannot skip unknown value type ${type} at byte ${r.offset}`);
  }
}

// ---- 64-bit integers as two halves ----

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 8 lowercase hex digits of an unsigned or signed 32-bit half. */
export function hex32(x: number): string {
  return HEX[(x >>> 24) & 0xff]! + HEX[(x >>> 16) & 0xff]! + HEX[(x >>> 8) & 0xff]! + HEX[x & 0xff]!;
}

/** 16 lowercase hex digits of the unsigned 64-bit value `hi:lo` (a Jaeger span id, or half a trace id). */
export function hex64(hi: number, lo: number): string {
  return hex32(hi) + hex32(lo);
}

/** The signed value `hi:lo` as a number while it is a safe integer, else exactly as a bigint. */
export function int64Value(hi: number, lo: number): number | bigint {
  const n = (hi | 0) * 4294967296 + (lo >>> 0);
  // Beyond ±2^53 the sum above is rounded; it then can never land on a safe integer, so this test is exact.
  if (Number.isSafeInteger(n)) return n;
  return (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
}

/** The signed value `hi:lo` as a number (rounded beyond 2^53: used for microsecond times, exact until year 2255). */
export function int64Number(hi: number, lo: number): number {
  return (hi | 0) * 4294967296 + (lo >>> 0);
}
