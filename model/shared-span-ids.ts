/**
 * Zipkin-style RPCs (B3 from Envoy / Istio sidecars, `shared: true`) give the client and the server half of a call
 * the same span id. Jaeger stores both as they are and separates them when a trace is read, with its query
 * adjuster `DeduplicateClientServerSpanIDs`: a server span whose id is also a client span's gets the smallest id
 * unused in the trace (counting up from 1), the shared id becomes its parent, and spans that named the shared id
 * as parent now name the server span. This is that adjuster over the span model, for the query side; it returns
 * new span objects where it changes something and leaves the given ones untouched.
 */
import { spanKindOf, type Span, type SpanRef } from './span.js';

/** Index of the reference Jaeger reads as the parent: the first CHILD_OF of the same trace. */
function parentIndex(span: Span): number {
  return span.references.findIndex((r) => r.refType === 'CHILD_OF' && r.traceId === span.traceId);
}

function withParent(span: Span, parent: string): Span {
  const refs: SpanRef[] = span.references.slice();
  const at = parentIndex(span);
  if (at >= 0) refs[at] = { ...refs[at]!, spanId: parent };
  else refs.unshift({ refType: 'CHILD_OF', traceId: span.traceId, spanId: parent });
  // An OTLP span's parent as sent (API v3) follows, as Jaeger's v2 adjuster sets the span's parent span id.
  if (span.otlp !== undefined) return { ...span, references: refs, otlp: { ...span.otlp, parentSpanId: parent } };
  return { ...span, references: refs };
}

function nextId(hex: string): string {
  return (BigInt(`0x${hex}`) + 1n).toString(16).padStart(16, '0');
}

/** Applies the adjuster to the spans of one trace. */
export function deduplicateClientServerSpanIds(spans: Span[]): Span[] {
  const ids = new Set<string>();
  const clientIds = new Set<string>();
  for (const s of spans) {
    ids.add(s.spanId);
    if (spanKindOf(s) === 'client') clientIds.add(s.spanId);
  }
  if (clientIds.size === 0) return spans;
  let maxUsed = '0000000000000000';
  const renamed = new Map<string, string>();
  const out = spans.map((s) => {
    if (spanKindOf(s) !== 'server' || !clientIds.has(s.spanId)) return s;
    let candidate = nextId(maxUsed);
    while (ids.has(candidate) && candidate.length === 16) candidate = nextId(candidate);
    if (candidate.length !== 16) {
      return { ...s, warnings: [...(s.warnings ?? []), 'cannot assign unique span ID, too many spans in the trace'] };
    }
    maxUsed = candidate;
    ids.add(candidate);
    renamed.set(s.spanId, candidate);
    return { ...withParent(s, s.spanId), spanId: candidate };
  });
  if (renamed.size === 0) return out;
  return out.map((s) => {
    const at = parentIndex(s);
    if (at < 0) return s;
    const next = renamed.get(s.references[at]!.spanId);
    return next !== undefined && next !== s.spanId ? withParent(s, next) : s;
  });
}
