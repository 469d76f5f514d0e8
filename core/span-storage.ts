/**
 * What span storages (the embedded store, Elasticsearch in Jaeger's schema) offer the collector and query.
 * Both backends implement the same reader so query answers the same from either (checked by Jaeger's storage suite).
 */
import type { Span } from './model/span.js';

export interface SpanWriter {
  /** Stores spans; resolves once they are durable (and visible to readers after `flush`). */
  writeSpans(spans: Span[]): Promise<void>;
  close(): Promise<void>;
}

export interface TraceQuery {
  serviceName?: string;
  operationName?: string;
  /** Tag filters; a value may be a regular expression where the backend supports it (Jaeger's suite: "same.*"). */
  tags?: Record<string, string>;
  startTimeMinMicros?: number;
  startTimeMaxMicros?: number;
  durationMinMicros?: number;
  durationMaxMicros?: number;
  /** Maximum number of traces. */
  numTraces: number;
}

export interface Operation {
  name: string;
  /** server, client, producer, consumer, internal, or '' when unknown. */
  spanKind: string;
}

export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

export interface SpanReader {
  getServices(): Promise<string[]>;
  getOperations(query: { serviceName: string; spanKind?: string }): Promise<Operation[]>;
  /** All spans of the trace (32-hex id), or an empty array when unknown. */
  getTrace(traceId: string): Promise<Span[]>;
  /** Matching traces, each with all its spans, newest first. */
  findTraces(query: TraceQuery): Promise<Span[][]>;
  getDependencies(endTimeMs: number, lookbackMs: number): Promise<DependencyLink[]>;
}
