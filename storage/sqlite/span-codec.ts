/**
 * The compact serialisation of a span in the store's `spans.data` column, and the string form of tag values used by
 * the tag index. The column holds one of two forms:
 * - TEXT: JSON written here, for spans that came as objects. The columns already hold trace id, span id, operation,
 *   service, start and duration, so it carries only the rest.
 * - BLOB: the span's own Jaeger `Span` struct in Thrift compact, as a Jaeger agent datagram carried it (span-write.ts
 *   stores it without decoding it); read back with the Jaeger decoder. Tags are `[key, type, value]` triples: int64 beyond 2^53 as a decimal string, binary as
 * base64, so every value survives exactly.
 */
import type { KeyValue, OtlpLink, Process, Span, SpanLog, SpanOtlp, SpanRef } from '../../model/span.js';
import { decodeJaegerSpans } from '../../model/jaeger-thrift/jaeger-thrift.js';
import { JsonBytes } from './json-bytes.js';

export type EncodedKv = [string, string, unknown];
export interface EncodedSpan {
  /**
   * references: [refType (0 CHILD_OF, 1 FOLLOWS_FROM), traceId, spanId, tags?]; the trace id is the number 0 when it
   * is the span's own (nearly every reference: 33 of the ≈ 500 bytes of a Jaeger client's span).
   */
  r?: Array<[number, string | 0, string] | [number, string | 0, string, EncodedKv[]]>;
  f?: number;
  t?: EncodedKv[];
  /** logs: [timestamp µs, fields] */
  l?: Array<[number, EncodedKv[]]>;
  /**
   * logs, each timestamp in µs after the span's start (what is written when all are integers: 2–3 digits instead of
   * 16, no large number turned into text per log)
   */
  L?: Array<[number, EncodedKv[]]>;
  /** scope tags */
  s?: EncodedKv[];
  w?: string[];
  /** what OTLP sent beyond Jaeger's v1 model (`Span.otlp`): see `EncodedOtlp` */
  o?: EncodedOtlp;
}

/**
 * `Span.otlp` with short keys: f flags, p parent span id (0: the span id of the first reference, nearly always), l links ([traceId or 0 for the span's own, spanId,
 * attributes, traceState?, flags?, dropped attributes?]), s / d start / duration nanoseconds, e event nanoseconds,
 * x dropped counts (three before the resource's, scope's and events' were kept), w a Thrift span's warnings tag.
 */
export interface EncodedOtlp {
  f?: number;
  p?: string | 0;
  l?: Array<[string | 0, string, EncodedKv[], string?, number?, number?]>;
  s?: number;
  d?: number;
  e?: number[];
  x?: [number, number, number, ...number[]];
  /** event names an `event` attribute kept out of the logs */
  n?: string[];
  /** the warnings tag, a list of one */
  w?: EncodedKv[];
}
const TYPE_CODE = { string: 's', bool: 'b', int64: 'i', float64: 'f', binary: 'x' } as const;

export function encodeKvs(kvs: KeyValue[]): EncodedKv[] {
  return kvs.map((kv): EncodedKv => {
    switch (kv.type) {
      case 'string':
        // An OTLP array or map: its v1 text and the value as sent.
        return kv.any !== undefined ? [kv.key, 'a', [kv.value, kv.any]] : [kv.key, 's', kv.value];
      case 'int64':
        return typeof kv.value === 'bigint' ? [kv.key, 'I', kv.value.toString()] : [kv.key, 'i', kv.value];
      case 'binary':
        return [kv.key, 'x', Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('base64')];
      case 'float64':
        // JSON has no NaN/Infinity: keep them as strings.
        return Number.isFinite(kv.value) ? [kv.key, 'f', kv.value] : [kv.key, 'F', String(kv.value)];
      default:
        return [kv.key, TYPE_CODE[kv.type], kv.value];
    }
  });
}

export function decodeKvs(kvs: EncodedKv[] | undefined): KeyValue[] {
  if (!kvs) return [];
  return kvs.map(([key, type, value]): KeyValue => {
    switch (type) {
      case 'b':
        return { key, type: 'bool', value: value as boolean };
      case 'i':
        return { key, type: 'int64', value: value as number };
      case 'I':
        return { key, type: 'int64', value: BigInt(value as string) };
      case 'f':
        return { key, type: 'float64', value: value as number };
      case 'F':
        return { key, type: 'float64', value: Number(value as string) };
      case 'x':
        return { key, type: 'binary', value: new Uint8Array(Buffer.from(value as string, 'base64')) };
      case 'a': {
        const [text, any] = value as [string, Record<string, unknown>];
        return { key, type: 'string', value: text, any };
      }
      default:
        return { key, type: 'string', value: value as string };
    }
  });
}

/** The process tags column of `processes`. */
export function encodeProcessTags(tags: KeyValue[]): string {
  return JSON.stringify(encodeKvs(tags));
}

/**
 * Receives each searchable tag an encoding walks over, as (key, value-as-text) — what `forEachSpanTag` gives —, so
 * the writer hashes the tags for the index in the same pass that encodes them.
 */
export type TagSink = (key: string, value: string) => void;

/**
 * `JSON.stringify(encodeKvs(kvs))`, written directly as bytes: every type by hand (a finite float's JSON is its
 * `String`). Each tag also goes to `sink` with its `tagValueString`.
 */
function writeKvs(out: JsonBytes, kvs: KeyValue[], sink: TagSink | undefined): void {
  out.byte(0x5b);
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    out.ascii(i > 0 ? ',[' : '[');
    out.string(kv.key);
    switch (kv.type) {
      case 'string':
        if (kv.any !== undefined) {
          out.ascii(',"a",[');
          out.string(kv.value);
          out.byte(0x2c);
          out.write(JSON.stringify(kv.any));
          out.byte(0x5d);
        } else {
          out.ascii(',"s",');
          out.string(kv.value);
        }
        if (sink !== undefined) sink(kv.key, kv.value);
        break;
      case 'bool':
        out.ascii(kv.value ? ',"b",true' : ',"b",false');
        if (sink !== undefined) sink(kv.key, kv.value ? 'true' : 'false');
        break;
      case 'int64': {
        const text = kv.value.toString();
        if (typeof kv.value === 'bigint') {
          out.ascii(',"I","');
          out.ascii(text);
          out.byte(0x22);
        } else {
          out.ascii(',"i",');
          out.ascii(text);
        }
        if (sink !== undefined) sink(kv.key, text);
        break;
      }
      case 'float64': {
        // JSON has no NaN/Infinity: they are kept as strings.
        const text = String(kv.value);
        if (Number.isFinite(kv.value)) {
          out.ascii(',"f",');
          out.ascii(text);
        } else {
          out.ascii(',"F","');
          out.ascii(text);
          out.byte(0x22);
        }
        if (sink !== undefined) sink(kv.key, text);
        break;
      }
      default: {
        const bytes = Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength);
        out.ascii(',"x","');
        out.ascii(bytes.toString('base64'));
        out.byte(0x22);
        if (sink !== undefined) sink(kv.key, bytes.toString('hex'));
      }
    }
    out.byte(0x5d);
  }
  out.byte(0x5d);
}

/**
 * Span data without the process (stored once in `processes`): the JSON of an `EncodedSpan`, written by hand into
 * `out` (after what it holds) — the same text as `JSON.stringify` of the encoded arrays, without the garbage of
 * building it from strings (json-bytes.ts). `sink` receives the tags `forEachSpanTag` would (span tags, log fields,
 * scope tags, reference tags), sparing the writer a second walk.
 */
export function writeSpanData(out: JsonBytes, span: Span, sink?: TagSink): void {
  out.byte(0x7b);
  let sep = false;
  if (span.references.length > 0) {
    out.ascii('"r":[');
    for (let i = 0; i < span.references.length; i++) {
      const r = span.references[i]!;
      out.ascii(i > 0 ? ',[' : '[');
      out.ascii(r.refType === 'FOLLOWS_FROM' ? '1,' : '0,');
      if (r.traceId === span.traceId) out.byte(0x30);
      else out.string(r.traceId);
      out.byte(0x2c);
      out.string(r.spanId);
      if (r.tags && r.tags.length > 0) {
        out.byte(0x2c);
        writeKvs(out, r.tags, sink);
      }
      out.byte(0x5d);
    }
    out.byte(0x5d);
    sep = true;
  }
  if (span.flags !== 0) {
    out.ascii(sep ? ',"f":' : '"f":');
    out.ascii(String(span.flags));
    sep = true;
  }
  if (span.tags.length > 0) {
    out.ascii(sep ? ',"t":' : '"t":');
    writeKvs(out, span.tags, sink);
    sep = true;
  }
  if (span.logs.length > 0) {
    const relative = logsRelative(span);
    out.ascii(relative ? (sep ? ',"L":[' : '"L":[') : (sep ? ',"l":[' : '"l":['));
    for (let i = 0; i < span.logs.length; i++) {
      const log = span.logs[i]!;
      out.ascii(i > 0 ? ',[' : '[');
      out.ascii(String(relative ? log.timestampMicros - span.startTimeMicros : log.timestampMicros));
      out.byte(0x2c);
      writeKvs(out, log.fields, sink);
      out.byte(0x5d);
    }
    out.byte(0x5d);
    sep = true;
  }
  if (span.scope && span.scope.tags.length > 0) {
    out.ascii(sep ? ',"s":' : '"s":');
    writeKvs(out, span.scope.tags, sink);
    sep = true;
  }
  if (span.warnings && span.warnings.length > 0) {
    out.ascii(sep ? ',"w":[' : '"w":[');
    for (let i = 0; i < span.warnings.length; i++) {
      if (i > 0) out.byte(0x2c);
      out.string(span.warnings[i]!);
    }
    out.byte(0x5d);
    sep = true;
  }
  if (span.otlp !== undefined) {
    out.ascii(sep ? ',"o":' : '"o":');
    writeOtlp(out, span.otlp, span);
  }
  out.byte(0x7d);
}

/** `Span.otlp` as an `EncodedOtlp` object. */
function writeOtlp(out: JsonBytes, o: SpanOtlp, span: Span): void {
  const traceId = span.traceId;
  out.byte(0x7b);
  let sep = false;
  if (o.flags) {
    out.ascii('"f":');
    out.ascii(String(o.flags));
    sep = true;
  }
  if (o.parentSpanId !== undefined) {
    out.ascii(sep ? ',"p":' : '"p":');
    if (span.references.length > 0 && span.references[0]!.spanId === o.parentSpanId) out.byte(0x30);
    else out.string(o.parentSpanId);
    sep = true;
  }
  if (o.links !== undefined) {
    out.ascii(sep ? ',"l":' : '"l":');
    sep = true;
    out.byte(0x5b);
    for (let i = 0; i < o.links.length; i++) {
      const l = o.links[i]!;
      out.ascii(i > 0 ? ',[' : '[');
      if (l.traceId === traceId) out.byte(0x30);
      else out.string(l.traceId);
      out.byte(0x2c);
      out.string(l.spanId);
      out.byte(0x2c);
      writeKvs(out, l.attributes, undefined);
      if (l.traceState || l.flags || l.droppedAttributesCount) {
        out.byte(0x2c);
        if (l.traceState) out.string(l.traceState);
        else out.byte(0x30);
        out.ascii(`,${l.flags ?? 0},${l.droppedAttributesCount ?? 0}`);
      }
      out.byte(0x5d);
    }
    out.byte(0x5d);
  }
  if (o.startNanos) {
    out.ascii(sep ? ',"s":' : '"s":');
    sep = true;
    out.ascii(String(o.startNanos));
  }
  if (o.durationNanos) {
    out.ascii(sep ? ',"d":' : '"d":');
    sep = true;
    out.ascii(String(o.durationNanos));
  }
  if (o.eventNanos !== undefined) {
    out.ascii(sep ? ',"e":' : '"e":');
    sep = true;
    out.ascii(`[${o.eventNanos.join(',')}]`);
  }
  if (o.dropped !== undefined) {
    out.ascii(sep ? ',"x":' : '"x":');
    sep = true;
    out.ascii(`[${o.dropped.join(',')}]`);
  }
  if (o.eventNames !== undefined) {
    out.ascii(sep ? ',"n":' : '"n":');
    sep = true;
    out.write(JSON.stringify(o.eventNames));
  }
  if (o.warningsTag !== undefined) {
    out.ascii(sep ? ',"w":' : '"w":');
    sep = true;
    writeKvs(out, [o.warningsTag], undefined);
  }
  out.byte(0x7d);
}

function decodeOtlp(e: EncodedOtlp, traceId: string, references: SpanRef[]): SpanOtlp {
  const o: SpanOtlp = {};
  if (e.f) o.flags = e.f;
  if (e.p !== undefined) o.parentSpanId = e.p === 0 ? references[0]!.spanId : e.p;
  if (e.l) {
    o.links = e.l.map(([t, spanId, attrs, traceState, flags, dropped]): OtlpLink => {
      const link: OtlpLink = { traceId: t === 0 ? traceId : t, spanId, attributes: decodeKvs(attrs) };
      if (traceState) link.traceState = traceState;
      if (flags) link.flags = flags;
      if (dropped) link.droppedAttributesCount = dropped;
      return link;
    });
  }
  if (e.s) o.startNanos = e.s;
  if (e.d) o.durationNanos = e.d;
  if (e.e) o.eventNanos = e.e;
  if (e.x) o.dropped = e.x;
  if (e.n) o.eventNames = e.n;
  if (e.w) o.warningsTag = decodeKvs(e.w)[0];
  return o;
}

/** Whether the logs' timestamps are written relative to the span's start (`L`): every one an exact integer. */
function logsRelative(span: Span): boolean {
  if (!Number.isSafeInteger(span.startTimeMicros)) return false;
  for (const log of span.logs) if (!Number.isSafeInteger(log.timestampMicros)) return false;
  return true;
}

const scratch = new JsonBytes();

/** `writeSpanData` as a string. */
export function encodeSpanData(span: Span, sink?: TagSink): string {
  scratch.reset();
  writeSpanData(scratch, span, sink);
  return scratch.toString();
}

/** The span's stored columns, and its process (shared by the spans of one read). */
export interface SpanColumns {
  traceId: string;
  spanId: string;
  operationName: string;
  startTimeMicros: number;
  durationMicros: number;
  data: SpanData;
  process: Process;
}

/**
 * The `data` column: JSON text of one span, or Jaeger Thrift compact `Span` structs one after another — one span's,
 * or a run of spans of one trace and process received together (the row's `n`; span-write.ts).
 */
export type SpanData = string | Buffer;

/** The spans of a row: one for JSON text, as many as there are structs for Thrift data. */
export function decodeSpans(c: SpanColumns): Span[] {
  return typeof c.data === 'string' ? [decodeSpan(c as SpanColumns & { data: string })] : decodeJaegerSpans(c.data, 'compact', c.process);
}

/** The span of a row of JSON text. */
export function decodeSpan(c: SpanColumns & { data: string }): Span {
  const e = JSON.parse(c.data) as EncodedSpan;
  const span: Span = {
    traceId: c.traceId,
    spanId: c.spanId,
    operationName: c.operationName,
    references: (e.r ?? []).map(([t, traceId, spanId, tags]): SpanRef => {
      const ref: SpanRef = { refType: t === 1 ? 'FOLLOWS_FROM' : 'CHILD_OF', traceId: traceId === 0 ? c.traceId : traceId, spanId };
      if (tags) ref.tags = decodeKvs(tags);
      return ref;
    }),
    flags: e.f ?? 0,
    startTimeMicros: c.startTimeMicros,
    durationMicros: c.durationMicros,
    tags: decodeKvs(e.t),
    logs: e.L
      ? e.L.map(([offset, fields]): SpanLog => ({ timestampMicros: c.startTimeMicros + offset, fields: decodeKvs(fields) }))
      : (e.l ?? []).map(([ts, fields]): SpanLog => ({ timestampMicros: ts, fields: decodeKvs(fields) })),
    process: c.process,
  };
  if (e.s) span.scope = { tags: decodeKvs(e.s) };
  if (e.w) span.warnings = e.w;
  if (e.o) span.otlp = decodeOtlp(e.o, c.traceId, span.references);
  return span;
}

/**
 * Every searchable tag of encoded span data but the process's: span tags, log fields, scope tags, reference tags,
 * each as (key, value-as-text). What the tag index holds for a span, and what a search checks a candidate against.
 */
export function forEachEncodedTag(e: EncodedSpan, fn: (key: string, value: string) => void): void {
  if (e.t) for (const kv of e.t) fn(kv[0], encodedValueString(kv));
  if (e.l) for (const [, fields] of e.l) for (const kv of fields) fn(kv[0], encodedValueString(kv));
  if (e.L) for (const [, fields] of e.L) for (const kv of fields) fn(kv[0], encodedValueString(kv));
  if (e.s) for (const kv of e.s) fn(kv[0], encodedValueString(kv));
  if (e.r) for (const r of e.r) if (r.length === 4) for (const kv of r[3]) fn(kv[0], encodedValueString(kv));
}

/** The same tags of a stored row's data, in either form (of every span of a run). */
export function forEachDataTag(data: SpanData, fn: (key: string, value: string) => void): void {
  if (typeof data === 'string') forEachEncodedTag(JSON.parse(data) as EncodedSpan, fn);
  else for (const span of decodeDataSpans(data)) forEachSpanTag(span, fn);
}

/** The spans of Thrift data without their process (a search or retention needs their own fields only). */
export function decodeDataSpans(data: Buffer): Span[] {
  return decodeJaegerSpans(data, 'compact', NO_PROCESS);
}

const NO_PROCESS: Process = Object.freeze({ serviceName: '', tags: [] }) as Process;

/** The same tags of a span in the model. */
export function forEachSpanTag(span: Span, fn: (key: string, value: string) => void): void {
  for (const kv of span.tags) fn(kv.key, tagValueString(kv));
  for (const log of span.logs) for (const kv of log.fields) fn(kv.key, tagValueString(kv));
  if (span.scope) for (const kv of span.scope.tags) fn(kv.key, tagValueString(kv));
  for (const r of span.references) if (r.tags) for (const kv of r.tags) fn(kv.key, tagValueString(kv));
}

/** `tagValueString` of an encoded tag, without decoding it. */
export function encodedValueString(kv: EncodedKv): string {
  switch (kv[1]) {
    case 's':
    case 'I':
    case 'F':
      return kv[2] as string;
    case 'x':
      return Buffer.from(kv[2] as string, 'base64').toString('hex');
    case 'a':
      return (kv[2] as [string, unknown])[0];
    default:
      return String(kv[2]);
  }
}

/**
 * A tag value as text, as Jaeger's `KeyValue.AsString` writes it: the form tag searches compare with
 * (`error=true`, `http.status_code=200`, binary as hex).
 */
export function tagValueString(kv: KeyValue): string {
  switch (kv.type) {
    case 'string':
      return kv.value;
    case 'binary':
      return Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('hex');
    default:
      return String(kv.value);
  }
}


