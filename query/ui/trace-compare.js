// Two traces side by side (`#/trace/<a>...<b>`, Jaeger UI's compare address): each one's facts, then their graphs
// merged by service and operation (./trace-graph.js), each node marked as found in A only, B only, more often in
// one, or alike, and the same comparison as a table with counts and total durations.
import { getJson } from './api.js';
import { clear, colorOf, formatMicros, formatTime, h, routeWith } from './dom.js';
import { graphSvg } from './trace-graph.js';
import { compareGraphs, summarize } from './trace-model.js';

/** How a node differs between the two traces: its class and the legend's words for it. */
function difference(n) {
  if (n.b.count === 0) return 'only-a';
  if (n.a.count === 0) return 'only-b';
  if (n.a.count > n.b.count) return 'more-a';
  if (n.b.count > n.a.count) return 'more-b';
  return 'same';
}
const DIFFERENCES = { 'only-a': 'only in A', 'only-b': 'only in B', 'more-a': 'more calls in A', 'more-b': 'more calls in B', same: 'as many calls' };

export function renderCompare(main, ids) {
  const controller = new AbortController();
  const section = h('section.view.trace-compare', h('p.muted', 'Loading traces…'));
  clear(main, section);
  const back = h('a.back', { href: sessionStorage.getItem('shipwatch.lastSearch') ?? '#/traces' }, '‹ Back to search');
  if (ids.length !== 2 || ids.some((id) => !/^[0-9a-f]{1,32}$/i.test(id))) {
    clear(section, back, h('p.error', 'Compare takes two trace ids joined by three dots: #/trace/<id>...<id>'));
    return () => controller.abort();
  }
  Promise.all(ids.map((id) => getJson(`/api/traces/${encodeURIComponent(id)}`, {}, { signal: controller.signal }).then((body) => {
    const trace = body.data?.[0];
    if (!trace || trace.spans.length === 0) throw new Error(`trace ${id} not found`);
    return trace;
  })))
    .then(([a, b]) => clear(section, back, h('div.compare-sides', side('A', a), side('B', b)), diff(a, b)))
    .catch((err) => {
      if (!controller.signal.aborted) clear(section, back, h('p.error', `Compare: ${err.message}`));
    });
  return () => controller.abort();
}

function side(letter, trace) {
  const s = summarize(trace);
  const fact = (label, value) => h('div.fact', h('span.fact-label', label), h('span.fact-value', value));
  return h('div.compare-side.trace-header', { dataset: { side: letter } },
    h('h2', h('span.compare-letter', letter), ' ', h('span.service-name', { style: { color: colorOf(s.rootService) } }, s.rootService), ': ', s.rootOperation),
    h('a.trace-id.mono', { href: routeWith(`/trace/${trace.traceID}`, {}) }, trace.traceID),
    h('div.facts',
      fact('Trace start', formatTime(s.startMicros / 1000)),
      fact('Duration', formatMicros(s.durationMicros)),
      fact('Services', String(s.services.length)),
      fact('Total spans', String(s.spanCount)),
      fact('Errors', String(s.errorCount)),
    ),
  );
}

/** A node's calls in one trace and their total duration; a dash where the trace has none. */
const calls = (side) => (side.count === 0 ? '—' : `${side.count}× ${formatMicros(side.durationMicros)}`);

function diff(a, b) {
  const graph = compareGraphs(a, b);
  const drawing = graphSvg(graph, {
    describe: (n) => ({
      text: `A ${calls(n.a)} · B ${calls(n.b)}`,
      className: `diff-${difference(n)}`,
    }),
    edgeLabel: (e) => `${e.a} / ${e.b}`,
  });
  const rows = [...graph.nodes].sort((x, y) => x.depth - y.depth || x.service.localeCompare(y.service) || x.operation.localeCompare(y.operation));
  const delta = (n) => n.b.durationMicros - n.a.durationMicros;
  return h('div.graph-box.compare-diff',
    h('div.compare-legend', h('span.muted', 'By service and operation; arrows: calls in A / in B. '),
      Object.entries(DIFFERENCES).map(([key, words]) => h(`span.legend-item.diff-${key}`, h('span.diff-swatch'), words))),
    drawing,
    h('table.grid.compare-table',
      h('thead', h('tr', ['Service', 'Operation', 'Calls A', 'Calls B', 'Duration A', 'Duration B', 'B − A'].map((t) => h('th', t)))),
      h('tbody', rows.map((n) => h(`tr.diff-${difference(n)}`,
        h('td', h('span.service-name', { style: { color: colorOf(n.service) } }, n.service)), h('td', n.operation),
        h('td', String(n.a.count)), h('td', String(n.b.count)),
        h('td', n.a.count === 0 ? '—' : formatMicros(n.a.durationMicros)), h('td', n.b.count === 0 ? '—' : formatMicros(n.b.durationMicros)),
        h('td', `${delta(n) < 0 ? '−' : delta(n) > 0 ? '+' : ''}${formatMicros(Math.abs(delta(n)))}`),
      ))),
    ),
  );
}
