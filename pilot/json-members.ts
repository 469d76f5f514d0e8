/**
 * A json line's top-level members written back as record fields, from the line's own text rather than from its
 * parsed value: `JSON.stringify(JSON.parse(line))` rounds every integer beyond 2^53 (a 64-bit id such as
 * 1234567890123456789 comes out as 1234567890123456800), and structured loggers routinely write both such ids and
 * keys the record owns (`@timestamp`, `message`, `host`), which is what sends a line down this path.
 *
 * The text must be a JSON object JSON.parse accepted (the json format checked it) and `parsed` what it gave. Each
 * value is copied as written, whitespace between tokens dropped (a multiline record becomes one physical line); a
 * key written twice is kept once, in its first place with its last value, as JSON.parse reads it: Elasticsearch
 * refuses a document with a duplicate key (zap, for one, writes a field given twice twice). A nested value whose
 * text holds a duplicate key is written from its parsed value instead. Synchronous, never throws on valid JSON.
 */
import { isJsonSpace, jsonStringEnd, skipJsonSpace } from '../platform/json-text.js';

/**
 * Whether a json line's text has a key written twice at some depth, given its parsed value — or may have: the key
 * marks of the text (a quote, maybe whitespace, then a colon: one per key, plus one per such run inside a string)
 * outnumber the keys the parse found. Never misses a repeated key, since every key of the text makes a mark and a
 * repeated key makes the parse find fewer; cheap enough for every line (the text scanned natively for colons).
 */
export function mayRepeatKeys(raw: string, parsed: unknown): boolean {
  return keyMarks(raw) !== keyCount(parsed);
}

/**
 * The key marks of a JSON text: each colon after a quote, with or without whitespace between them. (Searching for the
 * colon alone is about twice as fast as for both characters; a colon after whitespace is rare in a single-line
 * logger's output, so the walk back is rarely taken.)
 */
export function keyMarks(text: string): number {
  let n = 0;
  for (let at = text.indexOf(':'); at >= 0; at = text.indexOf(':', at + 1)) {
    let b = at - 1;
    let c = text.charCodeAt(b);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(--b);
    if (c === 0x22) n++;
  }
  return n;
}

/** The keys of a parsed JSON value, at every depth. */
export function keyCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const v of value) n += keyCount(v);
    return n;
  }
  for (const k in value) n += 1 + keyCount((value as Record<string, unknown>)[k]);
  return n;
}

/** Top-level members of `raw` as `,"key":value…` (empty for `{}`); `rename` gives each key's name in the record. */
export function jsonMembers(raw: string, parsed: Record<string, unknown>, rename: (key: string, members: ReadonlyMap<string, string>) => string): string {
  const members = new Map<string, string>();
  const keyTexts = new Map<string, string>();
  let i = raw.indexOf('{') + 1;
  for (;;) {
    i = skipJsonSpace(raw, i);
    if (raw.charCodeAt(i) !== 0x22 /* " */) break; // '}' (or, for text JSON.parse refused, anything else)
    const keyEnd = stringEnd(raw, i);
    const keyText = raw.slice(i, keyEnd);
    const key = keyText.includes('\\') ? (JSON.parse(keyText) as string) : keyText.slice(1, -1);
    i = skipJsonSpace(raw, skipJsonSpace(raw, keyEnd) + 1); // past ':'
    const [text, end] = compactValue(raw, i);
    if (!keyTexts.has(key)) keyTexts.set(key, keyText);
    members.set(key, text);
    i = skipJsonSpace(raw, end);
    if (raw.charCodeAt(i) !== 0x2c /* , */) break;
    i++;
  }
  let out = '';
  for (const [key, text] of members) {
    const name = rename(key, members);
    const value = parsed[key];
    const written = typeof value === 'object' && value !== null && mayRepeatKeys(text, value) ? JSON.stringify(value) : text;
    out += `,${name === key ? keyTexts.get(key)! : JSON.stringify(name)}:${written}`;
  }
  return out;
}

/** The index after the closing quote of the string literal opening at `i`. */
function stringEnd(s: string, i: number): number {
  const close = jsonStringEnd(s, i);
  return close < 0 ? s.length : close + 1;
}

/** The value starting at `i` without whitespace between its tokens, and the index after it. */
function compactValue(s: string, i: number): [string, number] {
  let out = '';
  let from = i;
  let depth = 0;
  let j = i;
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x22) {
      j = stringEnd(s, j) - 1;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) break;
      depth--;
    } else if (c === 0x2c) {
      if (depth === 0) break;
    } else if (isJsonSpace(c)) {
      out += s.slice(from, j);
      j = skipJsonSpace(s, j) - 1;
      from = j + 1;
    }
  }
  return [out + s.slice(from, j), j];
}
