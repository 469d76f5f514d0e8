/**
 * `json`: one JSON object per line; its keys become the record's top-level fields, nested objects stay nested.
 * A line that is not an object (an array, a number, a string) or not JSON at all is a failure.
 *
 * Limits (PILOT_JSON_MAX_KEYS, PILOT_JSON_MAX_DEPTH), modelled on what Elasticsearch refuses a whole document for
 * (`index.mapping.total_fields.limit`, `index.mapping.depth.limit`): a line with more keys at every depth, or nested
 * deeper, is a failure too, so the encoder ships it whole in `message` rather than have the index refuse it. The
 * check walks the parsed value with recursion cut at the depth limit and stops at the first key past the key limit:
 * no line, however deep or wide (JSON.parse itself is not recursive), costs more than its parse or overflows the stack.
 */
import { shortReason, type FormatOutcome, type LineFormat } from './format.js';

export interface JsonLineLimits {
  /** Keys a line may hold, counted at every depth (keys of objects inside arrays included). */
  maxKeys: number;
  /** Levels of nesting: the line's object is level 1, each object or array inside it one more. */
  maxDepth: number;
}

/** Elasticsearch's own defaults, and the defaults of PILOT_JSON_MAX_KEYS and PILOT_JSON_MAX_DEPTH. */
export const ELASTICSEARCH_JSON_LIMITS: JsonLineLimits = Object.freeze({ maxKeys: 1000, maxDepth: 20 });

const NOT_AN_OBJECT: FormatOutcome = Object.freeze({ ok: false, reason: 'not a JSON object' });

function firstNonSpace(line: string): number {
  let i = 0;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) break;
  }
  return i;
}

// The walk's state, module-wide: parsing is synchronous, one line at a time.
let keysLeft = 0;
let depthLimit = 0;
let passed: 'keys' | 'depth' | undefined;

/** Counts `value`'s keys against `keysLeft`; false (with `passed` set) at the first limit passed. */
function withinLimits(value: object, depth: number): boolean {
  if (depth > depthLimit) {
    passed = 'depth';
    return false;
  }
  if (Array.isArray(value)) {
    for (const v of value) if (typeof v === 'object' && v !== null && !withinLimits(v, depth + 1)) return false;
    return true;
  }
  for (const k in value) {
    if (--keysLeft < 0) {
      passed = 'keys';
      return false;
    }
    const v = (value as Record<string, unknown>)[k];
    if (typeof v === 'object' && v !== null && !withinLimits(v, depth + 1)) return false;
  }
  return true;
}

export function parseJsonLine(line: string, limits: JsonLineLimits = ELASTICSEARCH_JSON_LIMITS): FormatOutcome {
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
  keysLeft = limits.maxKeys;
  depthLimit = limits.maxDepth;
  passed = undefined;
  if (!withinLimits(value as object, 1)) {
    return passed === 'keys'
      ? { ok: false, reason: `over PILOT_JSON_MAX_KEYS: more than ${limits.maxKeys} keys`, limit: 'keys' }
      : { ok: false, reason: `over PILOT_JSON_MAX_DEPTH: nested deeper than ${limits.maxDepth} levels`, limit: 'depth' };
  }
  return { ok: true, fields: value as Record<string, unknown>, rawJson: line, keys: limits.maxKeys - keysLeft };
}

export function createJsonFormat(limits: JsonLineLimits = ELASTICSEARCH_JSON_LIMITS): LineFormat {
  return { name: 'json', keepsMessage: false, fieldNames: null, parse: (line) => parseJsonLine(line, limits) };
}
