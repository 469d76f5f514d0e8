/**
 * Logs in the embedded store: the pilot's `store` output (`LogSink`) and the log API's `LogReader`.
 *
 * `logs` holds one row per record: the searchable columns (the trace and span it names among them) and the record's JSON as the pilot built it. The
 * record's deterministic id is unique, so a replay after a crash does not duplicate. `logs_fts` is a contentless
 * FTS5 index of the text (the text is not stored twice), its rowid the row's id. One transaction per batch.
 *
 * Searches, counts and tail reads run on the store's reader threads (`StoreDatabase.read`), off the event loop: one
 * over the whole store has no bound on what it reads.
 *
 * The index's automatic merges are off (they ran inside the commit of a write or a retention batch and held the
 * event loop); after writes and deletes, `merge` commands of a few pages each, one per turn of the event loop, merge
 * its segments until FTS5 reports nothing left to merge (levels of fewer than 4 segments).
 */
import type { LogHistogram, LogHit, LogQuery, LogReader } from '../log-search.js';
import { denseHistogram, emptyHistogram, histogramLayout, histogramRange } from '../log-histogram.js';
import type { LogEvent, LogSink } from '../../model/log-record.js';
import { swError } from '../../platform/errors.js';
import type { Runtime } from '../../platform/runtime.js';
import { openSharedDatabase, type StoreDatabase } from './database.js';
import type { Statement } from 'better-sqlite3';

export const LOG_MIGRATIONS = [
  {
    version: 1,
    description: 'logs and their full-text index',
    up(db: StoreDatabase['db']) {
      db.exec(`
        CREATE TABLE logs (
          id INTEGER PRIMARY KEY,
          doc_id TEXT NOT NULL UNIQUE,
          ts_ms INTEGER NOT NULL,
          target TEXT NOT NULL,
          container_id TEXT NOT NULL,
          container_name TEXT NOT NULL,
          app TEXT NOT NULL,
          service TEXT NOT NULL,
          record TEXT NOT NULL
        );
        CREATE INDEX logs_ts ON logs (ts_ms);
        CREATE INDEX logs_container_ts ON logs (container_name, ts_ms);
        CREATE INDEX logs_container_id_ts ON logs (container_id, ts_ms);
        CREATE INDEX logs_app_ts ON logs (app, ts_ms);
        CREATE INDEX logs_service_ts ON logs (service, ts_ms);
        CREATE INDEX logs_target_ts ON logs (target, ts_ms);
        CREATE VIRTUAL TABLE logs_fts USING fts5 (text, content = '', contentless_delete = 1);
      `);
    },
  },
  {
    version: 2,
    description: 'the full-text index merges its segments in small steps of its own, not inside commits',
    up(db: StoreDatabase['db']) {
      db.exec("INSERT INTO logs_fts (logs_fts, rank) VALUES ('automerge', 0)");
    },
  },
  {
    version: 3,
    description: 'the trace and span a record names, for the logs of a trace',
    up(db: StoreDatabase['db']) {
      db.exec(`
        ALTER TABLE logs ADD COLUMN trace_id TEXT;
        ALTER TABLE logs ADD COLUMN span_id TEXT;
        CREATE INDEX logs_trace ON logs (trace_id, ts_ms) WHERE trace_id IS NOT NULL;
      `);
    },
  },
];

/** FTS5 leaf pages (≈ 4 KB) the first merge step writes; the next follow what the last one took (MERGE_STEP_MS). */
const FIRST_MERGE_PAGES = 16;
const MAX_MERGE_PAGES = 4096;
/**
 * A step also pays to open its input segments and their tombstones (≈ 20–60 ms with 200,000 rows being deleted,
 * whatever its pages): steps of fewer pages would only be more of them.
 */
const MIN_MERGE_PAGES = 16;
/** What one merge step of the full-text index should take: it is one turn of the event loop. */
const MERGE_STEP_MS = 5;

/**
 * Free text → an FTS5 query that cannot be a syntax error: each word becomes a quoted string (AND-ed), a word
 * ending in `*` a prefix, a "quoted phrase" a phrase. Returns undefined when there is no word.
 */
export function ftsQuery(text: string): string | undefined {
  const parts: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    const phrase = m[1] ?? m[2]!;
    const prefix = m[2] !== undefined && phrase.endsWith('*') && phrase.length > 1;
    const word = (prefix ? phrase.slice(0, -1) : phrase).replace(/"/g, '""');
    if (word.trim() === '') continue;
    parts.push(`"${word}"${prefix ? '*' : ''}`);
  }
  return parts.length > 0 ? parts.join(' AND ') : undefined;
}

export class StoreLogStorage implements LogSink, LogReader {
  readonly name = 'store';
  private closed = false;
  private readonly insertLog: Statement;
  private readonly insertText: Statement;
  private readonly writeBatch: (events: LogEvent[]) => void;
  private readonly statements = new Map<string, Statement>();
  private readonly mergeStep: Statement;
  private readonly totalChanges: Statement;
  /** Set while merge steps are scheduled. */
  private merging = false;
  private mergePages = FIRST_MERGE_PAGES;

  constructor(private readonly store: StoreDatabase) {
    store.migrate('logs', LOG_MIGRATIONS);
    const db = store.db;
    this.insertLog = db.prepare(
      `INSERT OR IGNORE INTO logs (doc_id, ts_ms, target, container_id, container_name, app, service, record, trace_id, span_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertText = db.prepare('INSERT INTO logs_fts (rowid, text) VALUES (?, ?)');
    this.writeBatch = db.transaction((events: LogEvent[]) => {
      for (const e of events) {
        const r = this.insertLog.run(e.id, Math.floor(e.timestampMs), e.target, e.containerId, e.containerName, e.app, e.service, e.json, e.traceId ?? null, e.spanId ?? null);
        if (r.changes > 0) this.insertText.run(r.lastInsertRowid, e.text);
      }
    });
    this.mergeStep = db.prepare("INSERT INTO logs_fts (logs_fts, rank) VALUES ('merge', ?)");
    this.totalChanges = db.prepare('SELECT total_changes()').pluck();
    store.addRetention({ name: 'logs', deleteOlderThan: (cutoffMs, maxRows) => this.deleteOlderThan(cutoffMs, maxRows) });
  }

  /** Merge steps of the full-text index start in a later turn of the event loop (the store's), unless already scheduled. */
  private scheduleMerge(): void {
    if (this.merging || this.closed) return;
    this.merging = true;
    void this.store.nextSlice().then(() => this.mergeOnce());
  }

  /**
   * One merge step; another in the next turn while FTS5 did work (its total changes grow by 2 or more then). Pages
   * per step follow what the last one took, down at once and up by a quarter at most.
   */
  private mergeOnce(): void {
    this.merging = false;
    if (this.closed || !this.store.isOpen) return;
    const before = this.totalChanges.get() as number;
    const startedMs = performance.now();
    try {
      this.mergeStep.run(this.mergePages);
    } catch (err) {
      // Left for the next write or delete to schedule again; the index stays correct, only less merged.
      this.store.log.error('log store: merging the full-text index failed', { err });
      return;
    }
    const tookMs = performance.now() - startedMs;
    const worked = (this.totalChanges.get() as number) - before >= 2;
    if (worked) {
      this.mergePages = Math.max(MIN_MERGE_PAGES, Math.min(MAX_MERGE_PAGES, Math.ceil(this.mergePages * 1.25), Math.round((this.mergePages * MERGE_STEP_MS) / Math.max(tookMs, 0.1))));
      this.scheduleMerge();
    }
  }

  /** Merges the full-text index until nothing is left to merge, at once (tests, tools). */
  mergeIndexNow(): void {
    for (;;) {
      const before = this.totalChanges.get() as number;
      this.mergeStep.run(this.mergePages);
      if ((this.totalChanges.get() as number) - before < 2) return;
    }
  }

  // ---- sink ----

  async write(events: LogEvent[]): Promise<void> {
    if (this.closed || !this.store.isOpen) throw swError('SW_STORE_FAILED', 'the log store is closed');
    if (events.length > 0) {
      this.writeBatch(events);
      this.scheduleMerge();
    }
  }

  /** Idempotent; the shared database is closed by its owner. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private deleteOlderThan(cutoffMs: number, maxRows: number): number {
    const ids = this.stmt('SELECT id FROM logs WHERE ts_ms < ? ORDER BY ts_ms LIMIT ?').pluck().all(cutoffMs, maxRows) as number[];
    const delText = this.stmt('DELETE FROM logs_fts WHERE rowid = ?');
    const delLog = this.stmt('DELETE FROM logs WHERE id = ?');
    for (const id of ids) {
      delText.run(id);
      delLog.run(id);
    }
    if (ids.length > 0) this.scheduleMerge();
    return ids.length;
  }

  // ---- reader ----

  async search(query: LogQuery): Promise<LogHit[]> {
    const { where, params } = this.conditions(query);
    const rows = await this.store.read<Array<{ id: number; record: string }>>(
      `SELECT id, record FROM logs l WHERE ${where} ORDER BY ts_ms DESC, id DESC LIMIT ? OFFSET ?`,
      [...params, Math.max(0, query.limit), Math.max(0, query.offset ?? 0)], 'all');
    return rows.map((r) => ({ cursor: String(r.id), json: r.record }));
  }

  async count(query: Omit<LogQuery, 'limit' | 'offset'>): Promise<number> {
    const { where, params } = this.conditions(query);
    return await this.store.read<number>(`SELECT COUNT(*) FROM logs l WHERE ${where}`, params, 'value');
  }

  async histogram(query: Omit<LogQuery, 'limit' | 'offset'>, buckets: number): Promise<LogHistogram> {
    let oldest: number | undefined;
    let newest: number | undefined;
    if (query.startMs === undefined || query.endMs === undefined) {
      const { where, params } = this.conditions(query);
      const [row] = await this.store.read<Array<{ oldest: number | null; newest: number | null }>>(
        `SELECT MIN(ts_ms) AS oldest, MAX(ts_ms) AS newest FROM logs l WHERE ${where}`, params, 'all');
      oldest = row?.oldest ?? undefined;
      newest = row?.newest ?? undefined;
    }
    const range = histogramRange(query, oldest, newest, Date.now());
    if (range === undefined) return emptyHistogram();
    const layout = histogramLayout(range.startMs, range.endMs, buckets);
    // Within the range the bounds add nothing to the filters: every matching record lies inside it.
    const { where, params } = this.conditions({ ...query, ...range });
    const rows = await this.store.read<Array<{ b: number; n: number }>>(
      `SELECT ts_ms - ts_ms % ? AS b, COUNT(*) AS n FROM logs l WHERE ${where} GROUP BY b`, [layout.intervalMs, ...params], 'all');
    return denseHistogram(layout, rows.map((r) => [r.b, r.n]));
  }

  async readAfter(query: Omit<LogQuery, 'offset'>, cursor: string | undefined): Promise<{ hits: LogHit[]; cursor: string }> {
    if (cursor === undefined || !/^\d+$/.test(cursor)) {
      const last = this.stmt('SELECT COALESCE(MAX(id), 0) FROM logs').pluck().get() as number;
      return { hits: [], cursor: String(last) };
    }
    const { where, params } = this.conditions(query);
    const rows = await this.store.read<Array<{ id: number; record: string }>>(
      `SELECT id, record FROM logs l WHERE l.id > ? AND ${where} ORDER BY id LIMIT ?`, [Number(cursor), ...params, Math.max(1, query.limit)], 'all');
    const hits = rows.map((r) => ({ cursor: String(r.id), json: r.record }));
    return { hits, cursor: hits.length > 0 ? hits[hits.length - 1]!.cursor : cursor };
  }

  private conditions(q: Omit<LogQuery, 'limit' | 'offset'>): { where: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (q.container) {
      clauses.push('(l.container_name = ? OR l.container_id = ?)');
      params.push(q.container.replace(/^\//, ''), q.container);
    }
    for (const [column, value] of [['app', q.app], ['service', q.service], ['target', q.target], ['trace_id', q.traceId], ['span_id', q.spanId]] as const) {
      if (value) {
        clauses.push(`l.${column} = ?`);
        params.push(value);
      }
    }
    if (q.startMs !== undefined) {
      clauses.push('l.ts_ms >= ?');
      params.push(Math.floor(q.startMs));
    }
    if (q.endMs !== undefined) {
      clauses.push('l.ts_ms <= ?');
      params.push(Math.floor(q.endMs));
    }
    const fts = q.text === undefined ? undefined : ftsQuery(q.text);
    if (fts !== undefined) {
      clauses.push('l.id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)');
      params.push(fts);
    }
    return { where: clauses.length > 0 ? clauses.join(' AND ') : '1', params };
  }

  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      if (this.statements.size > 200) this.statements.clear();
      s = this.store.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}

/** The process's store log storage over the shared database (the pilot's `store` output, query's log reader). */
export function openStoreLogStorage(runtime: Runtime): StoreLogStorage {
  return runtime.shared.get('store.logs', () => new StoreLogStorage(openSharedDatabase(runtime)), (s) => s.close());
}
