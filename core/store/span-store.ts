/**
 * Span storage on the embedded store: `SpanWriter` and `SpanReader` over the tables of span-schema.ts.
 *
 * Writing: one transaction per batch (spans, their tag index rows, new services and operations). Searching: the
 * conditions of `TraceQuery` become one SQL statement over `spans` (tag conditions as `id IN (tag index lookup)`),
 * read newest first until `offset + numTraces` distinct traces are seen, so a search stops early instead of
 * aggregating the whole time range; then the spans of those traces are read by trace id.
 */
import type { Statement } from 'better-sqlite3';
import { parentSpanId, type Span } from '../model/span.js';
import type { DependencyLink, Operation, SpanReader, SpanWriter, TraceQuery } from '../span-storage.js';
import type { StoreDatabase } from './database.js';
import { decodeSpanRow, encodeSpanData, spanKindOf, tagValueString, type SpanRow } from './span-codec.js';
import { SPAN_MIGRATIONS } from './span-schema.js';
import { compileTagPattern, matchesTagPattern, type TagPattern } from './tag-pattern.js';

/** How often (µs of span time) the last-seen time of a known service / operation is refreshed. */
const LAST_SEEN_REFRESH_US = 3_600_000_000;
/** Trace ids per `IN (…)` when reading traces. */
const TRACE_IDS_PER_READ = 500;
const SPAN_COLUMNS = 'trace_id, span_id, service, operation, start_us, duration_us, data';

export class StoreSpanStorage implements SpanWriter, SpanReader {
  private readonly insertSpan: Statement;
  private readonly insertTag: Statement;
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
    db.function('sw_tag_match', { deterministic: true }, (pattern: unknown, value: unknown) =>
      matchesTagPattern(this.pattern(String(pattern)), String(value)) ? 1 : 0,
    );
    this.insertSpan = db.prepare(
      'INSERT INTO spans (trace_id, span_id, parent_id, service, operation, kind, start_us, duration_us, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertTag = db.prepare('INSERT OR IGNORE INTO span_tags (key, value, span) VALUES (?, ?, ?)');
    this.upsertService = db.prepare(
      'INSERT INTO services (name, last_seen_us) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET last_seen_us = max(last_seen_us, excluded.last_seen_us)',
    );
    this.upsertOperation = db.prepare(
      'INSERT INTO operations (service, name, kind, last_seen_us) VALUES (?, ?, ?, ?) ON CONFLICT(service, name, kind) DO UPDATE SET last_seen_us = max(last_seen_us, excluded.last_seen_us)',
    );
    this.byTrace = db.prepare(`SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_us, id`);
    this.writeBatch = db.transaction((spans: Span[]) => {
      for (const span of spans) this.writeOne(span);
    });
    store.addRetention({ name: 'spans', deleteOlderThan: (cutoffMs, maxRows) => this.deleteOlderThan(cutoffMs, maxRows) });
  }

  // ---- writer ----

  async writeSpans(spans: Span[]): Promise<void> {
    if (spans.length > 0) this.writeBatch(spans);
  }

  /** The database is shared and closed by its owner; closing the storage only forgets its statements. */
  async close(): Promise<void> {
    this.statements.clear();
  }

  private writeOne(span: Span): void {
    const service = span.process.serviceName;
    const kind = spanKindOf(span);
    const { lastInsertRowid } = this.insertSpan.run(
      span.traceId, span.spanId, parentSpanId(span) ?? null, service, span.operationName, kind,
      span.startTimeMicros, span.durationMicros, encodeSpanData(span),
    );
    const row = lastInsertRowid;
    for (const kv of span.tags) this.insertTag.run(kv.key, tagValueString(kv), row);
    for (const log of span.logs) for (const kv of log.fields) this.insertTag.run(kv.key, tagValueString(kv), row);
    for (const kv of span.process.tags) this.insertTag.run(kv.key, tagValueString(kv), row);
    if (this.isNew(service, span.startTimeMicros)) this.upsertService.run(service, span.startTimeMicros);
    if (this.isNew(`${service}\0${span.operationName}\0${kind}`, span.startTimeMicros)) {
      this.upsertOperation.run(service, span.operationName, kind, span.startTimeMicros);
    }
  }

  private isNew(key: string, startUs: number): boolean {
    const last = this.seen.get(key);
    if (last !== undefined && startUs < last + LAST_SEEN_REFRESH_US) return false;
    this.seen.set(key, startUs);
    return true;
  }

  private deleteOlderThan(cutoffMs: number, maxRows: number): number {
    const cutoffUs = cutoffMs * 1000;
    const ids = this.stmt('SELECT id FROM spans WHERE start_us < ? ORDER BY start_us LIMIT ?').pluck().all(cutoffUs, maxRows) as number[];
    if (ids.length > 0) {
      const del = this.stmt('DELETE FROM span_tags WHERE span = ?');
      const delSpan = this.stmt('DELETE FROM spans WHERE id = ?');
      for (const id of ids) {
        del.run(id);
        delSpan.run(id);
      }
    }
    if (ids.length < maxRows) {
      this.stmt('DELETE FROM services WHERE last_seen_us < ?').run(cutoffUs);
      this.stmt('DELETE FROM operations WHERE last_seen_us < ?').run(cutoffUs);
      this.seen.clear();
    }
    return ids.length;
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
      const rows = this.stmt(`SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id IN (${chunk.map(() => '?').join(',')}) ORDER BY start_us, id`).all(...chunk) as SpanRow[];
      for (const row of rows) byId.get(row.trace_id)!.push(decodeSpanRow(row));
    }
    return ids.map((id) => byId.get(id)!);
  }

  async countTraces(query: TraceQuery): Promise<number> {
    const { where, params } = this.conditions(query);
    return this.stmt(`SELECT COUNT(DISTINCT trace_id) FROM spans s WHERE ${where}`).pluck().get(...params) as number;
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
    const { where, params } = this.conditions(query);
    const seen = new Set<string>();
    const stmt = this.stmt(`SELECT trace_id FROM spans s WHERE ${where} ORDER BY start_us DESC`).pluck();
    for (const traceId of stmt.iterate(...params) as IterableIterator<string>) {
      seen.add(traceId);
      if (seen.size >= wanted) break;
    }
    return [...seen].slice(offset);
  }

  private conditions(query: TraceQuery): { where: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (query.serviceName) {
      clauses.push('s.service = ?');
      params.push(query.serviceName);
    }
    if (query.operationName) {
      clauses.push('s.operation = ?');
      params.push(query.operationName);
    }
    const range = (column: string, min: number | undefined, max: number | undefined): void => {
      if (min !== undefined && min > 0) {
        clauses.push(`s.${column} >= ?`);
        params.push(Math.floor(min));
      }
      if (max !== undefined && max > 0) {
        clauses.push(`s.${column} <= ?`);
        params.push(Math.floor(max));
      }
    };
    range('start_us', query.startTimeMinMicros, query.startTimeMaxMicros);
    range('duration_us', query.durationMinMicros, query.durationMaxMicros);
    for (const [key, value] of Object.entries(query.tags ?? {})) {
      const pattern = this.pattern(value);
      if (pattern.kind === 'exact') {
        clauses.push('s.id IN (SELECT span FROM span_tags WHERE key = ? AND value = ?)');
        params.push(key, pattern.value);
      } else {
        clauses.push('s.id IN (SELECT span FROM span_tags WHERE key = ? AND sw_tag_match(?, value))');
        params.push(key, value);
      }
    }
    return { where: clauses.length > 0 ? clauses.join(' AND ') : '1', params };
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
