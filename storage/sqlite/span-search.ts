/**
 * Trace search on the embedded store: a `TraceQuery` becomes one condition on `spans s`, read newest first, each
 * candidate span checked against the query's tags in JavaScript, until `offset + numTraces` traces are found.
 *
 * The tag index (`group_tags`) knows which span groups (the spans of a trace written by one batch) hold a tag, not
 * which span: the condition narrows the walk to spans of the right service, operation, times and durations in
 * groups holding every tag, and the check on the candidate's own tags (span tags, log fields, scope and reference
 * tags, process tags) makes the answer exact — which also absorbs the rare hash collision. Per tag of the query:
 *
 * 1. its values: the value itself when exact; for a regular expression the key's listed values that match
 *    (`tag_values`), or none listed when the key has too many values — then only the check applies;
 * 2. the processes whose tags match (few: a process is indexed once);
 * 3. how many groups hold one of the values, counted up to `DRIVE_LIMIT`.
 *
 * When some tag has no matching process and a posting list under `DRIVE_LIMIT`, that list drives the search (the
 * spans of those groups, other indexes disabled with unary `+`): a selective tag without a service reads a few
 * groups. Otherwise the walk follows the service's (or the time) index newest first and probes every tag per span,
 * stopping as soon as enough traces are found. Benchmarked in bench/query.bench.ts.
 */
import type { Statement } from 'better-sqlite3';
import type { TraceQuery } from '../span-storage.js';
import { decodeDataSpans, encodedValueString, forEachDataTag, forEachSpanTag, type EncodedKv, type SpanData } from './span-codec.js';
import { tagHash } from '../../model/tag-hash.js';
import { RUN_EXTENT_US, TAG_EPOCH_SPANS } from './span-write.js';
import { compileTagPattern, matchesTagPattern, type TagPattern } from './tag-pattern.js';

/**
 * A tag held by at most this many groups drives the search: its groups' spans (≈ 1,000 each) are read and checked
 * instead of walking the service or time index.
 */
export const DRIVE_LIMIT = 32;

export type Prepare = (sql: string) => Statement;

/** Names (services, operations) by their `span_names` id, each read once per lookup's life ('' when unknown). */
export function spanNameLookup(prepare: Prepare): (id: number) => string {
  const names = new Map<number, string>();
  return (id) => {
    let n = names.get(id);
    if (n === undefined) {
      n = (prepare('SELECT name FROM span_names WHERE id = ?').pluck().get(id) as string | undefined) ?? '';
      names.set(id, n);
    }
    return n;
  };
}

/**
 * A search context over `prepare`'s connection, for a reader thread (read-worker.ts): names and process tags read as
 * the span store reads them; an unreadable row is handed to `damaged`.
 */
export function searchContextOn(prepare: Prepare, damaged: (what: string, err: unknown) => void): SearchContext {
  const patterns = new Map<string, TagPattern>();
  return {
    prepare,
    pattern(raw) {
      let p = patterns.get(raw);
      if (!p) {
        if (patterns.size > 1000) patterns.clear();
        p = compileTagPattern(raw);
        patterns.set(raw, p);
      }
      return p;
    },
    nameId: (name) => prepare('SELECT id FROM span_names WHERE name = ?').pluck().get(name) as number | undefined,
    processTags(id) {
      const tags = prepare('SELECT tags FROM processes WHERE id = ?').pluck().get(id) as string | undefined;
      try {
        return ((tags ? JSON.parse(tags) : []) as EncodedKv[]).map((kv): [string, string] => [kv[0], encodedValueString(kv)]);
      } catch (err) {
        damaged(`process ${id}`, err);
        return [];
      }
    },
    damaged,
  };
}

/** Trace ids of the matching traces, newest matching span first, after `offset`, at most `numTraces`. */
export function matchingTraceIds(ctx: SearchContext, query: TraceQuery): string[] {
  const offset = Math.max(0, query.offset ?? 0);
  const wanted = offset + Math.max(0, query.numTraces);
  if (query.numTraces <= 0) return [];
  const ids: string[] = [];
  walkMatchingTraces(ctx, query, (traceId) => {
    ids.push(traceId);
    return ids.length < wanted;
  });
  return ids.slice(offset);
}

/** How many traces match (`numTraces` and `offset` aside). */
export function countMatchingTraces(ctx: SearchContext, query: TraceQuery): number {
  let n = 0;
  walkMatchingTraces(ctx, query, () => {
    n++;
    return true;
  });
  return n;
}

export interface SearchContext {
  prepare: Prepare;
  pattern(raw: string): TagPattern;
  /** The id of a service / operation name; undefined when never stored. */
  nameId(name: string): number | undefined;
  /** The process's tags as (key, value-as-text) pairs. */
  processTags(id: number): Array<[string, string]>;
  /** A candidate span whose data cannot be read: it matches nothing. */
  damaged(what: string, err: unknown): void;
}

interface TagPlan {
  key: string;
  /** The key as it appears in stored JSON: a span whose data lacks it cannot hold the tag (unless its process does). */
  needle: string;
  /**
   * For an exact value of plain characters: the text stored data holds wherever a tag has that value (a string's
   * characters, a number's or boolean's JSON text) — except a binary value, stored as base64 but searched as hex.
   */
  valueNeedle: string | undefined;
  /**
   * The key as it appears in data kept as a Jaeger Thrift compact struct (span-codec.ts): its UTF-8 bytes after
   * their varint length. Values there are binary (numbers as varints), so no value needle.
   */
  wireNeedle: Buffer;
  pattern: TagPattern;
  /** Hashes of the matching values, or undefined when they are not listed (regex over a key with many values). */
  hashes: number[] | undefined;
  processes: number[];
  /** Groups holding one of the values, up to DRIVE_LIMIT (DRIVE_LIMIT means "many"). */
  postings: number;
}

interface Plan {
  from: string;
  where: string;
  params: unknown[];
  tags: TagPlan[];
  /** What a span of a run row must be: its columns are only bounds of its spans' (span-schema.ts v7). */
  span: SpanBounds;
}

interface SpanBounds {
  operation: string | undefined;
  startMin: number;
  startMax: number;
  durationMin: number;
  durationMax: number;
}

const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
const BINARY_TAG = ',"x",';

/**
 * The tag index's epochs (`e.x`), oldest to newest: its rows are keyed epoch first (span-schema.ts v3), so a posting
 * list is read as one seek per epoch.
 */
const EPOCHS = 'WITH RECURSIVE e(x) AS (SELECT min(epoch) FROM group_tags UNION ALL SELECT x + 1 FROM e WHERE x < (SELECT max(epoch) FROM group_tags))';

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(',');

/** The listed values of `key` that match a regular expression; undefined when the key has too many to list. */
function listedValues(prepare: Prepare, key: string, pattern: TagPattern): string[] | undefined {
  const many = prepare('SELECT many FROM tag_keys WHERE key = ?').pluck().get(key) as number | undefined;
  if (many === undefined) return [];
  if (many) return undefined;
  const values = prepare('SELECT value FROM tag_values WHERE key = ?').pluck().all(key) as string[];
  return values.filter((v) => matchesTagPattern(pattern, v));
}

function planTag(ctx: SearchContext, key: string, pattern: TagPattern): TagPlan {
  const { prepare } = ctx;
  const values = pattern.kind === 'exact' ? [pattern.value] : listedValues(prepare, key, pattern);
  const hashes = values?.map((v) => tagHash(key, v));
  let processes: number[];
  if (pattern.kind === 'exact') {
    processes = prepare('SELECT DISTINCT process FROM process_tags WHERE key = ? AND value = ?').pluck().all(key, pattern.value) as number[];
  } else {
    const rows = prepare('SELECT process, value FROM process_tags WHERE key = ?').all(key) as Array<{ process: number; value: string }>;
    processes = [...new Set(rows.filter((r) => matchesTagPattern(pattern, r.value)).map((r) => r.process))];
  }
  let postings = DRIVE_LIMIT;
  if (hashes !== undefined) {
    postings = hashes.length === 0 ? 0 : (prepare(`SELECT COUNT(*) FROM (${EPOCHS} SELECT 1 FROM e CROSS JOIN group_tags t ON t.epoch = e.x AND t.tag IN (${placeholders(hashes.length)}) LIMIT ${DRIVE_LIMIT})`)
      .pluck().get(...hashes) as number);
  }
  const valueNeedle = pattern.kind === 'exact' && PLAIN.test(pattern.value) ? pattern.value : undefined;
  return { key, needle: JSON.stringify(key), valueNeedle, wireNeedle: wireKeyNeedle(key), pattern, hashes, processes, postings };
}

/** A Thrift compact string: varint length, then the UTF-8 bytes. */
function wireKeyNeedle(key: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  const length: number[] = [];
  let n = bytes.length;
  while (n >= 0x80) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return Buffer.concat([Buffer.from(length), bytes]);
}

function plan(ctx: SearchContext, query: TraceQuery): Plan | undefined {
  const tags = Object.entries(query.tags ?? {}).map(([key, raw]) => planTag(ctx, key, ctx.pattern(raw)));
  let driver: TagPlan | undefined;
  for (const p of tags) {
    if (p.hashes !== undefined && p.processes.length === 0 && p.postings < DRIVE_LIMIT && (!driver || p.postings < driver.postings)) driver = p;
  }
  // With a driving posting list, the other indexes are disabled (unary +) so the planner reads that list.
  const col = (name: string): string => (driver ? `+s.${name}` : `s.${name}`);
  const clauses: string[] = [];
  const params: unknown[] = [];
  let from = 'spans s';
  if (driver) {
    // CROSS JOIN keeps this order: the planner has no estimate of the posting list's size and would otherwise walk
    // the time index and probe the list per span.
    from = `(${EPOCHS} SELECT DISTINCT t.grp FROM e CROSS JOIN group_tags t ON t.epoch = e.x AND t.tag IN (${placeholders(driver.hashes!.length)})) t
      CROSS JOIN span_groups g ON g.grp = t.grp CROSS JOIN spans s ON s.id >= g.grp AND s.id < g.grp + g.spans`;
    params.push(...driver.hashes!);
  }
  for (const [name, value] of [['service', query.serviceName], ['operation', query.operationName]] as const) {
    if (!value) continue;
    const id = ctx.nameId(value);
    if (id === undefined) return undefined;
    // A run row of several operations has operation 0 (names are numbered from 1).
    clauses.push(name === 'operation' ? `${col(name)} IN (?, 0)` : `${col(name)} = ?`);
    params.push(id);
  }
  // A run row's start and duration are its spans' latest and longest, its spans start within RUN_EXTENT_US of it:
  // the lower bounds hold as they are, the upper ones only for single spans (n = 1).
  const range = (name: string, min: number | undefined, max: number | undefined, extent: number): [number, number] => {
    const bounds: [number, number] = [-Infinity, Infinity];
    if (min !== undefined && min > 0) {
      clauses.push(`${col(name)} >= ?`);
      params.push((bounds[0] = Math.floor(min)));
    }
    if (max !== undefined && max > 0) {
      bounds[1] = Math.floor(max);
      if (extent > 0) {
        clauses.push(`${col(name)} <= ?`);
        params.push(bounds[1] + extent);
      }
      clauses.push(`(s.n > 1 OR ${col(name)} <= ?)`);
      params.push(bounds[1]);
    }
    return bounds;
  };
  const [startMin, startMax] = range('start_us', query.startTimeMinMicros, query.startTimeMaxMicros, RUN_EXTENT_US);
  const [durationMin, durationMax] = range('duration_us', query.durationMinMicros, query.durationMaxMicros, 0);
  const span: SpanBounds = { operation: query.operationName || undefined, startMin, startMax, durationMin, durationMax };
  for (const p of tags) {
    if (p.hashes !== undefined && p.hashes.length === 0 && p.processes.length === 0) return undefined;
    // In the span's own data: its group holds the tag (unless the driver already says so), and — tested by SQLite
    // on the text, before any row reaches JavaScript — the data holds the key, and the value's text when exact.
    // (bench/query.bench.ts at 1M spans, the total of service + http.status_code=500: p50 800 → 218 ms, and that search's p99 144 → 113 ms.)
    // Data kept as a Thrift struct (a BLOB) is tested for the key's bytes only.
    const inData: string[] = [];
    if (p !== driver && p.hashes !== undefined && p.hashes.length > 0) {
      inData.push(`EXISTS (SELECT 1 FROM group_tags t WHERE t.epoch = s.grp / ${TAG_EPOCH_SPANS} AND t.tag IN (${placeholders(p.hashes.length)}) AND t.grp = s.grp)`);
      params.push(...p.hashes);
    }
    let inText = 'instr(s.data, ?) > 0';
    params.push(p.wireNeedle, p.needle);
    if (p.valueNeedle !== undefined) {
      inText += ' AND (instr(s.data, ?) > 0 OR instr(s.data, ?) > 0)';
      params.push(p.valueNeedle, BINARY_TAG);
    }
    inData.push(`(CASE WHEN typeof(s.data) = 'blob' THEN instr(s.data, ?) > 0 ELSE ${inText} END)`);
    let clause = inData.join(' AND ');
    if (p.processes.length > 0) {
      clause = `(${clause}) OR s.process IN (${placeholders(p.processes.length)})`;
      params.push(...p.processes);
    }
    clauses.push(`(${clause})`);
  }
  return { from, where: clauses.length > 0 ? clauses.join(' AND ') : '1', params, tags, span };
}

/** Whether one span (its stored data and process) holds every tag of the query. */
function spanMatches(tags: TagPlan[], data: SpanData, processTags: () => Array<[string, string]>): boolean {
  // Most candidates of a walk lack the key or the value text altogether: substring tests spare parsing them
  // (bench/query.bench.ts, service + http.status_code=500 at 1M spans: p99 357 → 144 ms).
  if (!mayHoldTags(tags, data, processTags)) return false;
  return holdsTags(tags, (offer) => forEachDataTag(data, offer), processTags);
}

/** False when the data cannot hold some tag of the query (nor its process). */
function mayHoldTags(tags: TagPlan[], data: SpanData, processTags: () => Array<[string, string]>): boolean {
  for (const p of tags) {
    const lacks = typeof data === 'string'
      ? !data.includes(p.needle) || (p.valueNeedle !== undefined && !data.includes(p.valueNeedle) && !data.includes(BINARY_TAG))
      : !data.includes(p.wireNeedle);
    if (lacks && !processTags().some(([key]) => key === p.key)) return false;
  }
  return true;
}

/** Whether the tags `each` offers, with the process's, hold every tag of the query. */
function holdsTags(tags: TagPlan[], each: (offer: (key: string, value: string) => void) => void, processTags: () => Array<[string, string]>): boolean {
  if (tags.length === 0) return true;
  const pending = new Set(tags);
  const offer = (key: string, value: string): void => {
    for (const p of pending) if (p.key === key && matchesTagPattern(p.pattern, value)) pending.delete(p);
  };
  each(offer);
  if (pending.size > 0) for (const [key, value] of processTags()) offer(key, value);
  return pending.size === 0;
}

/**
 * The start of the latest span of a run row that matches the query (its bounds and every tag), or undefined. The row
 * was a candidate by its bounds; its spans are checked one by one.
 */
function runMatch(p: Plan, data: Buffer, processTags: () => Array<[string, string]>): number | undefined {
  if (!mayHoldTags(p.tags, data, processTags)) return undefined;
  const b = p.span;
  let latest: number | undefined;
  for (const span of decodeDataSpans(data)) {
    const start = span.startTimeMicros;
    if (start < b.startMin || start > b.startMax || span.durationMicros < b.durationMin || span.durationMicros > b.durationMax) continue;
    if (b.operation !== undefined && span.operationName !== b.operation) continue;
    if (latest !== undefined && start <= latest) continue;
    if (holdsTags(p.tags, (offer) => forEachSpanTag(span, offer), processTags)) latest = start;
  }
  return latest;
}

/**
 * The trace ids (32 hex digits) of matching spans, newest matching span first, each once; `visit` returns false to
 * stop the walk.
 *
 * Rows come newest first by their start. A single span's row matches at its start; a run row (span-schema.ts v7) at
 * its latest matching span's, which may be earlier than rows read after it: a trace waits until no row left can hold
 * a later match (rows are read by a start that is at least their spans').
 */
export function walkMatchingTraces(ctx: SearchContext, query: TraceQuery, visit: (traceId: string) => boolean): void {
  const p = plan(ctx, query);
  if (p === undefined) return;
  const seen = new Set<string>();
  /** Matched traces not visited yet, and their latest matching start. */
  const waiting = new Map<string, number>();
  /** Visits the waiting traces matched at `from` or later, latest first; false once `visit` says stop. */
  const release = (from: number): boolean => {
    if (waiting.size === 0) return true;
    const ready = [...waiting].filter(([, start]) => start >= from).sort((a, b) => b[1] - a[1]);
    for (const [traceId] of ready) {
      waiting.delete(traceId);
      seen.add(traceId);
      if (!visit(traceId)) return false;
    }
    return true;
  };
  // Data is read for a tag check, or for a run row's spans.
  const data = p.tags.length > 0 ? 's.data' : 'CASE WHEN s.n > 1 THEN s.data END';
  const rows = ctx.prepare(`SELECT s.trace_id, s.start_us, s.n, ${data}, s.process FROM ${p.from} WHERE ${p.where} ORDER BY s.start_us DESC`)
    .raw().iterate(...p.params) as IterableIterator<[Buffer, number, number, SpanData | null, number]>;
  const processes = new Map<number, Array<[string, string]>>();
  for (const [id, start, n, spanData, process] of rows) {
    if (!release(start)) return;
    const traceId = id.toString('hex');
    if (seen.has(traceId)) continue;
    const processTags = (): Array<[string, string]> => {
      let tags = processes.get(process);
      if (tags === undefined) processes.set(process, (tags = ctx.processTags(process)));
      return tags;
    };
    let matchedAt: number | undefined;
    try {
      if (n > 1) matchedAt = runMatch(p, spanData as Buffer, processTags);
      else if (p.tags.length === 0 || spanMatches(p.tags, spanData!, processTags)) matchedAt = start;
    } catch (err) {
      ctx.damaged(`span of trace ${traceId}`, err);
    }
    if (matchedAt === undefined) continue;
    const before = waiting.get(traceId);
    if (before === undefined || matchedAt > before) waiting.set(traceId, matchedAt);
  }
  release(Number.NEGATIVE_INFINITY);
}
