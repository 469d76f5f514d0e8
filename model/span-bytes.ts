/**
 * Spans of the model (./span.ts) as bytes and back, exactly: what the durable span queue keeps on disk
 * (collector/traces/span-frames.ts), whatever protocol brought the spans. Every field survives — int64 tags past
 * 2^53, binary values, NaN, absent versus empty link attributes — and objects the spans shared when written (a
 * process, a scope) are shared again when read.
 *
 * Layout (little-endian): u8 version (3), varint span count, then per span: trace id, span id, operation (strings),
 * f64 start µs, f64 duration µs, varint flags, process, scope, references, tags, logs, warnings, otlp (`writeOtlp`). A string is a
 * varint `n << 1` followed by its n UTF-8 bytes, or `i << 1 | 1`: the i-th string of ≤ 128 bytes met before in the
 * batch (tag keys, services, ids of one trace, short values repeat across the spans of a batch). A shared object is
 * varint 0 absent, 1 new (its content follows), k + 2 the k-th met before. An optional list is varint n + 1, 0 when
 * absent. A tag is its key, a u8 type and the value (bool u8, int64 f64 while safe or its decimal digits past it,
 * float64 f64, binary varint length + bytes, an OTLP array or map its text then its OTLP/JSON as a string).
 *
 * Written this way because re-decoding the receiver's own body on the way out of the queue cost as much again as
 * receiving it (an OTLP/JSON span ≈ 16 µs); this reads a span back in a few µs (docs/design/span-delivery.md).
 */
import type { Dropped, KeyValue, OtlpLink, Process, Span, SpanLog, SpanOtlp, SpanRef, SpanScope } from './span.js';

/**
 * Version 2 added what OTLP sent (a span's `otlp`, array and map values); version 3 the number of dropped counts
 * before them (resource, scope and events' after the span's three) and a Thrift span's warnings tag. Version 1 and 2
 * batches are still read.
 */
const VERSION = 3;
/** Strings up to this many UTF-8 bytes are remembered for reuse within a batch. */
const INTERN_MAX_BYTES = 128;

const T_STRING = 0;
const T_BOOL = 1;
const T_INT = 2;
const T_BIGINT = 3;
const T_FLOAT = 4;
const T_BINARY = 5;
/** A string tag with its OTLP array or map value (`any`) as JSON after it. */
const T_ANY = 6;

const O_FLAGS = 1;
const O_PARENT = 2;
const O_LINKS = 4;
const O_START = 8;
const O_DURATION = 16;
const O_EVENTS = 32;
const O_DROPPED = 64;
const O_NAMES = 128;
const O_WARNINGS_TAG = 256;

/** Grown as needed and kept: a batch is written here, then copied out at its size (one allocation per batch). */
let scratch = Buffer.allocUnsafe(64 * 1024);

class ByteWriter {
  buf = scratch;
  at = 0;
  private readonly strings = new Map<string, number>();
  private readonly objects = new Map<object, number>();

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
    if (next.length <= 16 * 1024 * 1024) scratch = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  varint(v: number): void {
    this.room(5);
    while (v > 0x7f) {
      this.buf[this.at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.at++] = v;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.at);
    this.at += 8;
  }

  str(s: string): void {
    const known = this.strings.get(s);
    if (known !== undefined) {
      this.varint((known << 1) | 1);
      return;
    }
    // Up to 21 UTF-16 units are at most 63 UTF-8 bytes: their length fits the one byte kept before them.
    if (s.length <= 21) {
      this.room(1 + s.length * 3);
      const n = this.buf.write(s, this.at + 1, 'utf8');
      this.buf[this.at] = n << 1;
      this.at += 1 + n;
      this.remember(s, n);
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n << 1);
    this.room(n);
    this.buf.write(s, this.at, n, 'utf8');
    this.at += n;
    this.remember(s, n);
  }

  private remember(s: string, bytes: number): void {
    if (bytes <= INTERN_MAX_BYTES) this.strings.set(s, this.strings.size);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** True when `o` is new (the caller writes its content next). */
  shared(o: object | undefined): boolean {
    if (o === undefined) {
      this.varint(0);
      return false;
    }
    const known = this.objects.get(o);
    if (known !== undefined) {
      this.varint(known + 2);
      return false;
    }
    this.objects.set(o, this.objects.size);
    this.varint(1);
    return true;
  }

  kvs(kvs: KeyValue[]): void {
    this.varint(kvs.length);
    for (const kv of kvs) {
      this.str(kv.key);
      switch (kv.type) {
        case 'string':
          if (kv.any !== undefined) {
            this.u8(T_ANY);
            this.str(kv.value);
            this.str(JSON.stringify(kv.any));
          } else {
            this.u8(T_STRING);
            this.str(kv.value);
          }
          break;
        case 'bool':
          this.u8(T_BOOL);
          this.u8(kv.value ? 1 : 0);
          break;
        case 'int64':
          if (typeof kv.value === 'bigint') {
            this.u8(T_BIGINT);
            this.str(kv.value.toString());
          } else {
            this.u8(T_INT);
            this.f64(kv.value);
          }
          break;
        case 'float64':
          this.u8(T_FLOAT);
          this.f64(kv.value);
          break;
        case 'binary':
          this.u8(T_BINARY);
          this.bytes(kv.value);
          break;
      }
    }
  }
}

/** The spans as bytes (see the header). */
export function encodeSpanBytes(spans: Span[]): Buffer {
  const w = new ByteWriter();
  w.u8(VERSION);
  w.varint(spans.length);
  for (const s of spans) {
    w.str(s.traceId);
    w.str(s.spanId);
    w.str(s.operationName);
    w.f64(s.startTimeMicros);
    w.f64(s.durationMicros);
    w.varint(s.flags >>> 0);
    if (w.shared(s.process)) {
      w.str(s.process.serviceName);
      w.kvs(s.process.tags);
    }
    if (w.shared(s.scope)) w.kvs(s.scope!.tags);
    w.varint(s.references.length);
    for (const r of s.references) {
      w.u8(r.refType === 'FOLLOWS_FROM' ? 1 : 0);
      w.str(r.traceId);
      w.str(r.spanId);
      if (r.tags === undefined) w.varint(0);
      else {
        w.varint(1);
        w.kvs(r.tags);
      }
    }
    w.kvs(s.tags);
    w.varint(s.logs.length);
    for (const l of s.logs) {
      w.f64(l.timestampMicros);
      w.kvs(l.fields);
    }
    if (s.warnings === undefined) w.varint(0);
    else {
      w.varint(s.warnings.length + 1);
      for (const warning of s.warnings) w.str(warning);
    }
    if (s.otlp === undefined) w.varint(0);
    else writeOtlp(w, s.otlp);
  }
  return Buffer.from(w.buf.subarray(0, w.at));
}

/** A span's `otlp`: varint 1 + a bit set of the fields present, then those fields in the bits' order. */
function writeOtlp(w: ByteWriter, o: SpanOtlp): void {
  const bits = (o.flags ? O_FLAGS : 0) | (o.parentSpanId !== undefined ? O_PARENT : 0) | (o.links !== undefined ? O_LINKS : 0) |
    (o.startNanos ? O_START : 0) | (o.durationNanos ? O_DURATION : 0) | (o.eventNanos !== undefined ? O_EVENTS : 0) |
    (o.dropped !== undefined ? O_DROPPED : 0) | (o.eventNames !== undefined ? O_NAMES : 0) | (o.warningsTag !== undefined ? O_WARNINGS_TAG : 0);
  w.varint(bits + 1);
  if (bits & O_FLAGS) w.varint(o.flags! >>> 0);
  if (bits & O_PARENT) w.str(o.parentSpanId!);
  if (bits & O_LINKS) {
    w.varint(o.links!.length);
    for (const l of o.links!) {
      w.str(l.traceId);
      w.str(l.spanId);
      w.kvs(l.attributes);
      w.str(l.traceState ?? '');
      w.varint((l.flags ?? 0) >>> 0);
      w.varint(l.droppedAttributesCount ?? 0);
    }
  }
  if (bits & O_START) w.varint(o.startNanos!);
  if (bits & O_DURATION) w.varint(o.durationNanos!);
  if (bits & O_EVENTS) {
    w.varint(o.eventNanos!.length);
    for (const n of o.eventNanos!) w.varint(n);
  }
  if (bits & O_DROPPED) {
    w.varint(o.dropped!.length);
    for (const n of o.dropped!) w.varint(n >>> 0);
  }
  if (bits & O_NAMES) {
    w.varint(o.eventNames!.length);
    for (const n of o.eventNames!) w.str(n);
  }
  if (bits & O_WARNINGS_TAG) w.kvs([o.warningsTag!]);
}

function readOtlp(r: ByteReader, head: number, version: number): SpanOtlp {
  const bits = head - 1;
  const o: SpanOtlp = {};
  if (bits & O_FLAGS) o.flags = r.varint();
  if (bits & O_PARENT) o.parentSpanId = r.str();
  if (bits & O_LINKS) {
    const n = r.varint();
    const links = new Array<OtlpLink>(n);
    for (let i = 0; i < n; i++) {
      const link: OtlpLink = { traceId: r.str(), spanId: r.str(), attributes: r.kvs() };
      const traceState = r.str();
      if (traceState !== '') link.traceState = traceState;
      const flags = r.varint();
      if (flags !== 0) link.flags = flags;
      const dropped = r.varint();
      if (dropped !== 0) link.droppedAttributesCount = dropped;
      links[i] = link;
    }
    o.links = links;
  }
  if (bits & O_START) o.startNanos = r.varint();
  if (bits & O_DURATION) o.durationNanos = r.varint();
  if (bits & O_EVENTS) {
    const n = r.varint();
    const nanos = new Array<number>(n);
    for (let i = 0; i < n; i++) nanos[i] = r.varint();
    o.eventNanos = nanos;
  }
  if (bits & O_DROPPED) {
    const n = version >= 3 ? r.varint() : 3;
    const dropped = new Array<number>(n);
    for (let i = 0; i < n; i++) dropped[i] = r.varint();
    o.dropped = dropped as Dropped;
  }
  if (bits & O_NAMES) {
    const n = r.varint();
    const names = new Array<string>(n);
    for (let i = 0; i < n; i++) names[i] = r.str();
    o.eventNames = names;
  }
  if (bits & O_WARNINGS_TAG) o.warningsTag = r.kvs()[0];
  return o;
}

class ByteReader {
  at = 0;
  private readonly strings: string[] = [];
  private readonly objects: object[] = [];

  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new Error(`span bytes end early at ${this.at}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }

  varint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
      if (shift > 35) throw new Error(`span bytes: a varint too long at ${this.at}`);
    }
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  str(): string {
    const head = this.varint();
    if ((head & 1) === 1) {
      const s = this.strings[head >>> 1];
      if (s === undefined) throw new Error(`span bytes: string ${head >>> 1} not met before`);
      return s;
    }
    const n = head >>> 1;
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    if (n <= INTERN_MAX_BYTES) this.strings.push(s);
    return s;
  }

  bytes(): Uint8Array {
    const n = this.varint();
    this.need(n);
    const b = new Uint8Array(n);
    b.set(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return b;
  }

  /** The object met before, 'new' when its content follows, undefined when absent. */
  shared<T extends object>(): T | 'new' | undefined {
    const head = this.varint();
    if (head === 0) return undefined;
    if (head === 1) return 'new';
    const o = this.objects[head - 2];
    if (o === undefined) throw new Error(`span bytes: object ${head - 2} not met before`);
    return o as T;
  }

  keep<T extends object>(o: T): T {
    this.objects.push(o);
    return o;
  }

  kvs(): KeyValue[] {
    const n = this.varint();
    const kvs = new Array<KeyValue>(n);
    for (let i = 0; i < n; i++) {
      const key = this.str();
      const type = this.u8();
      switch (type) {
        case T_STRING:
          kvs[i] = { key, type: 'string', value: this.str() };
          break;
        case T_BOOL:
          kvs[i] = { key, type: 'bool', value: this.u8() === 1 };
          break;
        case T_INT:
          kvs[i] = { key, type: 'int64', value: this.f64() };
          break;
        case T_BIGINT:
          kvs[i] = { key, type: 'int64', value: BigInt(this.str()) };
          break;
        case T_FLOAT:
          kvs[i] = { key, type: 'float64', value: this.f64() };
          break;
        case T_BINARY:
          kvs[i] = { key, type: 'binary', value: this.bytes() };
          break;
        case T_ANY: {
          const value = this.str();
          kvs[i] = { key, type: 'string', value, any: JSON.parse(this.str()) as Record<string, unknown> };
          break;
        }
        default:
          throw new Error(`span bytes: unknown tag type ${type}`);
      }
    }
    return kvs;
  }
}

/** Spans from bytes written by `encodeSpanBytes`; throws, saying where, when they are damaged. */
export function decodeSpanBytes(buf: Buffer): Span[] {
  const r = new ByteReader(buf);
  const version = r.u8();
  if (version !== VERSION && version !== 1 && version !== 2) throw new Error(`span bytes: unknown version ${version}`);
  const count = r.varint();
  const spans = new Array<Span>(count);
  for (let i = 0; i < count; i++) {
    const traceId = r.str();
    const spanId = r.str();
    const operationName = r.str();
    const startTimeMicros = r.f64();
    const durationMicros = r.f64();
    const flags = r.varint();
    let process = r.shared<Process>();
    if (process === undefined) throw new Error('span bytes: a span without its process');
    if (process === 'new') {
      const serviceName = r.str();
      process = r.keep<Process>({ serviceName, tags: r.kvs() });
    }
    let scope = r.shared<SpanScope>();
    if (scope === 'new') scope = r.keep<SpanScope>({ tags: r.kvs() });
    const refCount = r.varint();
    const references = new Array<SpanRef>(refCount);
    for (let j = 0; j < refCount; j++) {
      const refType = r.u8() === 1 ? 'FOLLOWS_FROM' : 'CHILD_OF';
      const ref: SpanRef = { refType, traceId: r.str(), spanId: r.str() };
      if (r.varint() === 1) ref.tags = r.kvs();
      references[j] = ref;
    }
    const tags = r.kvs();
    const logCount = r.varint();
    const logs = new Array<SpanLog>(logCount);
    for (let j = 0; j < logCount; j++) logs[j] = { timestampMicros: r.f64(), fields: r.kvs() };
    const span: Span = { traceId, spanId, operationName, references, flags, startTimeMicros, durationMicros, tags, logs, process };
    if (scope !== undefined) span.scope = scope;
    const warningCount = r.varint();
    if (warningCount > 0) {
      const warnings = new Array<string>(warningCount - 1);
      for (let j = 0; j < warningCount - 1; j++) warnings[j] = r.str();
      span.warnings = warnings;
    }
    if (version >= 2) {
      const otlp = r.varint();
      if (otlp !== 0) span.otlp = readOtlp(r, otlp, version);
    }
    spans[i] = span;
  }
  if (r.at !== buf.length) throw new Error(`span bytes: ${buf.length - r.at} bytes after the last span`);
  return spans;
}
