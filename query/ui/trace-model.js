// The shape of a trace in Jaeger's JSON (v1 API): `{traceID, spans: [...], processes: {p1: {serviceName, tags}}}`,
// turned into what the views draw: a summary for the result list, and the span tree for the timeline.

function isError(span) {
  return (span.tags ?? []).some((t) => t.key === 'error' && (t.value === true || t.value === 'true'));
}

/** The parent in this trace: the first CHILD_OF reference found in the trace, else the first other reference. */
function parentOf(span, byId) {
  const refs = (span.references ?? []).filter((r) => r.spanID !== span.spanID && byId.has(r.spanID));
  return (refs.find((r) => r.refType === 'CHILD_OF') ?? refs[0])?.spanID;
}

/**
 * The spans as a depth-first list of `{span, service, depth, children, hasChildren}`, children by start time;
 * spans whose parent is not in the trace are roots. A reference cycle (malformed input) cannot loop: every span
 * is placed once.
 */
export function spanTree(trace) {
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const children = new Map();
  const roots = [];
  for (const span of trace.spans) {
    const parent = parentOf(span, byId);
    if (parent === undefined) roots.push(span);
    else (children.get(parent) ?? children.set(parent, []).get(parent)).push(span);
  }
  const byStart = (a, b) => a.startTime - b.startTime;
  roots.sort(byStart);
  const placed = new Set();
  const out = [];
  const visit = (span, depth) => {
    if (placed.has(span.spanID)) return;
    placed.add(span.spanID);
    const kids = (children.get(span.spanID) ?? []).sort(byStart);
    out.push({ span, depth, service: trace.processes?.[span.processID]?.serviceName ?? '?', process: trace.processes?.[span.processID], hasChildren: kids.length > 0, error: isError(span) });
    for (const kid of kids) visit(kid, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  // Spans only reachable through a cycle: shown at the top level rather than lost.
  for (const span of [...trace.spans].sort(byStart)) visit(span, 0);
  return out;
}

export function summarize(trace) {
  const rows = spanTree(trace);
  const start = Math.min(...trace.spans.map((s) => s.startTime));
  const end = Math.max(...trace.spans.map((s) => s.startTime + s.duration));
  const services = new Map();
  for (const r of rows) services.set(r.service, (services.get(r.service) ?? 0) + 1);
  const root = rows[0];
  return {
    traceID: trace.traceID,
    rootService: root?.service ?? '?',
    rootOperation: root?.span.operationName ?? '(no spans)',
    startMicros: start,
    durationMicros: end - start,
    spanCount: trace.spans.length,
    errorCount: rows.filter((r) => r.error).length,
    services: [...services].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    depth: Math.max(0, ...rows.map((r) => r.depth)) + 1,
  };
}
