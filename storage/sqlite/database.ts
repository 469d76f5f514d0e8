/**
 * The embedded store's one SQLite database (better-sqlite3) in `SHIPWATCH_DATA_DIR`, shared by the programs of one
 * process (`openSharedDatabase`).
 *
 * - WAL journal; readers never block the writer. New databases get 16 KiB pages.
 * - No commit of this thread fsyncs or checkpoints (`synchronous=OFF`, `wal_autocheckpoint=0`): both ran inside
 *   the committing statement and held the event loop 35–250 ms. A checkpoint thread (checkpoint-worker.ts, its own
 *   connection, `synchronous=NORMAL`) runs PASSIVE checkpoints (the writer never waits for one) once the WAL passes
 *   16 MiB or 1 s after the last, and fsyncs the WAL at most 1 s after a commit. Durability: a process crash or
 *   SIGKILL loses nothing committed (the WAL is in the OS page cache); an OS crash or power cut loses at most the
 *   last ≈ 1 s of commits. Should the thread die, it is restarted (counted) and, until it is back, this connection
 *   goes back to `synchronous=NORMAL` with automatic checkpoints. close() checkpoints (TRUNCATE) with syncs on.
 * - The WAL's cap (`walCapBytes`, SHIPWATCH_STORE_WAL_CAP): SQLite starts the WAL over only when a write transaction
 *   begins with every frame copied, which writes back to back (no turn of the event loop between them) never leave
 *   a checkpoint running beside them. Past the cap, before a transaction of this connection begins
 *   (`walValve`, around every `db.transaction`), the writer waits for one checkpoint of the thread — a short one:
 *   it waits only once the thread, checkpointing back to back, has caught up but for a short tail — and its next
 *   transaction starts the WAL over.
 * - Queries with no bound on what they read (log searches and counts, trace searches, dependencies) run on two
 *   reader threads (read-worker.ts, read-only connections; WAL lets them read beside the writer): `read`, `readJob`.
 * - Background work of the store on this thread (retention batches, the log index's merge steps) takes turns of the
 *   event loop through `nextSlice`, one slice per turn. Measurements: docs/design/store-event-loop.md.
 * - Schema migrations per component (`spans`, `logs`, `metrics`, …): each store module owns an ordered list of
 *   migrations and calls `migrate(component, list)` when it opens; the versions applied are kept in
 *   `schema_versions`; each applied migration is logged at debug, and the process says once, when its programs have
 *   started, `store ready: N migrations applied` (`summariseMigrations`). Components today: `spans` (span-schema.ts), `logs` (log-store.ts). A new table family is
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
import { Worker } from 'node:worker_threads';
import type { CheckpointWorkerData, CheckpointWorkerMessage } from './checkpoint-worker.js';
import { WalControl } from './wal-control.js';
import type { ReadJob, ReadMode, ReadRequest, ReadResponse, ReadWorkerData } from './read-worker.js';
import { describe, swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { Runtime } from '../../platform/runtime.js';
import { counter, gauge, histogram, type Registry } from '../../platform/self-metrics.js';
import { nextTurn } from '../../platform/turns.js';

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
  /** The WAL's cap (SHIPWATCH_STORE_WAL_CAP): past it the writer waits for a checkpoint that lets the WAL start over. */
  walCapBytes?: number;
}

const DEFAULT_RETENTION_INTERVAL_MS = 60_000;
/** Page size of a database this creates. */
const PAGE_SIZE_BYTES = 16_384;
/**
 * WAL size past which a commit checkpoints it (SQLite's `wal_autocheckpoint`, set in pages) while no checkpoint
 * thread runs (it died and is not back yet).
 */
const WAL_CHECKPOINT_BYTES = 10_000 * 4096;
/** The checkpoint thread: WAL size and interval that start a PASSIVE checkpoint, most time a commit waits unsynced. */
const THREAD_CHECKPOINT_BYTES = 16 * 1024 * 1024;
const THREAD_CHECKPOINT_INTERVAL_MS = 1_000;
const WAL_SYNC_INTERVAL_MS = 1_000;
const THREAD_POLL_MS = 100;
/**
 * The WAL's cap by default: past it the writer waits (between two transactions) for a checkpoint that lets the WAL
 * start over, and a WAL file grown past it is cut back to it when it does (`journal_size_limit`).
 */
export const DEFAULT_WAL_CAP_BYTES = 64 * 1024 * 1024;
/**
 * The checkpoint thread says READY once a checkpoint past the cap took at most this: the writer's wait for the next
 * one copies what was appended meanwhile, a fraction of it (≈ 0.3–0.5 on the machine measured).
 */
const WAL_READY_MS = 30;
/** After READY, how long the thread waits for the writer's request (it comes before the writer's next transaction). */
const WAL_READY_HOLD_MS = 50;
/** Longest wait of the writer for that checkpoint; past it the writer goes on and the WAL does not start over yet. */
const WAL_VALVE_WAIT_MS = 60;
/**
 * A WAL this many times past the cap with no READY (a disk slower than the writes, never catching up): the writer
 * waits for a checkpoint, up to `WAL_HARD_WAIT_MS` at a time and again before each transaction until it is done, then
 * not before `WAL_HARD_INTERVAL_MS` — the one case the store holds the event loop past 100 ms, in exchange for a
 * bounded file. A reader's snapshot stops a checkpoint
 * short of the end instead; the wait then ends at once.
 */
const WAL_HARD_FACTOR = 4;
const WAL_HARD_WAIT_MS = 1_000;
const WAL_HARD_INTERVAL_MS = 1_000;
/** Least time between two waits of the writer. */
const WAL_VALVE_INTERVAL_MS = 100;
/** Delay before a dead checkpoint thread is started again, doubling up to the maximum while it keeps dying. */
const THREAD_RESTART_MS = 1_000;
const THREAD_RESTART_MAX_MS = 60_000;
/** Reader threads of `read()`: one per CPU of the machine this was measured on (2). */
const READER_THREADS = 2;
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
  private checkpointer: Worker | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs = THREAD_RESTART_MS;
  /** `wal_autocheckpoint` in pages of this database, used while no checkpoint thread runs. */
  private autocheckpointPages = 0;
  private readonly threadDeaths;
  private readonly readerDeaths;
  private readonly readers: Array<{ worker: Worker; pending: Map<number, { resolve(v: unknown): void; reject(e: unknown): void }> }> = [];
  private nextReadId = 1;
  private readonly checkpoints;
  private readonly lastSyncSeconds;
  private readonly valveWaits;
  /** Shared with the checkpoint thread (`WalControl` slots). */
  private readonly walControl = new Int32Array(new SharedArrayBuffer(WalControl.SIZE * Int32Array.BYTES_PER_ELEMENT));
  private readonly walCapBytes: number;
  /** No wait of the writer before this (performance.now()). */
  private nextValveMs = 0;
  private nextHardValveMs = 0;
  /** A hard wait's request the thread has not served yet: the next transaction waits for it again. */
  private hardRequest: number | undefined;

  /** Migrations applied and not summarised yet, per `migrate` call. */
  private readonly migrated: Array<{ component: string; from: number; to: number }> = [];
  private summaryDeferred = false;

  constructor(private readonly options: StoreDatabaseOptions) {
    this.log = options.log;
    this.walCapBytes = options.walCapBytes ?? DEFAULT_WAL_CAP_BYTES;
    const fileName = options.fileName ?? 'shipwatch.db';
    if (fileName !== ':memory:') mkdirSync(options.dataDir, { recursive: true });
    this.path = fileName === ':memory:' ? fileName : join(options.dataDir, fileName);
    try {
      this.db = new Database(this.path);
      // Only a new database takes it (an existing one keeps the page size it was made with): 16 KiB pages cut the
      // WAL frames a commit writes, one write call each, by four (bench/traces-to-store.bench.ts: ≈ 1.5 µs per span).
      this.db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = OFF');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('temp_store = MEMORY');
      this.db.pragma('cache_size = -65536');
      this.db.pragma(`journal_size_limit = ${this.walCapBytes}`);
      // Without the checkpoint thread: a checkpoint once the WAL holds ≈ 40 MiB, whatever the page size.
      this.autocheckpointPages = Math.round(WAL_CHECKPOINT_BYTES / (this.db.pragma('page_size', { simple: true }) as number));
      this.commitsSync(fileName === ':memory:');
      if (fileName !== ':memory:') this.guardTransactions();
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID');
    } catch (err) {
      throw swError('SW_STORE_FAILED', `cannot open ${this.path}: ${describe(err)}`, err);
    }
    const registry = options.registry;
    this.deleted = registry && counter(registry, { name: 'shipwatch_store_retention_deleted_total', help: 'Rows deleted by the store retention.', labelNames: ['table'] as const });
    this.failures = registry && counter(registry, { name: 'shipwatch_store_retention_failures_total', help: 'Store retention runs that failed.' });
    this.threadDeaths = registry && counter(registry, { name: 'shipwatch_store_checkpoint_thread_failures_total', help: 'Times the store checkpoint thread died or failed to start (it is started again).' });
    this.readerDeaths = registry && counter(registry, { name: 'shipwatch_store_reader_thread_failures_total', help: 'Times a reader thread of the store died (its queries fail; a new one is started for the next).' });
    this.checkpoints = registry && counter(registry, { name: 'shipwatch_store_checkpoints_total', help: 'WAL checkpoints of the store that copied pages, run by its checkpoint thread.' });
    this.lastSyncSeconds = registry && gauge(registry, { name: 'shipwatch_store_wal_synced_timestamp_seconds', help: 'When the store checkpoint thread last made the WAL durable (fsync).' });
    const control = this.walControl;
    if (registry) {
      gauge(registry, {
        name: 'shipwatch_store_wal_bytes', help: "Size of the store's WAL file at the checkpoint thread's last look (every 100 ms).",
        collect() {
          this.set(Atomics.load(control, WalControl.FILE_KIB) * 1024);
        },
      });
      gauge(registry, {
        name: 'shipwatch_store_wal_peak_bytes', help: "Largest size of the store's WAL file the checkpoint thread saw since the store opened.",
        collect() {
          this.set(Atomics.load(control, WalControl.PEAK_FILE_KIB) * 1024);
        },
      });
    }
    this.valveWaits = registry && histogram(registry, {
      name: 'shipwatch_store_wal_cap_wait_seconds', help: 'Waits of the store writer, past the WAL cap, for the checkpoint that lets the WAL start over (the event loop waits).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    });
    if (fileName !== ':memory:') this.startCheckpointer();
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
    const from = current;
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
      this.options.log.debug('store migration applied', { schema: component, version: m.version, description: m.description });
      current = m.version;
    }
    if (current > from) this.migrated.push({ component, from, to: current });
    if (!this.summaryDeferred) this.summariseMigrations();
  }

  /**
   * Holds the migration summary until `summariseMigrations()`: the programs of one process each migrate their own
   * component as they start, and the person starting them reads one line, not one per migration.
   */
  deferMigrationSummary(): void {
    this.summaryDeferred = true;
  }

  /** Logs one `store ready: N migrations applied` line for what was migrated since the last one (nothing when none). */
  summariseMigrations(): void {
    this.summaryDeferred = false;
    const applied = this.migrated.splice(0);
    const count = applied.reduce((n, a) => n + a.to - a.from, 0);
    if (count === 0) return;
    this.options.log.info(`store ready: ${count} migration${count === 1 ? '' : 's'} applied`, {
      path: this.path, schemas: applied.map((a) => `${a.component} v${a.from}→v${a.to}`).join(', '),
    });
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
    for (const _ of this.retentionBatches(nowMs, done)) await this.nextSlice();
    return done;
  }

  /** Resolves in a later turn of the event loop, one slice per turn (platform/turns.ts). */
  nextSlice(): Promise<void> {
    return nextTurn();
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

  /**
   * Every transaction function made on this connection (`db.transaction`: the stores' writes, retention batches,
   * migrations) runs `walValve` before it begins, when no transaction is open: that is where a write transaction's
   * snapshot has not begun, the moment SQLite decides whether it starts the WAL over.
   */
  private guardTransactions(): void {
    const db = this.db;
    const make = db.transaction.bind(db);
    const valve = (): void => this.walValve();
    type Fn = (...args: unknown[]) => unknown;
    db.transaction = ((fn: Fn) => {
      const tx = make(fn);
      const guard = (variant: Fn): Fn =>
        function (this: unknown, ...args: unknown[]) {
          if (!db.inTransaction) valve();
          return variant.apply(this, args);
        };
      const variants = { default: guard(tx.default), deferred: guard(tx.deferred), immediate: guard(tx.immediate), exclusive: guard(tx.exclusive) };
      const properties: PropertyDescriptorMap = { database: { value: db, enumerable: true } };
      for (const [name, value] of Object.entries(variants)) properties[name] = { value };
      for (const variant of Object.values(variants)) Object.defineProperties(variant, properties);
      return variants.default;
    }) as typeof db.transaction;
  }

  /**
   * Past the WAL's cap, the writer's wait for a checkpoint of the thread (see checkpoint-worker.ts): only once the
   * thread says READY (a short tail left to copy), the wait bounded by WAL_VALVE_WAIT_MS; or, the WAL far past
   * the cap with no READY, up to WAL_HARD_WAIT_MS. With nothing appended during that checkpoint, every frame is
   * copied when the next transaction begins, and SQLite starts the WAL over.
   */
  private walValve(): void {
    const c = this.walControl;
    if (this.checkpointer === undefined) return; // meanwhile SQLite's automatic checkpoints restart the WAL
    const ready = Atomics.load(c, WalControl.READY) === 1;
    if (!ready && Atomics.load(c, WalControl.WAL_KIB) * 1024 < WAL_HARD_FACTOR * this.walCapBytes) return;
    const startMs = performance.now();
    if (startMs < (ready ? this.nextValveMs : this.nextHardValveMs)) return;
    // A hard wait that ended before its checkpoint did is taken up again at once: with the WAL far past the cap, a
    // second of free writes after each wait let a writer faster than the thread grow the file without bound.
    const pending = !ready && this.hardRequest !== undefined && Atomics.load(c, WalControl.DONE) - this.hardRequest < 0;
    const request = pending ? this.hardRequest! : Atomics.add(c, WalControl.REQUEST, 1) + 1;
    if (!pending) Atomics.notify(c, WalControl.REQUEST);
    const deadlineMs = startMs + (ready ? WAL_VALVE_WAIT_MS : WAL_HARD_WAIT_MS);
    let served = false;
    for (;;) {
      const done = Atomics.load(c, WalControl.DONE);
      const leftMs = deadlineMs - performance.now();
      served = done - request >= 0;
      if (served || leftMs <= 0) break;
      Atomics.wait(c, WalControl.DONE, done, leftMs);
    }
    const endMs = performance.now();
    this.nextValveMs = endMs + WAL_VALVE_INTERVAL_MS;
    if (!ready) {
      this.hardRequest = served ? undefined : request;
      this.nextHardValveMs = served ? endMs + WAL_HARD_INTERVAL_MS : 0;
    }
    this.valveWaits?.observe((endMs - startMs) / 1000);
    if (!ready && !pending) this.log.warn('store WAL far past its cap: the writer waited for a checkpoint', { walBytes: Atomics.load(c, WalControl.WAL_KIB) * 1024, waitedMs: Math.round(endMs - startMs) });
  }

  /**
   * `synchronous` and `wal_autocheckpoint` of this connection: off while the checkpoint thread does both, SQLite's
   * own (NORMAL, a checkpoint at ≈ 40 MiB) while it does not.
   */
  private commitsSync(on: boolean): void {
    this.db.pragma(`synchronous = ${on ? 'NORMAL' : 'OFF'}`);
    this.db.pragma(`wal_autocheckpoint = ${on ? this.autocheckpointPages : 0}`);
  }

  /**
   * One SELECT run on a reader thread with its own read-only connection, off the event loop: `all` resolves to its
   * rows as objects, `value` to the first column of its first row. For the queries whose size has no bound (log
   * searches and counts over the whole store). A ':memory:' database runs it here.
   */
  async read<T>(sql: string, params: unknown[], mode: ReadMode): Promise<T> {
    if (this.path === ':memory:') {
      if (this.closed) throw swError('SW_STORE_FAILED', 'the store is closed');
      try {
        const st = this.db.prepare(sql);
        return (mode === 'value' ? st.pluck().get(...params) : st.all(...params)) as T;
      } catch (err) {
        throw swError('SW_STORE_FAILED', `query failed: ${describe(err)}`, err);
      }
    }
    return (await this.readJob({ kind: 'sql', sql, params, mode })).result as T;
  }

  /**
   * A job of read-worker.ts on the reader thread with the fewest waiting (not for ':memory:' databases, whose
   * callers run it here). Resolves to its answer and the damaged rows it met.
   */
  readJob(job: ReadJob): Promise<{ result: unknown; damaged?: Array<[string, string]> }> {
    if (this.closed) return Promise.reject(swError('SW_STORE_FAILED', 'the store is closed'));
    while (this.readers.length < READER_THREADS) this.startReader();
    const reader = this.readers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextReadId++;
    return new Promise((resolve, reject) => {
      reader.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      reader.worker.postMessage({ ...job, id } satisfies ReadRequest);
    });
  }

  private startReader(): void {
    const worker = startWorker('./read-worker', { path: this.path } satisfies ReadWorkerData);
    worker.unref();
    const reader = { worker, pending: new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>() };
    this.readers.push(reader);
    worker.on('message', (m: ReadResponse) => {
      const p = reader.pending.get(m.id);
      if (!p) return;
      reader.pending.delete(m.id);
      if ('error' in m) p.reject(swError('SW_STORE_FAILED', `query failed: ${m.error}`));
      else p.resolve(m);
    });
    const died = (err: unknown): void => {
      const at = this.readers.indexOf(reader);
      if (at < 0) return;
      this.readers.splice(at, 1);
      worker.removeAllListeners();
      this.readerDeaths?.inc();
      this.options.log.warn('store reader thread failed; its queries fail, the next query starts a new one', { err });
      for (const p of reader.pending.values()) p.reject(swError('SW_STORE_FAILED', `a reader thread of the store failed: ${describe(err)}`, err));
      reader.pending.clear();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`exited with code ${code}`)));
  }

  /** The reader threads running (tests). */
  get readerThreads(): Worker[] {
    return this.readers.map((r) => r.worker);
  }

  /** Whether a checkpoint thread runs for this database (tests). */
  get checkpointThread(): Worker | undefined {
    return this.checkpointer;
  }

  private startCheckpointer(): void {
    if (this.closed) return;
    const workerData: CheckpointWorkerData = {
      path: this.path, walThresholdBytes: THREAD_CHECKPOINT_BYTES, checkpointIntervalMs: THREAD_CHECKPOINT_INTERVAL_MS,
      syncIntervalMs: WAL_SYNC_INTERVAL_MS, pollMs: THREAD_POLL_MS, walCapBytes: this.walCapBytes, readyMs: WAL_READY_MS,
      readyHoldMs: WAL_READY_HOLD_MS,
      control: this.walControl,
    };
    let worker: Worker;
    try {
      worker = startWorker('./checkpoint-worker', workerData);
    } catch (err) {
      this.checkpointerDied(err);
      return;
    }
    worker.unref();
    this.checkpointer = worker;
    worker.on('message', (m: CheckpointWorkerMessage) => {
      if (this.closed) return;
      if (m.type === 'ready') this.commitsSync(false);
      else if (m.type === 'checkpoint') {
        this.restartDelayMs = THREAD_RESTART_MS;
        this.checkpoints?.inc();
      } else if (m.type === 'sync') this.lastSyncSeconds?.set(Date.now() / 1000);
    });
    worker.on('error', (err) => this.checkpointerDied(err));
    worker.on('exit', (code) => this.checkpointerDied(new Error(`exited with code ${code}`)));
  }

  /** The thread died (or never started): commits sync and checkpoint again here until a new one is ready. */
  private checkpointerDied(err: unknown): void {
    if (this.closed || this.restartTimer !== undefined) return;
    this.checkpointer?.removeAllListeners();
    this.checkpointer = undefined;
    this.threadDeaths?.inc();
    this.options.log.warn('store checkpoint thread failed; commits sync and checkpoint on the main thread until it is back', { err, restartInMs: this.restartDelayMs });
    try {
      this.commitsSync(true);
    } catch (e) {
      this.options.log.error('store: cannot turn commit syncs back on', { err: e });
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.startCheckpointer();
    }, this.restartDelayMs);
    this.restartTimer.unref();
    this.restartDelayMs = Math.min(THREAD_RESTART_MAX_MS, this.restartDelayMs * 2);
  }

  /** Idempotent. Stops the checkpoint thread, then checkpoints the WAL with syncs on: the data file is complete. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    for (const reader of this.readers.splice(0)) {
      reader.worker.removeAllListeners();
      reader.worker.on('error', () => undefined);
      void reader.worker.terminate();
      for (const p of reader.pending.values()) p.reject(swError('SW_STORE_FAILED', 'the store was closed during the query'));
    }
    if (this.checkpointer) {
      this.checkpointer.removeAllListeners();
      this.checkpointer.on('error', () => undefined);
      void this.checkpointer.terminate();
      this.checkpointer = undefined;
    }
    try {
      this.db.pragma('synchronous = NORMAL');
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

/**
 * A worker thread running the module `name` beside this one: compiled, its .js; from the TypeScript sources (tests,
 * benches under tsx), its .ts through tsx's loader, which a worker does not inherit from the process's flags.
 */
export function startWorker(name: string, workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`${name}.js`, import.meta.url), { workerData });
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL(`${name}.ts`, import.meta.url).href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

const SHARED_KEY = 'store.database';

/** The process's one store database, created on first use and closed with the shared resources. */
export function openSharedDatabase(runtime: Runtime, registry?: Registry): StoreDatabase {
  return runtime.shared.get(
    SHARED_KEY,
    () => {
      const db = new StoreDatabase({
        dataDir: runtime.config.common.dataDir, retentionMs: runtime.config.common.retentionMs, walCapBytes: runtime.config.common.storeWalCapBytes,
        log: runtime.log.child({ component: 'store' }), registry,
      });
      // One summary for the whole process, once every program has migrated its part.
      db.deferMigrationSummary();
      runtime.shared.whenStarted(() => db.summariseMigrations());
      return db;
    },
    (db) => db.close(),
  );
}
