/**
 * The log API's query (storage/log-search.ts) → Elasticsearch query DSL over the pilot's records (the README's
 * "Records"), mirroring the embedded store's rules (storage/sqlite/log-store.ts). Pure.
 *
 * Metadata filters are `term` queries on the `.keyword` subfields Elasticsearch's dynamic mapping gives every string
 * field (`docker_container.keyword`, …), the exact values the store compares; `container` matches the name (a
 * leading `/` dropped) or the full id. Time bounds are inclusive on `@timestamp`.
 *
 * Free text, as in the store: every part must match (AND); a part is a word, a "quoted phrase", or `word*` (a
 * prefix). A word with punctuation inside (`item/14`) is a phrase of its tokens, as FTS5 makes it. The text searched
 * is `message`; a record without one (a `json` line, whose fields stand at the top level) is searched in all its
 * fields, as the store searches the raw line.
 *
 * Where the answers can differ from the store's, because Elasticsearch's `standard` analyzer tokenizes the text
 * (the pilot's indices use it; the node may have no other):
 * - `standard` keeps `foo.bar`, `a_b`, `can't`, `1.5` as single tokens where FTS5 splits them, so `foo` does not
 *   find `foo.bar` in Elasticsearch (but `foo.bar` does); CJK ideographs are one token each in Elasticsearch, one
 *   run in FTS5; FTS5 also folds diacritics (`é` = `e`), Elasticsearch does not.
 * - a prefix of one token is an exact `prefix` query; a prefix ending a phrase (`item/1*`) expands to at most
 *   PHRASE_PREFIX_EXPANSIONS terms.
 * - for a `json` record every field is searched, its metadata (container, host, …) included.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { LogQuery } from '../log-search.js';

type Query = estypes.QueryDslQueryContainer;

export const PHRASE_PREFIX_EXPANSIONS = 1000;
/** Characters FTS5's unicode61 tokenizer keeps in a token (letters, numbers, private use). */
const ONE_TOKEN = /^[\p{L}\p{N}\p{Co}]+$/u;

export interface TextPart {
  text: string;
  prefix: boolean;
}

/** Free text → its parts, split as the store's `ftsQuery` splits it; empty when there is no word. */
export function textParts(text: string): TextPart[] {
  const parts: TextPart[] = [];
  for (const m of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    const phrase = m[1] ?? m[2]!;
    const prefix = m[2] !== undefined && phrase.endsWith('*') && phrase.length > 1;
    const word = prefix ? phrase.slice(0, -1) : phrase;
    if (word.trim() === '') continue;
    parts.push({ text: word, prefix });
  }
  return parts;
}

function partOnMessage(part: TextPart): Query {
  if (part.prefix && ONE_TOKEN.test(part.text)) return { prefix: { message: { value: part.text.toLowerCase() } } };
  if (part.prefix) return { match_phrase_prefix: { message: { query: part.text, max_expansions: PHRASE_PREFIX_EXPANSIONS } } };
  return { match_phrase: { message: { query: part.text } } };
}

function partOnAnyField(part: TextPart): Query {
  return {
    multi_match: {
      query: part.text, fields: ['*'], lenient: true,
      type: part.prefix ? 'phrase_prefix' : 'phrase',
      ...(part.prefix ? { max_expansions: PHRASE_PREFIX_EXPANSIONS } : {}),
    },
  };
}

function textClause(part: TextPart): Query {
  return {
    bool: {
      should: [partOnMessage(part), { bool: { must_not: [{ exists: { field: 'message' } }], filter: [partOnAnyField(part)] } }],
      minimum_should_match: 1,
    },
  };
}

/** The filters of a log query, as one `bool` query (match-all when there is none). */
export function logQueryDsl(q: Omit<LogQuery, 'limit' | 'offset'>): Query {
  const filter: Query[] = [];
  if (q.container) {
    filter.push({
      bool: {
        should: [{ term: { 'docker_container.keyword': q.container.replace(/^\//, '') } }, { term: { 'docker_container_id.keyword': q.container } }],
        minimum_should_match: 1,
      },
    });
  }
  for (const [field, value] of [['docker_app', q.app], ['docker_service', q.service], ['target', q.target]] as const) {
    if (value) filter.push({ term: { [`${field}.keyword`]: value } });
  }
  // Keyword fields (templates of version 2) or a dynamic mapping's text (one token, lowercased). The pilot writes the
  // ids lowercase and 32 digits long, but a line's own trace_id stays as the line wrote it: a 64-bit id in 16
  // digits, or in capitals, is found too.
  if (q.traceId) {
    const ids = [q.traceId, q.traceId.toUpperCase()];
    if (q.traceId.startsWith('0000000000000000')) ids.push(q.traceId.slice(16), q.traceId.slice(16).toUpperCase());
    filter.push({ terms: { trace_id: ids } });
  }
  if (q.spanId) filter.push({ terms: { span_id: [q.spanId, q.spanId.toUpperCase()] } });
  if (q.startMs !== undefined || q.endMs !== undefined) {
    const range: estypes.QueryDslDateRangeQuery = { format: 'epoch_millis' };
    if (q.startMs !== undefined) range.gte = String(Math.floor(q.startMs));
    if (q.endMs !== undefined) range.lte = String(Math.floor(q.endMs));
    filter.push({ range: { '@timestamp': range } });
  }
  if (q.text !== undefined) for (const part of textParts(q.text)) filter.push(textClause(part));
  return filter.length > 0 ? { bool: { filter } } : { match_all: {} };
}

/** Newest `@timestamp` first; among equal times the later arrival (higher `_seq_no`) first, as the store orders by id. */
export const NEWEST_FIRST: estypes.SortCombinations[] = [
  { '@timestamp': { order: 'desc', unmapped_type: 'date' } },
  { _seq_no: { order: 'desc' } },
];
