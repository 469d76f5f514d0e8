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
  /** Optional: asks the backend whether it answers; the problem (naming the storage) or undefined. For /health. */
  probe?(): Promise<string | undefined>;
}
