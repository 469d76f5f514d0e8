/**
 * What a log storage offers the query program's log API (the README's "Traces (collector) and the query API"): search
 * by container, app, service, target, trace and span, time range and text, newest first with paging, and reading what arrived after a
 * cursor (the live tail). The embedded store implements it (storage/sqlite/log-store.ts); an Elasticsearch reader can
 * implement it too.
 */

export interface LogQuery {
  /** Container name (without the leading '/') or full id. */
  container?: string;
  app?: string;
  service?: string;
  target?: string;
  /** The trace (32 lowercase hex digits) and span (16) a record names (the record's trace_id and span_id). */
  traceId?: string;
  spanId?: string;
  /** Inclusive bounds on the record's `@timestamp`, ms since the epoch. */
  startMs?: number;
  endMs?: number;
  /**
   * Free text: every word must occur in the record's text (full-text search); a word ending in `*` matches as a
   * prefix; a phrase in double quotes matches as a phrase.
   */
  text?: string;
  limit: number;
  offset?: number;
}

export interface LogHit {
  /**
   * Position in the storage, increasing with arrival; the tail's cursor. Opaque: letters, digits, `.`, `-`, `_`
   * (it travels as a server-sent event's id).
   */
  cursor: string;
  /** The record (the README's "Records"), one JSON object. */
  json: string;
}

/** Counts per bucket: bucket i holds the records of [startMs + i·intervalMs, startMs + (i+1)·intervalMs). */
export interface LogHistogram {
  /** The first bucket's start, a multiple of intervalMs (0 with no buckets). */
  startMs: number;
  intervalMs: number;
  counts: number[];
}

export interface LogReader {
  /** Matching records, newest `@timestamp` first. */
  search(query: LogQuery): Promise<LogHit[]>;
  /** How many records match, ignoring limit and offset. */
  count(query: Omit<LogQuery, 'limit' | 'offset'>): Promise<number>;
  /**
   * Records that arrived after `cursor` (all filters of `query` apply), oldest arrival first, at most `limit`;
   * `cursor` undefined means "from now": returns no records and the current cursor.
   */
  readAfter(query: Omit<LogQuery, 'offset'>, cursor: string | undefined): Promise<{ hits: LogHit[]; cursor: string }>;
  /**
   * Optional: the matching records newest first, skipping `query.offset`, at most `max` in all, a page at a time
   * (the download). A storage whose deep offsets are costly offers it; without it the download pages by offset.
   */
  scan?(query: Omit<LogQuery, 'limit'>, max: number): AsyncIterable<LogHit[]>;
  /**
   * How many records match per time bucket (the count-over-time histogram above a search): the same filters as
   * `count`, over [startMs, endMs] of the query (either missing: the oldest or newest matching record, and "now" when
   * only the start is given), in buckets of one width chosen by `histogramLayout` (storage/log-histogram.ts). The
   * counts add up to `count` of the same query.
   */
  histogram(query: Omit<LogQuery, 'limit' | 'offset'>, buckets: number): Promise<LogHistogram>;
  /** Optional: asks the backend whether it answers; the problem (naming the storage) or undefined. For /health. */
  probe?(): Promise<string | undefined>;
}
