/**
 * `json`: one JSON object per line; its keys become the record's top-level fields, nested objects stay nested.
 * A line that is not an object (an array, a number, a string) or not JSON at all is a failure.
 */
import { shortReason, type FormatOutcome, type LineFormat } from './format.js';

const NOT_AN_OBJECT: FormatOutcome = Object.freeze({ ok: false, reason: 'not a JSON object' });

function firstNonSpace(line: string): number {
  let i = 0;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) break;
  }
  return i;
}

export function parseJsonLine(line: string): FormatOutcome {
  // Checking the first character spares JSON.parse's exception (slow) on the plain-text lines a json log often
  // carries (a banner, a stack trace).
  if (line.charCodeAt(firstNonSpace(line)) !== 123 /* { */) return NOT_AN_OBJECT;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    // Mapped to a failure outcome: the caller counts it and ships the raw line.
    return { ok: false, reason: shortReason(`invalid JSON: ${(err as Error).message}`) };
  }
  return { ok: true, fields: value as Record<string, unknown>, rawJson: line };
}

export function createJsonFormat(): LineFormat {
  return { name: 'json', keepsMessage: false, fieldNames: null, parse: parseJsonLine };
}
