// Metrics: measurement and field pickers and a line chart of the series (GET /api/metrics/measurements,
// GET /api/metrics/series), one line per tag set. When the query program does not serve metrics, the view says so.
import { ApiError, getJson } from './api.js';
import { lineChart } from './chart.js';
import { clear, h, navigate, routeWith } from './dom.js';
import { timeRange } from './time-range.js';

/** A time as the API may give it (ms, µs or ns since the epoch, or RFC 3339) in ms. */
function toMs(t) {
  if (typeof t === 'string') return /^\d+$/.test(t) ? toMs(Number(t)) : Date.parse(t);
  if (t > 1e17) return t / 1e6;
  if (t > 1e14) return t / 1e3;
  return t;
}

/** `[{ name, fields: [names] }]` from the measurements answer. */
export function readMeasurements(body) {
  return (body?.data ?? []).map((m) => (typeof m === 'string' ? { name: m, fields: [] } : {
    name: m.name ?? m.measurement,
    fields: (m.fields ?? []).map((f) => (typeof f === 'string' ? f : f.name ?? f.key)),
  })).filter((m) => typeof m.name === 'string');
}

/** `[{ name, points: [[ms, value]] }]` from the series answer, numeric values only, by time. */
export function readSeries(body) {
  return (body?.data ?? []).map((s, i) => {
    const tags = s.tags ?? {};
    const label = Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(', ');
    const points = (s.points ?? s.values ?? [])
      .map((p) => (Array.isArray(p) ? [toMs(p[0]), Number(p[1])] : [toMs(p.time ?? p.timeMs ?? p.t), Number(p.value ?? p.v)]))
      .filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v))
      .sort((a, b) => a[0] - b[0]);
    return { name: s.name ?? (label || `series ${i + 1}`), points };
  });
}

export function renderMetrics(main, params) {
  const measurement = h('select', { name: 'measurement', 'aria-label': 'Measurement' });
  const field = h('select', { name: 'field', 'aria-label': 'Field' });
  const range = timeRange(params, '1h');
  const chartBox = h('div.chart-area');
  const summary = h('div.summary');
  const form = h('form.toolbar', { onsubmit: (e) => (e.preventDefault(), go()) },
    h('div.toolbar-row',
      h('label.field', h('span', 'Measurement'), measurement),
      h('label.field', h('span', 'Field'), field),
      h('label.field', h('span', 'Time'), range.el),
      h('button', { type: 'submit' }, 'Show'),
    ),
  );
  const section = h('section.view.metrics-view', form, h('div.results-bar', summary), chartBox);
  clear(main, section);
  const controller = new AbortController();
  const signal = controller.signal;
  let measurements = [];
  const go = () => {
    navigate(routeWith('/metrics', { measurement: measurement.value, field: field.value, ...range.params() }));
  };
  const fillFields = (selected) => {
    const m = measurements.find((x) => x.name === measurement.value);
    clear(field, (m?.fields ?? []).map((f) => h('option', { value: f }, f)));
    if (selected && m?.fields.includes(selected)) field.value = selected;
  };
  measurement.addEventListener('change', () => fillFields());

  (async () => {
    measurements = readMeasurements(await getJson('/api/metrics/measurements', {}, { signal }));
    if (measurements.length === 0) {
      clear(section, h('div.empty', h('p', 'No metrics stored yet.'),
        h('p.muted', 'Label a container aliyun.monitoring.http or aliyun.monitoring.script, or push line protocol to the collector on port 14269 (/write).')));
      return;
    }
    clear(measurement, measurements.map((m) => h('option', { value: m.name }, m.name)));
    if (params.measurement && measurements.some((m) => m.name === params.measurement)) measurement.value = params.measurement;
    fillFields(params.field);
    if (!field.value) return;
    const { startMs, endMs } = range.range();
    clear(summary, h('span.muted', 'Loading…'));
    const body = await getJson('/api/metrics/series', {
      measurement: measurement.value, field: field.value,
      start: startMs === undefined ? undefined : Math.floor(startMs), end: endMs === undefined ? undefined : Math.floor(endMs),
    }, { signal });
    const series = readSeries(body);
    const points = series.reduce((n, s) => n + s.points.length, 0);
    clear(summary, h('strong', `${measurement.value}.${field.value}`), h('span.muted', ` · ${series.length} series, ${points} points`));
    clear(chartBox, lineChart(series));
  })().catch((err) => {
    if (signal.aborted) return;
    if (err instanceof ApiError && (err.status === 404 || err.status === 501)) {
      clear(section, h('div.empty', h('p', 'This query program does not serve metrics.'),
        h('p.muted', 'The collector still sends them to its metric outputs and exposes them for Prometheus on port 14269 (/metrics).')));
    } else clear(summary, h('span.error', err.message));
  });
  return () => controller.abort();
}
