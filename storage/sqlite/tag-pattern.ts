/**
 * How a tag value of a trace search matches, the same for every span storage: the value is an anchored regular
 * expression, as Elasticsearch's `regexp` query reads it (Jaeger's suite: "same.*" matches "sameplacevalue",
 * "same\\*" only the literal "same*"). A value without regular-expression characters is therefore an exact match,
 * which lets a store answer it from an index. A value that is not a valid expression matches literally.
 *
 * The expression runs without the `u` flag, so V8 bounds its backtracking (platform/user-pattern.ts): a search for
 * `(x+)+y` over long values costs milliseconds, not the query process.
 *
 * Pure and synchronous; never throws.
 */
import { protectFromBacktracking } from '../../platform/user-pattern.js';

export type TagPattern = { kind: 'exact'; value: string } | { kind: 'regexp'; source: string; regexp: RegExp };

const META = /[.?+*|{}[\]()\\^$]/;

export function compileTagPattern(value: string): TagPattern {
  if (!META.test(value)) return { kind: 'exact', value };
  protectFromBacktracking();
  try {
    return { kind: 'regexp', source: value, regexp: new RegExp(`^(?:${value})$`, 's') };
  } catch {
    return { kind: 'exact', value };
  }
}

export function matchesTagPattern(pattern: TagPattern, candidate: string): boolean {
  return pattern.kind === 'exact' ? pattern.value === candidate : pattern.regexp.test(candidate);
}
