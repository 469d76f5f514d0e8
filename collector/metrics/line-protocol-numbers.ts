/**
 * Numbers of line protocol, read straight out of the body text (no substring for the common short forms).
 *
 * The grammar is the specification's (influxdata/line-protocol `line-protocol.ebnf`), decimal only:
 *   float = [ "-" ] ( digits [ "." [ digits ] ] [ exp ] | "." digits [ exp ] ),  exp = ("e"|"E") ["+"|"-"] digits
 *   int   = [ "-" ] digits            uint = digits           timestamp = [ "-" ] digits
 * Hexadecimal floats and `_` digit separators, which Go's `strconv.ParseFloat` would also take, are refused, as
 * InfluxDB's own parser refuses them.
 */

import { FLOAT, INT, UINT, type FieldType } from '../../model/metric-point.js';

/** Exact powers of ten (every one up to 1e22 is exactly representable as a double). */
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** What `readCommonNumber` read. */
export interface CommonNumber {
  value: number;
  /** FLOAT, INT or UINT (model/metric-point.ts). */
  type: FieldType;
  /** Where the number's text ends: the field separator, the line end or the end of the body. */
  end: number;
}

/**
 * A field value of the forms agents write nearly always, read in one pass with no substring: `-?d+(.d*)?` (a float),
 * `-?d+i` (an integer) or `d+u` (an unsigned integer) of up to 15 digits, followed by `,`, a space, a line end or the
 * end of the body. Such a float is exact: a mantissa below 10^15 < 2^53 divided once by an exact power of ten is
 * correctly rounded, so it is what `Number()` gives. Returns false, having set nothing, for any other text; the
 * caller then reads the value in full (readFloat, readInteger), which also names what is wrong.
 */
export function readCommonNumber(s: string, start: number, n: number, out: CommonNumber): boolean {
  let i = start;
  let c = s.charCodeAt(i);
  const neg = c === 45; /* - */
  if (neg) c = s.charCodeAt(++i);
  const digitsStart = i;
  let mantissa = 0;
  while (c >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  const intDigits = i - digitsStart;
  if (intDigits === 0) return false;
  let type: FieldType = FLOAT;
  let fracDigits = 0;
  if (c === 46 /* . */) {
    const fracStart = ++i;
    c = s.charCodeAt(i);
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      c = s.charCodeAt(++i);
    }
    fracDigits = i - fracStart;
  } else if (c === 105 /* i */ || (c === 117 /* u */ && !neg)) {
    type = c === 105 ? INT : UINT;
    c = s.charCodeAt(++i);
  }
  if (intDigits + fracDigits > 15) return false;
  if (i < n && c !== 44 && c !== 32 && c !== 10 && c !== 13) return false;
  let value = fracDigits === 0 ? mantissa : mantissa / POW10[fracDigits]!;
  // An integer "-0" is 0; a float "-0" is the double -0, as Number("-0") gives.
  if (neg) value = type === FLOAT ? -value : 0 - value;
  out.value = value;
  out.type = type;
  out.end = i;
  return true;
}

/**
 * The float written in `s[start, end)`: NaN when the text is not a float of the grammar, ±Infinity when it is one
 * but out of the double range (a line protocol float must be finite).
 */
export function readFloat(s: string, start: number, end: number): number {
  let i = start;
  let neg = false;
  if (i < end && s.charCodeAt(i) === 45 /* - */) {
    neg = true;
    i++;
  }
  let mantissa = 0;
  const intStart = i;
  let c = 0;
  while (i < end && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    i++;
  }
  const intDigits = i - intStart;
  let fracDigits = 0;
  if (i < end && s.charCodeAt(i) === 46 /* . */) {
    i++;
    const fracStart = i;
    while (i < end && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      i++;
    }
    fracDigits = i - fracStart;
  }
  if (intDigits === 0 && fracDigits === 0) return NaN;
  let exp = 0;
  if (i < end && ((c = s.charCodeAt(i)) === 101 || c === 69) /* e E */) {
    i++;
    let expNeg = false;
    if (i < end && ((c = s.charCodeAt(i)) === 43 || c === 45)) {
      expNeg = c === 45;
      i++;
    }
    const expStart = i;
    while (i < end && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
      if (exp < 100_000) exp = exp * 10 + (c - 48);
      i++;
    }
    if (i === expStart) return NaN;
    if (expNeg) exp = -exp;
  }
  if (i !== end) return NaN;
  // Clinger's fast path: an integer mantissa below 2^53 scaled once by an exact power of ten is correctly
  // rounded. Everything else goes to the engine's correctly rounded conversion (the text is valid JS syntax too).
  const scale = exp - fracDigits;
  let value: number;
  if (intDigits + fracDigits <= 15 && scale >= -22 && scale <= 22) {
    value = scale >= 0 ? mantissa * POW10[scale]! : mantissa / POW10[-scale]!;
    if (neg) value = -value;
  } else {
    value = Number(s.slice(start, end));
  }
  return value;
}

/**
 * The decimal integer written in `s[start, end)` (an optional `-` when `signed`), or undefined when the text is not
 * one: a number when it has up to 15 digits (a double holds those exactly, and they are far inside 64 bits), else a
 * bigint. The caller checks the range of a bigint.
 */
export function readInteger(s: string, start: number, end: number, signed: boolean): number | bigint | undefined {
  let i = start;
  let neg = false;
  if (signed && i < end && s.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  if (i === end) return undefined;
  if (end - i <= 15) {
    let v = 0;
    for (; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      v = v * 10 + (c - 48);
    }
    // `0 - v`, not `-v`: "-0" is the integer 0, not the double -0.
    return neg ? 0 - v : v;
  }
  for (let j = i; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return undefined;
  }
  return BigInt(s.slice(start, end));
}

/** `readInteger` (signed) as a bigint, for timestamps. */
export function readInteger64(s: string, start: number, end: number): bigint | undefined {
  const v = readInteger(s, start, end, true);
  return typeof v === 'number' ? BigInt(v) : v;
}
