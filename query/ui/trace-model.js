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

/** Every string a span can be found by: its service, operation, id, and its tags', process tags' and logs' keys and values. */
function searchable(row) {
  const { span, service, process } = row;
  const pairs = [...(span.tags ?? []), ...(process?.tags ?? []), ...(span.logs ?? []).flatMap((l) => l.fields ?? [])]
    .map((t) => [String(t.key).toLowerCase(), String(t.value).toLowerCase()]);
  return { words: [service, span.operationName, span.spanID].map((s) => String(s).toLowerCase()), pairs };
}

/**
 * The spans of a trace that a search box's text finds, as Jaeger UI's trace search does: the text splits on spaces,
 * and a span matches when any part is found (case aside) in its service, operation or id, or in a tag's, process
 * tag's or log field's key or value; a `key=value` part matches a tag with that key whose value holds the value.
 * An empty text finds nothing (nothing is highlighted).
 */
export function searchSpans(trace, text) {
  const parts = String(text ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const found = new Set();
  if (parts.length === 0) return found;
  for (const row of spanTree(trace)) {
    const { words, pairs } = searchable(row);
    const hit = parts.some((part) => {
      const eq = part.indexOf('=');
      if (eq > 0) return pairs.some(([k, v]) => k === part.slice(0, eq) && v.includes(part.slice(eq + 1)));
      return words.some((w) => w.includes(part)) || pairs.some(([k, v]) => k.includes(part) || v.includes(part));
    });
    if (hit) found.add(row.span.spanID);
  }
  return found;
}

/** `service` and `operation` joined into one node key (a tab cannot occur in either as the graph shows them). */
export const nodeKey = (service, operation) => `${service}\t${operation}`;

/**
 * The trace as a graph of its services' operations: a node per service and operation (`{key, service, operation,
 * count, durationMicros, errors, depth, spanIDs}`, depth the shallowest place it is found in the span tree) and an edge per
 * parent → child call between two nodes (`{from, to, count}`), as Jaeger UI's trace graph draws them.
 */
export function traceGraph(trace) {
  const rows = spanTree(trace);
  const nodes = new Map();
  const nodeOf = new Map();
  for (const row of rows) {
    const key = nodeKey(row.service, row.span.operationName);
    const node = nodes.get(key) ?? nodes.set(key, { key, service: row.service, operation: row.span.operationName, count: 0, durationMicros: 0, errors: 0, depth: row.depth, spanIDs: [] }).get(key);
    node.count += 1;
    node.spanIDs.push(row.span.spanID);
    node.durationMicros += row.span.duration;
    if (row.error) node.errors += 1;
    node.depth = Math.min(node.depth, row.depth);
    nodeOf.set(row.span.spanID, key);
  }
  const edges = new Map();
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  for (const span of trace.spans) {
    const parent = parentOf(span, byId);
    if (parent === undefined) continue;
    const from = nodeOf.get(parent);
    const to = nodeOf.get(span.spanID);
    const key = `${from}\n${to}`;
    (edges.get(key) ?? edges.set(key, { from, to, count: 0 }).get(key)).count += 1;
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

/**
 * Two traces' graphs in one, as Jaeger UI's trace compare shows them in its simplest form: each node and edge with
 * its count and total duration in `a` and in `b` (0 where a trace has none), depth the shallowest of the two.
 */
export function compareGraphs(traceA, traceB) {
  const [ga, gb] = [traceGraph(traceA), traceGraph(traceB)];
  const nodes = new Map();
  for (const [side, g] of [['a', ga], ['b', gb]]) {
    for (const n of g.nodes) {
      const m = nodes.get(n.key) ?? nodes.set(n.key, { key: n.key, service: n.service, operation: n.operation, depth: n.depth, a: { count: 0, durationMicros: 0, errors: 0 }, b: { count: 0, durationMicros: 0, errors: 0 } }).get(n.key);
      m[side] = { count: n.count, durationMicros: n.durationMicros, errors: n.errors };
      m.depth = Math.min(m.depth, n.depth);
    }
  }
  const edges = new Map();
  for (const [side, g] of [['a', ga], ['b', gb]]) {
    for (const e of g.edges) {
      const key = `${e.from}\n${e.to}`;
      const m = edges.get(key) ?? edges.set(key, { from: e.from, to: e.to, a: 0, b: 0 }).get(key);
      m[side] = e.count;
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

/** The orders a result list can take, as Jaeger UI's search offers them. */
export const SORTS = {
  recent: { label: 'Most recent', compare: (a, b) => b.startMicros - a.startMicros },
  longest: { label: 'Longest first', compare: (a, b) => b.durationMicros - a.durationMicros || b.startMicros - a.startMicros },
  shortest: { label: 'Shortest first', compare: (a, b) => a.durationMicros - b.durationMicros || b.startMicros - a.startMicros },
  spans: { label: 'Most spans', compare: (a, b) => b.spanCount - a.spanCount || b.startMicros - a.startMicros },
  fewest: { label: 'Least spans', compare: (a, b) => a.spanCount - b.spanCount || b.startMicros - a.startMicros },
};

/**
 * Jaeger UI's trace statistics: per service and operation, its spans' count, total, average, shortest and longest
 * duration, and self time (a span's duration less the part its children cover, overlapping children counted once),
 * sorted by total duration, longest first.
 */
export function traceStatistics(trace) {
  const rows = spanTree(trace);
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const kids = new Map();
  for (const span of trace.spans) {
    const parent = parentOf(span, byId);
    if (parent !== undefined) (kids.get(parent) ?? kids.set(parent, []).get(parent)).push(span);
  }
  const selfOf = (span) => {
    const end = span.startTime + span.duration;
    const covered = (kids.get(span.spanID) ?? [])
      .map((k) => [Math.max(span.startTime, k.startTime), Math.min(end, k.startTime + k.duration)])
      .filter(([a, b]) => b > a)
      .sort((x, y) => x[0] - y[0]);
    let busy = 0;
    let reach = span.startTime;
    for (const [a, b] of covered) {
      if (b <= reach) continue;
      busy += b - Math.max(a, reach);
      reach = b;
    }
    return span.duration - busy;
  };
  const stats = new Map();
  for (const { span, service } of rows) {
    const key = nodeKey(service, span.operationName);
    const s = stats.get(key) ?? stats.set(key, { key, service, operation: span.operationName, count: 0, totalMicros: 0, minMicros: Infinity, maxMicros: 0, selfMicros: 0 }).get(key);
    s.count += 1;
    s.totalMicros += span.duration;
    s.minMicros = Math.min(s.minMicros, span.duration);
    s.maxMicros = Math.max(s.maxMicros, span.duration);
    s.selfMicros += selfOf(span);
  }
  return [...stats.values()].map((s) => ({ ...s, avgMicros: s.totalMicros / s.count }))
    .sort((a, b) => b.totalMicros - a.totalMicros || a.key.localeCompare(b.key));
}
