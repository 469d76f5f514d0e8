// Logs: search by container, app, service, target, trace, time range and text (GET /api/logs, newest first, paged),
// a count-over-time histogram of the same search (GET /api/logs/histogram), a live tail (GET /api/logs/tail,
// server-sent events; the count goes on counting) and an NDJSON download (GET /api/logs/download). A line that
// names a trace (trace_id) links to it. A click on a line's container or service narrows the search to it; a click
// on one of its fields adds the value to the text search.
import { download, followEvents, getJson, token, apiUrl } from './api.js';
import { clear, colorOf, formatTime, h, navigate, routeWith, show, svg } from './dom.js';
import { timeRange } from './time-range.js';

const PAGE = 100;
/** About how many bars the histogram has (the API picks a round width near range / BARS). */
const BARS = 60;
const MAX_LIVE_ROWS = 1000;
const FILTERS = [
  ['container', 'Container', 'name or id'],
  ['app', 'App', 'project or stack'],
  ['service', 'Service', 'service name'],
  ['target', 'Target', 'index name'],
  ['traceId', 'Trace', 'trace id'],
];
/** Fields every record carries (the README's "Records"): shown in the details, not as chips on the line. */
const METADATA = new Set([
  '@timestamp', 'message', 'stream', 'source', 'target', 'host', 'docker_container', 'docker_container_id', 'docker_app',
  'docker_service', 'k8s_pod', 'k8s_pod_namespace', 'k8s_container_name', 'k8s_node_name', 'parse_error', 'truncated',
  'trace_id', 'span_id',
]);
/** A trace id the trace page can open (the pilot writes 32 lowercase digits; a line's own may be 16, or capitals). */
const TRACE_ID = /^[0-9a-fA-F]{16}(?:[0-9a-fA-F]{16})?$/;

/** The trace page of a record's trace (and span), or undefined when it names none. */
export function traceHref(record) {
  const id = record.trace_id;
  if (typeof id !== 'string' || !TRACE_ID.test(id)) return undefined;
  const span = typeof record.span_id === 'string' && /^[0-9a-fA-F]{16}$/.test(record.span_id) ? record.span_id : undefined;
  return routeWith(`/trace/${id.toLowerCase()}`, { span: span?.toLowerCase() });
}
/** A json line's level field, coloured when it says warn or error. */
const LEVEL_KEYS = new Set(['level', 'severity', 'lvl']);
const SUGGESTED = { container: 'docker_container', app: 'docker_app', service: 'docker_service', target: 'target' };

export function renderLogs(main, params) {
  const inputs = Object.fromEntries(
    FILTERS.map(([name, label, hint]) => [
      name,
      h('input', { name, value: params[name] ?? '', placeholder: hint, list: `logs-${name}-values`, autocomplete: 'off', 'aria-label': label }),
    ]),
  );
  const lists = Object.fromEntries(FILTERS.map(([name]) => [name, h(`datalist#logs-${name}-values`)]));
  const text = h('input.search-text', {
    name: 'q', value: params.q ?? '', placeholder: 'Search text: every word must occur · "a phrase" · prefix*', 'aria-label': 'Search text', autofocus: true,
  });
  const range = timeRange(params, 'all');
  const live = h('input', { type: 'checkbox', name: 'live', checked: params.live === '1' });
  const liveState = h('span.live-state');
  const downloadLink = h('a.button.secondary', { href: '#', title: 'The matching records as newline-delimited JSON' }, 'Download NDJSON');
  const summary = h('div.summary');
  const pager = h('div.pager');
  const list = h('div.log-list', { role: 'list' });
  const histogram = h('div.log-histogram', { 'aria-label': 'Records over time' });
  const offset = Math.max(0, Number(params.offset) || 0);

  const form = h('form.toolbar', { onsubmit: (e) => (e.preventDefault(), go(0)) },
    h('div.toolbar-row', text, range.el, h('button', { type: 'submit' }, 'Search')),
    h('div.toolbar-row',
      FILTERS.map(([name, label]) => h('label.field', h('span', label), inputs[name], lists[name])),
      h('label.toggle', { title: 'Show new matching records as they arrive' }, live, h('span', 'Live tail'), liveState),
      downloadLink,
    ),
  );
  clear(main, h('section.view.logs-view', form, h('div.results-bar', summary, pager), histogram, list));

  const filters = () => Object.fromEntries(FILTERS.map(([name]) => [name, inputs[name].value.trim()]).concat([['q', text.value.trim()]]));
  const apiParams = () => {
    const { startMs, endMs } = range.range();
    return { ...filters(), start: startMs === undefined ? undefined : Math.floor(startMs), end: endMs === undefined ? undefined : Math.floor(endMs) };
  };
  function go(newOffset) {
    navigate(routeWith('/logs', { ...filters(), ...range.params(), offset: newOffset || undefined, live: live.checked ? '1' : undefined }));
  }
  live.addEventListener('change', () => go(0));

  downloadLink.href = apiUrl('/api/logs/download', apiParams());
  downloadLink.addEventListener('click', (e) => {
    if (!token()) return; // a plain link works without a token
    e.preventDefault();
    download('/api/logs/download', apiParams(), 'logs.ndjson').catch((err) => showError(err));
  });

  const seen = Object.fromEntries(FILTERS.map(([name]) => [name, new Set()]));
  const remember = (record) => {
    for (const [name, field] of Object.entries(SUGGESTED)) {
      const v = record[field];
      if (typeof v === 'string' && v !== '' && !seen[name].has(v) && seen[name].size < 200) {
        seen[name].add(v);
        lists[name].append(h('option', { value: v }));
      }
    }
  };
  const showError = (err) => clear(summary, h('span.error', `Could not load logs: ${err.message}`));

  // A click on a container or service narrows the search to it; on a field, its value joins the text search.
  const row = (record) => logRow(record, {
    filter(name, value) {
      inputs[name].value = value;
      go(0);
    },
    text(value) {
      const phrase = `"${String(value).replace(/"/g, ' ').trim()}"`;
      if (!text.value.includes(phrase)) text.value = `${text.value.trim()} ${phrase}`.trim();
      go(0);
    },
  });

  const controller = new AbortController();
  (async () => {
    clear(summary, h('span.muted', 'Loading…'));
    getJson('/api/logs/histogram', { ...apiParams(), buckets: BARS }, { signal: controller.signal })
      .then((hist) => clear(histogram, histogramChart(hist.data)))
      .catch((err) => {
        if (!controller.signal.aborted) clear(histogram, h('span.error', `Could not count logs over time: ${err.message}`));
      });
    const body = await getJson('/api/logs', { ...apiParams(), limit: PAGE, offset }, { signal: controller.signal });
    const records = body.data ?? [];
    records.forEach(remember);
    clear(list, records.map(row));
    if (records.length === 0) list.append(emptyState(Object.values(filters()).some((v) => v !== '')));
    const first = records.length === 0 ? 0 : offset + 1;
    let total = body.total;
    let arrived = 0;
    const count = () => clear(summary, h('strong.log-total', String(total)), ` record${total === 1 ? '' : 's'}`,
      arrived > 0 ? h('span.muted', ` · ${arrived} arrived live`) : records.length > 0 ? h('span.muted', ` · showing ${first}–${offset + records.length}, newest first`) : null);
    count();
    clear(pager,
      h('button.secondary', { type: 'button', disabled: offset === 0 || live.checked, onclick: () => go(Math.max(0, offset - PAGE)) }, '‹ Newer'),
      h('button.secondary', { type: 'button', disabled: offset + records.length >= body.total || live.checked, onclick: () => go(offset + PAGE) }, 'Older ›'),
    );
    if (!live.checked) return;
    // The tail follows the same filters from now on; the time range does not apply to what is still to come.
    const { start, end, ...tailParams } = apiParams();
    await followEvents('/api/logs/tail', tailParams, {
      signal: controller.signal,
      onState: (state, err) => clear(liveState, h(`span.pill.${state}`, state === 'live' ? '● live' : state === 'failed' ? `stopped: ${err.message}` : 'reconnecting…')),
      onEvent: (data) => {
        const record = JSON.parse(data);
        remember(record);
        list.querySelector('.empty')?.remove();
        const fresh = row(record);
        fresh.classList.add('fresh');
        list.prepend(fresh);
        total++;
        arrived++;
        count();
        while (list.childElementCount > MAX_LIVE_ROWS) list.lastElementChild.remove();
      },
    });
  })().catch((err) => {
    if (!controller.signal.aborted) showError(err);
  });
  return () => controller.abort();
}

function emptyState(filtered) {
  const otlp = h('p.muted.hint-otlp');
  if (!filtered) {
    // Where OpenTelemetry logs go: the OTLP/HTTP port this process's collector listens on, when it runs one.
    getJson('/api/status').then((s) => {
      const port = s.receivers?.otlpHttp;
      if (port) otlp.append('An OpenTelemetry SDK sends its logs to ', h('code', `http://${location.hostname}:${port}/v1/logs`), ' (OTLP/HTTP).');
    }).catch(() => {}); // only a hint: the search itself said whether the API answers
  }
  return h('div.empty',
    h('p', filtered ? 'No log record matches this search.' : 'No log records in this time range yet.'),
    h('p.muted', 'A container declares its logs with a label, for example ', h('code', 'aliyun.logs.app=stdout'),
      ' (or a file path inside it). The Status page lists the containers that declare logs.'),
    otlp,
  );
}

/** A bar per bucket of the histogram's counts; its title says the bucket's time and count. */
function histogramChart({ startMs, intervalMs, counts }) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.length === 0 || total === 0) return h('p.muted.histogram-empty', 'No records over time in this range.');
  const max = Math.max(...counts);
  const W = counts.length * 10;
  const H = 60;
  const bars = counts.map((n, i) => {
    const height = n === 0 ? 0 : Math.max(1.5, (n / max) * H);
    return svg('rect', { class: 'bar', x: i * 10 + 1, y: H - height, width: 8, height, 'data-count': n },
      svg('title', {}, `${formatTime(startMs + i * intervalMs)} · ${n} record${n === 1 ? '' : 's'}`));
  });
  return h('figure.histogram',
    svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `${total} records over time, at most ${max} per ${widthText(intervalMs)}` }, bars),
    h('figcaption.histogram-axis',
      h('span', formatTime(startMs).slice(0, 16)),
      h('span.muted', `${max} max per ${widthText(intervalMs)}`),
      h('span', formatTime(startMs + counts.length * intervalMs).slice(0, 16)),
    ),
  );
}

function widthText(ms) {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** A value a click narrows the search by: the line's name, stopping the click from opening the line. */
function narrowing(spec, value, title, onclick) {
  return h(spec, {
    style: { color: colorOf(value) }, title, role: 'button',
    onclick: (e) => {
      e.stopPropagation();
      onclick();
    },
  }, value);
}

function logRow(record, narrow) {
  const timeMs = Date.parse(record['@timestamp']);
  const container = record.docker_container ?? record.k8s_container_name ?? '';
  const service = typeof record.docker_service === 'string' ? record.docker_service : '';
  const chips = Object.entries(record).filter(([k]) => !METADATA.has(k));
  // A json line without `message`: its own fields are the line.
  const message = record.message !== undefined ? show(record.message) : '';
  const row = h('div.log-row', { role: 'listitem', tabindex: 0, title: 'Show every field' },
    h('span.log-time', formatTime(timeMs)),
    container ? narrowing('span.log-container', container, `Only ${container}'s logs`, () => narrow.filter('container', container)) : h('span.log-container', '—'),
    service ? narrowing('span.log-service', service, `Only service ${service}'s logs`, () => narrow.filter('service', service)) : null,
    record.stream === 'stderr' ? h('span.badge.stderr', 'stderr') : null,
    h('span.log-line',
      message ? h('span.log-message', message) : null,
      chips.map(([k, v]) => h('span.chip', {
        class: LEVEL_KEYS.has(k) ? `level-${String(v).toLowerCase()}` : undefined, role: 'button', title: `Search for ${show(v)}`,
        onclick: (e) => {
          e.stopPropagation();
          narrow.text(show(v));
        },
      }, h('span.chip-key', k), '=', show(v))),
    ),
    traceLink(record),
    record.parse_error !== undefined ? h('span.badge.parse-error', { title: show(record.parse_error) }, 'parse error') : null,
    record.truncated === true ? h('span.badge.truncated', { title: 'The line was longer than PILOT_MAX_LINE_BYTES and was cut' }, 'truncated') : null,
  );
  const toggle = () => {
    const next = row.nextElementSibling;
    if (next?.classList.contains('log-details')) return next.remove();
    row.after(details(record));
  };
  row.addEventListener('click', (e) => {
    if (!window.getSelection()?.toString()) toggle(e);
  });
  row.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') toggle();
  });
  return row;
}

/** The link from a log line to its trace; a click on it opens the trace, not the line's details. */
function traceLink(record) {
  const href = traceHref(record);
  if (href === undefined) return null;
  return h('a.trace-link', { href, title: `Open trace ${record.trace_id}`, onclick: (e) => e.stopPropagation() }, 'trace ›');
}

function details(record) {
  const keys = Object.keys(record).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const href = traceHref(record);
  const value = (k) => (k === 'trace_id' && href !== undefined ? h('a.mono', { href, onclick: (e) => e.stopPropagation() }, show(record[k])) : show(record[k]));
  return h('div.log-details',
    h('table.kv', h('tbody', keys.map((k) => h('tr', { class: k === 'parse_error' || k === 'truncated' ? 'marker' : undefined }, h('th', k), h('td', value(k)))))),
  );
}

function rank(key) {
  if (key === '@timestamp') return 0;
  if (key === 'message') return 1;
  if (key === 'parse_error' || key === 'truncated') return 2;
  return METADATA.has(key) ? 4 : 3;
}
