// A small SVG line chart: one or more series of [timeMs, value] points over a shared time axis, with a few
// value and time ticks and the value under the pointer.
import { formatTime, h, svg, colorOf } from './dom.js';

const W = 1200;
const H = 320;
const M = { top: 12, right: 16, bottom: 28, left: 64 };

function niceTicks(min, max, count) {
  if (min === max) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function formatValue(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, '');
}

function timeLabel(ms, spanMs) {
  const t = formatTime(ms);
  return spanMs > 36 * 3600_000 ? t.slice(5, 16) : spanMs > 120_000 ? t.slice(11, 16) : t.slice(11, 19);
}

/** The usual time between two points of a series (the median step), 0 with fewer than two points. */
function usualStepMs(points) {
  const steps = points.slice(1).map((p, i) => p[0] - points[i][0]).sort((a, b) => a - b);
  return steps.length === 0 ? 0 : steps[Math.floor(steps.length / 2)];
}

/**
 * series: [{ name, points: [[timeMs, value], ...] }] by time. Options: `stepMs`, the buckets' width: a line breaks
 * where points are missing for more than three times the series' usual step (or the bucket width, if longer), so a
 * pause shows as a gap while a series sampled less often than the buckets stays one line; `startMs` / `endMs`, the
 * time axis (default: the points' own span); `unit`, after each value; `onZoom(fromMs, toMs)`, called when the pointer
 * drags across the chart (the view then charts that span).
 */
export function lineChart(series, { stepMs = 0, startMs, endMs, unit = '', onZoom } = {}) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return h('div.empty', h('p', 'No points in this time range.'));
  let [t0, t1] = [startMs ?? Math.min(...all.map((p) => p[0])), endMs ?? Math.max(...all.map((p) => p[0]))];
  let [v0, v1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (t0 === t1) [t0, t1] = [t0 - 60_000, t1 + 60_000];
  // A flat line sits mid-chart over an axis from zero (a constant rate reads as itself, not beside negatives).
  if (v0 === v1) [v0, v1] = v0 > 0 ? [0, v0 * 2] : v0 < 0 ? [v0 * 2, 0] : [-1, 1];
  else if (v0 > 0 && v0 < (v1 - v0) * 0.5) v0 = 0;
  const x = (t) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - ((v - v0) / (v1 - v0)) * (H - M.top - M.bottom);

  // The axis's minimum is always labelled (the nice ticks above it left the lowest value charted unsaid); a tick
  // too close above it to read apart gives way.
  const nice = niceTicks(v0, v1, 5);
  const tickGap = nice.length > 1 ? nice[1] - nice[0] : v1 - v0;
  const ticks = [v0, ...nice.filter((v) => v - v0 > tickGap * 0.35)];
  const grid = ticks.map((v) => [
    svg('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: 'grid' }),
    svg('text', { x: M.left - 8, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, formatValue(v) + unit),
  ]);
  const times = [...Array(6).keys()].map((i) => t0 + ((t1 - t0) * i) / 5).map((t) =>
    svg('text', { x: x(t), y: H - 8, 'text-anchor': 'middle', class: 'axis' }, timeLabel(t, t1 - t0)));
  const lines = series.map((s) => {
    const color = colorOf(s.name);
    const gapMs = 3 * Math.max(stepMs, usualStepMs(s.points)) || Infinity;
    const d = s.points.map(([t, v], i) => `${i === 0 || t - s.points[i - 1][0] > gapMs ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('');
    return [
      svg('path', { d, fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round', class: 'series' }),
      s.points.length <= 60 ? s.points.map(([t, v]) => svg('circle', { cx: x(t), cy: y(v), r: 2.5, fill: color })) : null,
    ];
  });
  const cursor = svg('line', { y1: M.top, y2: H - M.bottom, class: 'cursor', visibility: 'hidden' });
  // Drag to zoom, as in Grafana: the band follows the pointer; a drag of under 1% of the axis is a click.
  const band = svg('rect', { y: M.top, height: H - M.top - M.bottom, class: 'zoom-band', visibility: 'hidden' });
  const readout = h('div.chart-readout.muted', 'Point at the chart to read values');
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': series.map((s) => s.name).join(', ') },
    grid, svg('line', { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: 'axis-line' }), times, lines, cursor, band);
  const timeAt = (clientX) => {
    const box = chart.getBoundingClientRect();
    return t0 + (((clientX - box.left) / box.width) * W - M.left) / (W - M.left - M.right) * (t1 - t0);
  };
  let dragFrom;
  if (onZoom) {
    chart.classList.add('zoomable');
    chart.addEventListener('mousedown', (e) => {
      const t = timeAt(e.clientX);
      if (t >= t0 && t <= t1) dragFrom = t;
    });
    chart.addEventListener('mouseleave', () => {
      dragFrom = undefined;
      band.setAttribute('visibility', 'hidden');
    });
    chart.addEventListener('mouseup', (e) => {
      if (dragFrom === undefined) return;
      const to = Math.min(t1, Math.max(t0, timeAt(e.clientX)));
      const [a, b] = dragFrom < to ? [dragFrom, to] : [to, dragFrom];
      dragFrom = undefined;
      band.setAttribute('visibility', 'hidden');
      if (b - a > (t1 - t0) / 100) onZoom(a, b);
    });
  }
  chart.addEventListener('mousemove', (e) => {
    const t = timeAt(e.clientX);
    if (t < t0 || t > t1) return;
    if (dragFrom !== undefined) {
      band.setAttribute('x', Math.min(x(dragFrom), x(t)));
      band.setAttribute('width', Math.abs(x(t) - x(dragFrom)));
      band.setAttribute('visibility', 'visible');
    }
    cursor.setAttribute('x1', x(t));
    cursor.setAttribute('x2', x(t));
    cursor.setAttribute('visibility', 'visible');
    const parts = series.map((s) => {
      if (s.points.length === 0) return '';
      const p = s.points.reduce((best, q) => (Math.abs(q[0] - t) < Math.abs(best[0] - t) ? q : best), s.points[0]);
      return p ? `${s.name}: ${formatValue(p[1])}${unit} at ${formatTime(p[0])}` : '';
    });
    readout.textContent = parts.filter(Boolean).join('  ·  ');
  });
  const legend = series.length > 0 ? h('div.legend', series.map((s) => h('span.legend-item', h('span.swatch', { style: { background: colorOf(s.name) } }), s.name))) : null;
  return h('div.chart-box', chart, legend, readout);
}
