/**
 * The hits' `_source` texts, sliced out of a search response body as Elasticsearch sent them. Elasticsearch returns
 * a document's source as the bytes it was given, so the log API can send the pilot's record unchanged (big integers,
 * `1.0`, key order, escapes), as the store does, instead of parsing and re-serialising it. Pure, never throws.
 *
 * Only keys outside every `_source` are looked at: a value is skipped whole once found, so a record with its own
 * `_source` field cannot be mistaken for a hit. Strings are skipped whole too, so a `"_source":` inside a message
 * cannot either.
 */
import { jsonStringEnd, jsonValueEnd, skipJsonSpace } from '../../platform/json-text.js';

const QUOTE = 0x22;
const KEY = '"_source"';

/** Every `_source` object's text in order; a failure reason when the body is cut short. */
export function rawSources(body: string): string[] | { problem: string } {
  const out: string[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body.charCodeAt(i) !== QUOTE) continue;
    const end = jsonStringEnd(body, i);
    if (end < 0) return { problem: 'a string does not close' };
    if (end - i + 1 === KEY.length && body.startsWith(KEY, i)) {
      let j = skipJsonSpace(body, end + 1);
      if (body[j] === ':') {
        j = skipJsonSpace(body, j + 1);
        if (body[j] === '{') {
          const close = jsonValueEnd(body, j);
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
