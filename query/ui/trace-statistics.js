// The trace's statistics view, as Jaeger UI's "Trace Statistics": a table per service and operation of its spans'
// count and durations, with the self time that points at where the trace spent its time.
import { colorOf, formatMicros, h } from './dom.js';
import { summarize, traceStatistics } from './trace-model.js';

export function statisticsView(trace) {
  const whole = Math.max(1, summarize(trace).durationMicros);
  const columns = ['Service', 'Operation', 'Spans', 'Total', 'Avg', 'Min', 'Max', 'Self time', 'Self % of trace'];
  return h('div.graph-box.trace-statistics-view',
    h('table.grid.trace-statistics',
      h('thead', h('tr', columns.map((c) => h('th', c)))),
      h('tbody', traceStatistics(trace).map((s) => h('tr', { dataset: { key: s.key } },
        h('td', h('span.service-name', { style: { color: colorOf(s.service) } }, s.service)), h('td', s.operation), h('td', String(s.count)),
        h('td', formatMicros(s.totalMicros)), h('td', formatMicros(s.avgMicros)), h('td', formatMicros(s.minMicros)), h('td', formatMicros(s.maxMicros)),
        h('td', formatMicros(s.selfMicros)), h('td', `${((s.selfMicros / whole) * 100).toFixed(1)}%`),
      )))));
}
