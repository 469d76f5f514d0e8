/**
 * What span storages (the embedded store, Elasticsearch in Jaeger's schema) offer the collector and query.
 * Both backends implement the same reader so query answers the same from either (checked by Jaeger's storage suite).
 */
import type { Span, SpanChunk } from '../model/span.js';

/** What a write did not store, each span counted once: refused for its content, or given up at shutdown. */
export interface SpanWriteResult {
  failed: number;
}

export interface SpanWriter {
  /**
   * Stores spans; resolves once they are durable (and visible to readers after `flush`), or with the number it
   * could not store. A writer that retries (Elasticsearch) resolves only when each span is stored or refused.
   */
  writeSpans(spans: Span[]): Promise<SpanWriteResult | void>;
  /**
   * Optional: stores chunks as receivers handed them over, some still in their wire form (model/span.ts),
   * as one write. A writer without it is given the chunks' spans in the model.
   */
  writeChunks?(chunks: readonly SpanChunk[]): Promise<SpanWriteResult | void>;
  /** Optional: why writes cannot go through now (for /health, naming the storage), undefined while they can. */
  problem?(): string | undefined;
  /** Optional: gives up the writes waiting or retrying now and from now on (shutdown past its deadline). */
  abandon?(): void;
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
  /**
   * Matching traces to skip, in the same newest-first order, before the `numTraces` returned (paging, beyond
   * Jaeger); absent means 0. A reader searches `offset + numTraces` trace ids and drops the first `offset`.
   */
  offset?: number;
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
  /**
   * Matching traces, each with all its spans, newest first (by the latest start time of a matching span). A trace
   * matches when one of its spans matches every condition: service, operation, start time within
   * [startTimeMin, startTimeMax], duration within [durationMin, durationMax] (bounds inclusive, absent = open), and
   * every tag, each found among that span's tags, log fields or process tags. A tag value is an anchored regular
   * expression (storage/sqlite/tag-pattern.ts); no serviceName means any service.
   */
  findTraces(query: TraceQuery): Promise<Span[][]>;
  getDependencies(endTimeMs: number, lookbackMs: number): Promise<DependencyLink[]>;
  /**
   * Optional: how many traces match the query, ignoring `numTraces` and `offset` (the `total` of a paged search).
   * A reader without it makes `total` the number of traces returned.
   */
  countTraces?(query: TraceQuery): Promise<number>;
  /** Optional: asks the backend whether it answers; the problem (naming the storage) or undefined. For /health. */
  probe?(): Promise<string | undefined>;
  /**
   * Optional: the spans of these services and kinds started in [fromUs, toUs], reduced to what the Jaeger UI's
   * Monitor tab charts (query/monitor/); at most `limit` (past it the reader throws SW_BAD_REQUEST: the window holds too many spans).
   * A reader without it answers the Monitor tab 501, as Jaeger does without a metrics backend.
   */
  spanMetricSamples?(query: SpanMetricsQuery): Promise<SpanMetricSample[]>;
}

export interface SpanMetricsQuery {
  services: string[];
  /** Jaeger's kind names (server, client, producer, consumer, internal; '' for spans without a kind). */
  kinds: string[];
  fromUs: number;
  toUs: number;
  limit: number;
}

/** One span as the Monitor tab counts it. */
export interface SpanMetricSample {
  service: string;
  operation: string;
  startUs: number;
  durationUs: number;
  /** `error=true` or `otel.status_code=ERROR`. */
  error: boolean;
}
