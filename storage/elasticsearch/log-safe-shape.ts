/**
 * The safe shape of a log document Elasticsearch refused for its mapping (docs/design/log-mapping.md): the record's
 * own fields stay where they are (`@timestamp`, `message`, `stream`, `source`, `target`, `host`, the container and
 * Kubernetes fields, `parse_error`, `truncated`), every other field — the line's parsed json fields and the tags —
 * moves, as the JSON text of an object, into `json_text` (mapped text: searchable by its words, never refused), and
 * `mapping_error` holds Elasticsearch's reason. The line stays searchable by its `message` and nothing is dropped.
 *
 * Pure: never throws.
 */
import { KEYWORD_RECORD_FIELDS, MAPPING_ERROR_FIELD, SAFE_SHAPE_FIELD } from './log-index-templates.js';

const KEPT_STRINGS: ReadonlySet<string> = new Set<string>(['@timestamp', 'message', 'parse_error', ...KEYWORD_RECORD_FIELDS]);

/**
 * The safe shape of `record` (a document's source line), or undefined when there is none to make: the text is not a
 * JSON object, or it is already in the safe shape (refused again: a dead letter).
 */
export function safeShape(record: string, reason: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(record);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const kept: Record<string, unknown> = {};
  const moved: Record<string, unknown> = {};
  let movedAny = false;
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if ((KEPT_STRINGS.has(k) && typeof v === 'string') || (k === 'truncated' && typeof v === 'boolean')) kept[k] = v;
    else if (k !== MAPPING_ERROR_FIELD) {
      moved[k] = v;
      movedAny = true;
    }
  }
  const already = MAPPING_ERROR_FIELD in (doc as object) && Object.keys(moved).every((k) => k === SAFE_SHAPE_FIELD);
  if (already) return undefined;
  if (movedAny) kept[SAFE_SHAPE_FIELD] = JSON.stringify(moved);
  kept[MAPPING_ERROR_FIELD] = reason;
  return JSON.stringify(kept);
}
