/**
 * The adjusters the query program applies to a trace before answering, as Jaeger's query service does unless the
 * client asks for raw traces (`raw=true`, `query.raw_traces=true`). Today: Zipkin's shared client/server span ids
 * are separated (model/shared-span-ids.ts). Jaeger's other adjusters (clock skew, tag sorting, IP tags) are
 * not applied.
 */
import type { Span } from '../../model/span.js';
import { deduplicateClientServerSpanIds } from '../../model/shared-span-ids.js';

export function adjustTrace(spans: Span[], raw: boolean): Span[] {
  return raw ? spans : deduplicateClientServerSpanIds(spans);
}
