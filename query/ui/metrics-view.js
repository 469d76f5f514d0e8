// Metrics, as Grafana Explore users know them: one or more queries (measurement, field, a per-step aggregate or a
// counter's rate per second, one tag filter) charted together over a time range; drag across the chart to zoom in,
// auto-refresh to follow (GET /api/timeseries/measurements, /api/timeseries/tag-values, /api/timeseries/series).
import { ApiError, getJson } from './api.js';
import { lineChart } from './chart.js';
import { clear, formatTime, h, navigate, routeWith } from './dom.js';
import { counterRate, paramsFromQueries, queriesFromParams } from './series-math.js';
import { timeRange } from './time-range.js';

/** `rate`: the counter's value at the end of each step (`last`), turned into an increase per second. */
const NUMERIC_AGGREGATES = ['avg', 'min', 'max', 'sum', 'count', 'last', 'rate'];
/** A chart needs numbers: a string field is counted per step. */
const STRING_AGGREGATES = ['count'];
/** What a first visit shows when it is there: the containers' CPU. */
const PREFERRED = ['docker_container_cpu', 'usage_percent'];
const REFRESH = [['', 'Off'], ['5s', '5 s', 5_000], ['10s', '10 s', 10_000], ['30s', '30 s', 30_000], ['1m', '1 min', 60_000]];
const LETTERS = 'ABCDEFGHIJ';

function option(value, label = value) {
  return h('option', { value }, label);
}

/**
 * Legend names: the tags that tell the series apart (all of them for a single series), `key=value` joined.
 * Tags every series shares say nothing about which line is which.
 */
export function seriesNames(series) {
  const keys = [...new Set(series.flatMap((s) => Object.keys(s.tags)))].sort();
  const varying = series.length === 1 ? keys : keys.filter((k) => new Set(series.map((s) => s.tags[k])).size > 1);
  return series.map((s, i) => varying.map((k) => `${k}=${s.tags[k] ?? ''}`).join(', ') || `series ${i + 1}`);
}

/** The average time between a series' points (the densest series), 0 when none has two. */
function samplingIntervalMs(series) {
  const spans = series.filter((s) => s.points.length > 1).map((s) => (s.points.at(-1)[0] - s.points[0][0]) / (s.points.length - 1));
  return spans.length === 0 ? 0 : Math.min(...spans);
}

const stepText = (ms) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

/** One query's row of selects, filled from the measurements the store lists. */
function queryRow(measurements, initial, { signal, onError, onRemove, letter }) {
  const measurement = h('select', { name: 'measurement', 'aria-label': 'Measurement' });
  const field = h('select', { name: 'field', 'aria-label': 'Field' });
  const aggregate = h('select', { name: 'aggregate', 'aria-label': 'Aggregate' });
  const tagKey = h('select', { name: 'tagKey', 'aria-label': 'Tag' });
  const tagValue = h('select', { name: 'tagValue', 'aria-label': 'Tag value' });
  const current = () => measurements.find((m) => m.measurement === measurement.value);
  const fieldType = () => current()?.fields.find((f) => f.name === field.value)?.type;

  function fillAggregates(selected) {
    const list = fieldType() === 'string' ? STRING_AGGREGATES : NUMERIC_AGGREGATES;
    clear(aggregate, list.map((a) => option(a, a === 'rate' ? 'rate per s' : a)));
    aggregate.value = list.includes(selected) ? selected : list[0];
  }
  function fillFields(selected) {
    const fields = current()?.fields ?? [];
    clear(field, fields.map((f) => option(f.name, f.type === 'float' ? f.name : `${f.name} (${f.type})`)));
    const numeric = fields.find((f) => f.type !== 'string');
    field.value = fields.some((f) => f.name === selected) ? selected : (numeric ?? fields[0])?.name ?? '';
  }
  async function fillTagValues(selected) {
    clear(tagValue, option('', 'any value'));
    tagValue.disabled = !tagKey.value;
    if (!tagKey.value) return;
    const body = await getJson('/api/timeseries/tag-values', { measurement: measurement.value, key: tagKey.value }, { signal });
    tagValue.append(...(body.data ?? []).map((v) => option(v)));
    if ((body.data ?? []).includes(selected)) tagValue.value = selected;
  }
  function fillTagKeys(selected) {
    clear(tagKey, option('', 'any'), (current()?.tagKeys ?? []).map((k) => option(k)));
    if ((current()?.tagKeys ?? []).includes(selected)) tagKey.value = selected;
  }
  measurement.addEventListener('change', () => {
    fillFields();
    fillAggregates(aggregate.value);
    fillTagKeys();
    fillTagValues().catch(onError);
  });
  field.addEventListener('change', () => fillAggregates(aggregate.value));
  tagKey.addEventListener('change', () => fillTagValues().catch(onError));

  clear(measurement, measurements.map((m) => option(m.measurement)));
  const preferred = measurements.some((m) => m.measurement === PREFERRED[0]);
  measurement.value = measurements.some((m) => m.measurement === initial.measurement) ? initial.measurement : preferred ? PREFERRED[0] : measurements[0].measurement;
  fillFields(initial.field ?? (measurement.value === PREFERRED[0] ? PREFERRED[1] : undefined));
  fillAggregates(initial.aggregate);
  fillTagKeys(initial.tagKey);
  const ready = fillTagValues(initial.tagValue);

  const el = h('div.toolbar-row.query-row',
    h('span.query-letter', { title: `Query ${letter}` }, letter),
    h('label.field', h('span', 'Measurement'), measurement),
    h('label.field', h('span', 'Field'), field),
    h('label.field', h('span', 'Per step'), aggregate),
    h('label.field', h('span', 'Where tag'), tagKey),
    h('label.field', h('span', 'is'), tagValue),
    onRemove ? h('button.link', { type: 'button', title: `Remove query ${letter}`, onclick: onRemove }, 'Remove') : null,
  );
  return {
    el,
    ready,
    value: () => ({ measurement: measurement.value, field: field.value, aggregate: aggregate.value, tagKey: tagKey.value, tagValue: tagKey.value ? tagValue.value : '' }),
  };
}

export function renderMetrics(main, params) {
  const range = timeRange(params, '1h');
  const refresh = h('select', { name: 'refresh', 'aria-label': 'Auto-refresh' }, REFRESH.map(([v, label]) => option(v, label)));
  refresh.value = REFRESH.some(([v]) => v === params.refresh) ? params.refresh : '';
  const zoom = Number(params.zoomFrom) > 0 && Number(params.zoomTo) > Number(params.zoomFrom) ? { startMs: Number(params.zoomFrom), endMs: Number(params.zoomTo) } : undefined;
  const rows = h('div.query-rows');
  const chartBox = h('div.chart-area');
  const summary = h('div.summary');
  const addButton = h('button.link.add-query', { type: 'button', onclick: () => addRow({}) }, '+ Add query');
  const zoomBar = zoom
    ? h('span.zoomed', h('span.muted', `Zoomed: ${formatTime(zoom.startMs)} → ${formatTime(zoom.endMs)} `),
      h('button.link', { type: 'button', onclick: () => go({ zoomFrom: '', zoomTo: '' }) }, 'Reset zoom'))
    : null;
  const form = h('form.toolbar', { onsubmit: (e) => (e.preventDefault(), go()) },
    rows,
    h('div.toolbar-row',
      addButton,
      h('label.field', h('span', 'Time'), range.el),
      h('label.field', h('span', 'Refresh'), refresh),
      h('button', { type: 'submit' }, 'Show'),
      zoomBar,
    ),
  );
  const section = h('section.view.metrics-view', form, h('div.results-bar', summary), chartBox);
  clear(main, section);
  const controller = new AbortController();
  const signal = controller.signal;
  let measurements = [];
  let queries = [];
  let timer;

  function go(extra = {}) {
    navigate(routeWith('/metrics', {
      ...paramsFromQueries(queries.map((q) => q.value())), ...range.params(),
      refresh: refresh.value, zoomFrom: zoom?.startMs, zoomTo: zoom?.endMs, ...extra,
    }));
  }
  function addRow(initial) {
    if (queries.length >= LETTERS.length) return;
    const letter = LETTERS[queries.length];
    const row = queryRow(measurements, initial, {
      signal, onError: showError, letter,
      onRemove: queries.length === 0 ? undefined : () => {
        queries = queries.filter((q) => q !== row);
        go();
      },
    });
    queries.push(row);
    rows.append(row.el);
    return row;
  }
  refresh.addEventListener('change', () => go());

  function showError(err) {
    if (signal.aborted) return;
    if (err instanceof ApiError && (err.status === 404 || err.status === 501) && measurements.length === 0) {
      clear(section, h('div.empty', h('p', 'This query program does not serve metrics.'),
        h('p.muted', 'Metrics are kept in the embedded store when METRICS_STORE is on (it is in shipwatch all); the collector also exposes them for Prometheus on its admin port (/metrics).')));
    } else clear(summary, h('span.error', err.message));
  }

  async function fetchQuery(q, letter, start, end) {
    const asked = q.aggregate === 'rate' ? 'last' : q.aggregate;
    const query = {
      measurement: q.measurement, field: q.field, aggregate: asked, start: Math.floor(start), end: Math.ceil(end),
      ...(q.tagKey && q.tagValue ? { [`tag.${q.tagKey}`]: q.tagValue } : {}),
    };
    let result = (await getJson('/api/timeseries/series', query, { signal })).data;
    if (q.aggregate === 'rate') {
      // A counter sampled less often than the chart's step leaves steps empty, and a rate between two steps' starts
      // is then off by up to a step: the step is widened to the counter's own sampling interval.
      const every = samplingIntervalMs(result.series);
      if (every > result.stepMs * 1.2) result = (await getJson('/api/timeseries/series', { ...query, step: `${Math.ceil(every / 1000) * 1000}ms` }, { signal })).data;
    }
    const names = seriesNames(result.series);
    const series = result.series.map((s, i) => {
      const points = s.points.filter(([, v]) => typeof v === 'number' && Number.isFinite(v));
      return { name: queries.length > 1 ? `${letter}: ${names[i]}` : names[i], points: q.aggregate === 'rate' ? counterRate(points) : points };
    });
    const points = series.reduce((n, s) => n + s.points.length, 0);
    const how = q.aggregate === 'rate' ? `rate per second (last per ${stepText(result.stepMs)})` : `${result.aggregate} per ${stepText(result.stepMs)}`;
    const line = h('div.query-summary',
      queries.length > 1 ? [h('span.query-letter', letter), ' '] : null,
      h('strong', `${result.measurement} · ${result.field}`),
      h('span.muted', ` · ${how} · ${series.length} series, ${points} points`),
      result.truncated ? h('span.badge.truncated', { title: 'More series match; narrow with a tag' }, 'more series than shown') : null,
    );
    return { series, line, stepMs: result.stepMs };
  }

  async function draw() {
    const live = queries.map((q) => q.value()).filter((q) => q.field);
    if (live.length === 0) return;
    const { startMs, endMs } = zoom ?? range.range();
    const end = endMs ?? Date.now();
    // "Any time" charts the retention period the store keeps by default.
    const start = startMs ?? end - 7 * 24 * 3600_000;
    const results = await Promise.all(live.map((q, i) => fetchQuery(q, LETTERS[i], start, end)));
    if (signal.aborted) return;
    clear(summary, results.map((r) => r.line), refresh.value ? h('span.muted.refreshed', `updated ${formatTime(Date.now()).slice(11, 19)}`) : null);
    const series = results.flatMap((r) => r.series);
    const unitOf = live.every((q) => q.aggregate === 'rate') ? '/s' : '';
    clear(chartBox, lineChart(series, {
      stepMs: Math.max(...results.map((r) => r.stepMs)), startMs: start, endMs: end, unit: unitOf,
      onZoom: (from, to) => go({ zoomFrom: Math.floor(from), zoomTo: Math.ceil(to) }),
    }));
  }

  (async () => {
    measurements = (await getJson('/api/timeseries/measurements', {}, { signal })).data ?? [];
    if (measurements.length === 0) {
      clear(section, h('div.empty', h('p', 'No metrics stored yet.'),
        h('p.muted', 'Container statistics arrive once a minute (COLLECTOR_CONTAINER_STATS); containers can also declare ',
          h('code', 'aliyun.monitoring.http'), ' or ', h('code', 'aliyun.monitoring.script'), ', and line protocol can be pushed to the collector\'s ',
          h('code', '/write'), ' on its admin port.')));
      return;
    }
    for (const initial of queriesFromParams(params)) addRow(initial);
    await Promise.all(queries.map((q) => q.ready));
    clear(summary, h('span.muted', 'Loading…'));
    await draw();
    const every = REFRESH.find(([v]) => v === refresh.value)?.[2];
    if (every) {
      timer = setInterval(() => draw().catch(showError), every);
    }
  })().catch(showError);
  return () => {
    clearInterval(timer);
    controller.abort();
  };
}

