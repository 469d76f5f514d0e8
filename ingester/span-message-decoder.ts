/**
 * A Kafka message's value → spans of the model, with the collector's OTLP codec (the same translation as a span
 * received over OTLP/HTTP, so a span stored through Kafka is the span stored directly). Pure and synchronous: a
 * message that is not a valid encoding gives its reason, for the dead-letter topic.
 */
import type { SpanKafkaEncoding } from '../platform/config/span-storage-config.js';
import type { Span } from '../model/span.js';
import { decodeOtlpTraces } from '../collector/traces/codecs/otlp/otlp-decode.js';

/** The spans, and how many the translation refused (an invalid id, as the OTLP receiver refuses it), with why. */
export type DecodedMessage = { ok: true; spans: Span[]; rejected: number; firstError?: string } | { ok: false; reason: string };

export function decodeSpanMessage(value: Buffer | null, encoding: SpanKafkaEncoding, maxSpans: number): DecodedMessage {
  if (value === null || value.length === 0) return { ok: false, reason: `empty message: an ExportTraceServiceRequest in ${encoding} was expected` };
  const out = decodeOtlpTraces(value, encoding === 'otlp_json' ? 'json' : 'protobuf', maxSpans);
  if (!out.ok) return { ok: false, reason: `${encoding}: ${out.message}` };
  const { spans, rejected, errors } = out.translation;
  // Nothing in it could be stored: the message as a whole is what a person must look at.
  if (spans.length === 0 && rejected > 0) return { ok: false, reason: `${encoding}: every span refused (${errors[0] ?? 'invalid span'})` };
  return { ok: true, spans, rejected, ...(errors[0] === undefined ? {} : { firstError: errors[0] }) };
}
