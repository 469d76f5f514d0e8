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
  // Date.parse takes 2024-02-30 (as 1 March); Go does not
  const [year, month, day] = m ? m[1]!.slice(0, 10).split('-').map(Number) as [number, number, number] : [0, 0, 0];
  if (!m || Number.isNaN(ms) || day > daysInMonth(year, month)) return { error: goRfc3339Error(text) };
  return { value: ms * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6)) };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const RFC3339_NANO = '2006-01-02T15:04:05.999999999Z07:00';

/** Go's `time` package quoting of a value in a parse error (non-ASCII and control bytes as \xNN). */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b >= 0x80 || b < 0x20) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else out += (b === 0x22 || b === 0x5c ? '\\' : '') + String.fromCharCode(b);
  }
  return `${out}"`;
}

/**
 * The error of Go's `time.Parse(time.RFC3339Nano, text)` for a text that is not such a time: the layout is walked
 * element by element as Go does, and the first element that does not match names the rest of the text
 * (`cannot parse "yesterday" as "2006"`), or a range is out (`: month out of range`, `: day out of range`).
 */
export function goRfc3339Error(text: string): string {
  const head = `parsing time ${goTimeQuote(text)}`;
  const cannot = (rest: string, elem: string): string => `${head} as ${goTimeQuote(RFC3339_NANO)}: cannot parse ${goTimeQuote(rest)} as ${goTimeQuote(elem)}`;
  const digit = (s: string, i: number): boolean => i < s.length && s[i]! >= '0' && s[i]! <= '9';
  /** Go's getnum: one or two digits (two when fixed). */
  const num = (s: string, fixed: boolean): [number, string] | undefined => {
    if (!digit(s, 0)) return undefined;
    if (!digit(s, 1)) return fixed ? undefined : [Number(s[0]), s.slice(1)];
    return [Number(s.slice(0, 2)), s.slice(2)];
  };
  let v = text;
  const literal = (prefix: string): string | undefined => {
    for (const ch of prefix) {
      if (v[0] !== ch) return cannot(v, prefix);
      v = v.slice(1);
    }
    return undefined;
  };
  let year = 0;
  let month = 0;
  let day = 0;
  const steps: Array<[string, string, () => string | undefined]> = [
    ['', '2006', () => {
      if (v.length < 4 || !/^\d{4}/.test(v)) return cannot(v, '2006');
      year = Number(v.slice(0, 4));
      v = v.slice(4);
      return undefined;
    }],
    ['-', '01', () => {
      const n = num(v, true);
      if (!n) return cannot(v, '01');
      [month, v] = n;
      return month <= 0 || month > 12 ? `${head}: month out of range` : undefined;
    }],
    ['-', '02', () => {
      const n = num(v, true);
      if (!n) return cannot(v, '02');
      [day, v] = n;
      return undefined;
    }],
    ['T', '15', () => {
      const n = num(v, false);
      if (!n) return cannot(v, '15');
      v = n[1];
      return n[0] >= 24 ? `${head}: hour out of range` : undefined;
    }],
    [':', '04', () => {
      const n = num(v, true);
      if (!n) return cannot(v, '04');
      v = n[1];
      return n[0] >= 60 ? `${head}: minute out of range` : undefined;
    }],
    [':', '05', () => {
      const n = num(v, true);
      if (!n) return cannot(v, '05');
      v = n[1];
      return n[0] >= 60 ? `${head}: second out of range` : undefined;
    }],
    ['', '.999999999', () => {
      if (v.length >= 2 && (v[0] === '.' || v[0] === ',') && digit(v, 1)) v = v.replace(/^[.,]\d+/, '');
      return undefined;
    }],
    ['', 'Z07:00', () => {
      if (v[0] === 'Z') {
        v = v.slice(1);
        return undefined;
      }
      if (v.length < 6 || v[3] !== ':') return cannot(v, 'Z07:00');
      const hh = num(v.slice(1, 3), true);
      const mm = num(v.slice(4, 6), true);
      if (!hh || !mm || (v[0] !== '+' && v[0] !== '-')) return cannot(v, 'Z07:00');
      v = v.slice(6);
      if (mm[0] > 60) return `${head}: time zone offset minute out of range`;
      return hh[0] > 24 ? `${head}: time zone offset hour out of range` : undefined;
    }],
  ];
  for (const [prefix, , step] of steps) {
    const err = literal(prefix) ?? step();
    if (err !== undefined) return err;
  }
  if (v !== '') return `${head}: extra text: ${goTimeQuote(v)}`;
  if (day < 1 || day > daysInMonth(year, month)) return `${head}: day out of range`;
  return `${head} as ${goTimeQuote(RFC3339_NANO)}: cannot parse ${goTimeQuote(text)} as ${goTimeQuote('2006')}`;
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
      return { error: `malformed 'tags' parameter, cannot unmarshal JSON: ${goJsonSyntaxError(text) ?? (err as Error).message}` };
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

/** Go's `encoding/json` quoting of the offending byte: 'x', '\'', '"', or strconv.Quote's escape of the byte. */
function goJsonQuoteChar(b: number): string {
  if (b === 0x27) return "'\\''";
  if (b === 0x22) return "'\"'";
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' };
  if (named[b] !== undefined) return `'${named[b]}'`;
  if (b < 0x20 || b === 0x7f) return `'\\x${b.toString(16).padStart(2, '0')}'`;
  // a byte above 0x7f is quoted as the rune of the same number, printable from U+00A1 on (but the soft hyphen)
  if (b >= 0x80 && (b <= 0xa0 || b === 0xad)) return `'\\u00${b.toString(16)}'`;
  return `'${String.fromCharCode(b)}'`;
}

/**
 * The syntax error Go's `encoding/json` reports for `text`, or undefined when its syntax is valid: Go's scanner
 * walks the bytes and names the first one that cannot come next (`invalid character 'b' looking for beginning of
 * object key string`), or `unexpected end of JSON input`.
 */
export function goJsonSyntaxError(text: string): string | undefined {
  const b = Buffer.from(text, 'utf8');
  let i = 0;
  class Bad extends Error {}
  // At the end, Go's scanner is fed a space: where a space cannot come (inside a literal, an escape or a number),
  // the space is the invalid character; elsewhere the input ended too soon.
  const fail = (context: string): never => {
    if (i < b.length) throw new Bad(`invalid character ${goJsonQuoteChar(b[i]!)} ${context}`);
    throw new Bad(/^(in literal|in string escape|in \\u|in numeric|after decimal|in exponent)/.test(context) ? `invalid character ' ' ${context}` : 'unexpected end of JSON input');
  };
  const ws = (): void => {
    while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  };
  const isDigit = (): boolean => i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39;
  const str = (): void => {
    i++; // the opening quote
    for (;;) {
      if (i >= b.length) fail('');
      const c = b[i]!;
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('in string literal');
      if (c === 0x5c) {
        i++;
        if (i >= b.length) fail('in string escape code');
        if (b[i] === 0x75) {
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= b.length || !/[0-9a-fA-F]/.test(String.fromCharCode(b[i]!))) fail('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(b[i]!))) fail('in string escape code');
      }
      i++;
    }
  };
  const num = (): void => {
    if (b[i] === 0x2d) {
      i++;
      if (!isDigit()) fail('in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (isDigit()) i++;
    if (b[i] === 0x2e) {
      i++;
      if (!isDigit()) fail('after decimal point in numeric literal');
      while (isDigit()) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit()) fail('in exponent of numeric literal');
      while (isDigit()) i++;
    }
  };
  const lit = (word: string): void => {
    i++;
    for (const ch of word.slice(1)) {
      if (b[i] !== ch.charCodeAt(0)) fail(`in literal ${word} (expecting '${ch}')`);
      i++;
    }
  };
  const value = (): void => {
    ws();
    if (i >= b.length) fail('');
    const c = b[i]!;
    if (c === 0x7b) {
      i++;
      ws();
      if (b[i] === 0x7d) {
        i++;
        return;
      }
      for (;;) {
        if (b[i] !== 0x22) fail('looking for beginning of object key string');
        str();
        ws();
        if (b[i] !== 0x3a) fail('after object key');
        i++;
        value();
        ws();
        if (b[i] === 0x7d) {
          i++;
          return;
        }
        if (b[i] !== 0x2c) fail('after object key:value pair');
        i++;
        ws();
      }
    }
    if (c === 0x5b) {
      i++;
      ws();
      if (b[i] === 0x5d) {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (b[i] === 0x5d) {
          i++;
          return;
        }
        if (b[i] !== 0x2c) fail('after array element');
        i++;
      }
    }
    if (c === 0x22) return str();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return num();
    if (c === 0x74) return lit('true');
    if (c === 0x66) return lit('false');
    if (c === 0x6e) return lit('null');
    fail('looking for beginning of value');
  };
  try {
    value();
    ws();
    if (i < b.length) fail('after top-level value');
    return undefined;
  } catch (err) {
    if (err instanceof Bad) return err.message;
    throw err;
  }
}
