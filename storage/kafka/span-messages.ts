/**
 * Spans → Kafka messages in the encodings of Jaeger 2.x's Kafka exporter (opentelemetry-collector-contrib's
 * kafkaexporter): `otlp_proto`, an `ExportTraceServiceRequest` in protobuf, `otlp_json`, the same in OTLP JSON, and
 * `jaeger_proto`, one Jaeger model.proto Span per message (./jaeger-proto-encoder.ts).
 * Each message holds spans of one trace and is keyed by the trace id (32 hex digits, as the exporter keys a message
 * when it partitions traces by id), so a trace's spans share a partition and one message never straddles traces.
 * A trace too large for `maxMessageBytes` is cut into several messages; a span too large alone is returned apart,
 * with its size, for the caller to refuse.
 *
 * Pure and synchronous: the Kafka sink calls it per batch, and the tests and the bench through it.
 */
import type { SpanKafkaEncoding } from '../../platform/config/span-storage-config.js';
import type { Span } from '../../model/span.js';
import { toOtlpTracesData } from '../../query/jaeger/otlp-json.js';
import { encodeExportTraceRequestProto } from './otlp-proto-encoder.js';
import { encodeJaegerProtoSpan } from './jaeger-proto-encoder.js';

export interface SpanMessage {
  /** The trace id (32 hex digits). */
  key: string;
  value: Buffer;
  spans: number;
}

export interface SpanMessages {
  messages: SpanMessage[];
  /** Spans that alone make a message over the limit. */
  tooLarge: Array<{ span: Span; bytes: number }>;
}

/** One message's value: the spans as an ExportTraceServiceRequest in the encoding (`jaeger_proto`: one span alone). */
export function encodeSpanMessage(spans: Span[], encoding: SpanKafkaEncoding): Buffer {
  if (encoding === 'jaeger_proto') return encodeJaegerProtoSpan(spans[0]!);
  const data = toOtlpTracesData(spans);
  return encoding === 'otlp_proto' ? encodeExportTraceRequestProto(data) : Buffer.from(JSON.stringify(data), 'utf8');
}

/**
 * The key Jaeger's Kafka exporter gives a `jaeger_proto` message: its model's TraceID.String(), hex without leading
 * zeros (`%x` of the low half when the high one is zero, else `%x` of the high half and the low one in 16 digits),
 * which is the 32 digits with their leading zeros cut.
 */
export function jaegerTraceKey(traceId: string): string {
  return traceId.replace(/^0+/, '') || '0';
}

/** `jaeger_proto`: one message per span (a model.proto Span holding its process), keyed by its trace. */
function jaegerSpanMessages(spans: readonly Span[], maxMessageBytes: number): SpanMessages {
  const out: SpanMessages = { messages: [], tooLarge: [] };
  for (const s of spans) {
    const key = jaegerTraceKey(s.traceId);
    const value = encodeJaegerProtoSpan(s);
    if (value.length + key.length <= maxMessageBytes) out.messages.push({ key, value, spans: 1 });
    else out.tooLarge.push({ span: s, bytes: value.length + key.length });
  }
  return out;
}

/** The spans as messages, one or more per trace, in the order each trace first appears. */
export function spanMessages(spans: readonly Span[], encoding: SpanKafkaEncoding, maxMessageBytes: number): SpanMessages {
  if (encoding === 'jaeger_proto') return jaegerSpanMessages(spans, maxMessageBytes);
  const byTrace = new Map<string, Span[]>();
  for (const s of spans) {
    let list = byTrace.get(s.traceId);
    if (list === undefined) byTrace.set(s.traceId, (list = []));
    list.push(s);
  }
  const out: SpanMessages = { messages: [], tooLarge: [] };
  const add = (key: string, part: Span[]): void => {
    const value = encodeSpanMessage(part, encoding);
    if (value.length + key.length <= maxMessageBytes) {
      out.messages.push({ key, value, spans: part.length });
    } else if (part.length === 1) {
      out.tooLarge.push({ span: part[0]!, bytes: value.length + key.length });
    } else {
      const half = Math.ceil(part.length / 2);
      add(key, part.slice(0, half));
      add(key, part.slice(half));
    }
  };
  for (const [traceId, list] of byTrace) add(traceId, list);
  return out;
}
