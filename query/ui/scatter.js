// The search results as Jaeger UI plots them above its list: a point per trace, across by start time, up by
// duration, larger with more spans, red when the trace holds an error; each point a link that opens its trace.
import { formatMicros, svg } from './dom.js';

const W = 1000;
const H = 170;
const LEFT = 64;
const RIGHT = 16;
const TOP = 14;
const BOTTOM = 26;
const TICKS = 4;

const clock = (ms) => new Date(ms).toTimeString().slice(0, 8);

/** `traces`: summaries (./trace-model.js summarize); `href(trace)` the link of a point. */
export function scatterPlot(traces, href) {
  const starts = traces.map((t) => t.startMicros);
  let [from, to] = [Math.min(...starts), Math.max(...starts)];
  // One trace, or all at once: a minute around them, so the points sit in the middle rather than on an edge.
  if (to - from < 1000) [from, to] = [from - 30_000_000, to + 30_000_000];
  // A margin on each side, so the first and last points are drawn whole.
  const margin = (to - from) * 0.03;
  [from, to] = [from - margin, to + margin];
  const longest = Math.max(1, ...traces.map((t) => t.durationMicros));
  const x = (us) => LEFT + ((us - from) / (to - from)) * (W - LEFT - RIGHT);
  const y = (us) => H - BOTTOM - (us / longest) * (H - TOP - BOTTOM);
  const grid = [...Array(TICKS + 1).keys()].map((i) => {
    const value = (longest * i) / TICKS;
    const at = y(value);
    return svg('g', {},
      svg('line', { x1: LEFT, x2: W - RIGHT, y1: at, y2: at, class: 'grid' }),
      svg('text', { x: LEFT - 6, y: at, dy: '0.35em', 'text-anchor': 'end', class: 'axis' }, formatMicros(value)));
  });
  const times = [...Array(TICKS + 1).keys()].map((i) => {
    const us = from + ((to - from) * i) / TICKS;
    return svg('text', { x: x(us), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === TICKS ? 'end' : 'middle', class: 'axis' }, clock(us / 1000));
  });
  // Longest first, so a short trace's point is drawn over a long one's rather than hidden by it.
  const points = [...traces].sort((a, b) => b.durationMicros - a.durationMicros).map((t) => svg('a', { href: href(t), class: 'scatter-link', 'data-trace-id': t.traceID },
    svg('circle', {
      cx: x(t.startMicros).toFixed(1), cy: y(t.durationMicros).toFixed(1), r: (3.5 + Math.min(6, Math.sqrt(t.spanCount))).toFixed(1),
      class: t.errorCount > 0 ? 'scatter-point error' : 'scatter-point',
    }),
    svg('title', {}, `${t.rootService}: ${t.rootOperation}\n${formatMicros(t.durationMicros)} · ${t.spanCount} span${t.spanCount === 1 ? '' : 's'}${t.errorCount > 0 ? ` · ${t.errorCount} error${t.errorCount === 1 ? '' : 's'}` : ''}`),
  ));
  return svg('svg', { class: 'chart scatter', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Duration of ${traces.length} traces by start time` },
    grid,
    svg('line', { x1: LEFT, x2: W - RIGHT, y1: H - BOTTOM, y2: H - BOTTOM, class: 'axis-line' }),
    times, points);
}
