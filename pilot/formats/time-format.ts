/**
 * `.format.time_format`: how a record's `time_key` value becomes its `@timestamp`. Compiled once per declaration.
 *
 * Accepted formats (log-pilot's fluentd parsers used Ruby's strftime, so that is the custom syntax here too):
 * - empty or `auto`: an ISO 8601 / RFC 3339 string, or epoch seconds / ms / µs / ns told apart by magnitude
 *   (a number or a numeric string);
 * - `iso8601`, `rfc3339`: ISO 8601 strings only (`2026-03-01T12:00:00.123+01:00`, `T` or a space, offset or `Z`);
 * - `epoch` (`unix`, `epoch_s`), `epoch_ms`, `epoch_us`, `epoch_ns`: a number or numeric string in that unit;
 * - a strftime pattern: `%Y %m %d %H %M %S %L` (ms), `%N`/`%f` (fraction, 1 to 9 digits), `%z` (`Z`, `+hh`,
 *   `+hhmm`, `+hh:mm`), `%Z` (`UTC`/`GMT`/`Z` only), `%b %h %B` (English month names), `%a %A` (weekday, ignored),
 *   `%e` (space-padded day), `%y` (69–99 → 19xx), `%I`+`%p` (12-hour clock), `%s` (epoch seconds),
 *   `%T` = `%H:%M:%S`, `%F` = `%Y-%m-%d`, `%D` = `%m/%d/%y`, `%%`.
 * A time without a zone is taken as UTC (never the pilot's local zone).
 */

/** Returns ms since the epoch, or NaN when the value does not fit the format. Never throws. */
export type TimeParser = (value: unknown) => number;

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

function fractionMs(digits: string | undefined): number {
  if (!digits) return 0;
  return Number((digits + '00').slice(0, 3));
}

function zoneOffsetMs(zone: string | undefined): number {
  if (!zone || zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000;
}

/** Date.UTC with range checks (Date.UTC would roll 2026-02-31 over into March). */
function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return NaN;
  const t = Date.UTC(y, mo - 1, d, h, mi, s === 60 ? 59 : s, ms);
  return new Date(t).getUTCDate() === d ? t : NaN;
}

export function parseIsoTime(text: string): number {
  const m = ISO_RE.exec(text.trim());
  if (!m) return NaN;
  const t = utc(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), fractionMs(m[7]));
  return t - zoneOffsetMs(m[8]);
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return NaN;
}

/** ms per unit, or units per ms (divisor) for sub-ms units: division keeps integers exact. */
const EPOCH_UNITS: Record<string, (n: number) => number> = {
  epoch: (n) => Math.round(n * 1000), unix: (n) => Math.round(n * 1000), epoch_s: (n) => Math.round(n * 1000),
  epoch_ms: (n) => Math.floor(n), unix_ms: (n) => Math.floor(n),
  epoch_us: (n) => Math.floor(n / 1e3), epoch_ns: (n) => Math.floor(n / 1e6),
};

function epochParser(toMs: (n: number) => number): TimeParser {
  return (value) => {
    const n = toNumber(value);
    return Number.isFinite(n) ? toMs(n) : NaN;
  };
}

/** Seconds below 1e11 (year 5138), ms below 1e14, µs below 1e17, else ns. */
function autoEpochMs(n: number): number {
  const abs = Math.abs(n);
  if (abs < 1e11) return Math.round(n * 1000);
  if (abs < 1e14) return Math.floor(n);
  if (abs < 1e17) return Math.floor(n / 1e3);
  return Math.floor(n / 1e6);
}

const autoParser: TimeParser = (value) => {
  if (typeof value === 'string') {
    const n = toNumber(value);
    return Number.isFinite(n) ? autoEpochMs(n) : parseIsoTime(value);
  }
  return typeof value === 'number' && Number.isFinite(value) ? autoEpochMs(value) : NaN;
};

const isoParser: TimeParser = (value) => (typeof value === 'string' ? parseIsoTime(value) : NaN);

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTHS_LONG = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

interface Parts { y: number; mo: number; d: number; h: number; mi: number; s: number; ms: number; offsetMs: number; pm: number; epochS: number }
type Setter = (p: Parts, text: string) => boolean;

const num = (key: 'y' | 'mo' | 'd' | 'h' | 'mi' | 's'): Setter => (p, t) => { p[key] = Number(t.trim()); return true; };

const DIRECTIVES: Record<string, { re: string; set?: Setter }> = {
  Y: { re: '([+-]?\\d{4})', set: num('y') },
  y: { re: '(\\d{2})', set: (p, t) => { const n = Number(t); p.y = n < 69 ? 2000 + n : 1900 + n; return true; } },
  m: { re: '(\\d{1,2})', set: num('mo') },
  d: { re: '(\\d{1,2})', set: num('d') },
  e: { re: '( ?\\d{1,2})', set: num('d') },
  H: { re: '(\\d{1,2})', set: num('h') },
  I: { re: '(\\d{1,2})', set: num('h') },
  M: { re: '(\\d{2})', set: num('mi') },
  S: { re: '(\\d{2})', set: num('s') },
  L: { re: '(\\d{3})', set: (p, t) => { p.ms = Number(t); return true; } },
  N: { re: '(\\d{1,9})', set: (p, t) => { p.ms = fractionMs(t); return true; } },
  f: { re: '(\\d{1,9})', set: (p, t) => { p.ms = fractionMs(t); return true; } },
  z: { re: '(Z|z|[+-]\\d{2}(?::?\\d{2})?)', set: (p, t) => { p.offsetMs = zoneOffsetMs(t); return true; } },
  Z: { re: '(UTC|GMT|Z)' },
  b: { re: '([A-Za-z]{3})', set: (p, t) => { p.mo = MONTHS.indexOf(t.toLowerCase()) + 1; return p.mo > 0; } },
  B: { re: '([A-Za-z]{3,9})', set: (p, t) => { p.mo = MONTHS_LONG.indexOf(t.toLowerCase()) + 1; return p.mo > 0; } },
  a: { re: '(?:[A-Za-z]{3})' },
  A: { re: '(?:[A-Za-z]{6,9})' },
  p: { re: '(AM|PM|am|pm)', set: (p, t) => { p.pm = t.toLowerCase() === 'pm' ? 1 : 0; return true; } },
  s: { re: '(-?\\d{1,12})', set: (p, t) => { p.epochS = Number(t); return true; } },
  '%': { re: '%' },
};
DIRECTIVES['h'] = DIRECTIVES['b']!;
const SHORTHANDS: Record<string, string> = { T: '%H:%M:%S', F: '%Y-%m-%d', D: '%m/%d/%y' };

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles a strftime pattern; returns the parser or the reason it cannot be used. */
export function compileStrftime(pattern: string): TimeParser | string {
  const expanded = pattern.replace(/%([TFD])/g, (_m, c: string) => SHORTHANDS[c]!);
  let re = '^';
  const setters: Setter[] = [];
  let hasDate = false;
  let has12h = false;
  let hasEpoch = false;
  for (let i = 0; i < expanded.length; i++) {
    const c = expanded[i]!;
    if (c !== '%') { re += escapeRe(c); continue; }
    const d = expanded[++i];
    const directive = d === undefined ? undefined : DIRECTIVES[d];
    if (!directive) return `time_format "${pattern}": unsupported directive %${d ?? ''}`;
    re += directive.re;
    if (directive.set) setters.push(directive.set);
    if (d === 'Y' || d === 'y') hasDate = true;
    if (d === 'I') has12h = true;
    if (d === 's') hasEpoch = true;
  }
  if (!hasDate && !hasEpoch) return `time_format "${pattern}" has no year (%Y, %y) nor epoch (%s)`;
  const compiled = new RegExp(re + '$');
  return (value) => {
    if (typeof value !== 'string') return NaN;
    const m = compiled.exec(value.trim());
    if (!m) return NaN;
    const p: Parts = { y: 1970, mo: 1, d: 1, h: 0, mi: 0, s: 0, ms: 0, offsetMs: 0, pm: -1, epochS: NaN };
    for (let g = 0; g < setters.length; g++) if (!setters[g]!(p, m[g + 1] ?? '')) return NaN;
    if (hasEpoch) return p.epochS * 1000 + p.ms;
    if (has12h) {
      if (p.h < 1 || p.h > 12) return NaN;
      if (p.pm >= 0) p.h = (p.h % 12) + (p.pm === 1 ? 12 : 0);
    }
    return utc(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms) - p.offsetMs;
  };
}

/** Compiles `.format.time_format`; returns the parser or the reason it cannot be used. */
export function compileTimeFormat(format: string | undefined): TimeParser | string {
  const f = (format ?? '').trim();
  if (f === '' || f.toLowerCase() === 'auto') return autoParser;
  const lower = f.toLowerCase();
  if (lower === 'iso8601' || lower === 'rfc3339') return isoParser;
  const unit = EPOCH_UNITS[lower];
  if (unit !== undefined) return epochParser(unit);
  if (f.includes('%')) return compileStrftime(f);
  return `time_format "${f}" is not auto, iso8601, rfc3339, epoch, epoch_ms, epoch_us, epoch_ns nor a strftime pattern`;
}
