// Metrics: measurement, field, aggregate and one tag filter, a time range, and a line chart of the matching
// series, one line per tag set (GET /api/timeseries/measurements, /api/timeseries/tag-values, /api/timeseries/series).
import { ApiError, getJson } from './api.js';
import { lineChart } from './chart.js';
import { clear, h, navigate, routeWith } from './dom.js';
import { timeRange } from './time-range.js';

const NUMERIC_AGGREGATES = ['avg', 'min', 'max', 'sum', 'count', 'last'];
/** A chart needs numbers: a string field is counted per step. */
const STRING_AGGREGATES = ['count'];
/** What a first visit shows when it is there: the containers' CPU. */
const PREFERRED = ['docker_container_cpu', 'usage_percent'];

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

export function renderMetrics(main, params) {
  const measurement = h('select', { name: 'measurement', 'aria-label': 'Measurement' });
  const field = h('select', { name: 'field', 'aria-label': 'Field' });
  const aggregate = h('select', { name: 'aggregate', 'aria-label': 'Aggregate' });
  const tagKey = h('select', { name: 'tagKey', 'aria-label': 'Tag' });
  const tagValue = h('select', { name: 'tagValue', 'aria-label': 'Tag value' });
  const range = timeRange(params, '1h');
  const chartBox = h('div.chart-area');
  const summary = h('div.summary');
  const form = h('form.toolbar', { onsubmit: (e) => (e.preventDefault(), go()) },
    h('div.toolbar-row',
      h('label.field', h('span', 'Measurement'), measurement),
      h('label.field', h('span', 'Field'), field),
      h('label.field', h('span', 'Per step'), aggregate),
      h('label.field', h('span', 'Where tag'), tagKey),
      h('label.field', h('span', 'is'), tagValue),
      h('label.field', h('span', 'Time'), range.el),
      h('button', { type: 'submit' }, 'Show'),
    ),
  );
  const section = h('section.view.metrics-view', form, h('div.results-bar', summary), chartBox);
  clear(main, section);
  const controller = new AbortController();
  const signal = controller.signal;
  let measurements = [];
  const current = () => measurements.find((m) => m.measurement === measurement.value);
  const fieldType = () => current()?.fields.find((f) => f.name === field.value)?.type;

  function go() {
    navigate(routeWith('/metrics', {
      measurement: measurement.value, field: field.value, aggregate: aggregate.value,
      tagKey: tagKey.value, tagValue: tagKey.value ? tagValue.value : '', ...range.params(),
    }));
  }
  function fillAggregates(selected) {
    const list = fieldType() === 'string' ? STRING_AGGREGATES : NUMERIC_AGGREGATES;
    clear(aggregate, list.map((a) => option(a)));
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
    fillTagValues().catch(showError);
  });
  field.addEventListener('change', () => fillAggregates(aggregate.value));
  tagKey.addEventListener('change', () => fillTagValues().catch(showError));

  function showError(err) {
    if (signal.aborted) return;
    if (err instanceof ApiError && (err.status === 404 || err.status === 501) && measurements.length === 0) {
      clear(section, h('div.empty', h('p', 'This query program does not serve metrics.'),
        h('p.muted', 'Metrics are kept in the embedded store when METRICS_STORE is on (it is in shipwatch all); the collector also exposes them for Prometheus on its admin port (/metrics).')));
    } else clear(summary, h('span.error', err.message));
  }

  (async () => {
    measurements = (await getJson('/api/timeseries/measurements', {}, { signal })).data ?? [];
    if (measurements.length === 0) {
      clear(section, h('div.empty', h('p', 'No metrics stored yet.'),
        h('p.muted', 'Container statistics arrive once a minute (COLLECTOR_CONTAINER_STATS); containers can also declare ',
          h('code', 'aliyun.monitoring.http'), ' or ', h('code', 'aliyun.monitoring.script'), ', and line protocol can be pushed to the collector\'s ',
          h('code', '/write'), ' on port 14269.')));
      return;
    }
    clear(measurement, measurements.map((m) => option(m.measurement)));
    const preferred = measurements.some((m) => m.measurement === PREFERRED[0]);
    measurement.value = measurements.some((m) => m.measurement === params.measurement) ? params.measurement : preferred ? PREFERRED[0] : measurements[0].measurement;
    fillFields(params.field ?? (measurement.value === PREFERRED[0] ? PREFERRED[1] : undefined));
    fillAggregates(params.aggregate);
    fillTagKeys(params.tagKey);
    await fillTagValues(params.tagValue);
    if (!field.value) return;
    const { startMs, endMs } = range.range();
    const end = endMs ?? Date.now();
    // "Any time" charts the retention period the store keeps by default.
    const start = startMs ?? end - 7 * 24 * 3600_000;
    clear(summary, h('span.muted', 'Loading…'));
    const query = {
      measurement: measurement.value, field: field.value, aggregate: aggregate.value, start: Math.floor(start), end: Math.ceil(end),
      ...(tagKey.value && tagValue.value ? { [`tag.${tagKey.value}`]: tagValue.value } : {}),
    };
    const result = (await getJson('/api/timeseries/series', query, { signal })).data;
    const names = seriesNames(result.series);
    const series = result.series.map((s, i) => ({
      name: names[i],
      points: s.points.filter(([, v]) => typeof v === 'number' && Number.isFinite(v)),
    }));
    const points = series.reduce((n, s) => n + s.points.length, 0);
    clear(summary,
      h('strong', `${result.measurement} · ${result.field}`),
      h('span.muted', ` · ${result.aggregate} per ${result.stepMs >= 1000 ? `${result.stepMs / 1000} s` : `${result.stepMs} ms`} · ${series.length} series, ${points} points`),
      result.truncated ? h('span.badge.truncated', { title: 'More series match; narrow with a tag' }, 'more series than shown') : null,
    );
    clear(chartBox, lineChart(series, { stepMs: result.stepMs, startMs: start, endMs: end }));
  })().catch(showError);
  return () => controller.abort();
}
