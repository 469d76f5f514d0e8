/**
 * Jaeger adjusts traces when they are read, not when they are stored; query does the same over any span reader,
 * so the embedded store and Elasticsearch answer alike. Today: Zipkin-style shared client/server span ids
 * (Envoy/Istio B3) are separated (`core/model/shared-span-ids.ts`).
 */
import { deduplicateClientServerSpanIds } from '../core/model/shared-span-ids.js';
import type { SpanReader } from '../core/span-storage.js';

export function withTraceAdjusters(reader: SpanReader): SpanReader {
  return {
    getServices: () => reader.getServices(),
    getOperations: (q) => reader.getOperations(q),
    getDependencies: (endTimeMs, lookbackMs) => reader.getDependencies(endTimeMs, lookbackMs),
    getTrace: async (traceId) => deduplicateClientServerSpanIds(await reader.getTrace(traceId)),
    findTraces: async (q) => (await reader.findTraces(q)).map((trace) => deduplicateClientServerSpanIds(trace)),
  };
}
