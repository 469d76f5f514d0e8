/**
 * The ingester's writes into span storage, each safe to repeat: a crash or a rebalance between a write and the
 * offset commit makes the ingester read the same messages again, and they must store nothing twice.
 *
 * - Elasticsearch: a span document's id is derived from the span (trace id, span id and a hash of its document:
 *   storage/elasticsearch/span-writer.ts), so a span written again overwrites itself. The writer retries through
 *   the one retry helper until each span is stored or refused for its content.
 * - The embedded store: its inserts are not idempotent, so each batch is checked against what the store holds
 *   for its traces, a span being the same when its trace id, span id, start, duration, service, operation and kind
 *   are (Zipkin's client and server halves share a span id and differ by kind and service: both are kept).
 *   A write that throws (the disk full, the database busy) is tried again by the one retry helper.
 */
import { retry, type RetryCounters } from '../delivery/retry.js';
import { spanKindOf, type Span } from '../model/span.js';
import type { Logger } from '../platform/log.js';
import type { SpanReader, SpanWriter } from '../storage/span-storage.js';

/** What makes two spans the same span for the store's check. */
export function spanIdentity(s: Span): string {
  return `${s.spanId}/${s.startTimeMicros}/${s.durationMicros}/${s.process.serviceName}/${s.operationName}/${spanKindOf(s)}`;
}

/** The spans of `spans` the reader does not hold yet (one trace read per distinct trace id). */
export async function spansNotHeld(reader: SpanReader, spans: Span[]): Promise<Span[]> {
  const held = new Map<string, Set<string>>();
  for (const traceId of new Set(spans.map((s) => s.traceId))) {
    held.set(traceId, new Set((await reader.getTrace(traceId)).map(spanIdentity)));
  }
  const out: Span[] = [];
  for (const s of spans) {
    const known = held.get(s.traceId)!;
    const id = spanIdentity(s);
    // A message may carry the same span twice: the first is written, the copy found in the set.
    if (!known.has(id)) {
      known.add(id);
      out.push(s);
    }
  }
  return out;
}

export interface StorageTarget {
  name: string;
  writer: SpanWriter;
}

/**
 * Writes `spans` into one storage until it holds them; resolves with the number refused for their content.
 * Rejects only when `signal` aborts (shutdown): the offsets then stay where they were.
 */
export async function writeIdempotently(target: StorageTarget, spans: Span[], signal: AbortSignal, counters: RetryCounters, log: Logger): Promise<number> {
  const reader = typeof (target.writer as Partial<SpanReader>).getTrace === 'function' ? (target.writer as unknown as SpanReader) : undefined;
  return retry(async () => {
    const fresh = reader === undefined ? spans : await spansNotHeld(reader, spans);
    if (fresh.length === 0) return 0;
    const result = await target.writer.writeSpans(fresh);
    return result?.failed ?? 0;
  }, {
    operation: `ingest-${target.name}`, policy: { maxElapsedMs: Number.POSITIVE_INFINITY }, counters, signal,
    classify: () => (signal.aborted ? { retry: false } : { retry: true }),
    onRetry: ({ attempt, delayMs, error }) => log.warn('span storage write failed; trying again', { storage: target.name, attempt, delayMs, err: error }),
  });
}
