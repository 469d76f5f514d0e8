/**
 * Regular expressions written by users — a container's `format.pattern` and `multiline.pattern` labels, a tag
 * pattern of a trace search — run on every line of a log or every value of a store. JavaScript's engine backtracks:
 * a pattern like `^(?<m>(\w+\s?)*)$` takes time exponential in the length of a line it does not match (a 40-character
 * line: minutes), and the event loop it holds is the whole pilot's, every container's. A label is not trusted input.
 *
 * V8 carries a second, linear-time engine. Alone it is about a hundred times slower on ordinary log patterns
 * (≈ 40 µs a line against ≈ 0.3 µs for a Java-log pattern of five named groups), but V8 can switch a regular
 * expression to it once a match has backtracked too often (`--enable-experimental-regexp-engine-on-excessive-backtracks`):
 * ordinary lines keep the fast engine, a pathological one costs about a millisecond instead of hours. The switch does
 * not apply to Unicode-mode (`u`) expressions, so a pattern is compiled twice:
 *
 * - without `u`, the form every text without surrogate code units (no character beyond U+FFFF) is matched with.
 *   A pattern valid in Unicode mode means the same without it on such text, unless it uses `\p{…}`, `\P{…}`,
 *   `\u{…}` or an astral character of its own: those are kept in Unicode mode only;
 * - with `u`, for texts holding characters beyond U+FFFF, where `.` must match a whole character — when the pattern
 *   has no repetition inside a repetition (`safe-regex2`'s test for exponential time). When it has, such texts also
 *   go to the protected form: a single-character atom (`(?<c>.)`) may then take half of an astral character.
 *
 * A pattern with nested repetition that must stay in Unicode mode is refused, with the reason.
 */
import { setFlagsFromString } from 'node:v8';
import safeRegex from 'safe-regex2';

/** A compiled user pattern: `exec` and `test` as RegExp's, on one text at a time (no `g` or `y` flag). */
export interface UserPattern {
  readonly source: string;
  exec(text: string): RegExpExecArray | null;
  test(text: string): boolean;
}

let protectedEngine = false;

/**
 * Lets V8 finish a match that backtracks excessively on its linear-time engine (process-wide: any non-Unicode
 * expression gains the same bound). Called by the first compilation.
 */
export function protectFromBacktracking(): void {
  if (protectedEngine) return;
  protectedEngine = true;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
}

/** Features whose meaning differs without the `u` flag. */
const UNICODE_ONLY = /\\[pP]\{|\\u\{|[\uD800-\uDFFF]/;
const SURROGATE = /[\uD800-\uDFFF]/;
/** Quantifiers counted by the exponential-time test: high enough that only nesting, not their number, fails it. */
const SAFE_REGEX_LIMIT = 10_000;

/**
 * Compiles `source` (with the `s` flag when `dotAll`; always in Unicode mode's syntax); returns the reason when it is
 * not a valid regular expression or could take exponential time unprotected.
 */
export function compileUserPattern(source: string, dotAll = false): UserPattern | string {
  protectFromBacktracking();
  const flags = dotAll ? 's' : '';
  let unicode: RegExp;
  try {
    unicode = new RegExp(source, `${flags}u`);
  } catch (err) {
    return `/${source}/ is not a valid regular expression: ${(err as Error).message}`;
  }
  const nested = !safeRegex(unicode, { limit: SAFE_REGEX_LIMIT });
  if (UNICODE_ONLY.test(source)) {
    if (nested) {
      return `/${source}/ can take exponential time on a line it does not match (a repetition inside a repetition, like (a+)+): write it without nesting, or without \\p{…}, \\u{…} and astral characters, which keep it off the protected engine`;
    }
    return unicode;
  }
  const plain = new RegExp(source, flags);
  const forAstral = nested ? plain : unicode;
  return {
    source,
    exec: (text) => (SURROGATE.test(text) ? forAstral : plain).exec(text),
    test: (text) => (SURROGATE.test(text) ? forAstral : plain).test(text),
  };
}
