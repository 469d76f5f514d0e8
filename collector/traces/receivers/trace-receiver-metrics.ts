/**
 * Every trace receiver's own counters, one family per outcome labelled by protocol (`jaeger-udp-compact`,
 * `jaeger-udp-binary`, `jaeger-http`, `jaeger-grpc`, `otlp-json`, `otlp-protobuf`, `otlp-grpc`, `zipkin-v2-json`,
 * `zipkin-v2-protobuf`, `zipkin-v1-json`), so "spans received per protocol" is one query. Label children are bound
 * once per receiver and protocol, so counting on the hot path is one increment.
 */
import type { Logger } from '../../../platform/log.js';
import { chunkSize, type SpanChunk, type SpanConsumer } from '../../../model/span.js';
import { counter, type Registry } from '../../../platform/self-metrics.js';

export type TraceProtocol =
  | 'jaeger-udp-compact' | 'jaeger-udp-binary' | 'jaeger-http'
  | 'otlp-json' | 'otlp-protobuf' | 'otlp-grpc' | 'jaeger-grpc'
  | 'zipkin-v2-json' | 'zipkin-v2-protobuf' | 'zipkin-v1-json';

export interface TraceCounters {
  /** Requests or datagrams received, well-formed or not. */
  requests: { inc(n?: number): void };
  /** Spans decoded and accepted by the consumer. */
  spans: { inc(n?: number): void };
  /** Spans of a well-formed request that could not be mapped (bad ids, times, values): OTLP partial success. */
  rejectedSpans: { inc(n?: number): void };
  /** Requests or datagrams refused whole: malformed, too large, too many spans, unsupported encoding. */
  decodeErrors: { inc(n?: number): void };
  /** Spans refused because storage was busy: answered 503 with Retry-After over HTTP, dropped over UDP. */
  refusedBusy: { inc(n?: number): void };
  /** Spans lost because the consumer threw (a defect downstream, logged as an error). */
  consumerFailures: { inc(n?: number): void };
}

export function traceCounters(registry: Registry, protocol: TraceProtocol): TraceCounters {
  const labels = { protocol };
  const of = (name: string, help: string) => counter(registry, { name, help, labelNames: ['protocol'] as const }).labels(labels);
  return {
    requests: of('shipwatch_trace_requests_received_total', 'Trace requests or datagrams received, well-formed or not.'),
    spans: of('shipwatch_trace_spans_received_total', 'Spans received and handed to span storage.'),
    rejectedSpans: of('shipwatch_trace_spans_rejected_total', 'Spans of well-formed requests that could not be mapped (bad ids, times or values).'),
    decodeErrors: of('shipwatch_trace_decode_errors_total', 'Trace requests or datagrams refused whole: malformed, too large, too many spans, or an unsupported encoding.'),
    refusedBusy: of('shipwatch_trace_spans_refused_busy_total', 'Spans refused because span storage could not keep up: 503 over HTTP, dropped over UDP.'),
    consumerFailures: of('shipwatch_trace_spans_consumer_failed_total', 'Spans lost because handing them to span storage failed unexpectedly.'),
  };
}

/**
 * Hands decoded spans to storage and counts the outcome in one place, for every receiver: 'accepted' (counted as
 * received), 'busy' (counted as refused: the receiver answers 503 or drops), or 'failed' when the consumer threw
 * (counted and logged; a defect downstream). No spans is 'accepted' with nothing counted.
 */
export function handOverSpans(
  consumer: SpanConsumer,
  spans: SpanChunk,
  counters: TraceCounters,
  log: Logger,
  what: string,
): 'accepted' | 'busy' | 'failed' {
  const n = chunkSize(spans);
  if (n === 0) return 'accepted';
  let outcome: 'accepted' | 'busy';
  try {
    outcome = consumer.consume(spans);
  } catch (err) {
    counters.consumerFailures.inc(n);
    log.error(`span consumer failed on ${what}`, { err, spans: n });
    return 'failed';
  }
  if (outcome === 'busy') counters.refusedBusy.inc(n);
  else counters.spans.inc(n);
  return outcome;
}

/**
 * handOverSpans for a receiver that can answer only once the spans are kept (HTTP): waits for the consumer's
 * `consumeDurably` when it has one (the durable span queue's group commit), counted the same way.
 */
export async function handOverSpansDurably(
  consumer: SpanConsumer,
  spans: SpanChunk,
  counters: TraceCounters,
  log: Logger,
  what: string,
): Promise<'accepted' | 'busy' | 'failed'> {
  if (consumer.consumeDurably === undefined) return handOverSpans(consumer, spans, counters, log, what);
  const n = chunkSize(spans);
  if (n === 0) return 'accepted';
  let outcome: 'accepted' | 'busy' | 'failed';
  try {
    outcome = await consumer.consumeDurably(spans);
  } catch (err) {
    outcome = 'failed';
    log.error(`span consumer failed on ${what}`, { err, spans: n });
  }
  if (outcome === 'failed') counters.consumerFailures.inc(n);
  else if (outcome === 'busy') counters.refusedBusy.inc(n);
  else counters.spans.inc(n);
  return outcome;
}
