/**
 * Walking JSON text without parsing it: where a string or a nested value ends, where whitespace stops. For the
 * places that keep a document's own text instead of re-serialising a parse (big integers, key order, escapes): the
 * log API slicing `_source` out of a search answer (es/raw-sources.ts), the pilot rewriting a json line's members
 * (pilot/json-members.ts). Pure, never throws.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether `c` is a character code JSON allows between tokens. */
export function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The index of the first non-whitespace character at or after `i` (`text.length` when none). */
export function skipJsonSpace(text: string, i: number): number {
  while (i < text.length && isJsonSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index of the closing quote of the string opening at `i`; -1 when it does not close. */
export function jsonStringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j;
  }
  return -1;
}

/** The index just past the object or array opening at `i`; -1 when it does not close. */
export function jsonValueEnd(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) {
      j = jsonStringEnd(text, j);
      if (j < 0) return -1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}
