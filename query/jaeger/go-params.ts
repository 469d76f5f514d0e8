/**
 * The parameter syntaxes of Jaeger's query API, with Go's error texts so clients see what Jaeger says:
 * `time.ParseDuration` ("1.5h", "300ms", "2h45m"), `strconv.ParseInt`, `strconv.ParseBool`, trace ids as
 * `model.TraceIDFromString` reads them, RFC 3339 times. Pure and synchronous; never throw: a value or `{ error }`.
 */
import { normaliseTraceId } from '../../model/span.js';

export type Parsed<T> = { value: T } | { error: string };

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's `time.ParseDuration`, in nanoseconds. */
export function parseGoDuration(text: string): Parsed<number> {
  const invalid = { error: `time: invalid duration ${JSON.stringify(text)}` };
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return { value: 0 };
  if (s === '') return invalid;
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (num[0] === '' || num[0] === '.') return invalid;
    s = s.slice(num[0].length);
    const unit = /^[^\d.]+/.exec(s)?.[0];
    if (unit === undefined) return { error: `time: missing unit in duration ${JSON.stringify(text)}` };
    const ns = UNIT_NS[unit];
    if (ns === undefined) return { error: `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}` };
    s = s.slice(unit.length);
    total += Number(`${num[1] || '0'}.${num[2] || '0'}`) * ns;
  }
  if (total > 9223372036854775807) return invalid;
  return { value: sign * total };
}

/** Go's `strconv.ParseInt(text, 10, bits)`. */
export function parseGoInt(text: string, bits: 32 | 64 = 64): Parsed<number> {
  if (!/^[+-]?\d+$/.test(text)) return { error: `strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax` };
  const n = BigInt(text);
  const limit = 1n << BigInt(bits - 1);
  if (n >= limit || n < -limit) return { error: `strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range` };
  return { value: Number(n) };
}

/** Go's `strconv.ParseBool`. */
export function parseGoBool(text: string): Parsed<boolean> {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return { value: true };
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return { value: false };
  return { error: `strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax` };
}

/**
 * A trace id as Jaeger reads it: 1 to 32 hex digits; also, as the v3 API does, the base64 of its 16 bytes.
 * Returns the 32-digit lowercase form.
 */
export function parseTraceIdParam(text: string): Parsed<string> {
  if (text.length > 32) return { error: `TraceID cannot be longer than 32 hex characters: ${text}` };
  const hex = normaliseTraceId(text);
  if (hex !== undefined) return { value: hex };
  if (text.length <= 24 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 16) return { value: bytes.toString('hex') };
  }
  if (text === '') return { error: 'TraceID cannot be empty' };
  return { error: `strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax` };
}

/** RFC 3339 with up to nanoseconds (Go's time.RFC3339Nano), in microseconds since the epoch. */
export function parseRfc3339Micros(text: string): Parsed<number> {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3]!.toUpperCase()}`) : NaN;
  if (!m || Number.isNaN(ms)) return { error: `parsing time ${JSON.stringify(text)} as "2006-01-02T15:04:05.999999999Z07:00": cannot parse` };
  return { value: ms * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6)) };
}

/**
 * Jaeger's tag filters: repeated `tag=key:value` (the value may hold ':'), then `tags={"key":"value"}` JSON
 * objects of strings, the later winning.
 */
export function parseTagParams(simple: string[], json: string[]): Parsed<Record<string, string>> {
  const tags: Record<string, string> = {};
  for (const tag of simple) {
    const at = tag.indexOf(':');
    if (at < 0) return { error: `malformed 'tag' parameter, expecting key:value, received: ${tag}` };
    tags[tag.slice(0, at)] = tag.slice(at + 1);
  }
  for (const text of json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return { error: `malformed 'tags' parameter, cannot unmarshal JSON: ${(err as Error).message}` };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { error: "malformed 'tags' parameter, cannot unmarshal JSON: expecting an object of strings" };
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string') return { error: `malformed 'tags' parameter, cannot unmarshal JSON: the value of ${JSON.stringify(k)} is not a string` };
      tags[k] = v;
    }
  }
  return { value: tags };
}
