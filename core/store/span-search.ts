/**
 * Turns a `TraceQuery` into the condition on `spans s` that span-store.ts reads newest first, taking trace ids
 * until it has enough. The plan, per tag of the query:
 *
 * 1. the tag's values: the value itself when exact; for a regular expression, the key's distinct values in the tag
 *    index that match (found by seeking from value to value, so a key with few values costs few seeks), unless the
 *    key has more than `MAX_REGEX_VALUES` values — then each candidate span's own tags are tested in JavaScript;
 * 2. the processes whose tags hold one of those values (few: a process is indexed once, not per span);
 * 3. how many spans hold one of those values, counted up to `DRIVE_LIMIT`.
 *
 * When some tag has no matching process and a posting list under `DRIVE_LIMIT`, that list drives the search
 * (`s.id IN (…)`, other indexes disabled with unary `+`): a selective tag without a service is a few index reads.
 * Otherwise the search walks the service's (or the time) index newest first and probes every tag for each span,
 * stopping as soon as enough traces are found: frequent tags (`error=true`, `http.method=GET`) cost little because
 * matches come early. Benchmarked in bench/query.bench.ts.
 */
import type { Statement } from 'better-sqlite3';
import type { TraceQuery } from '../span-storage.js';
import { compileTagPattern, matchesTagPattern, type TagPattern } from './tag-pattern.js';

export const DRIVE_LIMIT = 5_000;
export const MAX_REGEX_VALUES = 2_000;

export interface SearchSql {
  /** The condition on `spans s`. */
  where: string;
  params: unknown[];
}

interface TagPlan {
  key: string;
  /** Matching values, or undefined when they are too many to list (regex over a high-cardinality key). */
  values: string[] | undefined;
  pattern: TagPattern;
  processes: number[];
  /** Span rows holding one of the values, up to DRIVE_LIMIT (DRIVE_LIMIT means "many"). */
  postings: number;
}

export type Prepare = (sql: string) => Statement;

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(',');
}

/** The distinct values of `key` in `table` that match the pattern; undefined past `MAX_REGEX_VALUES` values. */
function regexValues(prepare: Prepare, table: 'span_tags' | 'process_tags', key: string, pattern: TagPattern): string[] | undefined {
  const first = prepare(`SELECT value FROM ${table} WHERE key = ? ORDER BY value LIMIT 1`).pluck();
  const next = prepare(`SELECT value FROM ${table} WHERE key = ? AND value > ? ORDER BY value LIMIT 1`).pluck();
  const out: string[] = [];
  let value = first.get(key) as string | undefined;
  for (let seen = 0; value !== undefined; seen++) {
    if (seen >= MAX_REGEX_VALUES) return undefined;
    if (matchesTagPattern(pattern, value)) out.push(value);
    value = next.get(key, value) as string | undefined;
  }
  return out;
}

function planTag(prepare: Prepare, key: string, pattern: TagPattern): TagPlan {
  const values = pattern.kind === 'exact' ? [pattern.value] : regexValues(prepare, 'span_tags', key, pattern);
  const processValues = pattern.kind === 'exact' ? [pattern.value] : (regexValues(prepare, 'process_tags', key, pattern) ?? []);
  const processes = processValues.length === 0 ? [] : (prepare(`SELECT DISTINCT process FROM process_tags WHERE key = ? AND value IN (${placeholders(processValues.length)})`)
    .pluck().all(key, ...processValues) as number[]);
  let postings = DRIVE_LIMIT;
  if (values !== undefined) {
    postings = values.length === 0 ? 0 : (prepare(`SELECT COUNT(*) FROM (SELECT 1 FROM span_tags WHERE key = ? AND value IN (${placeholders(values.length)}) LIMIT ${DRIVE_LIMIT})`)
      .pluck().get(key, ...values) as number);
  }
  return { key, values, pattern, processes, postings };
}

export function buildSearchSql(prepare: Prepare, query: TraceQuery, patternOf: (raw: string) => TagPattern = compileTagPattern): SearchSql {
  const plans = Object.entries(query.tags ?? {}).map(([key, raw]) => planTag(prepare, key, patternOf(raw)));
  let driver: TagPlan | undefined;
  for (const p of plans) {
    if (p.values !== undefined && p.processes.length === 0 && p.postings < DRIVE_LIMIT && (!driver || p.postings < driver.postings)) driver = p;
  }
  // With a driving posting list, the other indexes are disabled (unary +) so the planner reads that list.
  const col = (name: string): string => (driver ? `+s.${name}` : `s.${name}`);
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (query.serviceName) {
    clauses.push(`${col('service')} = ?`);
    params.push(query.serviceName);
  }
  if (query.operationName) {
    clauses.push(`${col('operation')} = ?`);
    params.push(query.operationName);
  }
  const range = (name: string, min: number | undefined, max: number | undefined): void => {
    if (min !== undefined && min > 0) {
      clauses.push(`${col(name)} >= ?`);
      params.push(Math.floor(min));
    }
    if (max !== undefined && max > 0) {
      clauses.push(`${col(name)} <= ?`);
      params.push(Math.floor(max));
    }
  };
  range('start_us', query.startTimeMinMicros, query.startTimeMaxMicros);
  range('duration_us', query.durationMinMicros, query.durationMaxMicros);
  for (const p of plans) {
    if (p === driver) {
      clauses.push(`s.id IN (SELECT span FROM span_tags WHERE key = ? AND value IN (${placeholders(p.values!.length)}))`);
      params.push(p.key, ...p.values!);
      continue;
    }
    const alternatives: string[] = [];
    if (p.values === undefined) {
      alternatives.push('sw_span_tag_match(s.data, ?, ?)');
      params.push(p.key, p.pattern.kind === 'exact' ? p.pattern.value : p.pattern.source);
    } else if (p.values.length > 0) {
      alternatives.push(`EXISTS (SELECT 1 FROM span_tags t WHERE t.key = ? AND t.value IN (${placeholders(p.values.length)}) AND t.span = s.id)`);
      params.push(p.key, ...p.values);
    }
    if (p.processes.length > 0) {
      alternatives.push(`s.process IN (${placeholders(p.processes.length)})`);
      params.push(...p.processes);
    }
    clauses.push(alternatives.length > 0 ? `(${alternatives.join(' OR ')})` : '0');
  }
  return { where: clauses.length > 0 ? clauses.join(' AND ') : '1', params };
}
