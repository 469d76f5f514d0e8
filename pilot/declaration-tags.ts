/**
 * `.tags=k1=v1,k2=v2` (log-pilot's syntax and rules: every item is exactly one `key=value`, both non-empty after
 * trimming). Keys must also be usable as field names: a letter first, then letters, digits, `_`, `-`, `.`, `@`.
 */
import { RECORD_FIELDS } from './record-fields.js';

export const RESERVED_TAG_KEYS = RECORD_FIELDS;

const KEY_RE = /^[A-Za-z][\w.@-]*$/;

/** Returns the tags, or the reason they are malformed. An empty text is no tags. */
export function parseTags(text: string): Record<string, string> | string {
  const tags: Record<string, string> = {};
  if (text.trim() === '') return tags;
  for (const item of text.split(',')) {
    const parts = item.split('=');
    const key = parts[0]!.trim();
    const value = (parts[1] ?? '').trim();
    if (parts.length !== 2 || key === '' || value === '') return `tag "${item.trim()}" is not key=value`;
    if (!KEY_RE.test(key)) return `tag key "${key}" is not a field name (a letter, then letters, digits, _ - . @)`;
    if (Object.hasOwn(tags, key)) return `tag "${key}" is given twice`;
    tags[key] = value;
  }
  return tags;
}
