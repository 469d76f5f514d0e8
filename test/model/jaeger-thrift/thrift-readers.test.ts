import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BinaryReader } from '../../../model/jaeger-thrift/thrift-binary.js';
import { CompactReader } from '../../../model/jaeger-thrift/thrift-compact.js';
import {
  T_BOOL, T_DOUBLE, T_I32, T_I64, T_LIST, T_STOP, T_STRING, T_STRUCT, ThriftError, int64Value, type ThriftReader,
} from '../../../model/jaeger-thrift/thrift-reader.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);
const i64Of = (r: ThriftReader): bigint => BigInt(int64Value(r.i64Hi, r.i64Lo));

// Byte sequences below are written from the Thrift compact protocol specification (apache/thrift
// doc/specs/thrift-compact-protocol.md), not produced by the writers these tests also use.

test('compact varints decode at the edges of i32 and i64, zigzag included', () => {
  const cases: Array<[number[], bigint]> = [
    [[0x00], 0n],
    [[0x01], -1n],
    [[0x02], 1n],
    [[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 2n ** 63n - 1n],
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], -(2n ** 63n)],
    [[0x80, 0x80, 0x80, 0x80, 0x20], 2n ** 32n], // raw 2^33: crosses the 32-bit boundary inside byte 5
    [[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40], 2n ** 54n],
  ];
  for (const [input, want] of cases) {
    const r = new CompactReader(bytes(...input));
    r.readI64();
    assert.equal(i64Of(r), want, `bytes ${input.map((b) => b.toString(16)).join(' ')}`);
    assert.equal(r.offset, input.length);
  }
  assert.equal(new CompactReader(bytes(0xfe, 0xff, 0xff, 0xff, 0x0f)).readI32(), 2147483647);
  assert.equal(new CompactReader(bytes(0xff, 0xff, 0xff, 0xff, 0x0f)).readI32(), -2147483648);
});

test('compact field headers carry id deltas, long ids, and booleans in the type nibble', () => {
  // struct { 1: bool true, 2: bool false, 100: i32 7, 101: double 1.5, 102: list<i32> of 20 }
  const input = [
    0x11, 0x12,
    0x05, 0xc8, 0x01, 0x0e,
    0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f,
    0x19, 0xf5, 0x14, ...Array.from({ length: 20 }, (_, i) => i * 2),
    0x00,
  ];
  const r = new CompactReader(bytes(...input));
  r.readStructBegin();
  assert.equal(r.readFieldBegin(), T_BOOL); assert.equal(r.fieldId, 1); assert.equal(r.readBool(), true);
  assert.equal(r.readFieldBegin(), T_BOOL); assert.equal(r.fieldId, 2); assert.equal(r.readBool(), false);
  assert.equal(r.readFieldBegin(), T_I32); assert.equal(r.fieldId, 100); assert.equal(r.readI32(), 7);
  assert.equal(r.readFieldBegin(), T_DOUBLE); assert.equal(r.fieldId, 101); assert.equal(r.readDouble(), 1.5);
  assert.equal(r.readFieldBegin(), T_LIST); assert.equal(r.fieldId, 102);
  assert.equal(r.readListBegin(), 20); assert.equal(r.elemType, T_I32);
  assert.deepEqual(Array.from({ length: 20 }, () => r.readI32()), Array.from({ length: 20 }, (_, i) => i));
  assert.equal(r.readFieldBegin(), T_STOP);
  r.readStructEnd();
  assert.equal(r.offset, input.length);
});

test('compact field ids are relative to the enclosing struct, not to a nested one', () => {
  // struct { 1: struct { 5: i32 1 }, 2: i32 2 }
  const r = new CompactReader(bytes(0x1c, 0x55, 0x02, 0x00, 0x15, 0x04, 0x00));
  r.readStructBegin();
  assert.equal(r.readFieldBegin(), T_STRUCT);
  r.readStructBegin();
  assert.equal(r.readFieldBegin(), T_I32); assert.equal(r.fieldId, 5); r.readI32();
  assert.equal(r.readFieldBegin(), T_STOP);
  r.readStructEnd();
  assert.equal(r.readFieldBegin(), T_I32);
  assert.equal(r.fieldId, 2);
  assert.equal(r.readI32(), 2);
});

test('binary messages are read in the strict and the old non-strict form', () => {
  const name = [...Buffer.from('emitBatch')];
  const strict = new BinaryReader(bytes(0x80, 0x01, 0x00, 0x04, 0, 0, 0, 9, ...name, 0, 0, 0, 7));
  assert.deepEqual(strict.readMessageBegin(), { name: 'emitBatch', type: 4, seqId: 7 });
  const old = new BinaryReader(bytes(0, 0, 0, 9, ...name, 0x01, 0, 0, 0, 3));
  assert.deepEqual(old.readMessageBegin(), { name: 'emitBatch', type: 1, seqId: 3 });
  assert.throws(() => new BinaryReader(bytes(0x80, 0x02, 0x00, 0x01)).readMessageBegin(), /version/);
});

test('binary fixed-width values are big-endian', () => {
  const r = new BinaryReader(bytes(0x80, 0, 0, 0, 0, 0, 0, 0, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe));
  r.readI64();
  assert.equal(i64Of(r), -(2n ** 63n));
  assert.equal(r.readDouble(), 1.5);
  assert.equal(r.readI32(), -2);
});

test('strings are UTF-8 and binaries are copies, not views of the input', () => {
  const input = Buffer.concat([bytes(0x0a), Buffer.from('žluťoučký'.slice(0, 5)), bytes(3, 1, 2, 3)]);
  input[0] = Buffer.byteLength('žluťo');
  const r = new CompactReader(input);
  assert.equal(r.readString(), 'žluťo');
  const bin = r.readBinary();
  input.fill(0);
  assert.deepEqual([...bin], [1, 2, 3]);
});

function rejects(make: () => ThriftReader, read: (r: ThriftReader) => void, message: RegExp): void {
  assert.throws(() => read(make()), (err: unknown) => err instanceof ThriftError && message.test(err.message));
}

test('lengths and counts beyond the bytes left are refused before anything is allocated', () => {
  // compact string claiming 2^31 bytes
  rejects(() => new CompactReader(bytes(0x80, 0x80, 0x80, 0x80, 0x08, 0x41)), (r) => r.readString(), /truncated: a string needs 2147483648 bytes/);
  // compact list claiming 2^32-1 i64s
  rejects(() => new CompactReader(bytes(0xf6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00)), (r) => r.readListBegin(), /truncated/);
  // compact map claiming a million entries
  rejects(() => new CompactReader(bytes(0xc0, 0x84, 0x3d, 0x88, 0x01)), (r) => r.readMapBegin(), /truncated: a map of 1000000/);
  // binary: negative and huge lengths, huge list of i64 (8 bytes each)
  rejects(() => new BinaryReader(bytes(0xff, 0xff, 0xff, 0xff)), (r) => r.readString(), /a string with negative length -1/);
  rejects(() => new BinaryReader(bytes(0x7f, 0xff, 0xff, 0xff, 0x41)), (r) => r.readBinary(), /truncated/);
  rejects(() => new BinaryReader(bytes(T_I64, 0, 0, 0, 2, ...new Array(15).fill(0))), (r) => r.readListBegin(), /i64 list of 2 needs 16 bytes/);
  rejects(() => new BinaryReader(bytes(T_STRING, 0x80, 0, 0, 0)), (r) => r.readListBegin(), /negative/);
});

test('varints longer than their width, unknown types and truncation are refused', () => {
  rejects(() => new CompactReader(bytes(...new Array(11).fill(0xff))), (r) => r.readI64(), /varint longer than 10 bytes/);
  rejects(() => new CompactReader(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), (r) => r.readI32(), /varint longer than 5 bytes/);
  rejects(() => new CompactReader(bytes(0x1e)), (r) => r.readFieldBegin(), /unknown compact type 14/);
  rejects(() => new BinaryReader(bytes(0x07, 0x00, 0x01)), (r) => r.readFieldBegin(), /unknown field type 7/);
  rejects(() => new CompactReader(bytes(0x80)), (r) => r.readI32(), /truncated/);
  rejects(() => new BinaryReader(bytes(0, 0, 0)), (r) => r.readI32(), /truncated/);
  rejects(() => new CompactReader(bytes(0x01, 0x02, 0x03)), (r) => r.readDouble(), /truncated: a double/);
});

test('skipping deeply nested values stops at the nesting limit', () => {
  // compact: a struct whose field 1 is a struct whose field 1 is a struct … 10,000 deep
  const structs = new CompactReader(Buffer.alloc(10_000, 0x1c));
  rejects(() => structs, (r) => r.skip(T_STRUCT), /nesting deeper than 64/);
  // compact: list<list<list<…>>> of one element each
  const lists = new CompactReader(Buffer.alloc(10_000, 0x19));
  rejects(() => lists, (r) => r.skip(T_LIST), /nesting deeper than 64/);
  // binary: struct { 1: struct { 1: struct … } }
  const nested = Buffer.alloc(30_000);
  for (let i = 0; i < 10_000; i++) nested.set([T_STRUCT, 0, 1], i * 3);
  rejects(() => new BinaryReader(nested), (r) => r.skip(T_STRUCT), /nesting deeper than 64/);
});

test('skipping walks over every kind of value and lands on the next field', () => {
  // compact struct { 1: map<string, list<double>> {"a": [0.5]}, 2: set<i64> {1}, 3: uuid, 4: byte 7, 5: i32 9 }
  const input = [
    0x1b, 0x01, 0x89, 0x01, 0x61, 0x17, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f,
    0x1a, 0x16, 0x02,
    0x1d, ...new Array(16).fill(0xab),
    0x13, 0x07,
    0x15, 0x12,
    0x00,
  ];
  const r = new CompactReader(bytes(...input));
  r.readStructBegin();
  for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
    if (r.fieldId === 5) assert.equal(r.readI32(), 9);
    else r.skip(t);
  }
  assert.equal(r.offset, input.length);
});
