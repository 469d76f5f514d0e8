// One trace (GET /api/traces/:id): a header with its facts, a search within the trace, then one of three views as
// Jaeger UI offers them: the timeline (each span a row, nested by its references, its bar placed by start and
// duration; a click on a row shows its tags, logs, process, references and the container log lines of that span),
// the trace graph (./trace-graph.js), the trace statistics (./trace-statistics.js), or the trace's JSON as the API
// answers it. Below, the log lines naming the
// trace (GET /api/logs?traceId=). Two ids joined by `...` (Jaeger UI's form) open the compare view instead.
import { download, getJson } from './api.js';
import { clear, colorOf, formatMicros, formatTime, h, routeParams, routeWith, show } from './dom.js';
import { renderCompare } from './trace-compare.js';
import { graphSvg } from './trace-graph.js';
import { statisticsView } from './trace-statistics.js';
import { searchSpans, spanTree, summarize, traceGraph } from './trace-model.js';

const TICKS = 4;
/** Log lines of a trace shown on its page; the log search has them all. */
const TRACE_LOGS = 200;

const VIEWS = { timeline: 'Timeline', graph: 'Trace graph', statistics: 'Trace statistics', json: 'Trace JSON' };

/**
 * `openSpan`: a span id whose details start open (`#/trace/<id>?span=<spanID>`). The route's `view` (timeline,
 * graph, statistics, json) and `q` (the search within the trace) are read here and kept in it as they change.
 */
export function renderTrace(main, traceId, openSpan) {
  if (traceId.includes('...')) return renderCompare(main, traceId.split('...'));
  const controller = new AbortController();
  const section = h('section.view.trace-view', h('p.muted', 'Loading trace…'));
  clear(main, section);
  getJson(`/api/traces/${encodeURIComponent(traceId)}`, {}, { signal: controller.signal })
    .then((body) => {
      const trace = body.data?.[0];
      if (!trace || trace.spans.length === 0) throw new Error('trace not found');
      const logs = traceLogs(trace.traceID, controller.signal);
      const params = routeParams();
      const views = {
        timeline: timeline(trace, openSpan, logs),
        graph: graphView(trace),
        statistics: statisticsView(trace),
        json: jsonView(body, trace.traceID),
      };
      const bar = viewBar(trace, views, VIEWS[params.view] ? params.view : 'timeline', params.q ?? '');
      clear(section, header(trace), bar, ...Object.values(views), logs.section);
      bar.search();
    })
    .catch((err) => {
      if (!controller.signal.aborted) clear(section, backLink(), h('p.error', `Trace ${traceId}: ${err.message}`));
    });
  return () => controller.abort();
}

function backLink() {
  // Back to the search as it was (app.js keeps the last one for this tab).
  return h('a.back', { href: sessionStorage.getItem('shipwatch.lastSearch') ?? '#/traces' }, '‹ Back to search');
}

/** Keeps `view` and `q` in the address without running the route again, so a reload or a shared link shows the same. */
function remember(changes) {
  const hash = location.hash || '#/';
  const q = hash.indexOf('?');
  const path = q < 0 ? hash.slice(1) : hash.slice(1, q);
  history.replaceState(null, '', routeWith(path, { ...routeParams(hash), ...changes }));
}

/**
 * The search within the trace (matching rows marked, their count shown) and the buttons switching the view.
 * `search()` applies the box's text.
 */
function viewBar(trace, views, first, text) {
  const input = h('input.trace-search', { type: 'search', value: text, placeholder: 'Find spans: operation, service, tag key or value, key=value', 'aria-label': 'Search this trace' });
  const count = h('span.trace-search-count.muted');
  /** The match Enter last stepped to; a new search starts again from the first. */
  let at = -1;
  const search = () => {
    const found = searchSpans(trace, input.value);
    for (const row of views.timeline.querySelectorAll('.tl-row')) row.classList.toggle('match', found.has(row.dataset.spanId));
    for (const node of views.graph.querySelectorAll('.graph-node')) {
      node.classList.toggle('match', node.dataset.spans.split(' ').some((id) => found.has(id)));
    }
    clear(count, input.value.trim() === '' ? '' : `${found.size} match${found.size === 1 ? '' : 'es'}`);
    at = -1;
  };
  input.addEventListener('input', () => (search(), remember({ q: input.value })));
  // Enter steps through the timeline's shown matches, as Jaeger UI's arrows do; Shift+Enter steps back.
  input.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const shown = [...views.timeline.querySelectorAll('.tl-row.match')].filter((row) => !row.hidden);
    if (shown.length === 0 || views.timeline.hidden) return;
    at = (at + (e.shiftKey ? shown.length - 1 : 1)) % shown.length;
    shown[at].scrollIntoView({ block: 'center' });
    shown[at].focus({ preventScroll: true });
  });
  const buttons = Object.entries(VIEWS).map(([name, label]) => h('button.secondary', { type: 'button', dataset: { view: name }, onclick: () => pick(name) }, label));
  const pick = (name) => {
    for (const [n, el] of Object.entries(views)) el.hidden = n !== name;
    for (const b of buttons) b.classList.toggle('active', b.dataset.view === name);
    remember({ view: name === 'timeline' ? '' : name });
  };
  pick(first);
  const bar = h('div.trace-bar', h('div.trace-search-box', input, count), h('div.view-switch', { role: 'group', 'aria-label': 'View' }, buttons));
  bar.search = search;
  return bar;
}

function graphView(trace) {
  const graph = traceGraph(trace);
  const drawing = graphSvg(graph, {
    describe: (n) => ({
      text: `${n.count}× · ${formatMicros(n.durationMicros)}${n.errors > 0 ? ` · ${n.errors} error${n.errors === 1 ? '' : 's'}` : ''}`,
      className: n.errors > 0 ? 'error' : '',
    }),
    edgeLabel: (e) => `${e.count}×`,
  });
  const spansOf = new Map(graph.nodes.map((n) => [n.key, n.spanIDs]));
  for (const node of drawing.querySelectorAll('.graph-node')) node.dataset.spans = spansOf.get(node.dataset.key).join(' ');
  return h('div.graph-box.trace-graph-view',
    h('p.muted', `${graph.nodes.length} operations of ${new Set(graph.nodes.map((n) => n.service)).size} services, ${graph.edges.length} kinds of call. Each box: calls × total duration.`),
    drawing);
}

function jsonView(body, traceId) {
  const text = JSON.stringify(body, null, 2);
  const problem = h('span.error');
  const save = h('button.secondary', {
    type: 'button',
    onclick: () => download(`/api/traces/${encodeURIComponent(traceId)}`, {}, `trace-${traceId}.json`).catch((err) => clear(problem, err.message)),
  }, 'Download JSON');
  return h('div.trace-json-view',
    h('div.results-bar', h('span.muted', 'The trace as GET /api/traces/', h('span.mono', traceId), ' answers it (Jaeger UI opens this file under Search › JSON File)'), h('span', save, ' ', problem)),
    h('pre.trace-json', text));
}

function header(trace) {
  const s = summarize(trace);
  const fact = (label, value) => h('div.fact', h('span.fact-label', label), h('span.fact-value', value));
  return h('header.trace-header',
    backLink(),
    h('h2', h('span.service-name', { style: { color: colorOf(s.rootService) } }, s.rootService), ': ', s.rootOperation,
      h('span.trace-id.mono', ` ${trace.traceID}`)),
    h('div.facts',
      fact('Trace start', formatTime(s.startMicros / 1000)),
      fact('Duration', formatMicros(s.durationMicros)),
      fact('Services', String(s.services.length)),
      fact('Depth', String(s.depth)),
      fact('Total spans', String(s.spanCount)),
      s.errorCount > 0 ? fact('Errors', String(s.errorCount)) : null,
    ),
    (trace.warnings ?? []).length > 0 ? h('ul.warnings', trace.warnings.map((w) => h('li', w))) : null,
  );
}

/**
 * The log lines that name the trace: a section listing them (each with its span, a link that opens it), and
 * `ofSpan(spanID, into)` filling a span's details with its own once they are loaded.
 */
function traceLogs(traceId, signal) {
  const list = h('div.trace-logs-list', h('p.muted', 'Loading log lines…'));
  const searchLink = h('a', { href: routeWith('/logs', { traceId }) }, 'Open in the log search ›');
  const count = h('span.muted');
  const section = h('section.trace-logs', h('h3', 'Log lines of this trace ', count, ' ', searchLink), list);
  const waiting = [];
  let records;
  const loaded = getJson('/api/logs', { traceId, limit: TRACE_LOGS }, { signal }).then((body) => {
    records = (body.data ?? []).slice().reverse(); // oldest first, as the timeline reads
    clear(count, `(${body.total})`);
    clear(list, records.length === 0
      ? h('p.muted', 'No log line names this trace. The pilot finds it in a line\'s trace_id, traceId or traceparent field, or in its text (PILOT_TRACE_ID_PATTERN).')
      : records.map((r) => logLine(r, traceId, true)));
    for (const fill of waiting.splice(0)) fill();
  }).catch((err) => {
    if (!signal.aborted) clear(list, h('p.error', `Could not load log lines: ${err.message}`));
  });
  const ofSpan = (spanID, into) => {
    const fill = () => {
      const own = records.filter((r) => typeof r.span_id === 'string' && r.span_id.toLowerCase() === spanID);
      clear(into, own.length === 0 ? h('p.muted', 'none') : own.map((r) => logLine(r, traceId, false)));
    };
    if (records !== undefined) fill();
    else waiting.push(fill);
  };
  return { section, ofSpan, loaded };
}

function logLine(record, traceId, withSpan) {
  const container = record.docker_container ?? record.k8s_container_name ?? record.syslog_app_name ?? '';
  const text = record.message !== undefined ? show(record.message) : show(record.msg ?? record.event ?? JSON.stringify(record));
  const span = typeof record.span_id === 'string' ? record.span_id.toLowerCase() : '';
  return h('div.trace-log',
    h('span.log-time', formatTime(Date.parse(record['@timestamp']))),
    h('span.log-container', { style: { color: colorOf(container) } }, container || '—'),
    withSpan && span ? h('a.mono.trace-log-span', { href: routeWith(`/trace/${traceId}`, { span }), title: 'Open this span' }, span) : null,
    h('span.log-message', text),
  );
}

function timeline(trace, openSpan, logs) {
  const rows = spanTree(trace);
  const start = Math.min(...trace.spans.map((s) => s.startTime));
  const total = Math.max(1, Math.max(...trace.spans.map((s) => s.startTime + s.duration)) - start);
  const ruler = h('div.tl-ruler', [...Array(TICKS + 1).keys()].map((i) =>
    h('span.tick', { style: { left: `${(i / TICKS) * 100}%` } }, formatMicros((total * i) / TICKS))));
  const body = h('div.tl-body', { role: 'tree' });
  const collapsed = new Set();

  const elements = rows.map((row, index) => {
    const { span, depth, service } = row;
    const left = ((span.startTime - start) / total) * 100;
    const width = Math.max(0.15, (span.duration / total) * 100);
    const toggle = row.hasChildren
      ? h('button.tl-toggle', { type: 'button', 'aria-label': 'Collapse', onclick: (e) => (e.stopPropagation(), flip(index)) }, '▾')
      : h('span.tl-toggle-space');
    // The duration beside the bar, or inside it when the bar reaches the right edge and is wide enough.
    const labelPlace = left + width <= 75 ? { left: `${left + width}%` } : width >= 12 ? { right: `${100 - left - width}%` } : { right: `${100 - left}%` };
    const labelClass = left + width > 75 && width >= 12 ? 'tl-label.inside' : 'tl-label';
    const el = h('div.tl-row', { role: 'treeitem', tabindex: 0, dataset: { depth, spanId: span.spanID } },
      h('div.tl-name', { style: { paddingLeft: `${depth * 14 + 4}px` }, title: `${service}: ${span.operationName}` },
        toggle,
        h('span.tl-service', { style: { borderLeftColor: colorOf(service) } }, service),
        h('span.tl-op', span.operationName),
        row.error ? h('span.badge.error-count', '!') : null,
      ),
      h('div.tl-track',
        h('div.tl-bar', { class: row.error ? 'error' : undefined, style: { left: `${left}%`, width: `${width}%`, background: colorOf(service) } }),
        h(`span.${labelClass}`, { style: labelPlace }, formatMicros(span.duration)),
      ),
    );
    const open = () => {
      const next = el.nextElementSibling;
      if (next?.classList.contains('span-details')) return next.remove();
      el.after(spanDetails(row, start, trace, logs));
    };
    el.addEventListener('click', open);
    el.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') open();
    });
    return { el, row, toggle };
  });

  // Collapsing hides every row below whose depth is greater, up to the next row at the same depth or above.
  function flip(index) {
    if (collapsed.has(index)) collapsed.delete(index);
    else collapsed.add(index);
    elements[index].toggle.textContent = collapsed.has(index) ? '▸' : '▾';
    let hideBelow = Infinity;
    for (const [i, { el, row }] of elements.entries()) {
      if (row.depth <= hideBelow) hideBelow = Infinity;
      const hidden = row.depth > hideBelow;
      el.hidden = hidden;
      if (hidden && el.nextElementSibling?.classList.contains('span-details')) el.nextElementSibling.remove();
      if (!hidden && collapsed.has(i)) hideBelow = row.depth;
    }
  }

  body.append(...elements.map((e) => e.el));
  elements.find((e) => e.row.span.spanID === openSpan)?.el.click();
  return h('div.timeline',
    h('div.tl-head', h('div.tl-name', 'Service & operation'), ruler),
    body,
  );
}

function kvTable(items) {
  if (items.length === 0) return h('p.muted', 'none');
  return h('table.kv', h('tbody', items.map(({ key, value }) => h('tr', h('th', key), h('td', show(value))))));
}

function spanDetails({ span, service, process }, traceStart, trace, logs) {
  const lines = h('div.span-log-lines', h('p.muted', 'Loading…'));
  logs.ofSpan(span.spanID, lines);
  const refs = (span.references ?? []).map((r) => ({ key: r.refType, value: r.traceID === trace.traceID ? r.spanID : `${r.traceID}/${r.spanID}` }));
  return h('div.span-details',
    h('div.span-facts',
      h('strong', `${service}: ${span.operationName}`),
      h('span.muted', ` · duration ${formatMicros(span.duration)} · starts at ${formatMicros(span.startTime - traceStart)} · span `), h('span.mono', span.spanID),
    ),
    h('div.detail-grid',
      h('div', h('h4', 'Tags'), kvTable(span.tags ?? [])),
      h('div', h('h4', `Process (${service})`), kvTable(process?.tags ?? [])),
      h('div', h('h4', `Logs (${(span.logs ?? []).length})`),
        (span.logs ?? []).length === 0 ? h('p.muted', 'none') : span.logs.map((log) => h('div.span-log',
          h('div.span-log-time', `${formatMicros(log.timestamp - traceStart)} · ${formatTime(log.timestamp / 1000)}`), kvTable(log.fields ?? [])))),
      refs.length > 0 ? h('div', h('h4', 'References'), kvTable(refs)) : null,
      h('div', h('h4', 'Log lines of this span'), lines),
      (span.warnings ?? []).length > 0 ? h('div', h('h4', 'Warnings'), h('ul.warnings', span.warnings.map((w) => h('li', w)))) : null,
    ),
  );
}
