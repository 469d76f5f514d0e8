// The time range picker shared by the views: a lookback ("last hour") or a custom range between two local times.
import { h } from './dom.js';

export const LOOKBACKS = [
  ['5m', 'Last 5 minutes', 5 * 60_000],
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3600_000],
  ['6h', 'Last 6 hours', 6 * 3600_000],
  ['24h', 'Last 24 hours', 24 * 3600_000],
  ['2d', 'Last 2 days', 2 * 24 * 3600_000],
  ['7d', 'Last 7 days', 7 * 24 * 3600_000],
  ['all', 'Any time', undefined],
  ['custom', 'Custom range…', undefined],
];

function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/**
 * A picker starting from `params` (`lookback`, `from`, `to` in ms). `range()` gives `{ startMs, endMs }` (either
 * may be undefined), `params()` what to keep in the page's address.
 */
export function timeRange(params, fallback = '1h', onChange = () => {}) {
  const initial = LOOKBACKS.some(([v]) => v === params.lookback) ? params.lookback : fallback;
  const select = h('select', { name: 'lookback', 'aria-label': 'Time range' }, LOOKBACKS.map(([v, label]) => h('option', { value: v }, label)));
  select.value = initial;
  const now = Date.now();
  const from = h('input', { type: 'datetime-local', name: 'from', 'aria-label': 'From', value: toLocalInput(Number(params.from) || now - 3600_000) });
  const to = h('input', { type: 'datetime-local', name: 'to', 'aria-label': 'To', value: toLocalInput(Number(params.to) || now) });
  const custom = h('span.custom-range', from, h('span.muted', '→'), to);
  const sync = () => {
    custom.hidden = select.value !== 'custom';
  };
  select.addEventListener('change', () => {
    sync();
    onChange();
  });
  sync();
  return {
    el: h('span.time-range', select, custom),
    range() {
      if (select.value === 'custom') {
        const a = Date.parse(from.value);
        const b = Date.parse(to.value);
        return { startMs: Number.isFinite(a) ? a : undefined, endMs: Number.isFinite(b) ? b + 59_999 : undefined };
      }
      const span = LOOKBACKS.find(([v]) => v === select.value)?.[2];
      return span === undefined ? {} : { startMs: Date.now() - span, endMs: undefined };
    },
    params() {
      if (select.value !== 'custom') return { lookback: select.value };
      const { startMs, endMs } = this.range();
      return { lookback: 'custom', from: startMs, to: endMs === undefined ? undefined : endMs - 59_999 };
    },
  };
}
