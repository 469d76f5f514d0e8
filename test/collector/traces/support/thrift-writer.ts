/**
 * Writers of Jaeger's Thrift `Batch` and the agent's `emitBatch` message in the compact and binary protocols, for
 * tests and benchmarks: no installed client writes the compact protocol (jaeger-client for Node sends binary), so
 * compact datagrams are built here, from the protocol specification. Thrift-shaped input: ids and times as bigint.
 */

export const TAG = { STRING: 0, DOUBLE: 1, BOOL: 2, LONG: 3, BINARY: 4 } as const;
export const REF = { CHILD_OF: 0, FOLLOWS_FROM: 1 } as const;

export interface TTag {
  key: string;
  vType: number;
  vStr?: string;
  vDouble?: number;
  vBool?: boolean;
  vLong?: bigint;
  vBinary?: Uint8Array;
}
export interface TLog {
  timestamp: bigint;
  fields: TTag[];
  /** A second fields list after the first (Thrift lets a field repeat; the last one counts). */
  fieldsAgain?: TTag[];
}
export interface TSpanRef { refType: number; traceIdLow: bigint; traceIdHigh: bigint; spanId: bigint }
export interface TSpan {
  traceIdLow: bigint;
  traceIdHigh: bigint;
  spanId: bigint;
  parentSpanId: bigint;
  operationName: string;
  references?: TSpanRef[];
  flags: number;
  startTime: bigint;
  duration: bigint;
  tags?: TTag[];
  logs?: TLog[];
  /** Tags and logs lists written a second time, after the first. */
  again?: { tags?: TTag[]; logs?: TLog[] };
}
export interface TProcess { serviceName: string; tags?: TTag[] }
export interface TBatch { process: TProcess; spans: TSpan[]; seqNo?: bigint }

// Apache Thrift TType codes.
const BOOL = 2, DOUBLE = 4, I32 = 8, I64 = 10, STRING = 11, STRUCT = 12, LIST = 15;

interface Writer {
  messageBegin(name: string, type: number, seqId: number): void;
  structBegin(): void;
  structEnd(): void;
  field(type: number, id: number): void;
  boolField(id: number, value: boolean): void;
  listBegin(elemType: number, size: number): void;
  mapBegin(keyType: number, valueType: number, size: number): void;
  i32(v: number): void;
  i64(v: bigint): void;
  double(v: number): void;
  string(s: string): void;
  binary(b: Uint8Array): void;
  bytes(): Buffer;
}

class ByteSink {
  private buf = Buffer.alloc(1024);
  private len = 0;
  protected room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  protected u8(b: number): void {
    this.room(1);
    this.buf[this.len++] = b & 0xff;
  }
  protected raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  protected fixed(n: number, write: (buf: Buffer, at: number) => void): void {
    this.room(n);
    write(this.buf, this.len);
    this.len += n;
  }
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

const TTYPE_TO_COMPACT: Record<number, number> = { [BOOL]: 1, 3: 3, 6: 4, [I32]: 5, [I64]: 6, [DOUBLE]: 7, [STRING]: 8, [LIST]: 9, 14: 10, 13: 11, [STRUCT]: 12 };

export class CompactWriter extends ByteSink implements Writer {
  private last = 0;
  private readonly stack: number[] = [];
  private varint(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      this.u8(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.u8(Number(v));
  }
  private zigzag(n: bigint): void {
    this.varint(BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
  }
  messageBegin(name: string, type: number, seqId: number): void {
    this.u8(0x82);
    this.u8((type << 5) | 1);
    this.varint(BigInt(seqId >>> 0));
    this.string(name);
  }
  structBegin(): void {
    this.stack.push(this.last);
    this.last = 0;
  }
  structEnd(): void {
    this.u8(0);
    this.last = this.stack.pop()!;
  }
  private header(compactType: number, id: number): void {
    const delta = id - this.last;
    if (delta > 0 && delta <= 15) this.u8((delta << 4) | compactType);
    else {
      this.u8(compactType);
      this.zigzag(BigInt(id));
    }
    this.last = id;
  }
  field(type: number, id: number): void {
    this.header(TTYPE_TO_COMPACT[type]!, id);
  }
  boolField(id: number, value: boolean): void {
    this.header(value ? 1 : 2, id);
  }
  listBegin(elemType: number, size: number): void {
    const t = TTYPE_TO_COMPACT[elemType]!;
    if (size < 15) this.u8((size << 4) | t);
    else {
      this.u8(0xf0 | t);
      this.varint(BigInt(size));
    }
  }
  mapBegin(keyType: number, valueType: number, size: number): void {
    this.varint(BigInt(size));
    if (size > 0) this.u8((TTYPE_TO_COMPACT[keyType]! << 4) | TTYPE_TO_COMPACT[valueType]!);
  }
  i32(v: number): void {
    this.zigzag(BigInt(v | 0));
  }
  i64(v: bigint): void {
    this.zigzag(BigInt.asIntN(64, v));
  }
  double(v: number): void {
    this.fixed(8, (b, at) => b.writeDoubleLE(v, at));
  }
  string(s: string): void {
    this.binary(Buffer.from(s, 'utf8'));
  }
  binary(b: Uint8Array): void {
    this.varint(BigInt(b.length));
    this.raw(b);
  }
}

export class BinaryWriter extends ByteSink implements Writer {
  messageBegin(name: string, type: number, seqId: number): void {
    this.fixed(4, (b, at) => b.writeUInt32BE((0x80010000 | type) >>> 0, at));
    this.string(name);
    this.i32(seqId);
  }
  structBegin(): void {}
  structEnd(): void {
    this.u8(0);
  }
  field(type: number, id: number): void {
    this.u8(type);
    this.fixed(2, (b, at) => b.writeInt16BE(id, at));
  }
  boolField(id: number, value: boolean): void {
    this.field(BOOL, id);
    this.u8(value ? 1 : 0);
  }
  listBegin(elemType: number, size: number): void {
    this.u8(elemType);
    this.i32(size);
  }
  mapBegin(keyType: number, valueType: number, size: number): void {
    this.u8(keyType);
    this.u8(valueType);
    this.i32(size);
  }
  i32(v: number): void {
    this.fixed(4, (b, at) => b.writeInt32BE(v | 0, at));
  }
  i64(v: bigint): void {
    this.fixed(8, (b, at) => b.writeBigInt64BE(BigInt.asIntN(64, v), at));
  }
  double(v: number): void {
    this.fixed(8, (b, at) => b.writeDoubleBE(v, at));
  }
  string(s: string): void {
    this.binary(Buffer.from(s, 'utf8'));
  }
  binary(b: Uint8Array): void {
    this.i32(b.length);
    this.raw(b);
  }
}

function writeTags(w: Writer, id: number, tags: TTag[] | undefined): void {
  if (tags === undefined) return;
  w.field(LIST, id);
  w.listBegin(STRUCT, tags.length);
  for (const t of tags) {
    w.structBegin();
    w.field(STRING, 1); w.string(t.key);
    w.field(I32, 2); w.i32(t.vType);
    if (t.vStr !== undefined) { w.field(STRING, 3); w.string(t.vStr); }
    if (t.vDouble !== undefined) { w.field(DOUBLE, 4); w.double(t.vDouble); }
    if (t.vBool !== undefined) w.boolField(5, t.vBool);
    if (t.vLong !== undefined) { w.field(I64, 6); w.i64(t.vLong); }
    if (t.vBinary !== undefined) { w.field(STRING, 7); w.binary(t.vBinary); }
    w.structEnd();
  }
}

function writeLogs(w: Writer, logs: TLog[] | undefined): void {
  if (logs === undefined) return;
  w.field(LIST, 11);
  w.listBegin(STRUCT, logs.length);
  for (const l of logs) {
    w.structBegin();
    w.field(I64, 1); w.i64(l.timestamp);
    writeTags(w, 2, l.fields);
    writeTags(w, 2, l.fieldsAgain);
    w.structEnd();
  }
}

function writeBatch(w: Writer, batch: TBatch): void {
  w.structBegin();
  w.field(STRUCT, 1);
  w.structBegin();
  w.field(STRING, 1); w.string(batch.process.serviceName);
  writeTags(w, 2, batch.process.tags);
  w.structEnd();
  w.field(LIST, 2);
  w.listBegin(STRUCT, batch.spans.length);
  for (const s of batch.spans) {
    w.structBegin();
    w.field(I64, 1); w.i64(s.traceIdLow);
    w.field(I64, 2); w.i64(s.traceIdHigh);
    w.field(I64, 3); w.i64(s.spanId);
    w.field(I64, 4); w.i64(s.parentSpanId);
    w.field(STRING, 5); w.string(s.operationName);
    if (s.references !== undefined) {
      w.field(LIST, 6);
      w.listBegin(STRUCT, s.references.length);
      for (const r of s.references) {
        w.structBegin();
        w.field(I32, 1); w.i32(r.refType);
        w.field(I64, 2); w.i64(r.traceIdLow);
        w.field(I64, 3); w.i64(r.traceIdHigh);
        w.field(I64, 4); w.i64(r.spanId);
        w.structEnd();
      }
    }
    w.field(I32, 7); w.i32(s.flags);
    w.field(I64, 8); w.i64(s.startTime);
    w.field(I64, 9); w.i64(s.duration);
    writeTags(w, 10, s.tags);
    writeLogs(w, s.logs);
    if (s.again !== undefined) {
      // Field ids go down again: the compact protocol writes them in full.
      writeTags(w, 10, s.again.tags);
      writeLogs(w, s.again.logs);
    }
    w.structEnd();
  }
  if (batch.seqNo !== undefined) { w.field(I64, 3); w.i64(batch.seqNo); }
  w.structEnd();
}

export type Protocol = 'compact' | 'binary';

function writer(protocol: Protocol): Writer {
  return protocol === 'compact' ? new CompactWriter() : new BinaryWriter();
}

/** A bare `Batch` (the body of `POST /api/traces` in binary). */
export function encodeBatch(batch: TBatch, protocol: Protocol): Buffer {
  const w = writer(protocol);
  writeBatch(w, batch);
  return w.bytes();
}

/** `Agent.emitBatch(batch)` as a oneway call message: one agent UDP datagram. */
export function encodeEmitBatch(batch: TBatch, protocol: Protocol, seqId = 0): Buffer {
  const w = writer(protocol);
  w.messageBegin('emitBatch', 4, seqId);
  w.structBegin();
  w.field(STRUCT, 1);
  writeBatch(w, batch);
  w.structEnd();
  return w.bytes();
}
