/**
 * Jaeger's api_v2 protobuf (jaeger-idl `proto/api_v2/model.proto` and `collector.proto`) decoded into the span
 * model: the `PostSpansRequest` of `jaeger.api_v2.CollectorService/PostSpans` (gRPC port 14250).
 *
 * Jaeger 2.x takes this message through OpenTelemetry as it takes Thrift (`ProtoToTraces` instead of
 * `ThriftToTraces`, then the same sanitizers and the same way back to its model), so the fields read here go through
 * the Thrift path's translation (model/jaeger-thrift/jaeger-otel-translate.ts) and a batch gives the same spans over
 * either. What is the proto's own:
 *
 * - a span's `process`, when set, is its process; otherwise the batch's (none at all: `missing-service-name`)
 * - trace ids are 16 bytes (8 are taken as the low half), span ids 8: any other length fails the request, as
 *   Jaeger's unmarshalling does; an id field left out is zero
 * - there is no parentSpanId: the parent is the first CHILD_OF reference into the same trace, else the first
 *   FOLLOWS_FROM one (Jaeger's `Span.ParentSpanID`)
 * - times are google.protobuf.Timestamp / Duration (seconds and nanos), kept to the microsecond; a duration above
 *   zero that is under a microsecond is 0 µs without the negative-duration warning
 * - `flags`, `process_id` and the span's `warnings` are not carried (Jaeger's translator drops them)
 * - a value type the IDL does not define becomes the string `<Unknown Jaeger TagType "N">`
 */
import { isUtf8 } from 'node:buffer';
import type { KeyValue, Process, Span, SpanLog } from '../../../../model/span.js';
import { shortString } from '../../../../model/short-strings.js';
import {
  translateThriftProcess, translateThriftSpan, type BadKeys, type ThriftRef,
} from '../../../../model/jaeger-thrift/jaeger-otel-translate.js';
import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../otlp/protobuf-reader.js';

export type JaegerProtoDecodeResult =
  | { ok: true; spans: Span[] }
  | { ok: false; reason: 'malformed' | 'too_many_spans'; error: string };

const ZERO_SPAN_ID = '0000000000000000';
const ZERO_TRACE_ID = '00000000000000000000000000000000';
const HEX_BYTE: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const EMPTY_BINARY = new Uint8Array(0);
/** Jaeger's translator leaves a process of this service name out (an OTLP resource that had none). */
const NO_SERVICE_NAME = 'OTLPResourceNoServiceName';

/** A PostSpansRequest message (the gRPC message's bytes, already uncompressed) → spans. */
export function decodePostSpansRequest(bytes: Uint8Array, maxSpans: number): JaegerProtoDecodeResult {
  const d = new JaegerProtoDecoder(bytes);
  const r = d.r;
  let batchStart = -1;
  let batchStop = -1;
  while (!r.done()) {
    const key = r.tag();
    if (key >>> 3 === 1) {
      if (!r.expect('PostSpansRequest.batch', key & 7, WIRE_LEN) || !r.delimited()) break;
      // proto3 merges a repeated message field into one: the last batch wins field by field; one is what clients send.
      batchStart = r.segStart;
      batchStop = r.segStop;
    } else r.skip(key & 7);
  }
  if (r.error !== undefined) return { ok: false, reason: 'malformed', error: `PostSpansRequest: ${r.error}` };
  if (batchStart < 0) return { ok: true, spans: [] };
  return d.batch(batchStart, batchStop, maxSpans);
}

class JaegerProtoDecoder {
  readonly r: ProtoReader;
  private readonly buf: Buffer;
  /** Translated processes by their bytes: spans naming the same process share one object. */
  private readonly processes = new Map<string, Process>();
  private badKeys: BadKeys | undefined;
  private spanIndex = -1;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.r = new ProtoReader(this.buf);
  }

  batch(start: number, stop: number, maxSpans: number): JaegerProtoDecodeResult {
    const r = this.r;
    r.pos = start;
    r.end = stop;
    // The spans' extents first: the process may come after them, and the count is checked before any is decoded.
    const spanExtents: number[] = [];
    let processStart = -1;
    let processStop = -1;
    while (!r.done()) {
      const key = r.tag();
      const field = key >>> 3;
      if (field === 1 || field === 2) {
        if (!r.expect(field === 1 ? 'Batch.spans' : 'Batch.process', key & 7, WIRE_LEN) || !r.delimited()) break;
        if (field === 1) spanExtents.push(r.segStart, r.segStop);
        else {
          processStart = r.segStart;
          processStop = r.segStop;
        }
      } else r.skip(key & 7);
    }
    if (r.error !== undefined) return { ok: false, reason: 'malformed', error: `Batch: ${r.error}` };
    const count = spanExtents.length / 2;
    if (count > maxSpans) return { ok: false, reason: 'too_many_spans', error: `batch of ${count} spans exceeds the limit of ${maxSpans}` };

    const batchProcess = processStart < 0 ? undefined : this.process(processStart, processStop);
    if (r.error !== undefined) return { ok: false, reason: 'malformed', error: `Batch.process: ${r.error}` };
    const fallback = batchProcess ?? translateThriftProcess('', [], undefined, undefined);
    const spans: Span[] = [];
    for (let i = 0; i < count; i++) {
      this.spanIndex = i;
      r.pos = spanExtents[2 * i]!;
      r.end = spanExtents[2 * i + 1]!;
      const span = this.span(fallback);
      if (r.error !== undefined || this.failure !== undefined) {
        return { ok: false, reason: 'malformed', error: `span ${i}: ${this.failure ?? r.error}` };
      }
      if (span !== undefined) spans.push(span);
    }
    return { ok: true, spans };
  }

  /** A semantic failure (an id of the wrong length): the reader's error covers wire-format ones. */
  private failure: string | undefined;

  private fail(message: string): void {
    if (this.failure === undefined) this.failure = message;
    this.r.pos = this.r.end;
  }

  /** The process message in [start, stop), translated once per distinct bytes. */
  private process(start: number, stop: number): Process {
    const cacheKey = this.buf.toString('latin1', start, stop);
    const known = this.processes.get(cacheKey);
    if (known !== undefined) return known;
    const r = this.r;
    const outerPos = r.pos;
    const outerEnd = r.end;
    r.pos = start;
    r.end = stop;
    let serviceName = '';
    let serviceBytes: Uint8Array | undefined;
    let tags: KeyValue[] = [];
    let badKeys: BadKeys | undefined;
    while (!r.done()) {
      const key = r.tag();
      const field = key >>> 3;
      if (field === 1) {
        if (!r.expect('Process.service_name', key & 7, WIRE_LEN)) break;
        serviceName = this.string();
        serviceBytes = this.bad;
      } else if (field === 2) {
        if (!r.expect('Process.tags', key & 7, WIRE_LEN)) break;
        this.badKeys = badKeys;
        tags.push(this.keyValue(true));
        badKeys = this.badKeys;
      } else r.skip(key & 7);
    }
    r.pos = r.error === undefined ? outerPos : outerEnd;
    r.end = outerEnd;
    if (serviceName === NO_SERVICE_NAME) {
      serviceName = '';
      tags = [];
      badKeys = undefined;
    }
    const process = translateThriftProcess(serviceName, tags, badKeys, serviceBytes);
    this.processes.set(cacheKey, process);
    return process;
  }

  private lastTraceBytes = '';
  private lastTraceId = '';

  private span(batchProcess: Process): Span | undefined {
    const r = this.r;
    let traceId = ZERO_TRACE_ID;
    let spanId = ZERO_SPAN_ID;
    let operationName = '';
    let badName: Uint8Array | undefined;
    const refs: ThriftRef[] = [];
    let tags: KeyValue[] = [];
    let badKeys: BadKeys | undefined;
    const logs: SpanLog[] = [];
    let startTimeMicros = 0;
    let durationNanos = 0;
    let process: Process | undefined;
    // Anything but zero values read: Jaeger drops a span equal to a blank one.
    let blank = true;
    while (!r.done()) {
      const key = r.tag();
      const wire = key & 7;
      switch (key >>> 3) {
        case 1:
          if (!r.expect('Span.trace_id', wire, WIRE_LEN)) break;
          traceId = this.traceId();
          if (traceId !== ZERO_TRACE_ID) blank = false;
          break;
        case 2:
          if (!r.expect('Span.span_id', wire, WIRE_LEN)) break;
          spanId = this.spanId();
          if (spanId !== ZERO_SPAN_ID) blank = false;
          break;
        case 3: {
          if (!r.expect('Span.operation_name', wire, WIRE_LEN)) break;
          operationName = this.string();
          badName = this.bad;
          if (operationName !== '') blank = false;
          break;
        }
        case 4:
          if (!r.expect('Span.references', wire, WIRE_LEN)) break;
          refs.push(this.reference());
          blank = false;
          break;
        case 5:
          if (!r.expect('Span.flags', wire, WIRE_VARINT)) break;
          if (r.varint32() !== 0) blank = false;
          break;
        case 6:
          if (!r.expect('Span.start_time', wire, WIRE_LEN)) break;
          startTimeMicros = this.time(true);
          blank = false;
          break;
        case 7:
          if (!r.expect('Span.duration', wire, WIRE_LEN)) break;
          durationNanos = this.time(false);
          if (durationNanos !== 0) blank = false;
          break;
        case 8:
          if (!r.expect('Span.tags', wire, WIRE_LEN)) break;
          this.badKeys = badKeys;
          tags.push(this.keyValue(true));
          badKeys = this.badKeys;
          blank = false;
          break;
        case 9:
          if (!r.expect('Span.logs', wire, WIRE_LEN)) break;
          logs.push(this.log());
          blank = false;
          break;
        case 10:
          if (!r.expect('Span.process', wire, WIRE_LEN) || !r.delimited()) break;
          process = this.process(r.segStart, r.segStop);
          blank = false;
          break;
        case 11:
        case 12:
          if (!r.expect('Span.process_id / warnings', wire, WIRE_LEN) || !r.delimited()) break;
          blank = false;
          break;
        default:
          r.skip(wire);
      }
    }
    if (r.error !== undefined || this.failure !== undefined) return undefined;
    const durationMicros = Math.trunc(durationNanos / 1000);
    const span = translateThriftSpan({
      traceId, spanId, parentId: ZERO_SPAN_ID, refs, operationName, badName, startTimeMicros,
      // A positive duration under 1 µs ends after its start: Jaeger warns only of one that does not.
      durationMicros: durationNanos > 0 && durationMicros === 0 ? 1 : durationMicros,
      tags, badKeys, logs, blank,
    }, process ?? batchProcess);
    if (span !== undefined && durationNanos > 0 && durationMicros === 0) span.durationMicros = 0;
    return span;
  }

  /** A Timestamp (`micros`: in whole microseconds) or a Duration (in nanoseconds) message. */
  private time(micros: boolean): number {
    const r = this.r;
    const outer = r.enter();
    if (outer < 0) return 0;
    let seconds: number | bigint = 0;
    let nanos = 0;
    while (!r.done()) {
      const key = r.tag();
      if (key >>> 3 === 1 && r.expect('seconds', key & 7, WIRE_VARINT)) seconds = r.int64();
      else if (key >>> 3 === 2 && r.expect('nanos', key & 7, WIRE_VARINT)) nanos = r.varint32() | 0;
      else r.skip(key & 7);
    }
    r.leave(outer);
    return micros ? Number(seconds) * 1e6 + Math.trunc(nanos / 1000) : Number(seconds) * 1e9 + nanos;
  }

  /** A trace id's bytes: 16, or 8 for the low half; the previous string when the bytes repeat. */
  private traceId(): string {
    const r = this.r;
    if (!r.delimited()) return ZERO_TRACE_ID;
    const len = r.segStop - r.segStart;
    if (len !== 16 && len !== 8) {
      this.fail(`trace id of ${len} bytes (16 or 8 expected)`);
      return ZERO_TRACE_ID;
    }
    const raw = this.buf.toString('latin1', r.segStart, r.segStop);
    if (raw === this.lastTraceBytes) return this.lastTraceId;
    let hex = len === 8 ? ZERO_SPAN_ID : '';
    for (let i = r.segStart; i < r.segStop; i++) hex += HEX_BYTE[this.buf[i]!]!;
    this.lastTraceBytes = raw;
    this.lastTraceId = hex;
    return hex;
  }

  private spanId(): string {
    const r = this.r;
    if (!r.delimited()) return ZERO_SPAN_ID;
    const len = r.segStop - r.segStart;
    if (len !== 8) {
      this.fail(`span id of ${len} bytes (8 expected)`);
      return ZERO_SPAN_ID;
    }
    let hex = '';
    for (let i = r.segStart; i < r.segStop; i++) hex += HEX_BYTE[this.buf[i]!]!;
    return hex;
  }

  private reference(): ThriftRef {
    const r = this.r;
    const outer = r.enter();
    let traceId = ZERO_TRACE_ID;
    let spanId = ZERO_SPAN_ID;
    let refType = 0;
    if (outer < 0) return { refType, traceId, spanId };
    while (!r.done()) {
      const key = r.tag();
      const field = key >>> 3;
      if (field === 1 && r.expect('SpanRef.trace_id', key & 7, WIRE_LEN)) traceId = this.traceId();
      else if (field === 2 && r.expect('SpanRef.span_id', key & 7, WIRE_LEN)) spanId = this.spanId();
      else if (field === 3 && r.expect('SpanRef.ref_type', key & 7, WIRE_VARINT)) refType = r.varint32() | 0;
      else if (field > 3 || field < 1) r.skip(key & 7);
    }
    r.leave(outer);
    return { refType, traceId, spanId };
  }

  private log(): SpanLog {
    const r = this.r;
    const outer = r.enter();
    let timestampMicros = 0;
    const fields: KeyValue[] = [];
    if (outer < 0) return { timestampMicros, fields };
    while (!r.done()) {
      const key = r.tag();
      const field = key >>> 3;
      if (field === 1 && r.expect('Log.timestamp', key & 7, WIRE_LEN)) timestampMicros = this.time(true);
      else if (field === 2 && r.expect('Log.fields', key & 7, WIRE_LEN)) fields.push(this.keyValue(false));
      else if (field > 2 || field < 1) r.skip(key & 7);
    }
    r.leave(outer);
    return { timestampMicros, fields };
  }

  /**
   * A KeyValue. With `sanitize` (span and process tags, which Jaeger's UTF-8 sanitizer cleans; log fields it leaves),
   * a string value that is not UTF-8 becomes a binary one and a key that is not is noted in `badKeys`.
   */
  private keyValue(sanitize: boolean): KeyValue {
    const r = this.r;
    const outer = r.enter();
    let key = '';
    let badKey: Uint8Array | undefined;
    let vType = 0;
    let vStr = '';
    let badStr: Uint8Array | undefined;
    let vBool = false;
    let vInt: number | bigint = 0;
    let vDouble = 0;
    let vBinary: Uint8Array = EMPTY_BINARY;
    if (outer < 0) return { key, type: 'string', value: '' };
    while (!r.done()) {
      const k = r.tag();
      const wire = k & 7;
      switch (k >>> 3) {
        case 1:
          if (r.expect('KeyValue.key', wire, WIRE_LEN)) {
            key = this.string();
            badKey = this.bad;
          }
          break;
        case 2: if (r.expect('KeyValue.v_type', wire, WIRE_VARINT)) vType = r.varint32() | 0; break;
        case 3:
          if (r.expect('KeyValue.v_str', wire, WIRE_LEN)) {
            vStr = this.string();
            badStr = this.bad;
          }
          break;
        case 4: if (r.expect('KeyValue.v_bool', wire, WIRE_VARINT)) vBool = r.varint32() !== 0; break;
        case 5: if (r.expect('KeyValue.v_int64', wire, WIRE_VARINT)) vInt = r.int64(); break;
        case 6: if (r.expect('KeyValue.v_float64', wire, WIRE_FIXED64)) vDouble = r.double(); break;
        case 7:
          if (r.expect('KeyValue.v_binary', wire, WIRE_LEN) && r.delimited()) vBinary = this.copy(r.segStart, r.segStop);
          break;
        default: r.skip(wire);
      }
    }
    r.leave(outer);
    let kv: KeyValue;
    switch (vType) {
      case 0: kv = sanitize && badStr !== undefined ? { key, type: 'binary', value: badStr } : { key, type: 'string', value: vStr }; break;
      case 1: kv = { key, type: 'bool', value: vBool }; break;
      case 2: kv = { key, type: 'int64', value: vInt }; break;
      case 3: kv = { key, type: 'float64', value: vDouble }; break;
      case 4: kv = { key, type: 'binary', value: vBinary }; break;
      // Go's %q of the enum's String(): its number for a value the IDL does not name.
      default: kv = { key, type: 'string', value: `<Unknown Jaeger TagType "${vType}">` };
    }
    if (sanitize && badKey !== undefined) (this.badKeys ??= new Map()).set(kv, badKey);
    return kv;
  }

  /** A copy of bytes of the message as a plain Uint8Array (a view would keep the whole request alive). */
  private copy(start: number, stop: number): Uint8Array {
    return new Uint8Array(this.buf.subarray(start, stop));
  }

  /** The bytes of the last string read when they were not UTF-8 (the string is then their lossy decoding). */
  private bad: Uint8Array | undefined;

  /** A string field; sets `bad`. */
  private string(): string {
    const r = this.r;
    this.bad = undefined;
    if (!r.delimited()) return '';
    const buf = this.buf;
    const start = r.segStart;
    const stop = r.segStop;
    if (start === stop) return '';
    let ascii = true;
    for (let i = start; i < stop; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii && !isUtf8(buf.subarray(start, stop))) this.bad = this.copy(start, stop);
    return shortString(buf, start, stop);
  }
}
