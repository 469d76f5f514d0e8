/**
 * The embedded store's spans reduced to what the Monitor tab counts (query/monitor/span-metrics.ts): service,
 * operation, start, duration and whether it failed, for the spans of some services and kinds started in a window.
 * A pure function of a connection, so that it runs on a reader thread of the store (read-worker.ts) as well as
 * beside the writer, like the dependencies.
 *
 * Kind and error live in a span's tags, so every span of the window is decoded: ≈ 2–5 µs a span.
 */
import { describe, swError } from '../../platform/errors.js';
import { spanKindOf, type KeyValue, type Span } from '../../model/span.js';
import type { SpanMetricSample, SpanMetricsQuery } from '../span-storage.js';
import { decodeDataSpans, decodeKvs, type EncodedSpan } from './span-codec.js';
import { spanNameLookup, type Prepare } from './span-search.js';
import { RUN_EXTENT_US } from './span-write.js';

/** `error=true` (a bool or its text) or OpenTelemetry's `otel.status_code=ERROR`. */
export function isErrorSpan(tags: readonly KeyValue[]): boolean {
  for (const t of tags) {
    if (t.key === 'error' && (t.value === true || t.value === 'true')) return true;
    if (t.key === 'otel.status_code' && t.value === 'ERROR') return true;
  }
  return false;
}

export function spanMetricSamples(prepare: Prepare, query: SpanMetricsQuery, damaged: (what: string, err: unknown) => void): SpanMetricSample[] {
  const kinds = new Set(query.kinds);
  const out: SpanMetricSample[] = [];
  const name = spanNameLookup(prepare);
  const keep = (service: string, operation: string, startUs: number, durationUs: number, kind: string, error: boolean): void => {
    if (startUs < query.fromUs || startUs > query.toUs || !kinds.has(kind)) return;
    if (out.length === query.limit) {
      throw swError('SW_BAD_REQUEST', `more than ${query.limit} spans in the window: shorten the lookback or ask for fewer services`);
    }
    out.push({ service, operation, startUs, durationUs, error });
  };
  for (const service of query.services) {
    const id = prepare('SELECT id FROM span_names WHERE name = ?').pluck().get(service) as number | undefined;
    if (id === undefined) continue;
    // A run row's start is its latest span's; its spans started up to RUN_EXTENT_US before.
    const rows = prepare('SELECT operation, start_us, duration_us, n, data FROM spans WHERE service = ? AND start_us >= ? AND start_us <= ?')
      .raw().iterate(id, query.fromUs, query.toUs + RUN_EXTENT_US) as IterableIterator<[number, number, number, number, string | Buffer]>;
    for (const [operation, startUs, durationUs, n, data] of rows) {
      if (typeof data === 'string') {
        let tags: KeyValue[];
        try {
          tags = decodeKvs((JSON.parse(data) as EncodedSpan).t);
        } catch (err) {
          damaged(`a span of ${service}`, describe(err));
          continue;
        }
        keep(service, name(operation), startUs, durationUs, spanKindOf({ tags } as Span), isErrorSpan(tags));
        continue;
      }
      let spans: Span[];
      try {
        spans = decodeDataSpans(data);
      } catch (err) {
        damaged(`spans of ${service}`, describe(err));
        continue;
      }
      if (n === 1 && spans.length === 1) {
        const s = spans[0]!;
        keep(service, name(operation), startUs, durationUs, spanKindOf(s), isErrorSpan(s.tags));
        continue;
      }
      for (const s of spans) keep(service, s.operationName, s.startTimeMicros, s.durationMicros, spanKindOf(s), isErrorSpan(s.tags));
    }
  }
  return out;
}
