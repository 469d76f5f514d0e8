/**
 * JSON text parsed with its large integers kept exact. Jaeger writes an int64 tag value as a JSON number
 * (`9223372036854775807`), which JSON.parse rounds to the nearest double. Here an integer literal beyond
 * Number.MAX_SAFE_INTEGER becomes the string `BIG_INT_MARK + digits` instead, which the span document reader
 * (jaeger-dbmodel.ts) turns into a bigint (int64) or a number (float64) by the tag's type.
 *
 * Cost: one regular-expression scan of the text when it holds no integer literal that may pass 2^53 (the common
 * answer); an answer that has some is copied once with those literals quoted, before JSON.parse. Pure.
 */

/** Starts the string that stands for an integer literal beyond 2^53 (a NUL: no tag value Jaeger writes starts so). */
export const BIG_INT_MARK = '\u0000';

/**
 * An integer literal that may pass 2^53 (9007199254740992), right after a JSON separator and ending the token: 17
 * digits or more, or 16 starting with 9. A span's start time in µs has 16 digits starting with 1: not caught.
 */
const MAYBE_BIG = /[:,[]\s*(-?(?:[1-9]\d{16,}|9\d{15}))(?![\d.eE])/g;

export function parseJsonExact(text: string): unknown {
  MAYBE_BIG.lastIndex = 0;
  let m = MAYBE_BIG.exec(text);
  if (m === null) return JSON.parse(text);
  // A match may lie inside a string: the quotes before it are counted, from where the last count stopped, with
  // indexOf (native) from quote to quote; a quote inside a string ends it unless an odd run of backslashes escapes it.
  let out = '';
  let copied = 0;
  let scanned = 0;
  let inString = false;
  while (m !== null) {
    const digits = m[1]!;
    const at = m.index + m[0].length - digits.length;
    for (let q = text.indexOf('"', scanned); q !== -1 && q < at; q = text.indexOf('"', q + 1)) {
      if (!inString) inString = true;
      else {
        let slashes = 0;
        while (text.charCodeAt(q - 1 - slashes) === 92) slashes++;
        if (slashes % 2 === 0) inString = false;
      }
      scanned = q + 1;
    }
    if (scanned < at) scanned = at;
    if (!inString && !Number.isSafeInteger(Number(digits))) {
      out += `${text.slice(copied, at)}"\\u0000${digits}"`;
      copied = at + digits.length;
    }
    m = MAYBE_BIG.exec(text);
  }
  return JSON.parse(copied === 0 ? text : out + text.slice(copied));
}

/** The digits of a marked big integer, or undefined when `v` is not one. */
export function bigIntDigits(v: unknown): string | undefined {
  return typeof v === 'string' && v.charCodeAt(0) === 0 && /^\u0000-?\d+$/.test(v) ? v.slice(1) : undefined;
}
