/**
 * Text helpers of the line protocol parser (line-protocol-parser.ts): character classes, escapes, hashes and
 * compares over the body text, failure descriptions. Pure functions.
 */
import { isUtf8 } from 'node:buffer';
import { STRING, type MetricPoint } from '../../model/metric-point.js';
import { compareCodePoints } from './key-order.js';

export const NONPRINT = 1;
export const SPACE = 2;
export const COMMA = 4;
export const EQUALS = 8;
export const BACKSLASH = 16;
export const CLASS = new Uint8Array(128);
for (let c = 0; c < 32; c++) CLASS[c] = NONPRINT;
CLASS[127] = NONPRINT;
CLASS[32] = SPACE;
CLASS[44] = COMMA;
CLASS[61] = EQUALS;
CLASS[92] = BACKSLASH;

/** What ends a measurement; its escapable characters are those of them that are printable. */
export const MEASUREMENT_STOP = NONPRINT | SPACE | COMMA;
/** What ends a tag key, a tag value or a field key. */
export const KEY_STOP = NONPRINT | SPACE | COMMA | EQUALS;
export const PRINTABLE_STOP = SPACE | COMMA | EQUALS;

/**
 * A slot for the text `s[start, end)` from its length and a few sampled characters: cheaper than hashing every
 * character, and a collision only costs a miss. The quarter points catch the usual numbered names (web-007, cpu3).
 */
export function sampleHash(s: string, start: number, end: number): number {
  const length = end - start;
  return (
    length * 31 +
    s.charCodeAt(start) +
    s.charCodeAt(end - 1) * 7 +
    s.charCodeAt(start + (length >> 1)) * 13 +
    s.charCodeAt(start + (length >> 2)) * 17 +
    s.charCodeAt(start + ((3 * length) >> 2)) * 19
  );
}

/**
 * A hash of every character of `s[start, end)`, two per step. Series texts differ in a character or two (web-007,
 * cpu3) anywhere in them, so sampling would collide.
 */
export function fullHash(s: string, start: number, end: number): number {
  let h = end - start;
  let i = start;
  for (; i + 1 < end; i += 2) h = Math.imul(h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)), 0x9e3779b1) ^ (h >>> 15);
  if (i < end) h = Math.imul(h ^ s.charCodeAt(i), 0x9e3779b1);
  return h ^ (h >>> 13);
}

/**
 * A flat copy of a string of code units up to 0xff (a slice or a concatenation is a view, slower to compare, and a
 * slice keeps the whole body alive).
 */
export function flat(t: string): string {
  return Buffer.from(t, 'latin1').toString('latin1');
}

/**
 * A copy of `t` that holds nothing of the text it was cut from, for what outlives a body: V8 makes a slice or a
 * concatenation of 13 characters or more a view of its source, which would keep the whole body alive.
 */
export function detach(t: string): string {
  if (t.length < 13) return t;
  for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) > 0xff) return Buffer.from(t, 'utf16le').toString('utf16le');
  return flat(t);
}

/** Whether `s` holds the same `length` characters at `a` and at `b`. */
export function sameText(s: string, a: number, b: number, length: number): boolean {
  for (let j = 0; j < length; j++) if (s.charCodeAt(a + j) !== s.charCodeAt(b + j)) return false;
  return true;
}

export function unescapeToken(s: string, start: number, end: number, escapable: number): string {
  let out = '';
  let from = start;
  for (let i = start; i < end - 1; i++) {
    if (s.charCodeAt(i) !== 92) continue;
    const d = s.charCodeAt(i + 1);
    if (d < 128 && (CLASS[d]! & escapable) !== 0) {
      out += s.slice(from, i);
      from = i + 1;
      i++;
    }
  }
  return out + s.slice(from, end);
}

const STRING_ESCAPES: Record<number, string> = { 92: '\\', 34: '"', 110: '\n', 114: '\r', 116: '\t' };

export function unescapeString(s: string, start: number, end: number): string {
  let out = '';
  let from = start;
  for (let i = start; i < end - 1; i++) {
    if (s.charCodeAt(i) !== 92) continue;
    const replacement = STRING_ESCAPES[s.charCodeAt(i + 1)];
    if (replacement !== undefined) {
      out += s.slice(from, i) + replacement;
      from = i + 2;
      i++;
    }
  }
  return out + s.slice(from, end);
}

/**
 * Whether `t` is printable ASCII without a separator or a backslash: followed by a separator in a body, such a
 * text is exactly one token, so a compare can stand for reading it.
 */
export function isPlain(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 44 || c === 61 || c === 92) return false;
  }
  return t.length > 0;
}

/**
 * Sorts the first `count` tags by key in code point order, keys and values together; returns a key given twice, if
 * any. Rare: Telegraf and the client libraries write tags sorted.
 */
export function sortTags(keys: string[], values: string[], count: number): string | undefined {
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => compareCodePoints(keys[a]!, keys[b]!));
  const k = order.map((i) => keys[i]!);
  const v = order.map((i) => values[i]!);
  for (let i = 0; i < count; i++) {
    keys[i] = k[i]!;
    values[i] = v[i]!;
    if (i > 0 && k[i] === k[i - 1]) return k[i];
  }
  return undefined;
}

/**
 * A point read from a body with invalid UTF-8 somewhere: its strings are still one character per byte. Decodes
 * them into new arrays (the point's arrays may be shared); false when one of them is not UTF-8. Byte order is code
 * point order, so the tag order holds.
 */
export function fromLatin1(point: MetricPoint): boolean {
  const decode = (t: string): string | undefined => {
    if (!/[\u0080-\u00ff]/.test(t)) return t;
    const bytes = Buffer.from(t, 'latin1');
    return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
  };
  const all = (list: readonly string[]): string[] | undefined => {
    const out: string[] = [];
    for (const t of list) {
      const d = decode(t);
      if (d === undefined) return undefined;
      out.push(d);
    }
    return out;
  };
  const m = decode(point.measurement);
  const tagKeys = all(point.tagKeys);
  const tagValues = all(point.tagValues);
  const fieldKeys = all(point.fieldKeys);
  if (m === undefined || tagKeys === undefined || tagValues === undefined || fieldKeys === undefined) return false;
  const fieldValues = point.fieldValues.slice();
  for (let i = 0; i < fieldValues.length; i++) {
    if (point.fieldTypes[i] !== STRING) continue;
    const v = decode(fieldValues[i] as string);
    if (v === undefined) return false;
    fieldValues[i] = v;
  }
  point.measurement = m;
  point.tagKeys = tagKeys;
  point.tagValues = tagValues;
  point.fieldKeys = fieldKeys;
  point.fieldValues = fieldValues;
  return true;
}

/** Where the line at `from` ends, looking no further than `to` (a failure quotes the start of a line of any length). */
export function lineEnd(s: string, from: number, to = s.length): number {
  const end = Math.min(to, s.length);
  let i = from;
  while (i < end && s.charCodeAt(i) !== 10 && s.charCodeAt(i) !== 13) i++;
  return i;
}

export function showChar(c: number): string {
  return c < 32 || c === 127 ? `'\\x${c.toString(16).padStart(2, '0')}'` : `'${String.fromCharCode(c)}'`;
}

export function quote(t: string): string {
  return JSON.stringify(t.length > 64 ? t.slice(0, 64) + '…' : t);
}
