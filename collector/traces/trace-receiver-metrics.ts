/**
 * The OTLP and Zipkin receivers' own counters, labelled by protocol (`otlp-json`, `otlp-protobuf`, `zipkin-v2-json`,
 * `zipkin-v2-protobuf`, `zipkin-v1-json`). Label children are bound once per protocol, so counting on the hot path
 * is one increment.
 */
import { counter, type Registry } from '../../core/self-metrics.js';

export type TraceProtocol = 'otlp-json' | 'otlp-protobuf' | 'zipkin-v2-json' | 'zipkin-v2-protobuf' | 'zipkin-v1-json';

export interface TraceCounters {
  /** Requests received, well-formed or not. */
  requests: { inc(n?: number): void };
  /** Spans decoded and accepted by the consumer. */
  spans: { inc(n?: number): void };
  /** Spans of a well-formed request that could not be mapped (bad ids, times, values): OTLP partial success. */
  rejectedSpans: { inc(n?: number): void };
  /** Requests refused whole: malformed, too large, unsupported encoding. */
  decodeErrors: { inc(n?: number): void };
  /** Spans refused because storage was busy (answered 503 with Retry-After). */
  refusedBusy: { inc(n?: number): void };
  /** Spans lost because the consumer threw (a defect downstream, logged as an error). */
  consumerFailures: { inc(n?: number): void };
}

export function traceCounters(registry: Registry, protocol: TraceProtocol): TraceCounters {
  const labels = { protocol };
  const of = (name: string, help: string) => counter(registry, { name, help, labelNames: ['protocol'] as const }).labels(labels);
  return {
    requests: of('shipwatch_trace_requests_received_total', 'OTLP/Zipkin trace requests received, well-formed or not.'),
    spans: of('shipwatch_trace_spans_received_total', 'Spans received through the OTLP/Zipkin receivers and handed to span storage.'),
    rejectedSpans: of('shipwatch_trace_spans_rejected_total', 'Spans of well-formed requests that could not be mapped (bad ids, times or values).'),
    decodeErrors: of('shipwatch_trace_decode_errors_total', 'OTLP/Zipkin requests refused whole: malformed, too large, or an unsupported encoding.'),
    refusedBusy: of('shipwatch_trace_spans_refused_busy_total', 'Spans refused with 503 because span storage could not keep up.'),
    consumerFailures: of('shipwatch_trace_spans_consumer_failed_total', 'Spans lost because handing them to span storage failed unexpectedly.'),
  };
}
