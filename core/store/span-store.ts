/**
 * Span storage on the embedded store: `SpanWriter` and `SpanReader` over the tables of span-schema.ts.
 *
 * Writing: one transaction per batch (spans, their tag index rows, new processes, services and operations).
 * Searching: span-search.ts turns the `TraceQuery` into one condition over `spans`, read newest first until
 * `offset + numTraces` distinct traces are seen, so a search stops early instead of aggregating the whole time
 * range; then the spans of those traces are read by trace id.
 */
import type { Statement } from 'better-sqlite3';
import { describe, swError } from '../errors.js';
import { parentSpanId, type Span } from '../model/span.js';
import type { DependencyLink, Operation, SpanReader, SpanWriter, TraceQuery } from '../span-storage.js';
import type { StoreDatabase } from './database.js';
import {
  decodeKvs, decodeSpanRow, encodeProcessTags, encodeSpanData, spanKindOf, spanTagPairs, tagValueString, type EncodedKv, type SpanRow,
} from './span-codec.js';
import { SPAN_MIGRATIONS } from './span-schema.js';
import { buildSearchSql } from './span-search.js';
import { compileTagPattern, matchesTagPattern, type TagPattern } from './tag-pattern.js';

/** How often (µs of span time) the last-seen time of a known service / operation is refreshed. */
const LAST_SEEN_REFRESH_US = 3_600_000_000;
/** Trace ids per `IN (…)` when reading traces. */
const TRACE_IDS_PER_READ = 500;
const TAGS_PER_INSERT = 32;
const SPAN_COLUMNS = 's.trace_id, s.span_id, s.service, s.operation, s.start_us, s.duration_us, s.data, p.tags AS ptags';
const FROM_SPANS = 'spans s JOIN processes p ON p.id = s.process';

export class StoreSpanStorage implements SpanWriter, SpanReader {
  private readonly insertSpan: Statement;
  private readonly insertTagStatements: Statement[] = [];
  private readonly insertProcess: Statement;
  private readonly insertProcessTag: Statement;
  private readonly touchProcess: Statement;
  /** service + encoded tags → process id and the last-seen µs written. */
  private readonly processIds = new Map<string, { id: number; lastSeenUs: number }>();
  private readonly upsertService: Statement;
  private readonly upsertOperation: Statement;
  private readonly byTrace: Statement;
  private readonly statements = new Map<string, Statement>();
  private readonly patterns = new Map<string, TagPattern>();
  /** service / service\0operation\0kind → last-seen µs written to the tables. */
  private readonly seen = new Map<string, number>();
  private readonly writeBatch: (spans: Span[]) => void;

  constructor(private readonly store: StoreDatabase) {
    store.migrate('spans', SPAN_MIGRATIONS);
    const db = store.db;
    // A regular expression over a key with too many values to list is tested on each candidate span's own data.
    db.function('sw_span_tag_match', { deterministic: true }, (data: unknown, key: unknown, pattern: unknown) => {
      const e = JSON.parse(String(data)) as { t?: EncodedKv[]; l?: Array<[number, EncodedKv[]]> };
      const p = this.pattern(String(pattern));
      const kvs = [...decodeKvs(e.t), ...(e.l ?? []).flatMap(([, f]) => decodeKvs(f))];
      return kvs.some((kv) => kv.key === key && matchesTagPattern(p, tagValueString(kv))) ? 1 : 0;
    });
    this.insertSpan = db.prepare(
      'INSERT INTO spans (trace_id, span_id, parent_id, process, service, operation, kind, start_us, duration_us, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertProcess = db.prepare(
      `INSERT INTO processes (service, tags, last_seen_us) VALUES (?, ?, ?)
       ON CONFLICT(service, tags) DO UPDATE SET last_seen_us = max(last_seen_us, excluded.last_seen_us) RETURNING id`,
    );
    this.insertProcessTag = db.prepare('INSERT OR IGNORE INTO process_tags (key, value, process) VALUES (?, ?, ?)');
    this.touchProcess = db.prepare('UPDATE processes SET last_seen_us = max(last_seen_us, ?) WHERE id = ?');
    this.upsertService = db.prepare(
      'INSERT INTO services (name, last_seen_us) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET last_seen_us = max(last_seen_us, excluded.last_seen_us)',
    );
    this.upsertOperation = db.prepare(
      'INSERT INTO operations (service, name, kind, last_seen_us) VALUES (?, ?, ?, ?) ON CONFLICT(service, name, kind) DO UPDATE SET last_seen_us = max(last_seen_us, excluded.last_seen_us)',
    );
    this.byTrace = db.prepare(`SELECT ${SPAN_COLUMNS} FROM ${FROM_SPANS} WHERE s.trace_id = ? ORDER BY s.start_us, s.id`);
    this.writeBatch = db.transaction((spans: Span[]) => {
      for (const span of spans) this.writeOne(span);
    });
    store.addRetention({ name: 'spans', deleteOlderThan: (cutoffMs, maxRows) => this.deleteOlderThan(cutoffMs, maxRows) });
  }

  // ---- writer ----

  async writeSpans(spans: Span[]): Promise<void> {
    if (spans.length === 0) return;
    try {
      this.writeBatch(spans);
    } catch (err) {
      // The batch rolled back: forget what the caches learnt during it (process ids, last-seen times).
      this.processIds.clear();
      this.seen.clear();
      throw swError('SW_STORE_FAILED', `writing ${spans.length} spans: ${describe(err)}`, err);
    }
  }

  /** The database is shared and closed by its owner; closing the storage only forgets its statements. */
  async close(): Promise<void> {
    this.statements.clear();
  }

  private writeOne(span: Span): void {
    const service = span.process.serviceName;
    const kind = spanKindOf(span);
    const { lastInsertRowid } = this.insertSpan.run(
      span.traceId, span.spanId, parentSpanId(span) ?? null, this.processId(span), service, span.operationName, kind,
      span.startTimeMicros, span.durationMicros, encodeSpanData(span),
    );
    this.insertTags(spanTagPairs(span.tags, span.logs), lastInsertRowid);
    if (this.isNew(service, span.startTimeMicros)) this.upsertService.run(service, span.startTimeMicros);
    if (this.isNew(`${service}\0${span.operationName}\0${kind}`, span.startTimeMicros)) {
      this.upsertOperation.run(service, span.operationName, kind, span.startTimeMicros);
    }
  }

  /**
   * A span's tag rows in one statement per up to 32 rows: one call across to SQLite instead of one per tag
   * (bench/query.bench.ts: about +15% spans per CPU-second).
   */
  private insertTags(pairs: Array<[string, string]>, span: number | bigint): void {
    for (let at = 0; at < pairs.length; at += TAGS_PER_INSERT) {
      const chunk = pairs.slice(at, at + TAGS_PER_INSERT);
      let stmt = this.insertTagStatements[chunk.length];
      if (!stmt) {
        stmt = this.store.db.prepare(`INSERT OR IGNORE INTO span_tags (key, value, span) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`);
        this.insertTagStatements[chunk.length] = stmt;
      }
      const params: unknown[] = [];
      for (const [key, value] of chunk) params.push(key, value, span);
      stmt.run(...params);
    }
  }

  /** The span's process row, created (with its tag index rows) the first time the process is seen. */
  private processId(span: Span): number {
    const tags = encodeProcessTags(span.process.tags);
    const cacheKey = `${span.process.serviceName}\0${tags}`;
    const known = this.processIds.get(cacheKey);
    if (known) {
      if (span.startTimeMicros >= known.lastSeenUs + LAST_SEEN_REFRESH_US) {
        this.touchProcess.run(span.startTimeMicros, known.id);
        known.lastSeenUs = span.startTimeMicros;
      }
      return known.id;
    }
    const id = (this.insertProcess.get(span.process.serviceName, tags, span.startTimeMicros) as { id: number }).id;
    for (const kv of span.process.tags) this.insertProcessTag.run(kv.key, tagValueString(kv), id);
    this.processIds.set(cacheKey, { id, lastSeenUs: span.startTimeMicros });
    return id;
  }

  private isNew(key: string, startUs: number): boolean {
    const last = this.seen.get(key);
    if (last !== undefined && startUs < last + LAST_SEEN_REFRESH_US) return false;
    this.seen.set(key, startUs);
    return true;
  }

  private deleteOlderThan(cutoffMs: number, maxRows: number): number {
    const cutoffUs = cutoffMs * 1000;
    const rows = this.stmt('SELECT id, data FROM spans WHERE start_us < ? ORDER BY start_us LIMIT ?').all(cutoffUs, maxRows) as Array<{ id: number; data: string }>;
    const delTag = this.stmt('DELETE FROM span_tags WHERE key = ? AND value = ? AND span = ?');
    const delSpan = this.stmt('DELETE FROM spans WHERE id = ?');
    for (const row of rows) {
      const e = JSON.parse(row.data) as { t?: EncodedKv[]; l?: Array<[number, EncodedKv[]]> };
      const logs = (e.l ?? []).map(([timestampMicros, f]) => ({ timestampMicros, fields: decodeKvs(f) }));
      for (const [key, value] of spanTagPairs(decodeKvs(e.t), logs)) delTag.run(key, value, row.id);
      delSpan.run(row.id);
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
      this.seen.clear();
      this.processIds.clear();
    }
    return rows.length;
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
    return (this.byTrace.all(traceId) as SpanRow[]).map(decodeSpanRow);
  }

  async findTraces(query: TraceQuery): Promise<Span[][]> {
    const ids = this.findTraceIds(query);
    const byId = new Map<string, Span[]>(ids.map((id) => [id, []]));
    for (let i = 0; i < ids.length; i += TRACE_IDS_PER_READ) {
      const chunk = ids.slice(i, i + TRACE_IDS_PER_READ);
      const rows = this.stmt(`SELECT ${SPAN_COLUMNS} FROM ${FROM_SPANS} WHERE s.trace_id IN (${chunk.map(() => '?').join(',')}) ORDER BY s.start_us, s.id`).all(...chunk) as SpanRow[];
      for (const row of rows) byId.get(row.trace_id)!.push(decodeSpanRow(row));
    }
    return ids.map((id) => byId.get(id)!);
  }

  async countTraces(query: TraceQuery): Promise<number> {
    const { where, params } = buildSearchSql((sql) => this.stmt(sql), query, (v) => this.pattern(v));
    return this.stmt(`SELECT COUNT(DISTINCT s.trace_id) FROM spans s WHERE ${where}`).pluck().get(...params) as number;
  }

  async getDependencies(endTimeMs: number, lookbackMs: number): Promise<DependencyLink[]> {
    const rows = this.stmt(
      `SELECT p.service AS parent, c.service AS child, COUNT(*) AS callCount
       FROM spans c JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_id
       WHERE c.start_us >= ? AND c.start_us <= ? AND c.parent_id IS NOT NULL AND p.service <> c.service
       GROUP BY p.service, c.service ORDER BY p.service, c.service`,
    ).all((endTimeMs - lookbackMs) * 1000, endTimeMs * 1000) as DependencyLink[];
    return rows;
  }

  /** Trace ids of the matching traces, newest matching span first, after `offset`, at most `numTraces`. */
  findTraceIds(query: TraceQuery): string[] {
    const offset = Math.max(0, query.offset ?? 0);
    const wanted = offset + Math.max(0, query.numTraces);
    if (query.numTraces <= 0) return [];
    const { where, params } = buildSearchSql((sql) => this.stmt(sql), query, (v) => this.pattern(v));
    const seen = new Set<string>();
    const stmt = this.stmt(`SELECT s.trace_id FROM spans s WHERE ${where} ORDER BY s.start_us DESC`).pluck();
    for (const traceId of stmt.iterate(...params) as IterableIterator<string>) {
      seen.add(traceId);
      if (seen.size >= wanted) break;
    }
    return [...seen].slice(offset);
  }

  private pattern(value: string): TagPattern {
    let p = this.patterns.get(value);
    if (!p) {
      if (this.patterns.size > 1000) this.patterns.clear();
      p = compileTagPattern(value);
      this.patterns.set(value, p);
    }
    return p;
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
