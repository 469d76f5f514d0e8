// Small DOM and formatting helpers shared by the views. Text always goes in through textContent (never
// innerHTML), so a log line or a tag value can never become markup.

/**
 * h('div.card#id', { onclick, title, dataset... }, child, ...): an element. Children may be strings, numbers,
 * nodes, arrays of them, or null/undefined/false (skipped).
 */
export function h(spec, attrs, ...children) {
  const [, tag = 'div', rest = ''] = /^([a-z0-9-]*)(.*)$/i.exec(spec) ?? [];
  const el = document.createElement(tag || 'div');
  for (const part of rest.match(/[.#][^.#]+/g) ?? []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = undefined;
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.classList.add(...String(v).split(/\s+/).filter(Boolean));
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** Local date and time with milliseconds: 2024-05-01 14:03:07.123 */
export function formatTime(ms) {
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A duration in microseconds, the way Jaeger shows it, always with its unit: 0μs, 512μs, 1.25ms, 3.4s, 2m 5s. */
export function formatMicros(us) {
  if (!Number.isFinite(us)) return '';
  // Each unit up to the value that rounds to the next one: 999.7μs reads 1ms, not 1000μs.
  if (us < 999.5) return `${Math.round(us)}μs`;
  if (us < 999_500) return `${trim(us / 1000)}ms`;
  if (us < 59_500_000) return `${trim(us / 1_000_000)}s`;
  const s = Math.round(us / 1_000_000);
  return s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function trim(x) {
  return x >= 100 ? String(Math.round(x)) : x >= 10 ? x.toFixed(1).replace(/\.0$/, '') : x.toFixed(2).replace(/\.?0+$/, '');
}

/** "5 minutes ago" */
export function formatAgo(ms, nowMs = Date.now()) {
  const s = Math.round((nowMs - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'} ago`;
  const hr = Math.round(m / 60);
  if (hr < 48) return `${hr} hour${hr === 1 ? '' : 's'} ago`;
  return `${Math.round(hr / 24)} days ago`;
}

// Ten colours far enough apart to tell services and containers apart on the light background.
const PALETTE = ['#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#bcbd22', '#7f7f7f', '#d62728'];

/**
 * A colour per name (service, container), the same on every page and every visit: a hash of the name (FNV-1a, mixed)
 * picks one of the palette's colours, so a container's lines, its chart series and its spans share one colour.
 */
export function colorOf(name) {
  let h = 0x811c9dc5;
  for (const ch of String(name)) h = Math.imul(h ^ ch.codePointAt(0), 0x01000193);
  // FNV's low bits repeat for names that differ in one character (web-1, web-2): a final mix spreads them.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return PALETTE[(h >>> 0) % PALETTE.length];
}

/** A value for display: strings as they are, everything else as JSON. */
export function show(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The hash route's query as an object, and back. */
export function routeParams(hash = location.hash) {
  const q = hash.indexOf('?');
  return Object.fromEntries(new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)));
}

export function routeWith(path, params) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

/** Goes to a route; the same route again re-runs it (a second click on Search refreshes). */
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
