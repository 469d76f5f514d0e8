/**
 * Span storage on the embedded store: `SpanWriter` and `SpanReader` over the tables of span-schema.ts.
 *
 * Writing: one transaction per batch (span-write.ts). Searching: span-search.ts walks the matching spans newest
 * first and stops once `offset + numTraces` traces are found; then the spans of those traces are read by trace id.
 */
import type { Statement } from 'better-sqlite3';
import { describe, swError } from '../../platform/errors.js';
import { chunkSize, type Process, type Span, type SpanChunk } from '../../model/span.js';
import type { DependencyLink, Operation, SpanMetricSample, SpanMetricsQuery, SpanReader, SpanWriter, TraceQuery } from '../span-storage.js';
import type { StoreDatabase } from './database.js';
import { decodeKvs, decodeSpans, forEachDataTag, type EncodedKv, type SpanData } from './span-codec.js';
import { SPAN_MIGRATIONS } from './span-schema.js';
import { countMatchingTraces, matchingTraceIds, searchContextOn, type SearchContext } from './span-search.js';
import { dependencyLinks } from './span-dependencies.js';
import { spanMetricSamples } from './span-metric-samples.js';
import { LAST_SEEN_REFRESH_US, SpanRowWriter, tagEpoch, traceEpoch } from './span-write.js';
import { tagHash } from '../../model/tag-hash.js';

/** Trace ids per `IN (…)` when reading traces. */
export const TRACE_IDS_PER_READ = 500;
/**
 * Trace ids per read of a search's result, one turn of the event loop each: 500 traces of 5 spans took ≈ 65 ms to
 * read and decode, 170 ms with the reader threads busy on the same two CPUs.
 */
const FOUND_TRACES_PER_READ = 100;
const SPAN_COLUMNS = 's.trace_id, s.span_id, s.operation, s.start_us, s.duration_us, s.data, s.process, s.service, s.parent_id, s.n, s.id';
/**
 * The trace index's epochs (`e.x`), oldest to newest: its rows are keyed epoch first (span-schema.ts v4), so a trace
 * is looked up with one seek per epoch.
 */
export const TRACE_EPOCHS = 'WITH RECURSIVE e(x) AS (SELECT min(epoch) FROM trace_spans UNION ALL SELECT x + 1 FROM e WHERE x < (SELECT max(epoch) FROM trace_spans))';
/** Spans by trace id (`t.trace_id`, compared by the caller): the id ranges `trace_spans` holds for it, epoch by epoch. */
export const BY_TRACE = 'e CROSS JOIN trace_spans t ON t.epoch = e.x CROSS JOIN spans s ON s.id >= t.first AND s.id < t.first + t.spans';

type SpanRow = [Buffer, string, number, number, number, SpanData, number, number, string | null, number, number];

/** At most one warning about unreadable span rows per this many ms; the others are counted into it. */
const DAMAGE_WARNING_INTERVAL_MS = 60_000;

export class StoreSpanStorage implements SpanWriter, SpanReader {
  private readonly writer: SpanRowWriter;
  private readonly byTrace: Statement;
  private readonly statements = new Map<string, Statement>();
  /** span_names id → name; names never change once written. */
  private readonly names = new Map<number, string>();
  private readonly writeBatch: (chunks: readonly SpanChunk[]) => void;
  private readonly search: SearchContext;
  /** Unreadable rows met since the last warning about them, and when that was. */
  private damagedRows = 0;
  private damageWarnedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly store: StoreDatabase) {
    store.migrate('spans', SPAN_MIGRATIONS);
    const db = store.db;
    this.writer = new SpanRowWriter(db);
    this.byTrace = db.prepare(`${TRACE_EPOCHS} SELECT ${SPAN_COLUMNS} FROM ${BY_TRACE} WHERE t.trace_id = ? ORDER BY s.start_us, s.id`).raw();
    // IMMEDIATE: the write lock is taken before the writer reads the last span id it numbers the batch from.
    const batch = db.transaction((chunks: readonly SpanChunk[]) => this.writer.write(chunks));
    this.writeBatch = (chunks) => batch.immediate(chunks);
    store.addRetention({ name: 'spans', deleteOlderThan: (cutoffMs, maxRows) => this.deleteOlderThan(cutoffMs, maxRows) });
    this.search = searchContextOn((sql) => this.stmt(sql), (what, err) => this.damaged(what, describe(err)));
  }

  // ---- writer ----

  async writeSpans(spans: Span[]): Promise<void> {
    return this.writeChunks([spans]);
  }

  /** Spans as receivers handed them over; a Jaeger compact datagram's are written from its bytes (span-write.ts). */
  async writeChunks(chunks: readonly SpanChunk[]): Promise<void> {
    const n = chunks.reduce((sum, c) => sum + chunkSize(c), 0);
    if (n === 0) return;
    try {
      this.writeBatch(chunks);
    } catch (err) {
      // The batch rolled back: forget what the caches learnt during it (name and process ids, last-seen times).
      this.writer.forget();
      throw swError('SW_STORE_FAILED', `writing ${n} spans: ${describe(err)}`, err);
    }
  }

  /** The database is shared and closed by its owner; closing the storage only forgets its statements. */
  async close(): Promise<void> {
    this.statements.clear();
  }

  /**
   * Deletes spans older than the cutoff and, for each group they belonged to, the tag index rows no remaining span of
   * the group still needs (and the group once it has no span left).
   */
  private deleteOlderThan(cutoffMs: number, maxRows: number): number {
    const cutoffUs = cutoffMs * 1000;
    // A run row's start is its latest span's (span-schema.ts v7): it goes once all its spans are past the cutoff.
    const rows = this.stmt('SELECT id, grp, data, trace_id, n FROM spans WHERE start_us < ? ORDER BY start_us LIMIT ?').raw().all(cutoffUs, maxRows) as Array<[number, number, SpanData, Buffer, number]>;
    const delSpan = this.stmt('DELETE FROM spans WHERE id = ?');
    const groups = new Map<number, Set<number>>();
    const ranges = new Map<string, { trace: Buffer; first: number; spans: number }>();
    const rangeIn = this.stmt('SELECT first, spans FROM trace_spans WHERE epoch = ? AND trace_id = ? AND first <= ? ORDER BY first DESC LIMIT 1');
    const oldestEpoch = (this.stmt('SELECT min(epoch) FROM trace_spans').pluck().get() as number | null) ?? 0;
    // The range holding span `id` starts at or before it: in its epoch, or (a batch crossing an epoch) one before.
    const rangeOf = (trace: Buffer, id: number): { first: number; spans: number } | undefined => {
      for (let epoch = traceEpoch(id); epoch >= oldestEpoch; epoch--) {
        const range = rangeIn.get(epoch, trace, id) as { first: number; spans: number } | undefined;
        if (range) return range;
      }
      return undefined;
    };
    // A row whose data cannot be read has tags nobody can name: its group's index rows all go once the group is empty
    // (the rest of the time a search cannot match such a row anyway).
    const unreadable = new Set<number>();
    const hashesOf = (data: SpanData, into: Set<number>, grp: number): void => {
      try {
        forEachDataTag(data, (k, v) => into.add(tagHash(k, v)));
      } catch (err) {
        unreadable.add(grp);
        this.damaged(`a span of group ${grp}`, describe(err));
      }
    };
    let spans = 0;
    for (const [id, grp, data, trace, n] of rows) {
      spans += n;
      let tags = groups.get(grp);
      if (!tags) groups.set(grp, (tags = new Set()));
      hashesOf(data, tags, grp);
      const range = rangeOf(trace, id);
      if (range) ranges.set(`${trace.toString('hex')}/${range.first}`, { trace, ...range });
      delSpan.run(id);
    }
    const anyLeft = this.stmt('SELECT 1 FROM spans WHERE id >= ? AND id < ? LIMIT 1').pluck();
    const delRange = this.stmt('DELETE FROM trace_spans WHERE epoch = ? AND trace_id = ? AND first = ?');
    for (const r of ranges.values()) if (anyLeft.get(r.first, r.first + r.spans) === undefined) delRange.run(traceEpoch(r.first), r.trace, r.first);
    const size = this.stmt('SELECT spans FROM span_groups WHERE grp = ?').pluck();
    // The group's other spans: a tag goes from the index only when none of them holds it.
    const remaining = this.stmt('SELECT data FROM spans WHERE id >= ? AND id < ? AND grp = ?').pluck();
    const delTag = this.stmt('DELETE FROM group_tags WHERE epoch = ? AND tag = ? AND grp = ?');
    const delGroup = this.stmt('DELETE FROM span_groups WHERE grp = ?');
    const delGroupTags = this.stmt('DELETE FROM group_tags WHERE epoch = ? AND grp = ?');
    for (const [grp, tags] of groups) {
      const n = (size.get(grp) as number | undefined) ?? 0;
      const kept = new Set<number>();
      const left = remaining.all(grp, grp + n, grp) as SpanData[];
      for (const data of left) hashesOf(data, kept, grp);
      for (const tag of tags) if (!kept.has(tag)) delTag.run(tagEpoch(grp), tag, grp);
      if (left.length === 0) {
        if (unreadable.has(grp)) delGroupTags.run(tagEpoch(grp), grp);
        delGroup.run(grp);
      }
    }
    if (rows.length < maxRows) {
      // No span older than the cutoff is left. A service, operation or process last seen (refreshed hourly) an hour
      // before the cutoff has no span left either: drop it.
      const goneUs = cutoffUs - LAST_SEEN_REFRESH_US;
      this.stmt('DELETE FROM services WHERE last_seen_us < ?').run(goneUs);
      this.stmt('DELETE FROM operations WHERE last_seen_us < ?').run(goneUs);
      for (const id of this.stmt('SELECT id FROM processes WHERE last_seen_us < ?').pluck().all(goneUs) as number[]) {
        this.stmt('DELETE FROM process_tags WHERE process = ?').run(id);
        this.stmt('DELETE FROM processes WHERE id = ?').run(id);
      }
      this.writer.forgetLastSeen();
    }
    return spans;
  }

  // ---- reader ----

  async getServices(): Promise<string[]> {
    return this.stmt('SELECT name FROM services ORDER BY name').pluck().all() as string[];
  }

  async getOperations(query: { serviceName: string; spanKind?: string }): Promise<Operation[]> {
    const rows = (query.spanKind
      ? this.stmt('SELECT name, kind FROM operations WHERE service = ? AND kind = ? ORDER BY name, kind').all(query.serviceName, query.spanKind)
      : this.stmt('SELECT name, kind FROM operations WHERE service = ? ORDER BY name, kind').all(query.serviceName)) as Array<{ name: string; kind: string }>;
    return rows.map((r) => ({ name: r.name, spanKind: r.kind }));
  }

  async getTrace(traceId: string): Promise<Span[]> {
    if (!/^[0-9a-f]{32}$/.test(traceId)) return [];
    return this.decodeRows(this.byTrace.all(Buffer.from(traceId, 'hex')) as SpanRow[], new Map());
  }

  async findTraces(query: TraceQuery): Promise<Span[][]> {
    const ids = await this.findTraceIds(query);
    const byId = new Map<string, Span[]>(ids.map((id) => [id, []]));
    const processes = new Map<number, Process>();
    for (let i = 0; i < ids.length; i += FOUND_TRACES_PER_READ) {
      // A turn of the event loop between reads: a large limit reads and decodes many traces.
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const chunk = ids.slice(i, i + FOUND_TRACES_PER_READ);
      const rows = this.stmt(`${TRACE_EPOCHS} SELECT ${SPAN_COLUMNS} FROM ${BY_TRACE} WHERE t.trace_id IN (${chunk.map(() => '?').join(',')}) ORDER BY s.start_us, s.id`)
        .raw().all(...chunk.map((id) => Buffer.from(id, 'hex'))) as SpanRow[];
      for (const span of this.decodeRows(rows, processes)) byId.get(span.traceId)!.push(span);
    }
    return ids.map((id) => byId.get(id)!);
  }

  /** On a reader thread of the store (off the event loop): a search walks as many spans as the query needs. */
  async countTraces(query: TraceQuery): Promise<number> {
    if (this.store.path === ':memory:') return countMatchingTraces(this.search, query);
    return this.fromReader(await this.store.readJob({ kind: 'countTraces', query })) as number;
  }

  /**
   * Parent → child service calls of the spans started in the window (span-dependencies.ts), on a reader thread of
   * the store: a long window reads every span in it.
   */
  async getDependencies(endTimeMs: number, lookbackMs: number): Promise<DependencyLink[]> {
    if (this.store.path === ':memory:') {
      return dependencyLinks((sql) => this.stmt(sql), endTimeMs, lookbackMs, (what, err) => this.damaged(what, describe(err)));
    }
    return this.fromReader(await this.store.readJob({ kind: 'dependencies', endTimeMs, lookbackMs })) as DependencyLink[];
  }

  /** The spans the Monitor tab counts (span-metric-samples.ts), on a reader thread of the store like the dependencies. */
  async spanMetricSamples(query: SpanMetricsQuery): Promise<SpanMetricSample[]> {
    if (this.store.path === ':memory:') return spanMetricSamples((sql) => this.stmt(sql), query, (what, err) => this.damaged(what, describe(err)));
    return this.fromReader(await this.store.readJob({ kind: 'spanMetricSamples', query })) as SpanMetricSample[];
  }

  /** Trace ids of the matching traces, newest matching span first, after `offset`, at most `numTraces`; as countTraces. */
  async findTraceIds(query: TraceQuery): Promise<string[]> {
    if (this.store.path === ':memory:') return matchingTraceIds(this.search, query);
    return this.fromReader(await this.store.readJob({ kind: 'traceIds', query })) as string[];
  }

  private fromReader(answer: { result: unknown; damaged?: Array<[string, string]> }): unknown {
    for (const [what, reason] of answer.damaged ?? []) this.damaged(what, reason);
    return answer.result;
  }

  /**
   * Spans of rows; processes shared by the spans of one read (a fresh object per read: callers may adjust spans).
   * A row whose data cannot be read (damaged on disk, or written by a faulty release) still reads as a span from its
   * columns — ids, parent, names, times, process — with a warning saying so, rather than failing the whole trace.
   * The rows come by start, then id; a run row's spans (span-schema.ts v7) are put in that order among the others.
   */
  private decodeRows(rows: SpanRow[], processes: Map<number, Process>): Span[] {
    const out: Span[] = [];
    /** Span id (row id + place in its run) of each span of `out`. */
    const ids: number[] = [];
    let runs = false;
    for (const [traceId, spanId, operation, startUs, durationUs, data, processId, service, parentId, n, rowId] of rows) {
      let process = processes.get(processId);
      if (process === undefined) {
        const row = this.stmt('SELECT service, tags FROM processes WHERE id = ?').get(processId) as { service: string; tags: string } | undefined;
        process = row ? this.readProcess(row.service, row.tags) : undefined;
        if (process === undefined) {
          this.damaged(`process ${processId}`, 'its row is missing or unreadable');
          process = { serviceName: this.name(service), tags: [] };
        }
        processes.set(processId, process);
      }
      const columns = { traceId: traceId.toString('hex'), spanId, operationName: this.name(operation), startTimeMicros: startUs, durationMicros: durationUs, data, process };
      let spans: Span[];
      try {
        spans = decodeSpans(columns);
      } catch (err) {
        const reason = describe(err);
        this.damaged(`span ${columns.traceId}/${spanId}`, reason);
        const lost = n > 1 ? `this span and the ${n - 1} stored with it are unreadable (${reason}): their` : `the stored data of this span is unreadable (${reason}): its`;
        spans = [{
          traceId: columns.traceId, spanId, operationName: columns.operationName, flags: 0, startTimeMicros: startUs, durationMicros: durationUs,
          references: parentId === null ? [] : [{ refType: 'CHILD_OF', traceId: columns.traceId, spanId: parentId }],
          tags: [], logs: [], process, warnings: [`${lost} tags, logs and references are lost`],
        }];
      }
      if (n > 1) runs = true;
      for (let i = 0; i < spans.length; i++) {
        out.push(spans[i]!);
        ids.push(rowId + i);
      }
    }
    if (!runs) return out;
    const order = out.map((_, i) => i).sort((a, b) => out[a]!.startTimeMicros - out[b]!.startTimeMicros || ids[a]! - ids[b]!);
    return order.map((i) => out[i]!);
  }

  private readProcess(service: string, tags: string): Process | undefined {
    try {
      return { serviceName: service, tags: decodeKvs(JSON.parse(tags) as EncodedKv[]) };
    } catch {
      return undefined;
    }
  }

  /** Reports a row that cannot be read: a warning at most every `DAMAGE_WARNING_INTERVAL_MS`, with how many since. */
  private damaged(what: string, reason: string): void {
    this.damagedRows++;
    const now = Date.now();
    if (now - this.damageWarnedAt < DAMAGE_WARNING_INTERVAL_MS) return;
    this.store.log.warn('span store rows are unreadable; read as far as their columns go', { row: what, reason, rows: this.damagedRows });
    this.damageWarnedAt = now;
    this.damagedRows = 0;
  }

  private name(id: number): string {
    let name = this.names.get(id);
    if (name === undefined) {
      name = (this.stmt('SELECT name FROM span_names WHERE id = ?').pluck().get(id) as string | undefined) ?? '';
      this.names.set(id, name);
    }
    return name;
  }

  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      if (this.statements.size > 500) this.statements.clear();
      s = this.store.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
