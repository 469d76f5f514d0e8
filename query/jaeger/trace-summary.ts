/**
 * A trace's summary for `/api/v3/trace-summaries`, computed from its spans as Jaeger's query service does when the
 * storage has no native summaries (`querysvc/summary.go`): span and error counts, per-service counts sorted by name,
 * the root (earliest span without a parent), orphans (spans whose parent is absent), the time bounds.
 * Encoded as Jaeger's `api_v3.TraceSummary` in proto JSON: int64 as strings, zero values left out.
 */
import { parentSpanId, type Span } from '../../model/span.js';

function isError(span: Span): boolean {
  const code = span.tags.find((t) => t.key === 'otel.status_code');
  if (code !== undefined) return code.value === 'ERROR';
  return span.tags.some((t) => t.key === 'error' && t.type === 'bool' && t.value === true);
}

function omitZero(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== 0 && v !== '' && v !== undefined));
}

export function summariseTrace(spans: Span[]): Record<string, unknown> {
  const ids = new Set(spans.map((s) => s.spanId));
  const services = new Map<string, { spanCount: number; errorSpanCount: number }>();
  let root: Span | undefined;
  let minStart = Infinity;
  let maxEnd = -Infinity;
  let errors = 0;
  let orphans = 0;
  for (const span of spans) {
    const name = span.process.serviceName;
    const stats = services.get(name) ?? { spanCount: 0, errorSpanCount: 0 };
    services.set(name, stats);
    stats.spanCount++;
    if (isError(span)) {
      stats.errorSpanCount++;
      errors++;
    }
    minStart = Math.min(minStart, span.startTimeMicros);
    maxEnd = Math.max(maxEnd, span.startTimeMicros + span.durationMicros);
    const parent = parentSpanId(span);
    if (parent === undefined || parent === '0000000000000000') {
      if (!root || span.startTimeMicros < root.startTimeMicros) root = span;
    } else if (!ids.has(parent)) orphans++;
  }
  return omitZero({
    traceId: spans[0]?.traceId ?? '',
    rootServiceName: root?.process.serviceName ?? '',
    rootOperationName: root?.operationName ?? '',
    minStartTimeUnixNano: spans.length > 0 ? (BigInt(minStart) * 1000n).toString() : 0,
    maxEndTimeUnixNano: spans.length > 0 ? (BigInt(maxEnd) * 1000n).toString() : 0,
    spanCount: spans.length,
    errorSpanCount: errors,
    orphanSpanCount: orphans,
    services: [...services.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, s]) => omitZero({ name, ...s })),
  });
}
