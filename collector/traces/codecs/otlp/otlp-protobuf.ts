/**
 * OTLP/protobuf trace messages (opentelemetry-proto `collector/trace/v1/trace_service.proto`, `trace/v1/trace.proto`,
 * `common/v1/common.proto`, `resource/v1/resource.proto`) decoded into the OTLP/JSON shape, so `otlp-translate.ts`
 * maps both encodings: ids become lowercase hex, times an exact (micros, nanos) split, int64 a number or bigint,
 * bytes a Uint8Array. Also the two answers a protobuf client reads: ExportTraceServiceResponse and google.rpc.Status.
 *
 * Never throws: a malformed message yields `{ error }`. Unknown fields are skipped; a known field with the wrong
 * wire type is an error, as in Go's proto decoder. The resource, scope, attribute and time readers are shared with
 * the OTLP logs decoder (collector/logs/otlp-logs-protobuf.ts).
 */
import { ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf-reader.js';
import type { NanoSplit } from './otlp-time.js';

export type Obj = Record<string, unknown>;
export type KV = { key: string; value: Obj | undefined };

const MAX_ANY_VALUE_DEPTH = 64;
const halves = { lo: 0, hi: 0 };

/** Decodes an ExportTraceServiceRequest (or TracesData: same field 1). */
export function decodeExportTraceRequest(buf: Uint8Array): { request: { resourceSpans: Obj[] } } | { error: string } {
  const r = new ProtoReader(buf);
  const resourceSpans: Obj[] = [];
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      resourceSpans.push(readResourceSpans(r));
      r.leave(outer);
    } else if (key !== 0) skipOrFail(r, key, 1, 'ExportTraceServiceRequest.resource_spans');
  }
  return r.error !== undefined ? { error: `invalid protobuf: ${r.error}` } : { request: { resourceSpans } };
}

/** Skips an unknown field; fails when a known field number arrives with the wrong wire type. */
export function skipOrFail(r: ProtoReader, key: number, knownUpTo: number, name: string, known?: (field: number) => boolean): void {
  const field = key >>> 3;
  if (known ? known(field) : field <= knownUpTo) r.fail(`${name} field ${field} has wire type ${key & 7}`);
  else r.skip(key & 7);
}

function readResourceSpans(r: ProtoReader): Obj {
  const out: Obj = {};
  const scopeSpans: Obj[] = [];
  out.scopeSpans = scopeSpans;
  while (!r.done()) {
    const key = r.tag();
    const field = key >>> 3;
    if (key === (1 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      const resource = (out.resource as Obj | undefined) ?? { attributes: [] };
      out.resource = resource;
      readResource(r, resource);
      r.leave(outer);
    } else if (key === (2 << 3 | WIRE_LEN) || key === (1000 << 3 | WIRE_LEN)) {
      // 1000: the deprecated instrumentation_library_spans, laid out like ScopeSpans.
      const outer = r.enter();
      if (outer < 0) break;
      scopeSpans.push(readScopeSpans(r));
      r.leave(outer);
    } else if (key === (3 << 3 | WIRE_LEN)) r.skip(WIRE_LEN); // schema_url
    else if (key !== 0) skipOrFail(r, key, 3, 'ResourceSpans', (f) => f <= 3 || f === 1000);
    if (field === 0) break;
  }
  return out;
}

/** A Resource: its attributes (1) and dropped attributes count (2); other fields skipped. */
export function readResource(r: ProtoReader, resource: Obj): void {
  const attributes = resource.attributes as KV[];
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) readKeyValueInto(r, attributes, 0);
    else if (key === (2 << 3 | WIRE_VARINT)) resource.droppedAttributesCount = r.varint32();
    else if (key !== 0) r.skip(key & 7);
  }
}

function readScopeSpans(r: ProtoReader): Obj {
  const spans: Obj[] = [];
  const out: Obj = { spans };
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      out.scope = readScope(r, (out.scope as Obj | undefined) ?? {});
      r.leave(outer);
    } else if (key === (2 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      spans.push(readSpan(r));
      r.leave(outer);
    } else if (key === (3 << 3 | WIRE_LEN)) r.skip(WIRE_LEN);
    else if (key !== 0) skipOrFail(r, key, 3, 'ScopeSpans');
  }
  return out;
}

export function readScope(r: ProtoReader, scope: Obj): Obj {
  const attributes = (scope.attributes as KV[] | undefined) ?? [];
  scope.attributes = attributes;
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) scope.name = r.string();
    else if (key === (2 << 3 | WIRE_LEN)) scope.version = r.string();
    else if (key === (3 << 3 | WIRE_LEN)) readKeyValueInto(r, attributes, 0);
    else if (key === (4 << 3 | WIRE_VARINT)) scope.droppedAttributesCount = r.varint32();
    else if (key !== 0) skipOrFail(r, key, 4, 'InstrumentationScope');
  }
  return scope;
}

/** A fixed64 nanosecond time at the cursor, split exactly. */
export function nanos(r: ProtoReader): NanoSplit {
  r.fixed64Halves(halves);
  // hi * 2^32 + lo = 1000 * (hi * 4294967) + (hi * 296 + lo): exact split without a bigint.
  const rest = halves.hi * 296 + halves.lo;
  const restMicros = Math.floor(rest / 1000);
  return { micros: halves.hi * 4294967 + restMicros, nanos: rest - restMicros * 1000 };
}

function readSpan(r: ProtoReader): Obj {
  const attributes: KV[] = [];
  const events: Obj[] = [];
  const links: Obj[] = [];
  const span: Obj = { attributes, events, links };
  while (!r.done()) {
    const key = r.tag();
    switch (key) {
      case 1 << 3 | WIRE_LEN: span.traceId = r.hex(); break;
      case 2 << 3 | WIRE_LEN: span.spanId = r.hex(); break;
      case 3 << 3 | WIRE_LEN: span.traceState = r.string(); break;
      case 4 << 3 | WIRE_LEN: span.parentSpanId = r.hex(); break;
      case 5 << 3 | WIRE_LEN: span.name = r.string(); break;
      case 6 << 3 | WIRE_VARINT: span.kind = r.varint32() | 0; break;
      case 7 << 3 | WIRE_FIXED64: span.startTimeUnixNano = nanos(r); break;
      case 8 << 3 | WIRE_FIXED64: span.endTimeUnixNano = nanos(r); break;
      case 9 << 3 | WIRE_LEN: readKeyValueInto(r, attributes, 0); break;
      case 10 << 3 | WIRE_VARINT: span.droppedAttributesCount = r.varint32(); break;
      case 12 << 3 | WIRE_VARINT: span.droppedEventsCount = r.varint32(); break;
      case 14 << 3 | WIRE_VARINT: span.droppedLinksCount = r.varint32(); break;
      case 11 << 3 | WIRE_LEN: {
        const outer = r.enter();
        if (outer < 0) break;
        events.push(readEvent(r));
        r.leave(outer);
        break;
      }
      case 13 << 3 | WIRE_LEN: {
        const outer = r.enter();
        if (outer < 0) break;
        links.push(readLink(r));
        r.leave(outer);
        break;
      }
      case 15 << 3 | WIRE_LEN: {
        const outer = r.enter();
        if (outer < 0) break;
        span.status = readStatus(r, (span.status as Obj | undefined) ?? {});
        r.leave(outer);
        break;
      }
      case 16 << 3 | WIRE_FIXED32: span.flags = r.fixed32(); break;
      default: if (key !== 0) skipOrFail(r, key, 16, 'Span');
    }
  }
  return span;
}

function readEvent(r: ProtoReader): Obj {
  const attributes: KV[] = [];
  const ev: Obj = { attributes };
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_FIXED64)) ev.timeUnixNano = nanos(r);
    else if (key === (2 << 3 | WIRE_LEN)) ev.name = r.string();
    else if (key === (3 << 3 | WIRE_LEN)) readKeyValueInto(r, attributes, 0);
    else if (key === (4 << 3 | WIRE_VARINT)) ev.droppedAttributesCount = r.varint32();
    else if (key !== 0) skipOrFail(r, key, 4, 'Span.Event');
  }
  return ev;
}

function readLink(r: ProtoReader): Obj {
  const attributes: KV[] = [];
  const link: Obj = { attributes };
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) link.traceId = r.hex();
    else if (key === (2 << 3 | WIRE_LEN)) link.spanId = r.hex();
    else if (key === (3 << 3 | WIRE_LEN)) link.traceState = r.string();
    else if (key === (4 << 3 | WIRE_LEN)) readKeyValueInto(r, attributes, 0);
    else if (key === (5 << 3 | WIRE_VARINT)) link.droppedAttributesCount = r.varint32();
    else if (key === (6 << 3 | WIRE_FIXED32)) link.flags = r.fixed32();
    else if (key !== 0) skipOrFail(r, key, 6, 'Span.Link');
  }
  return link;
}

function readStatus(r: ProtoReader, status: Obj): Obj {
  while (!r.done()) {
    const key = r.tag();
    if (key === (2 << 3 | WIRE_LEN)) status.message = r.string();
    else if (key === (3 << 3 | WIRE_VARINT)) status.code = r.varint32() | 0;
    else if (key === (1 << 3 | WIRE_VARINT)) r.varint32(); // deprecated_code
    else if (key !== 0) skipOrFail(r, key, 3, 'Status');
  }
  return status;
}

/** Reads one length-delimited KeyValue at the cursor and appends it. */
export function readKeyValueInto(r: ProtoReader, into: KV[], depth: number): void {
  const outer = r.enter();
  if (outer < 0) return;
  let key = '';
  let value: Obj | undefined;
  while (!r.done()) {
    const k = r.tag();
    if (k === (1 << 3 | WIRE_LEN)) key = r.string();
    else if (k === (2 << 3 | WIRE_LEN)) value = readAnyValue(r, depth);
    else if (k !== 0) skipOrFail(r, k, 2, 'KeyValue');
  }
  r.leave(outer);
  into.push({ key, value });
}

/** Reads one length-delimited AnyValue at the cursor into its JSON shape; `{}` when no variant is set. */
export function readAnyValue(r: ProtoReader, depth: number): Obj | undefined {
  if (depth > MAX_ANY_VALUE_DEPTH) {
    r.fail('AnyValue nested too deeply');
    return undefined;
  }
  const outer = r.enter();
  if (outer < 0) return undefined;
  let v: Obj = {};
  while (!r.done()) {
    const k = r.tag();
    switch (k) {
      case 1 << 3 | WIRE_LEN: v = { stringValue: r.string() }; break;
      case 2 << 3 | WIRE_VARINT: v = { boolValue: r.varint32() !== 0 }; break;
      case 3 << 3 | WIRE_VARINT: v = { intValue: r.int64() }; break;
      case 4 << 3 | WIRE_FIXED64: v = { doubleValue: r.double() }; break;
      case 5 << 3 | WIRE_LEN: {
        const values: Array<Obj | undefined> = [];
        const inner = r.enter();
        if (inner < 0) break;
        while (!r.done()) {
          const ak = r.tag();
          if (ak === (1 << 3 | WIRE_LEN)) values.push(readAnyValue(r, depth + 1) ?? {});
          else if (ak !== 0) skipOrFail(r, ak, 1, 'ArrayValue');
        }
        r.leave(inner);
        v = { arrayValue: { values } };
        break;
      }
      case 6 << 3 | WIRE_LEN: {
        const values: KV[] = [];
        const inner = r.enter();
        if (inner < 0) break;
        while (!r.done()) {
          const lk = r.tag();
          if (lk === (1 << 3 | WIRE_LEN)) readKeyValueInto(r, values, depth + 1);
          else if (lk !== 0) skipOrFail(r, lk, 1, 'KeyValueList');
        }
        r.leave(inner);
        v = { kvlistValue: { values } };
        break;
      }
      case 7 << 3 | WIRE_LEN: v = { bytesValue: r.bytes() }; break;
      default: if (k !== 0) skipOrFail(r, k, 7, 'AnyValue');
    }
  }
  r.leave(outer);
  return v;
}

// ---- answers ----

function varint(out: number[], n: number): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function lengthDelimited(out: number[], field: number, bytes: Uint8Array | number[]): void {
  out.push(field << 3 | WIRE_LEN);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** ExportTraceServiceResponse; `partial_success` only when spans were rejected or there is a message. */
export function encodeExportTraceResponse(rejectedSpans: number, errorMessage: string): Uint8Array {
  if (rejectedSpans === 0 && errorMessage === '') return new Uint8Array(0);
  const partial: number[] = [];
  if (rejectedSpans > 0) {
    partial.push(1 << 3 | WIRE_VARINT);
    varint(partial, rejectedSpans);
  }
  if (errorMessage !== '') lengthDelimited(partial, 2, new TextEncoder().encode(errorMessage));
  const out: number[] = [];
  lengthDelimited(out, 1, partial);
  return Uint8Array.from(out);
}

/** google.rpc.Status { code, message } (OTLP/HTTP error bodies for protobuf clients). */
export function encodeRpcStatus(code: number, message: string): Uint8Array {
  const out: number[] = [];
  if (code !== 0) {
    out.push(1 << 3 | WIRE_VARINT);
    varint(out, code);
  }
  if (message !== '') lengthDelimited(out, 2, new TextEncoder().encode(message));
  return Uint8Array.from(out);
}
