/**
 * Jaeger's Thrift IDL (jaeger-idl `thrift/jaeger.thrift`: Batch, Process, Span, Tag, Log, SpanRef; and
 * `thrift/agent.thrift`: the oneway `Agent.emitBatch(1: jaeger.Batch batch)` call) decoded into the span model, on
 * top of either Thrift protocol, as Jaeger 2.x shows what it received (its translation through OpenTelemetry and
 * back: jaeger-otel-translate.ts):
 *
 * - trace id = traceIdHigh:traceIdLow as 32 hex digits, span ids as 16, both read as unsigned;
 * - tags keep their type; a LONG is exact (bigint beyond 2^53); times are microseconds.
 *
 * Required fields are required, as in Jaeger's generated readers: a span without its trace id or start time is a
 * malformed batch. Fields this IDL version does not know (Batch.seqNo, Batch.stats, Span.incomplete, anything
 * newer) are skipped, as are fields whose type does not match the IDL (Thrift's own rule).
 */
import type { KeyValue, Process, Span, SpanLog } from '../span.js';
import { translateThriftProcess, translateThriftSpan, type BadKeys, type ThriftRef } from './jaeger-otel-translate.js';
import { BinaryReader } from './thrift-binary.js';
import { CompactReader } from './thrift-compact.js';
import {
  MESSAGE_CALL, MESSAGE_ONEWAY, T_BOOL, T_DOUBLE, T_I32, T_I64, T_LIST, T_STOP, T_STRING, T_STRUCT, ThriftError,
  hex64, int64Number, int64Value, typeName, type ThriftReader,
} from './thrift-reader.js';

export type ThriftProtocol = 'compact' | 'binary';

export interface JaegerDecodeLimits {
  /** Spans accepted in one batch; more is refused as a whole (`too_many_spans`). */
  maxSpans: number;
}

export type JaegerDecodeResult =
  | { ok: true; spans: Span[] }
  | { ok: false; reason: 'malformed' | 'too_many_spans'; error: string };

const DEFAULT_LIMITS: JaegerDecodeLimits = { maxSpans: 100_000 };

/** A bare `Batch` struct: the body of Jaeger's `POST /api/traces`. */
export function decodeJaegerBatch(bytes: Uint8Array, protocol: ThriftProtocol, limits: JaegerDecodeLimits = DEFAULT_LIMITS): JaegerDecodeResult {
  const decoder = new JaegerDecoder(newReader(bytes, protocol), limits);
  return decoder.run(() => decoder.batch());
}

/** An `Agent.emitBatch` call message: one UDP datagram to the agent ports 6831 (compact) and 6832 (binary). */
export function decodeAgentEmitBatch(bytes: Uint8Array, protocol: ThriftProtocol, limits: JaegerDecodeLimits = DEFAULT_LIMITS): JaegerDecodeResult {
  const decoder = new JaegerDecoder(newReader(bytes, protocol), limits);
  return decoder.run(() => decoder.emitBatch());
}

/**
 * `Span` structs one after another, up to the end of `bytes` (what the embedded store keeps of a span received in
 * Thrift compact, or of a run of spans of one trace received together), with the process they belong to. Throws
 * `ThriftError` on bad bytes.
 */
export function decodeJaegerSpans(bytes: Uint8Array, protocol: ThriftProtocol, process: Process): Span[] {
  const reader = newReader(bytes, protocol);
  const decoder = new JaegerDecoder(reader, DEFAULT_LIMITS);
  const spans: Span[] = [];
  do {
    const span = decoder.span();
    if (span === undefined) continue;
    span.process = process;
    spans.push(span);
  } while (reader.offset < bytes.length);
  return spans;
}

function newReader(bytes: Uint8Array, protocol: ThriftProtocol): ThriftReader {
  return protocol === 'compact' ? new CompactReader(bytes) : new BinaryReader(bytes);
}

export class TooManySpans extends Error {}

/** Reads an agent message's header: an `emitBatch` call (oneway or not), else fails naming what came instead. */
export function readEmitBatchCall(r: ThriftReader): void {
  const header = r.readMessageBegin();
  if (header.name !== 'emitBatch') {
    throw new ThriftError(`unsupported agent method "${header.name.slice(0, 64)}" (only emitBatch is served)`);
  }
  if (header.type !== MESSAGE_ONEWAY && header.type !== MESSAGE_CALL) {
    throw new ThriftError(`message type ${header.type} is not a call`);
  }
}

/**
 * The refusal for what reading a batch threw, naming the span being read (`spanIndex`, -1 outside the spans).
 * Anything but a ThriftError or TooManySpans would be a reader bug; it is still only this input's failure (the fuzz
 * tests hold the decoder and the datagram walk to never reaching that).
 */
export function decodeFailure(err: unknown, spanIndex: number): Extract<JaegerDecodeResult, { ok: false }> {
  if (err instanceof TooManySpans) return { ok: false, reason: 'too_many_spans', error: err.message };
  const where = spanIndex >= 0 ? `span ${spanIndex}: ` : '';
  const what = err instanceof ThriftError ? err.message : `decoder failure (${err instanceof Error ? err.message : String(err)})`;
  return { ok: false, reason: 'malformed', error: where + what };
}

export const TAG_STRING = 0;
export const TAG_DOUBLE = 1;
export const TAG_BOOL = 2;
export const TAG_LONG = 3;
export const TAG_BINARY = 4;

const EMPTY_BINARY = new Uint8Array(0);
/** Stands in until the batch's process is read (a writer may put `spans` before `process`). */
const NO_PROCESS: Process = Object.freeze({ serviceName: '', tags: [] }) as Process;

export class JaegerDecoder {
  /** Index of the span being read, for the failure reason. */
  private spanIndex = -1;
  /**
   * The last trace id made and its four 32-bit words: the spans of a batch (and their references) mostly share one
   * trace, so they share one string, made once (and hashed once where it is a map key).
   */
  private lastTraceId = '';
  private lastHighHi = 0;
  private lastHighLo = 0;
  private lastLowHi = 0;
  private lastLowLo = 0;
  private readonly ref = new SpanRefFields();

  constructor(
    private readonly r: ThriftReader,
    private readonly limits: JaegerDecodeLimits,
  ) {}

  run(body: () => Span[]): JaegerDecodeResult {
    try {
      return { ok: true, spans: body() };
    } catch (err) {
      return decodeFailure(err, this.spanIndex);
    }
  }

  emitBatch(): Span[] {
    const r = this.r;
    readEmitBatchCall(r);
    let spans: Span[] | undefined;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      if (r.fieldId === 1 && t === T_STRUCT) spans = this.batch();
      else r.skip(t);
    }
    r.readStructEnd();
    if (spans === undefined) throw new ThriftError('emitBatch call without its batch argument');
    return spans;
  }

  batch(): Span[] {
    const r = this.r;
    let process: Process | undefined;
    let spans: Span[] | undefined;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      if (r.fieldId === 1 && t === T_STRUCT) process = this.process();
      else if (r.fieldId === 2 && t === T_LIST) spans = this.spans();
      else r.skip(t);
    }
    r.readStructEnd();
    if (process === undefined) throw new ThriftError('Batch is missing its required field process');
    if (spans === undefined) throw new ThriftError('Batch is missing its required field spans');
    for (const span of spans) span.process = process;
    return spans;
  }

  private structList(what: string): number {
    const n = this.r.readListBegin();
    if (this.r.elemType !== T_STRUCT) throw new ThriftError(`${what} holds ${typeName(this.r.elemType)} elements, expected structs`);
    return n;
  }

  private spans(): Span[] {
    const n = this.structList('Batch.spans');
    if (n > this.limits.maxSpans) throw new TooManySpans(`batch of ${n} spans exceeds the limit of ${this.limits.maxSpans}`);
    // Grown by push, never sized from the count: a count is only a claim until its elements are read.
    const spans: Span[] = [];
    for (let i = 0; i < n; i++) {
      this.spanIndex = i;
      const span = this.span();
      if (span !== undefined) spans.push(span);
    }
    this.spanIndex = -1;
    return spans;
  }

  /** The batch's process as Jaeger 2.x shows it (jaeger-otel-translate.ts). */
  process(): Process {
    const r = this.r;
    let serviceName: string | undefined;
    let serviceBytes: Uint8Array | undefined;
    let tags: KeyValue[] = [];
    let badKeys: BadKeys | undefined;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      if (r.fieldId === 1 && t === T_STRING) {
        serviceName = r.readString();
        serviceBytes = r.badUtf8(serviceName);
      } else if (r.fieldId === 2 && t === T_LIST) {
        this.badKeys = undefined;
        tags = this.tags('Process.tags', true);
        badKeys = this.badKeys;
      } else r.skip(t);
    }
    r.readStructEnd();
    if (serviceName === undefined) throw new ThriftError('Process is missing its required field serviceName');
    return translateThriftProcess(serviceName, tags, badKeys, serviceBytes);
  }

  /** The span as Jaeger 2.x shows it (jaeger-otel-translate.ts); undefined for a blank span, which Jaeger drops. */
  span(): Span | undefined {
    const r = this.r;
    // Bit i of `seen` records required field i+1 (1..5, 7..9).
    let seen = 0;
    let lowHi = 0, lowLo = 0, highHi = 0, highLo = 0, parentHi = 0, parentLo = 0;
    let spanId = '';
    let operationName = '';
    let badName: Uint8Array | undefined;
    let refs: ThriftRef[] = [];
    let flags = 0;
    let lists = false;
    let badKeys: BadKeys | undefined;
    let startTimeMicros = 0;
    let durationMicros = 0;
    let tags: KeyValue[] = [];
    let logs: SpanLog[] = [];
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      const id = r.fieldId;
      if (t === T_I64 && (id === 1 || id === 2 || id === 3 || id === 4 || id === 8 || id === 9)) {
        r.readI64();
        seen |= 1 << (id - 1);
        switch (id) {
          case 1: lowHi = r.i64Hi; lowLo = r.i64Lo; break;
          case 2: highHi = r.i64Hi; highLo = r.i64Lo; break;
          case 3: spanId = hex64(r.i64Hi, r.i64Lo); break;
          case 4: parentHi = r.i64Hi; parentLo = r.i64Lo; break;
          case 8: startTimeMicros = int64Number(r.i64Hi, r.i64Lo); break;
          default: durationMicros = int64Number(r.i64Hi, r.i64Lo); break;
        }
      } else if (id === 5 && t === T_STRING) {
        operationName = r.readString();
        badName = r.badUtf8(operationName);
        seen |= 1 << 4;
      } else if (id === 6 && t === T_LIST) {
        refs = this.references();
        lists = true;
      } else if (id === 7 && t === T_I32) {
        flags = r.readI32() >>> 0;
        seen |= 1 << 6;
      } else if (id === 10 && t === T_LIST) {
        this.badKeys = undefined;
        tags = this.tags('Span.tags', true);
        badKeys = this.badKeys;
        lists = true;
      } else if (id === 11 && t === T_LIST) {
        logs = this.logs();
        lists = true;
      } else {
        r.skip(t);
      }
    }
    r.readStructEnd();
    if (seen !== REQUIRED_SPAN_FIELDS) throw new ThriftError(`Span is missing its required field ${missingSpanField(seen)}`);
    const traceId = this.traceId(highHi, highLo, lowHi, lowLo);
    const parentId = hex64(parentHi, parentLo);
    const blank = !lists && flags === 0 && startTimeMicros === 0 && durationMicros === 0 && operationName === ''
      && traceId === ZERO_TRACE_ID && spanId === ZERO_SPAN_ID && parentId === ZERO_SPAN_ID;
    return translateThriftSpan({
      traceId, spanId, parentId, refs, operationName, badName, startTimeMicros, durationMicros, tags, badKeys, logs, blank,
    }, NO_PROCESS);
  }

  /** The 32 hex digits of traceIdHigh:traceIdLow; the previous string when it is the same id. */
  private traceId(highHi: number, highLo: number, lowHi: number, lowLo: number): string {
    if (this.lastTraceId === '' || highHi !== this.lastHighHi || highLo !== this.lastHighLo || lowHi !== this.lastLowHi || lowLo !== this.lastLowLo) {
      this.lastTraceId = hex64(highHi, highLo) + hex64(lowHi, lowLo);
      this.lastHighHi = highHi;
      this.lastHighLo = highLo;
      this.lastLowHi = lowHi;
      this.lastLowLo = lowLo;
    }
    return this.lastTraceId;
  }

  private references(): ThriftRef[] {
    const r = this.r;
    const n = this.structList('Span.references');
    const refs: ThriftRef[] = [];
    const f = this.ref;
    for (let i = 0; i < n; i++) {
      f.read(r);
      refs.push({ refType: f.refType, traceId: this.traceId(f.highHi, f.highLo, f.lowHi, f.lowLo), spanId: hex64(f.idHi, f.idLo) });
    }
    return refs;
  }

  private logs(): SpanLog[] {
    const r = this.r;
    const n = this.structList('Span.logs');
    const logs: SpanLog[] = [];
    for (let i = 0; i < n; i++) {
      let timestampMicros: number | undefined;
      let fields: KeyValue[] | undefined;
      r.readStructBegin();
      for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
        if (r.fieldId === 1 && t === T_I64) {
          r.readI64();
          timestampMicros = int64Number(r.i64Hi, r.i64Lo);
        } else if (r.fieldId === 2 && t === T_LIST) {
          fields = this.tags('Log.fields', false);
        } else {
          r.skip(t);
        }
      }
      r.readStructEnd();
      if (timestampMicros === undefined) throw new ThriftError('Log is missing its required field timestamp');
      if (fields === undefined) throw new ThriftError('Log is missing its required field fields');
      logs.push({ timestampMicros, fields });
    }
    return logs;
  }

  /** Tags whose key was not UTF-8, of the last list `tags` read with `sanitize`. */
  private badKeys: BadKeys | undefined;

  /**
   * A list of tags. With `sanitize` (span and process tags, which Jaeger's UTF-8 sanitizer cleans; log fields it
   * leaves), a string value that is not UTF-8 becomes a binary one, and a key that is not is noted in `badKeys`.
   */
  private tags(what: string, sanitize: boolean): KeyValue[] {
    const n = this.structList(what);
    const tags: KeyValue[] = [];
    for (let i = 0; i < n; i++) tags.push(this.tag(sanitize));
    return tags;
  }

  private tag(sanitize: boolean): KeyValue {
    const r = this.r;
    let key: string | undefined;
    let vType = -1;
    let vStr = '';
    let vDouble = 0;
    let vBool = false;
    let longHi = 0, longLo = 0;
    let vBinary: Uint8Array = EMPTY_BINARY;
    let badKey: Uint8Array | undefined;
    let badStr: Uint8Array | undefined;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      switch (r.fieldId) {
        case 1: if (t === T_STRING) { key = r.readString(); if (sanitize) badKey = r.badUtf8(key); continue; } break;
        case 2: if (t === T_I32) { vType = r.readI32(); continue; } break;
        case 3: if (t === T_STRING) { vStr = r.readString(); if (sanitize) badStr = r.badUtf8(vStr); continue; } break;
        case 4: if (t === T_DOUBLE) { vDouble = r.readDouble(); continue; } break;
        case 5: if (t === T_BOOL) { vBool = r.readBool(); continue; } break;
        case 6: if (t === T_I64) { r.readI64(); longHi = r.i64Hi; longLo = r.i64Lo; continue; } break;
        case 7: if (t === T_STRING) { vBinary = r.readBinary(); continue; } break;
      }
      r.skip(t);
    }
    r.readStructEnd();
    if (key === undefined) throw new ThriftError('Tag is missing its required field key');
    if (vType === -1) throw new ThriftError(`Tag "${key.slice(0, 64)}" is missing its required field vType`);
    const tag = tagOf(key, vType, vStr, badStr, vDouble, vBool, longHi, longLo, vBinary);
    if (badKey !== undefined) (this.badKeys ??= new Map()).set(tag, badKey);
    return tag;
  }
}

/**
 * One `SpanRef` struct read into fields (64-bit values as signed high and unsigned low halves), its required fields
 * checked. Reused from reference to reference; shared by the decoder and the datagram walk (jaeger-compact-spans.ts).
 */
export class SpanRefFields {
  refType = 0;
  lowHi = 0;
  lowLo = 0;
  highHi = 0;
  highLo = 0;
  idHi = 0;
  idLo = 0;

  read(r: ThriftReader): void {
    let seen = 0;
    this.refType = this.lowHi = this.lowLo = this.highHi = this.highLo = this.idHi = this.idLo = 0;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      const id = r.fieldId;
      if (id === 1 && t === T_I32) {
        this.refType = r.readI32();
        seen |= 1;
      } else if (t === T_I64 && id >= 2 && id <= 4) {
        r.readI64();
        seen |= 1 << (id - 1);
        if (id === 2) { this.lowHi = r.i64Hi; this.lowLo = r.i64Lo; }
        else if (id === 3) { this.highHi = r.i64Hi; this.highLo = r.i64Lo; }
        else { this.idHi = r.i64Hi; this.idLo = r.i64Lo; }
      } else {
        r.skip(t);
      }
    }
    r.readStructEnd();
    if (seen !== 0b1111) throw new ThriftError(`SpanRef is missing its required field ${['refType', 'traceIdLow', 'traceIdHigh', 'spanId'][firstUnset(seen, 0b1111)]}`);
  }
}

function tagOf(
  key: string, vType: number, vStr: string, badStr: Uint8Array | undefined, vDouble: number, vBool: boolean, longHi: number,
  longLo: number, vBinary: Uint8Array,
): KeyValue {
  switch (vType) {
    case TAG_STRING: return badStr === undefined ? { key, type: 'string', value: vStr } : { key, type: 'binary', value: badStr };
    case TAG_DOUBLE: return { key, type: 'float64', value: vDouble };
    case TAG_BOOL: return { key, type: 'bool', value: vBool };
    case TAG_LONG: return { key, type: 'int64', value: int64Value(longHi, longLo) };
    case TAG_BINARY: return { key, type: 'binary', value: vBinary };
    // Go's `%q` of the generated TagType's String() for a value it does not know.
    default: return { key, type: 'string', value: UNKNOWN_TAG_TYPE };
  }
}

/** What Jaeger 2.x makes of a tag of a type Thrift's IDL does not define. */
export const UNKNOWN_TAG_TYPE = '<Unknown Jaeger TagType "<UNSET>">';

/** Span fields 1..5 and 7..9. */
export const REQUIRED_SPAN_FIELDS = 0b1_1101_1111;
const SPAN_FIELD_NAMES = ['traceIdLow', 'traceIdHigh', 'spanId', 'parentSpanId', 'operationName', 'references', 'flags', 'startTime', 'duration'];

export function firstUnset(seen: number, required: number): number {
  for (let i = 0; i < 32; i++) if ((required & (1 << i)) !== 0 && (seen & (1 << i)) === 0) return i;
  return 0;
}

export function missingSpanField(seen: number): string {
  return SPAN_FIELD_NAMES[firstUnset(seen, REQUIRED_SPAN_FIELDS)]!;
}

const ZERO_SPAN_ID = '0000000000000000';
const ZERO_TRACE_ID = '00000000000000000000000000000000';
