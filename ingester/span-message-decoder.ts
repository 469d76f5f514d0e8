/**
 * A Kafka message's value → spans of the model, with the collector's OTLP codec (the same translation as a span
 * received over OTLP/HTTP, so a span stored through Kafka is the span stored directly). Pure and synchronous: a
 * message that is not a valid encoding gives its reason, for the dead-letter topic.
 */
import type { SpanKafkaEncoding } from '../platform/config/span-storage-config.js';
import type { Span } from '../model/span.js';
import { decodeOtlpTraces } from '../collector/traces/codecs/otlp/otlp-decode.js';
import { decodePostSpansRequest } from '../collector/traces/codecs/jaeger-proto/jaeger-proto-decode.js';
import { jaegerJsonToProto } from '../storage/kafka/jaeger-json-span.js';

/** A protobuf length prefix (varint). */
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/**
 * `jaeger_proto`: one model.proto Span, read as Jaeger's receiver reads it, a batch of that span alone under its own
 * process. Framed as the PostSpansRequest { batch: Batch { spans: [it] } } the collector's gRPC decoder reads, so a
 * span through Kafka is translated as one received over gRPC.
 */
function decodeJaegerProtoSpan(value: Buffer, encoding: 'jaeger_proto' | 'jaeger_json' = 'jaeger_proto'): DecodedMessage {
  const batch = Buffer.concat([Buffer.of(0x0a), varint(value.length), value]);
  const request = Buffer.concat([Buffer.of(0x0a), varint(batch.length), batch]);
  const out = decodePostSpansRequest(request, 1);
  if (!out.ok) return { ok: false, reason: `${encoding}: ${out.error}` };
  if (out.spans.length === 0) return { ok: false, reason: `${encoding}: no span` };
  return { ok: true, spans: out.spans, rejected: 0 };
}

/** The spans, and how many the translation refused (an invalid id, as the OTLP receiver refuses it), with why. */
export type DecodedMessage = { ok: true; spans: Span[]; rejected: number; firstError?: string } | { ok: false; reason: string };

export function decodeSpanMessage(value: Buffer | null, encoding: SpanKafkaEncoding, maxSpans: number): DecodedMessage {
  if (value === null || value.length === 0) return { ok: false, reason: `empty message: ${encoding.startsWith('jaeger_') ? 'a Jaeger Span' : 'an ExportTraceServiceRequest'} in ${encoding} was expected` };
  if (encoding === 'jaeger_proto') return decodeJaegerProtoSpan(value);
  if (encoding === 'jaeger_json') {
    // jsonpb's JSON of a Span, written as the Span it stands for and read as a jaeger_proto one.
    const proto = jaegerJsonToProto(value);
    return proto.ok ? decodeJaegerProtoSpan(proto.bytes, 'jaeger_json') : { ok: false, reason: `jaeger_json: ${proto.reason}` };
  }
  const out = decodeOtlpTraces(value, encoding === 'otlp_json' ? 'json' : 'protobuf', maxSpans);
  if (!out.ok) return { ok: false, reason: `${encoding}: ${out.message}` };
  const { spans, rejected, errors } = out.translation;
  // Nothing in it could be stored: the message as a whole is what a person must look at.
  if (spans.length === 0 && rejected > 0) return { ok: false, reason: `${encoding}: every span refused (${errors[0] ?? 'invalid span'})` };
  return { ok: true, spans, rejected, ...(errors[0] === undefined ? {} : { firstError: errors[0] }) };
}
