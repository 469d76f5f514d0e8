/**
 * The embedded store's one SQLite database (better-sqlite3) in `SHIPWATCH_DATA_DIR`, shared by the programs of one
 * process (`openSharedDatabase`).
 *
 * - WAL journal with `synchronous=NORMAL`: a commit survives the process being killed at any moment (only an OS
 *   crash may lose the last transactions), and readers never block the writer. New databases get 16 KiB pages.
 * - Schema migrations per component (`spans`, `logs`, `metrics`, …): each store module owns an ordered list of
 *   migrations and calls `migrate(component, list)` when it opens; the versions applied are kept in
 *   `schema_versions`. Components today: `spans` (span-schema.ts), `logs` (log-store.ts). A new table family is
 *   a new component beside them, not an edit of another one's list: metrics, for instance, go in a
 *   `metric-store.ts` whose constructor calls `migrate('metrics', METRIC_MIGRATIONS)` and `addRetention(…)`, and
 *   which is shared like the others (`runtime.shared.get('store.metrics', …)` over `openSharedDatabase`).
 * - Retention: each module registers the tables it keeps (`addRetention`); a background timer deletes rows older
 *   than `SHIPWATCH_RETENTION` in batches, each its own transaction and one turn of the event loop: better-sqlite3
 *   is synchronous, and `shipwatch all` serves the pilot, the collector and the query API from this one thread.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { Runtime } from '../../platform/runtime.js';
import { counter, type Registry } from '../../platform/self-metrics.js';

export type Db = Database.Database;

export interface Migration {
  /** 1, 2, 3, … in order; a migration never changes once released. */
  version: number;
  /** What it does, for the log. */
  description: string;
  up(db: Db): void;
}

export interface RetentionTarget {
  /** For the log and the counter label. */
  name: string;
  /**
   * Deletes at most `maxRows` rows older than the cutoff (ms since the epoch), with whatever companion rows they
   * own (tag index rows, full-text rows), and returns how many it deleted — spans for the span store, where a row
   * may hold several: a pass goes on while that is `maxRows` or more. Called inside a transaction.
   */
  deleteOlderThan(cutoffMs: number, maxRows: number): number;
  /**
   * For a target whose batch may visit `maxRows` rows and delete fewer (the metric store's walk): whether its pass
   * has more to do after a batch that deleted fewer than `maxRows`.
   */
  more?(): boolean;
}

export interface StoreDatabaseOptions {
  dataDir: string;
  /** Rows older than this are deleted in the background; 0 disables retention. */
  retentionMs: number;
  log: Logger;
  registry?: Registry;
  /** How often retention runs. */
  retentionIntervalMs?: number;
  /** Most rows deleted per transaction by retention (fewer while a batch of that many would take too long). */
  retentionBatchRows?: number;
  /** File name inside dataDir; ':memory:' for a throw-away database. */
  fileName?: string;
}

const DEFAULT_RETENTION_INTERVAL_MS = 60_000;
/** Page size of a database this creates. */
const PAGE_SIZE_BYTES = 16_384;
/** WAL size past which a commit checkpoints it (SQLite's `wal_autocheckpoint`, set in pages). */
const WAL_CHECKPOINT_BYTES = 10_000 * 4096;
const DEFAULT_RETENTION_BATCH_ROWS = 2_000;
/**
 * What one retention batch should take: the rows of a target's next batch are scaled from what its last one took
 * (a span row can hold 64 spans and their tag index rows, a log row one record), starting from `FIRST_BATCH_ROWS`.
 * A batch is one turn of the event loop, so this is about the longest that retention keeps others waiting.
 */
const RETENTION_BATCH_MS = 10;
const FIRST_BATCH_ROWS = 100;
const MIN_BATCH_ROWS = 8;

export class StoreDatabase {
  readonly db: Db;
  readonly path: string;
  /** The store's logger, for its components. */
  readonly log: Logger;
  private readonly targets: RetentionTarget[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The timer's retention pass while it runs: the next tick does not start another. */
  private retaining: Promise<Record<string, number>> | undefined;
  /** Rows of each target's next batch (RETENTION_BATCH_MS). */
  private readonly batchRows = new Map<RetentionTarget, number>();
  private readonly deleted;
  private readonly failures;

  constructor(private readonly options: StoreDatabaseOptions) {
    this.log = options.log;
    const fileName = options.fileName ?? 'shipwatch.db';
    if (fileName !== ':memory:') mkdirSync(options.dataDir, { recursive: true });
    this.path = fileName === ':memory:' ? fileName : join(options.dataDir, fileName);
    try {
      this.db = new Database(this.path);
      // Only a new database takes it (an existing one keeps the page size it was made with): 16 KiB pages cut the
      // WAL frames a commit writes, one write call each, by four (bench/traces-to-store.bench.ts: ≈ 1.5 µs per span).
      this.db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = OFF');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('temp_store = MEMORY');
      this.db.pragma('cache_size = -65536');
      // A checkpoint once the WAL holds ≈ 40 MiB, whatever the page size.
      this.db.pragma(`wal_autocheckpoint = ${Math.round(WAL_CHECKPOINT_BYTES / (this.db.pragma('page_size', { simple: true }) as number))}`);
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
    } catch (err) {
      throw swError('SW_STORE_FAILED', `cannot open ${this.path}: ${describe(err)}`, err);
    }
    this.deleted = options.registry
      ? counter(options.registry, { name: 'shipwatch_store_retention_deleted_total', help: 'Rows deleted by the store retention.', labelNames: ['table'] as const })
      : undefined;
    this.failures = options.registry
      ? counter(options.registry, { name: 'shipwatch_store_retention_failures_total', help: 'Store retention runs that failed.' })
      : undefined;
    if (options.retentionMs > 0) {
      this.timer = setInterval(() => void this.runRetentionInSlices(), options.retentionIntervalMs ?? DEFAULT_RETENTION_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /**
   * Applies the component's migrations not applied yet, each in its own transaction. A database a newer release
   * already migrated further is refused: what it wrote may read back wrong here (a downgrade needs a fresh store).
   */
  migrate(component: string, migrations: readonly Migration[]): void {
    const row = this.db.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as { version: number } | undefined;
    let current = row?.version ?? 0;
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (current > known) {
      throw swError('SW_STORE_FAILED', `${this.path}: its ${component} are at version ${current}, written by a newer release; this one knows up to version ${known}`);
    }
    const save = this.db.prepare('INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT(component) DO UPDATE SET version = excluded.version');
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      try {
        this.db.transaction(() => {
          m.up(this.db);
          save.run(component, m.version);
        })();
      } catch (err) {
        throw swError('SW_STORE_FAILED', `migration ${component} v${m.version} (${m.description}) failed: ${describe(err)}`, err);
      }
      this.options.log.info('store migration applied', { component, version: m.version, description: m.description });
      current = m.version;
    }
  }

  addRetention(target: RetentionTarget): void {
    this.targets.push(target);
  }

  /**
   * One retention pass at once, blocking the event loop until it ends (tests, tools): every target, batch after
   * batch, until nothing older than the cutoff is left. Returns the rows deleted per target.
   */
  runRetention(nowMs = Date.now()): Record<string, number> {
    const done: Record<string, number> = {};
    for (const _ of this.retentionBatches(nowMs, done));
    return done;
  }

  /**
   * One retention pass as the timer runs it: each batch in its own turn of the event loop (setImmediate between
   * them), so writes and queries go on between batches. A pass already running is joined, not doubled; closing the
   * database stops it after the batch in progress. Resolves to the rows deleted per target.
   */
  runRetentionInSlices(nowMs = Date.now()): Promise<Record<string, number>> {
    this.retaining ??= this.retainInSlices(nowMs).finally(() => {
      this.retaining = undefined;
    });
    return this.retaining;
  }

  private async retainInSlices(nowMs: number): Promise<Record<string, number>> {
    const done: Record<string, number> = {};
    for (const _ of this.retentionBatches(nowMs, done)) await new Promise<void>((resolve) => setImmediate(resolve));
    return done;
  }

  /** The batches of one pass, each deleted (one transaction) before the generator yields; `done` gets the totals. */
  private *retentionBatches(nowMs: number, done: Record<string, number>): Generator<void, void, void> {
    if (this.closed || this.options.retentionMs <= 0) return;
    const cutoffMs = nowMs - this.options.retentionMs;
    const maxRows = this.options.retentionBatchRows ?? DEFAULT_RETENTION_BATCH_ROWS;
    for (const target of this.targets) {
      if (this.closed) return;
      let total = 0;
      try {
        for (;;) {
          const rows = Math.min(maxRows, this.batchRows.get(target) ?? FIRST_BATCH_ROWS);
          const startedMs = performance.now();
          const n = this.db.transaction(() => target.deleteOlderThan(cutoffMs, rows))();
          const tookMs = performance.now() - startedMs;
          // Down at once, up by a quarter at most: a cheap batch (its pages still cached) says little of the next.
          this.batchRows.set(target, Math.max(MIN_BATCH_ROWS, Math.min(Math.ceil(rows * 1.25), Math.round((rows * RETENTION_BATCH_MS) / Math.max(tookMs, 0.1)))));
          total += n;
          if (n < rows && target.more?.() !== true) break;
          yield;
          if (this.closed) break;
        }
      } catch (err) {
        this.failures?.inc();
        this.options.log.error('store retention failed', { table: target.name, err });
      }
      if (total > 0) {
        this.deleted?.inc({ table: target.name }, total);
        this.options.log.debug('store retention deleted rows', { table: target.name, rows: total });
      }
      done[target.name] = total;
    }
  }

  /** Idempotent. Checkpoints the WAL so the data file is complete on its own. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.options.log.warn('store checkpoint at close failed', { err });
    }
    this.db.close();
  }

  get isOpen(): boolean {
    return !this.closed;
  }
}

const SHARED_KEY = 'store.database';

/** The process's one store database, created on first use and closed with the shared resources. */
export function openSharedDatabase(runtime: Runtime, registry?: Registry): StoreDatabase {
  return runtime.shared.get(
    SHARED_KEY,
    () => new StoreDatabase({ dataDir: runtime.config.common.dataDir, retentionMs: runtime.config.common.retentionMs, log: runtime.log.child({ component: 'store' }), registry }),
    (db) => db.close(),
  );
}
