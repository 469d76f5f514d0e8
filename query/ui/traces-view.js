// Traces: service and operation pickers, tags, time range and durations, searched through Jaeger's v1 API
// (`GET /api/traces` as the Jaeger UI calls it: start/end in µs, `tags` a JSON object, durations as Go strings), and
// the traces found as Jaeger UI shows them: a scatter plot of their durations by start time (./scatter.js), then a
// list in the order picked (most recent, longest, shortest, most or least spans), each linking to the trace view and
// with a box to pick two of them for the compare view.
import { download, getJson } from './api.js';
import { clear, colorOf, formatAgo, formatMicros, formatTime, h, navigate, routeParams, routeWith } from './dom.js';
import { scatterPlot } from './scatter.js';
import { timeRange } from './time-range.js';
import { SORTS, summarize } from './trace-model.js';

const LIMITS = [20, 50, 100, 500];

/** `error=true http.status_code=500 "component=a b"` → {"error":"true",...}; undefined when malformed. */
export function parseTags(text) {
  const tags = {};
  for (const m of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    const pair = m[1] ?? m[2];
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return tags;
}

export function renderTraces(main, params) {
  const service = h('select', { name: 'service', 'aria-label': 'Service' }, h('option', { value: '' }, 'All services'));
  const operation = h('select', { name: 'operation', 'aria-label': 'Operation' }, h('option', { value: '' }, 'All operations'));
  const tags = h('input', { name: 'tags', value: params.tags ?? '', placeholder: 'error=true http.status_code=500', 'aria-label': 'Tags' });
  const minDuration = h('input', { name: 'minDuration', value: params.minDuration ?? '', placeholder: 'e.g. 1.2s, 100ms', size: 8, 'aria-label': 'Min duration' });
  const maxDuration = h('input', { name: 'maxDuration', value: params.maxDuration ?? '', placeholder: 'e.g. 2s', size: 8, 'aria-label': 'Max duration' });
  const limit = h('select', { name: 'limit', 'aria-label': 'Limit' }, LIMITS.map((n) => h('option', { value: n }, `${n} traces`)));
  limit.value = LIMITS.includes(Number(params.limit)) ? params.limit : '20';
  const sort = h('select', { name: 'sort', 'aria-label': 'Sort' }, Object.entries(SORTS).map(([key, { label }]) => h('option', { value: key }, label)));
  sort.value = SORTS[params.sort] ? params.sort : 'recent';
  // The v1 API's own default lookback.
  const range = timeRange(params, '2d');
  const tagsProblem = h('span.error');
  const summary = h('div.summary');
  const results = h('div.trace-list');
  const plot = h('div.chart-box.scatter-box', { hidden: true });
  const picked = new Set();
  // The search's answer as Jaeger UI's "Download results" gives it: the API's JSON, which Jaeger UI opens again.
  let lastQuery;
  const save = h('button.secondary.download-results', {
    type: 'button', hidden: true,
    onclick: () => download('/api/traces', lastQuery, `traces-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`).catch(showError),
  }, 'Download results');
  const compare = h('button.secondary', { type: 'button', disabled: true, title: 'Pick two traces below', onclick: () => navigate(`#/trace/${[...picked].join('...')}`) }, 'Compare');

  const form = h('form.toolbar', { onsubmit: (e) => (e.preventDefault(), go()) },
    h('div.toolbar-row',
      h('label.field', h('span', 'Service'), service),
      h('label.field', h('span', 'Operation'), operation),
      h('label.field.grow', h('span', 'Tags'), tags),
      h('label.field', h('span', 'Time'), range.el),
    ),
    h('div.toolbar-row',
      h('label.field', h('span', 'Min duration'), minDuration),
      h('label.field', h('span', 'Max duration'), maxDuration),
      h('label.field', h('span', 'Limit'), limit),
      h('button', { type: 'submit' }, 'Find traces'),
      tagsProblem,
    ),
  );
  clear(main, h('section.view.traces-view', form, plot,
    h('div.results-bar', summary, h('label.field.inline', h('span', 'Sort'), sort), h('span.compare-pick', h('span.muted.compare-hint', 'Pick two to compare '), compare), save),
    results));

  const controller = new AbortController();
  const signal = controller.signal;
  const go = () => {
    if (parseTags(tags.value) === undefined) {
      tagsProblem.textContent = 'Tags are key=value pairs separated by spaces';
      return;
    }
    navigate(routeWith('/traces', {
      service: service.value, operation: operation.value, tags: tags.value.trim(), minDuration: minDuration.value.trim(),
      maxDuration: maxDuration.value.trim(), limit: limit.value, sort: sort.value === 'recent' ? '' : sort.value, ...range.params(),
    }));
  };
  let found = [];
  const show = () => {
    const longest = Math.max(1, ...found.map((t) => t.durationMicros));
    const ordered = [...found].sort(SORTS[sort.value].compare);
    clear(results, found.length === 0 ? h('div.empty', h('p', 'No trace matches this search.')) : ordered.map((t) => traceCard(t, longest, picked, pick)));
  };
  const pick = (traceID, on) => {
    if (on) picked.add(traceID);
    else picked.delete(traceID);
    compare.disabled = picked.size !== 2;
    clear(compare, picked.size > 2 ? `Compare (pick 2 of ${picked.size})` : 'Compare');
  };
  // A new order needs no new search: the list is drawn again and the address keeps the order.
  sort.addEventListener('change', () => {
    const hash = routeWith('/traces', { ...routeParams(), sort: sort.value === 'recent' ? '' : sort.value });
    history.replaceState(null, '', hash);
    sessionStorage.setItem('shipwatch.lastSearch', hash);
    show();
  });

  const loadOperations = async (name, selected) => {
    clear(operation, h('option', { value: '' }, 'All operations'));
    if (!name) return;
    const body = await getJson(`/api/services/${encodeURIComponent(name)}/operations`, {}, { signal });
    for (const op of [...(body.data ?? [])].sort()) operation.append(h('option', { value: op }, op));
    if (selected && (body.data ?? []).includes(selected)) operation.value = selected;
  };
  service.addEventListener('change', () => loadOperations(service.value).catch(showError));

  const showError = (err) => {
    if (!signal.aborted) clear(summary, h('span.error', err.message));
  };

  (async () => {
    const services = (await getJson('/api/services', {}, { signal })).data ?? [];
    for (const s of [...services].sort()) service.append(h('option', { value: s }, s));
    if (params.service && services.includes(params.service)) {
      service.value = params.service;
      await loadOperations(params.service, params.operation);
    }
    if (services.length === 0) {
      clear(results, h('div.empty',
        h('p', 'No traces stored yet.'),
        h('p.muted', 'Send spans to the collector in any protocol Jaeger accepts: Jaeger Thrift (UDP 6831/6832, HTTP 14268), Zipkin (9411) or OTLP/HTTP (4318).'),
      ));
      return;
    }
    await search();
  })().catch(showError);

  async function search() {
    const { startMs, endMs } = range.range();
    const query = {
      service: service.value, operation: operation.value, limit: limit.value,
      start: startMs === undefined ? 0 : Math.floor(startMs * 1000), end: endMs === undefined ? Date.now() * 1000 : Math.floor(endMs * 1000),
      minDuration: minDuration.value.trim(), maxDuration: maxDuration.value.trim(),
    };
    const t = parseTags(tags.value);
    if (t && Object.keys(t).length > 0) query.tags = JSON.stringify(t);
    clear(summary, h('span.muted', 'Searching…'));
    const body = await getJson('/api/traces', query, { signal });
    lastQuery = query;
    found = (body.data ?? []).filter((t) => (t.spans ?? []).length > 0).map(summarize);
    const shown = found.length;
    clear(summary, h('span', h('strong', String(shown)), ` trace${shown === 1 ? '' : 's'}`,
      body.total > shown ? h('span.muted', ` of ${body.total} matching`) : null));
    plot.hidden = shown === 0;
    save.hidden = shown === 0;
    if (shown > 0) clear(plot, scatterPlot(found, (t) => routeWith(`/trace/${t.traceID}`, {})));
    show();
  }
  return () => controller.abort();
}

function traceCard(t, longest, picked, pick) {
  const startMs = t.startMicros / 1000;
  const box = h('input.compare-box', { type: 'checkbox', checked: picked.has(t.traceID), 'aria-label': `Compare ${t.traceID}`, dataset: { traceId: t.traceID } });
  box.addEventListener('change', () => pick(t.traceID, box.checked));
  return h('div.trace-card', { dataset: { traceId: t.traceID } },
    h('div.trace-card-head',
      h('label.compare-check', { title: 'Pick for compare' }, box),
      h('a.trace-title', { href: routeWith(`/trace/${t.traceID}`, {}) }, h('span.service-name', { style: { color: colorOf(t.rootService) } }, t.rootService), ': ', t.rootOperation),
      h('span.trace-duration', formatMicros(t.durationMicros)),
    ),
    h('div.duration-track', h('div.duration-bar', { style: { width: `${Math.max(0.5, (t.durationMicros / longest) * 100)}%` } })),
    h('div.trace-card-body',
      h('span.muted', `${t.spanCount} span${t.spanCount === 1 ? '' : 's'}`),
      t.errorCount > 0 ? h('span.badge.error-count', `${t.errorCount} error${t.errorCount === 1 ? '' : 's'}`) : null,
      t.services.map(([name, count]) => h('span.service-chip', { style: { borderColor: colorOf(name) } }, `${name} (${count})`)),
      h('span.trace-when', { title: formatTime(startMs) }, formatAgo(startMs), h('span.muted', ` · ${formatTime(startMs)}`)),
      h('span.trace-id.mono', t.traceID.slice(0, 7)),
    ),
  );
}
