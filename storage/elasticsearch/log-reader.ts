/**
 * The log API's `LogReader` over the pilot's Elasticsearch indices (`LOG_STORAGE_TYPE=elasticsearch`), answering as
 * the embedded store does for the same records; the query's rules and where they differ are in log-query-dsl.ts.
 *
 * - search: newest `@timestamp` first, `from`/`size` within the first MAX_RESULT_WINDOW matches (Elasticsearch's
 *   default `index.max_result_window`); a deeper page walks a point in time with `search_after` (correct, slower).
 * - scan (the download): pages of a point in time with `search_after`, so it streams past 10,000 records.
 * - readAfter (the live tail): "arrival" is each index's `_seq_no`, which a shard raises with every write. The
 *   cursor names, per index, the last sequence number delivered; a poll asks for higher ones (and every record of an
 *   index the cursor does not know: a new day's index), lowest first. That is exact for single-shard indices (the
 *   default since Elasticsearch 7, and what the pilot's indices get); an index of several shards has one sequence
 *   per shard and the cursor keeps their highest, so a lagging shard's records can be missed. A replayed record
 *   (same id, overwritten) arrives again.
 * - records are sent as Elasticsearch holds them (raw-sources.ts), never re-serialised.
 *
 * Every Elasticsearch failure becomes an error with its cause: SW_STORAGE_UNAVAILABLE (503) while Elasticsearch is
 * down, hanging (ES_TIMEOUT) or busy, SW_STORE_FAILED (500) otherwise; a tail ends.
 */
import { gunzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { Client, estypes } from '@elastic/elasticsearch';
import { swError } from '../../platform/errors.js';
import type { LogHistogram, LogHit, LogQuery, LogReader } from '../log-search.js';
import { denseHistogram, emptyHistogram, histogramLayout, histogramRange } from '../log-histogram.js';
import { logQueryDsl, NEWEST_FIRST } from './log-query-dsl.js';
import { rawSources } from './raw-sources.js';
import { isTransientStatus } from './bulk-response.js';
import { esProblem, esReadError, PROBE_TIMEOUT_MS } from './request-failure.js';

export interface EsLogReaderOptions {
  client: Client;
  /** Indices, patterns and `-exclusions` (QUERY_LOG_INDICES). */
  indices: readonly string[];
  /** Records per request of a point-in-time walk (default 1000). */
  pageSize?: number;
  /** The indices' `index.max_result_window` (default MAX_RESULT_WINDOW): deeper pages walk a point in time. */
  maxResultWindow?: number;
}

/** Elasticsearch's default `index.max_result_window`: `from + size` beyond it is refused. */
export const MAX_RESULT_WINDOW = 10_000;
const PIT_KEEP_ALIVE = '1m';
const CURSOR_PREFIX = 'e1.';
const TOLERANT = { ignore_unavailable: true, allow_no_indices: true } as const;

type Cursor = Map<string, number>;

/** The tail's cursor → its text (`e1.` + base64url JSON `{index: seqNo}`): letters, digits, `.`, `-`, `_`. Pure. */
export function encodeCursor(cursor: Cursor): string {
  return CURSOR_PREFIX + Buffer.from(JSON.stringify(Object.fromEntries(cursor))).toString('base64url');
}

/** A cursor's text → the cursor; undefined for anything this reader did not make. Pure, never throws. */
export function decodeCursor(text: string): Cursor | undefined {
  if (!text.startsWith(CURSOR_PREFIX)) return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(text.slice(CURSOR_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return undefined; // not ours (a client's made-up Last-Event-ID): the tail starts from now
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const out: Cursor = new Map();
  for (const [index, seq] of Object.entries(obj)) {
    if (!Number.isSafeInteger(seq) || (seq as number) < -1) return undefined;
    out.set(index, seq as number);
  }
  return out;
}

interface RawHits {
  hits: Array<estypes.SearchHit<unknown>>;
  sources: string[];
  pitId?: string;
}

export class EsLogReader implements LogReader {
  private readonly client: Client;
  private readonly index: string;
  private readonly pageSize: number;
  private readonly maxResultWindow: number;

  constructor(options: EsLogReaderOptions) {
    this.client = options.client;
    this.index = options.indices.join(',');
    this.pageSize = options.pageSize ?? 1000;
    this.maxResultWindow = options.maxResultWindow ?? MAX_RESULT_WINDOW;
  }

  async search(query: LogQuery): Promise<LogHit[]> {
    const offset = Math.max(0, query.offset ?? 0);
    const limit = Math.max(0, query.limit);
    if (limit === 0) return [];
    if (offset + limit <= this.maxResultWindow) {
      const r = await this.rawSearch({ index: this.index, ...TOLERANT, query: logQueryDsl(query), sort: NEWEST_FIRST, from: offset, size: limit, track_total_hits: false });
      return r.hits.map((h, i) => ({ cursor: cursorOfHit(h), json: r.sources[i]! }));
    }
    const out: LogHit[] = [];
    for await (const page of this.scan({ ...query, offset }, limit)) out.push(...page);
    return out;
  }

  /** For /health: whether Elasticsearch answers a count on the log indices within `timeoutMs`. */
  async probe(timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
    try {
      await this.client.count({ index: this.index, ...TOLERANT }, { requestTimeout: timeoutMs });
      return undefined;
    } catch (err) {
      return `elasticsearch: ${esProblem(err)}`;
    }
  }

  async count(query: Omit<LogQuery, 'limit' | 'offset'>): Promise<number> {
    try {
      const r = await this.client.count({ index: this.index, ...TOLERANT, query: logQueryDsl(query) });
      return r.count;
    } catch (err) {
      throw esReadError(`count on ${this.index}`, err);
    }
  }

  /**
   * The histogram as a `date_histogram` of fixed width on `@timestamp` (buckets at multiples of the width since the
   * epoch, as histogramLayout lays them out); an open range first asks the oldest and newest match (min / max).
   */
  async histogram(query: Omit<LogQuery, 'limit' | 'offset'>, buckets: number): Promise<LogHistogram> {
    let oldest: number | undefined;
    let newest: number | undefined;
    try {
      if (query.startMs === undefined || query.endMs === undefined) {
        const r = await this.client.search({
          index: this.index, ...TOLERANT, size: 0, track_total_hits: false, query: logQueryDsl(query),
          aggs: { oldest: { min: { field: '@timestamp' } }, newest: { max: { field: '@timestamp' } } },
        });
        const aggs = r.aggregations as Record<string, estypes.AggregationsMinAggregate> | undefined;
        oldest = aggs?.oldest?.value ?? undefined;
        newest = aggs?.newest?.value ?? undefined;
      }
      const range = histogramRange(query, oldest, newest, Date.now());
      if (range === undefined) return emptyHistogram();
      const layout = histogramLayout(range.startMs, range.endMs, buckets);
      const r = await this.client.search({
        index: this.index, ...TOLERANT, size: 0, track_total_hits: false, query: logQueryDsl({ ...query, ...range }),
        aggs: { counts: { date_histogram: { field: '@timestamp', fixed_interval: `${layout.intervalMs}ms`, min_doc_count: 1 } } },
      });
      const agg = r.aggregations?.counts as estypes.AggregationsDateHistogramAggregate | undefined;
      const list = Array.isArray(agg?.buckets) ? agg.buckets : Object.values(agg?.buckets ?? {});
      return denseHistogram(layout, list.map((b) => [Number(b.key), b.doc_count]));
    } catch (err) {
      throw esReadError(`histogram on ${this.index}`, err);
    }
  }

  /** The matching records newest first, skipping `query.offset`, at most `max` in all, a page at a time. */
  async *scan(query: Omit<LogQuery, 'limit'>, max: number): AsyncGenerator<LogHit[]> {
    let skip = Math.max(0, query.offset ?? 0);
    let left = max;
    if (left <= 0) return;
    let pitId: string;
    try {
      pitId = (await this.client.openPointInTime({ index: this.index, keep_alive: PIT_KEEP_ALIVE, ignore_unavailable: true })).id;
    } catch (err) {
      throw esReadError(`point in time on ${this.index}`, err);
    }
    try {
      let after: estypes.SortResults | undefined;
      while (left > 0) {
        const size = Math.min(this.maxResultWindow, skip > 0 ? skip : Math.min(this.pageSize, left));
        const r = await this.rawSearch({
          pit: { id: pitId, keep_alive: PIT_KEEP_ALIVE }, query: logQueryDsl(query), size, track_total_hits: false,
          ...(skip > 0 ? { _source: false } : {}),
          sort: [...NEWEST_FIRST, { _shard_doc: { order: 'desc' } }],
          ...(after ? { search_after: after } : {}),
        });
        if (r.pitId) pitId = r.pitId;
        if (r.hits.length === 0) return;
        after = r.hits[r.hits.length - 1]!.sort;
        if (skip > 0) {
          skip -= r.hits.length;
          continue;
        }
        left -= r.hits.length;
        yield r.hits.map((h, i) => ({ cursor: cursorOfHit(h), json: r.sources[i]! }));
      }
    } finally {
      await this.client.closePointInTime({ id: pitId }).catch((err: unknown) => {
        // It would expire by itself after PIT_KEEP_ALIVE, but a node that cannot close it is failing: say so.
        throw esReadError('closing a point in time', err);
      });
    }
  }

  async readAfter(query: Omit<LogQuery, 'offset'>, cursorText: string | undefined): Promise<{ hits: LogHit[]; cursor: string }> {
    const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
    if (cursor === undefined) return { hits: [], cursor: encodeCursor(await this.newestSeqNos()) };
    const known = [...cursor.keys()];
    const arrived: estypes.QueryDslQueryContainer = {
      bool: {
        should: [
          ...[...cursor].map(([index, seq]) => ({ bool: { filter: [{ term: { _index: index } }, { range: { _seq_no: { gt: seq } } }] } })),
          known.length > 0 ? { bool: { must_not: [{ terms: { _index: known } }] } } : { match_all: {} },
        ],
        minimum_should_match: 1,
      },
    };
    const r = await this.rawSearch({
      index: this.index, ...TOLERANT, query: { bool: { filter: [logQueryDsl(query), arrived] } },
      sort: [{ _seq_no: { order: 'asc' } }], size: Math.min(this.maxResultWindow, Math.max(1, query.limit)), seq_no_primary_term: true, track_total_hits: false,
    });
    // Sorted by _seq_no across indices, a page holds for each index a prefix of what it has after the cursor, so
    // moving each index's entry to its last hit skips nothing.
    const next = new Map(cursor);
    const hits = r.hits.map((h, i) => {
      if (h._seq_no !== undefined && h._seq_no !== null) next.set(h._index, Math.max(next.get(h._index) ?? -1, h._seq_no));
      return { cursor: encodeCursor(next), json: r.sources[i]! };
    });
    return { hits, cursor: hits.length > 0 ? hits[hits.length - 1]!.cursor : cursorText! };
  }

  /** Each matching index's highest sequence number now ("from now" for a tail). */
  private async newestSeqNos(): Promise<Cursor> {
    let stats: estypes.IndicesStatsResponse;
    try {
      stats = await this.client.indices.stats({ index: this.index, metric: 'docs', level: 'shards', ...TOLERANT });
    } catch (err) {
      throw esReadError(`statistics of ${this.index}`, err);
    }
    const out: Cursor = new Map();
    for (const [index, s] of Object.entries(stats.indices ?? {})) {
      let max = -1;
      for (const copies of Object.values(s.shards ?? {})) {
        for (const copy of Array.isArray(copies) ? copies : [copies]) {
          const seq = (copy as estypes.IndicesStatsShardStats).seq_no?.max_seq_no;
          if (typeof seq === 'number' && seq > max) max = seq;
        }
      }
      out.set(index, max);
    }
    return out;
  }

  /** A search whose hits' sources come back as the text Elasticsearch holds. */
  private async rawSearch(request: estypes.SearchRequest): Promise<RawHits> {
    let text: string;
    let status: number;
    try {
      const res = await this.client.search(request, { asStream: true, meta: true });
      status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      for await (const chunk of res.body as unknown as Readable) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
      const body = Buffer.concat(chunks);
      text = (/gzip|deflate/.test(String(res.headers?.['content-encoding'] ?? '')) ? gunzipSync(body) : body).toString('utf8');
    } catch (err) {
      throw esReadError(`search on ${this.index}`, err);
    }
    if (status >= 400) {
      throw swError(isTransientStatus(status) ? 'SW_STORAGE_UNAVAILABLE' : 'SW_STORE_FAILED', `Elasticsearch search on ${this.index} answered ${status}: ${text.slice(0, 500)}`);
    }
    let parsed: estypes.SearchResponse<unknown>;
    try {
      parsed = JSON.parse(text) as estypes.SearchResponse<unknown>;
    } catch (err) {
      throw swError('SW_STORE_FAILED', `Elasticsearch search on ${this.index} answered a body that is not JSON`, err);
    }
    const hits = parsed.hits?.hits ?? [];
    const raw = rawSources(text);
    // Should the slicing ever disagree with the parse, the parsed sources are still the records.
    const sources = Array.isArray(raw) && raw.length === hits.length ? raw : hits.map((h) => JSON.stringify(h._source ?? {}));
    return { hits, sources, ...(parsed.pit_id ? { pitId: parsed.pit_id } : {}) };
  }
}

/** A searched hit's position (the tail never resumes from one: its cursors come from readAfter). */
function cursorOfHit(hit: estypes.SearchHit<unknown>): string {
  return `${hit._index}/${hit._id ?? ''}`;
}
