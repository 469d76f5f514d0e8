/**
 * The Jaeger receivers' own counters, labelled by transport (`udp-compact`, `udp-binary`, `http`). Label children
 * are bound once per receiver, so counting on the hot path is one increment.
 */
import { counter, type Registry } from '../../core/self-metrics.js';

export type JaegerTransport = 'udp-compact' | 'udp-binary' | 'http';

export interface JaegerCounters {
  /** Datagrams or requests received, well-formed or not. */
  batches: { inc(n?: number): void };
  /** Spans decoded and accepted by the consumer. */
  spans: { inc(n?: number): void };
  /** Datagrams or bodies that failed to decode (malformed or over the span limit). */
  decodeErrors: { inc(n?: number): void };
  /** Spans decoded but refused because storage was busy (dropped on UDP; answered 503 on HTTP). */
  refusedBusy: { inc(n?: number): void };
  /** Spans lost because the consumer threw (a defect downstream, logged as an error). */
  consumerFailures: { inc(n?: number): void };
}

export function jaegerCounters(registry: Registry, transport: JaegerTransport): JaegerCounters {
  const labels = { transport };
  const of = (name: string, help: string) => counter(registry, { name, help, labelNames: ['transport'] as const }).labels(labels);
  return {
    batches: of('shipwatch_jaeger_batches_received_total', 'Jaeger batches received (UDP datagrams, HTTP requests), well-formed or not.'),
    spans: of('shipwatch_jaeger_spans_received_total', 'Spans received through the Jaeger receivers and handed to span storage.'),
    decodeErrors: of('shipwatch_jaeger_decode_errors_total', 'Jaeger batches that could not be decoded (malformed, or more spans than allowed).'),
    refusedBusy: of('shipwatch_jaeger_spans_refused_busy_total', 'Spans refused because span storage could not keep up: dropped on UDP, answered 503 on HTTP.'),
    consumerFailures: of('shipwatch_jaeger_spans_consumer_failed_total', 'Spans lost because handing them to span storage failed unexpectedly.'),
  };
}
