/**
 * `regexp`: `.format.pattern`, a JavaScript regular expression (Unicode mode's syntax) whose named groups
 * (`(?<level>\w+)`) become fields; a group that did not take part in the match is left out. A line the pattern does
 * not match is a failure. The pattern is not anchored for you: write `^…$` to match whole lines. A container's
 * pattern is not trusted: it runs bounded against catastrophic backtracking (platform/user-pattern.ts).
 */
import { compileUserPattern, type UserPattern } from '../../platform/user-pattern.js';
import type { FormatOutcome, LineFormat } from './format.js';

const NO_MATCH: FormatOutcome = Object.freeze({ ok: false, reason: 'line does not match the pattern' });

/** Compiles a pattern; returns the reason it cannot be used (syntax, exponential time, no named group). */
export function compileGroupPattern(pattern: string): { re: UserPattern; groups: string[] } | string {
  const re = compileUserPattern(pattern);
  // Mapped to the declaration's warning.
  if (typeof re === 'string') return `pattern ${re}`;
  // `pattern|` matches the empty string, and its `groups` lists every named group (escapes, classes and Unicode
  // names included) — more reliable than scanning the pattern's text.
  const groups = Object.keys(new RegExp(`${pattern}|`, 'u').exec('')?.groups ?? {});
  if (groups.length === 0) return `pattern /${pattern}/ has no named group (?<name>…)`;
  return { re, groups };
}

export function createRegexpFormat(re: Pick<UserPattern, 'exec'>, groups: readonly string[]): LineFormat {
  return {
    name: 'regexp',
    keepsMessage: true,
    fieldNames: [...groups],
    parse(line: string): FormatOutcome {
      const m = re.exec(line);
      if (!m || !m.groups) return NO_MATCH;
      const fields = Object.create(null) as Record<string, unknown>; // a "__proto__" key stays a field
      for (const [k, v] of Object.entries(m.groups)) if (v !== undefined) fields[k] = v;
      return { ok: true, fields, rawJson: null };
    },
  };
}
