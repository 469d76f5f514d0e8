/**
 * Spans → Kafka messages in the encodings of Jaeger 2.x's Kafka exporter (opentelemetry-collector-contrib's
 * kafkaexporter): `otlp_proto`, an `ExportTraceServiceRequest` in protobuf, `otlp_json`, the same in OTLP JSON, and
 * `jaeger_proto`, one Jaeger model.proto Span per message (./jaeger-proto-encoder.ts), and `jaeger_json`, the same in
 * jsonpb's JSON (./jaeger-json-span.ts).
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
import { encodeJaegerProtoSpan, jaegerTraceKey } from './jaeger-proto-encoder.js';
import { encodeJaegerJsonSpan } from './jaeger-json-span.js';

export { jaegerTraceKey };

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
  if (encoding === 'jaeger_json') return encodeJaegerJsonSpan(spans[0]!);
  const data = toOtlpTracesData(spans);
  return encoding === 'otlp_proto' ? encodeExportTraceRequestProto(data) : Buffer.from(JSON.stringify(data), 'utf8');
}

/** `jaeger_proto` / `jaeger_json`: one message per span (a model.proto Span holding its process), keyed by its trace. */
function jaegerSpanMessages(spans: readonly Span[], encoding: 'jaeger_proto' | 'jaeger_json', maxMessageBytes: number): SpanMessages {
  const out: SpanMessages = { messages: [], tooLarge: [] };
  for (const s of spans) {
    const key = jaegerTraceKey(s.traceId);
    const value = encoding === 'jaeger_proto' ? encodeJaegerProtoSpan(s) : encodeJaegerJsonSpan(s);
    if (value.length + key.length <= maxMessageBytes) out.messages.push({ key, value, spans: 1 });
    else out.tooLarge.push({ span: s, bytes: value.length + key.length });
  }
  return out;
}

/** The spans as messages, one or more per trace, in the order each trace first appears. */
export function spanMessages(spans: readonly Span[], encoding: SpanKafkaEncoding, maxMessageBytes: number): SpanMessages {
  if (encoding === 'jaeger_proto' || encoding === 'jaeger_json') return jaegerSpanMessages(spans, encoding, maxMessageBytes);
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
