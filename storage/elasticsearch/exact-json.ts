/**
 * JSON text parsed with its large integers kept exact. Jaeger writes an int64 tag value as a JSON number
 * (`9223372036854775807`), which JSON.parse rounds to the nearest double. Here an integer literal beyond
 * Number.MAX_SAFE_INTEGER becomes the string `BIG_INT_MARK + digits` instead, which the span document reader
 * (jaeger-dbmodel.ts) turns into a bigint (int64) or a number (float64) by the tag's type.
 *
 * Cost: one regular-expression test of the text when it holds no integer literal that may pass 2^53 (the common
 * answer); only an answer that has one is rewritten, string-aware, before JSON.parse. Pure.
 */

/** Starts the string that stands for an integer literal beyond 2^53 (a NUL: no tag value Jaeger writes starts so). */
export const BIG_INT_MARK = '\u0000';

/**
 * An integer literal that may pass 2^53 (9007199254740992) right after a JSON separator: 17 digits or more, or 16
 * starting with 9. A span's start time in µs has 16 digits, starting with 1: not caught.
 */
const MAYBE_BIG = /[:,[]\s*-?(?:\d{17}|9\d{15})/;

/**
 * A whole JSON string (skipped as it is), or an integer literal of 16 or more digits that is a whole number token
 * (not the integer part of a fraction or an exponent, not inside another token).
 */
const STRING_OR_BIG = /"[^"\\]*(?:\\.[^"\\]*)*"|(?<![\d.eE+-])(-?\d{16,})(?![\d.eE])/g;

function rewrite(match: string, digits: string | undefined): string {
  if (digits === undefined) return match;
  if (Number.isSafeInteger(Number(digits))) return digits;
  return `"\\u0000${digits}"`;
}

export function parseJsonExact(text: string): unknown {
  if (!MAYBE_BIG.test(text)) return JSON.parse(text);
  return JSON.parse(text.replace(STRING_OR_BIG, rewrite));
}

/** The digits of a marked big integer, or undefined when `v` is not one. */
export function bigIntDigits(v: unknown): string | undefined {
  return typeof v === 'string' && v.charCodeAt(0) === 0 && /^\u0000-?\d+$/.test(v) ? v.slice(1) : undefined;
}
