/**
 * The hits' `_source` texts, sliced out of a search response body as Elasticsearch sent them. Elasticsearch returns
 * a document's source as the bytes it was given, so the log API can send the pilot's record unchanged (big integers,
 * `1.0`, key order, escapes), as the store does, instead of parsing and re-serialising it. Pure, never throws.
 *
 * Only keys outside every `_source` are looked at: a value is skipped whole once found, so a record with its own
 * `_source` field cannot be mistaken for a hit. Strings are skipped whole too, so a `"_source":` inside a message
 * cannot either.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const KEY = '"_source"';

/** Index of the closing quote of the string opening at `i`; `-1` when it does not close. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j;
  }
  return -1;
}

/** Index just past the object or array opening at `i`; `-1` when it does not close. */
function valueEnd(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const ch = text[j];
    if (ch === '"') {
      j = stringEnd(text, j);
      if (j < 0) return -1;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  return i;
}

/** Every `_source` object's text in order; a failure reason when the body is cut short. */
export function rawSources(body: string): string[] | { problem: string } {
  const out: string[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body.charCodeAt(i) !== QUOTE) continue;
    const end = stringEnd(body, i);
    if (end < 0) return { problem: 'a string does not close' };
    if (end - i + 1 === KEY.length && body.startsWith(KEY, i)) {
      let j = skipSpace(body, end + 1);
      if (body[j] === ':') {
        j = skipSpace(body, j + 1);
        if (body[j] === '{') {
          const close = valueEnd(body, j);
          if (close < 0) return { problem: 'a _source does not close' };
          out.push(body.slice(j, close));
          i = close - 1;
          continue;
        }
      }
    }
    i = end;
  }
  return out;
}
