/**
 * A span → the protobuf bytes of one `jaeger.api_v2.Span` (jaeger-idl `proto/api_v2/model.proto`), the span carrying
 * its own `process`: what Jaeger's Kafka exporter writes per message with `jaeger_proto`, and what its receiver and
 * ingester read back (a span alone, its process inside it). Field numbers are model.proto's: ids as bytes (16 and 8),
 * times as google.protobuf.Timestamp / Duration, a tag's type as the ValueType enum. What Jaeger's v1 model has no
 * place for (the OTLP extras of a span received over OTLP) is not carried, as Jaeger's own translation drops it.
 */
import type { KeyValue, Span } from '../../model/span.js';
import { PbWriter } from './otlp-proto-encoder.js';

/**
 * The key Jaeger's Kafka exporter gives a message of one span: its model's TraceID.String(), the low half alone in 16
 * hex digits when the high one is zero, else all 32 (as Jaeger 1.75's exporter was seen to write them).
 */
export function jaegerTraceKey(traceId: string): string {
  return traceId.startsWith('0000000000000000') ? traceId.slice(16) : traceId;
}

const VALUE_TYPE = { string: 0, bool: 1, int64: 2, float64: 3, binary: 4 } as const;

function keyValue(w: PbWriter, kv: KeyValue): void {
  w.string(1, kv.key);
  w.uint(2, VALUE_TYPE[kv.type]);
  switch (kv.type) {
    case 'string': w.string(3, kv.value); break;
    case 'bool': w.bool(4, kv.value); break;
    case 'int64': w.int64(5, kv.value); break;
    case 'float64': w.double(6, kv.value); break;
    case 'binary': w.bytes(7, Buffer.from(kv.value)); break;
  }
}

/** µs (+ ns past them) as seconds and nanos. */
function time(w: PbWriter, micros: number, extraNanos = 0): void {
  const seconds = Math.floor(micros / 1e6);
  w.int64(1, seconds);
  w.uint(2, (micros - seconds * 1e6) * 1000 + extraNanos);
}

export function encodeJaegerProtoSpan(s: Span): Buffer {
  const w = new PbWriter();
  w.hex(1, s.traceId);
  w.hex(2, s.spanId);
  w.string(3, s.operationName);
  for (const r of s.references) {
    w.message(4, (m) => {
      m.hex(1, r.traceId);
      m.hex(2, r.spanId);
      m.uint(3, r.refType === 'FOLLOWS_FROM' ? 1 : 0);
    });
  }
  w.uint(5, s.flags);
  w.message(6, (m) => time(m, s.startTimeMicros, s.otlp?.startNanos ?? 0));
  w.message(7, (m) => time(m, s.durationMicros, s.otlp?.durationNanos ?? 0));
  for (const t of s.tags) w.message(8, (m) => keyValue(m, t));
  for (const l of s.logs) {
    w.message(9, (m) => {
      m.message(1, (ts) => time(ts, l.timestampMicros));
      for (const f of l.fields) m.message(2, (kv) => keyValue(kv, f));
    });
  }
  w.message(10, (m) => {
    m.string(1, s.process.serviceName);
    for (const t of s.process.tags) m.message(2, (kv) => keyValue(kv, t));
  });
  for (const warning of s.warnings ?? []) w.string(12, warning);
  return w.finish();
}
