/**
 * Metrics in the embedded store: the collector's `store` metric output (a `MetricSink`) and, through
 * metric-query.ts, the reader behind query's `/api/metrics/…`.
 *
 * Tables of the `metrics` component:
 * - `metric_series`: one row per measurement and tag set (`tags` is the tags as a JSON object in key order), with
 *   the last time it got a point; `metric_series_tags` indexes its tags (key, value → series) for filters and
 *   for listing tag values.
 * - `metric_fields`: each field of a measurement, its type (of the last point) and last time seen.
 * - `metric_points`: one row per series, field and time (nanoseconds), clustered by series and field so a time
 *   series is one range; a second point at the same time replaces the first (as InfluxDB does). The value is kept
 *   as SQLite holds it: REAL for floats, INTEGER for integers (and booleans, 0/1), TEXT for strings; unsigned
 *   integers past the signed 64-bit range become REAL.
 *
 * `write` returns at once: points wait in a bounded queue (past it they are dropped and counted) and are written
 * by a timer, `batchPoints` per transaction. Retention (SHIPWATCH_RETENTION) deletes old points in batches, series
 * by series and field by field along the primary key, then the series and fields that have no point left in the
 * period. There is no index by time: bench/metric-store.bench.ts wrote 190–200k field values per CPU-second with
 * one, 255–315k without (and the file is 40% smaller).
 */
import type { Statement } from 'better-sqlite3';
import type { Logger } from '../log.js';
import { BOOL, FLOAT, INT, STRING, typeName, UINT, type MetricPoint, type MetricSink } from '../model/metric-point.js';
import type { Runtime } from '../runtime.js';
import { counter, type Registry } from '../self-metrics.js';
import { openSharedDatabase, type Migration, type StoreDatabase } from './database.js';
import { MetricQueries } from './metric-query.js';

export const METRIC_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'metric series, their tags, fields and points',
    up(db) {
      db.exec(`
        CREATE TABLE metric_series (
          id INTEGER PRIMARY KEY,
          measurement TEXT NOT NULL,
          tags TEXT NOT NULL,
          last_ns INTEGER NOT NULL,
          UNIQUE (measurement, tags)
        );
        CREATE TABLE metric_series_tags (
          key TEXT NOT NULL,
          value TEXT NOT NULL,
          series INTEGER NOT NULL,
          PRIMARY KEY (key, value, series)
        ) WITHOUT ROWID;
        CREATE INDEX metric_series_tags_series ON metric_series_tags (series);
        CREATE TABLE metric_fields (
          id INTEGER PRIMARY KEY,
          measurement TEXT NOT NULL,
          field TEXT NOT NULL,
          type TEXT NOT NULL,
          last_ns INTEGER NOT NULL,
          UNIQUE (measurement, field)
        );
        CREATE TABLE metric_points (
          series INTEGER NOT NULL,
          field INTEGER NOT NULL,
          ts_ns INTEGER NOT NULL,
          value,
          PRIMARY KEY (series, field, ts_ns)
        ) WITHOUT ROWID;
      `);
    },
  },
];

export interface MetricStoreOptions {
  /** Points waiting to be written at most; past it new points are dropped and counted. */
  maxQueuedPoints?: number;
  /** Points per transaction. */
  batchPoints?: number;
  /** Longest a point waits to be written. */
  flushIntervalMs?: number;
  log: Logger;
  registry?: Registry;
}

const MAX_INT64 = 2n ** 63n - 1n;
/** Series ids remembered by text; past this the memory is cleared (the table still has them). */
const MAX_CACHED_SERIES = 200_000;

interface KnownSeries {
  measurement: string;
  tagKeys: readonly string[];
  id: number;
}

export class StoreMetricStorage extends MetricQueries implements MetricSink {
  readonly name = 'store';
  private queue: Array<readonly MetricPoint[]> = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly maxQueued: number;
  private readonly batchPoints: number;
  private readonly flushIntervalMs: number;
  /** Series ids by text, and by the tag value array itself: the points of one parsed body share those. */
  private seriesByText = new Map<string, number>();
  private seriesByValues = new WeakMap<readonly string[], KnownSeries>();
  private fieldIds = new Map<string, number>();
  private readonly upsertSeries: Statement;
  private readonly insertSeriesTag: Statement;
  private readonly upsertField: Statement;
  private readonly insertPoint: Statement;
  private readonly touchSeries: Statement;
  private readonly touchField: Statement;
  private readonly writeBatch: (points: readonly MetricPoint[]) => void;
  private readonly written;
  private readonly dropped;

  constructor(store: StoreDatabase, private readonly options: MetricStoreOptions) {
    super(store.db);
    store.migrate('metrics', METRIC_MIGRATIONS);
    const db = store.db;
    this.maxQueued = options.maxQueuedPoints ?? 200_000;
    this.batchPoints = options.batchPoints ?? 5_000;
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.upsertSeries = db.prepare(
      `INSERT INTO metric_series (measurement, tags, last_ns) VALUES (?, ?, ?)
       ON CONFLICT (measurement, tags) DO UPDATE SET last_ns = max(last_ns, excluded.last_ns) RETURNING id`,
    );
    this.insertSeriesTag = db.prepare('INSERT OR IGNORE INTO metric_series_tags (key, value, series) VALUES (?, ?, ?)');
    this.upsertField = db.prepare(
      `INSERT INTO metric_fields (measurement, field, type, last_ns) VALUES (?, ?, ?, ?)
       ON CONFLICT (measurement, field) DO UPDATE SET type = excluded.type, last_ns = max(last_ns, excluded.last_ns) RETURNING id`,
    );
    this.insertPoint = db.prepare('INSERT OR REPLACE INTO metric_points (series, field, ts_ns, value) VALUES (?, ?, ?, ?)');
    this.touchSeries = db.prepare('UPDATE metric_series SET last_ns = max(last_ns, ?) WHERE id = ?');
    this.touchField = db.prepare('UPDATE metric_fields SET last_ns = max(last_ns, ?) WHERE id = ?');
    this.writeBatch = db.transaction((points: readonly MetricPoint[]) => this.insert(points));
    const registry = options.registry;
    this.written = registry ? counter(registry, { name: 'shipwatch_metric_store_points_total', help: 'Metric field values written to the embedded store.' }) : undefined;
    this.dropped = registry
      ? counter(registry, { name: 'shipwatch_metric_store_dropped_total', help: 'Metric points the embedded store did not keep.', labelNames: ['reason'] as const })
      : undefined;
    store.addRetention({ name: 'metrics', deleteOlderThan: (cutoffMs, maxRows) => this.deleteOlderThan(cutoffMs, maxRows) });
  }

  write(points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    if (this.closed) {
      this.dropped?.inc({ reason: 'closed' }, points.length);
      return;
    }
    if (this.queued + points.length > this.maxQueued) {
      this.dropped?.inc({ reason: 'queue_full' }, points.length);
      this.options.log.warn('metric store queue full: points dropped', { points: points.length, queued: this.queued });
      return;
    }
    this.queue.push(points);
    this.queued += points.length;
    if (this.queued >= this.batchPoints) {
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes every queued point now, `batchPoints` per transaction. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const chunks = this.queue;
    this.queue = [];
    this.queued = 0;
    let batch: MetricPoint[] = [];
    const send = (): void => {
      if (batch.length === 0) return;
      try {
        this.writeBatch(batch);
      } catch (err) {
        // Lost series ids would point the next batch at rows retention removed: start again from the tables.
        this.forgetIds();
        this.dropped?.inc({ reason: 'failed' }, batch.length);
        this.options.log.error('metric store write failed: points dropped', { points: batch.length, err });
      }
      batch = [];
    };
    for (const chunk of chunks) {
      for (const p of chunk) {
        batch.push(p);
        if (batch.length >= this.batchPoints) send();
      }
    }
    send();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.flush();
  }

  private insert(points: readonly MetricPoint[]): void {
    const lastNs = new Map<number, bigint>();
    const fieldLastNs = new Map<number, bigint>();
    let values = 0;
    for (const p of points) {
      const t = p.timeNs;
      const series = this.seriesId(p);
      const seen = lastNs.get(series);
      if (seen === undefined || t > seen) lastNs.set(series, t);
      for (let i = 0; i < p.fieldKeys.length; i++) {
        const field = this.fieldId(p.measurement, p.fieldKeys[i]!, p.fieldTypes[i]!, t);
        const fieldSeen = fieldLastNs.get(field);
        if (fieldSeen === undefined || t > fieldSeen) fieldLastNs.set(field, t);
        this.insertPoint.run(series, field, t, storedValue(p.fieldTypes[i]!, p.fieldValues[i]!));
        values++;
      }
    }
    for (const [id, t] of lastNs) this.touchSeries.run(t, id);
    for (const [id, t] of fieldLastNs) this.touchField.run(t, id);
    this.written?.inc(values);
  }

  private seriesId(p: MetricPoint): number {
    const known = this.seriesByValues.get(p.tagValues);
    if (known !== undefined && known.measurement === p.measurement && known.tagKeys === p.tagKeys) return known.id;
    const tags: Record<string, string> = {};
    for (let i = 0; i < p.tagKeys.length; i++) tags[p.tagKeys[i]!] = p.tagValues[i]!;
    const tagsJson = JSON.stringify(tags);
    const text = p.measurement + '\n' + tagsJson;
    let id = this.seriesByText.get(text);
    if (id === undefined) {
      id = this.upsertSeries.pluck().get(p.measurement, tagsJson, p.timeNs) as number;
      for (let i = 0; i < p.tagKeys.length; i++) this.insertSeriesTag.run(p.tagKeys[i], p.tagValues[i], id);
      if (this.seriesByText.size >= MAX_CACHED_SERIES) this.seriesByText.clear();
      this.seriesByText.set(text, id);
    }
    this.seriesByValues.set(p.tagValues, { measurement: p.measurement, tagKeys: p.tagKeys, id });
    return id;
  }

  private fieldId(measurement: string, field: string, type: number, t: bigint): number {
    const key = measurement + '\n' + field + '\n' + type;
    let id = this.fieldIds.get(key);
    if (id === undefined) {
      id = this.upsertField.pluck().get(measurement, field, typeName(type), t) as number;
      this.fieldIds.set(key, id);
    }
    return id;
  }

  private forgetIds(): void {
    this.seriesByText = new Map();
    this.seriesByValues = new WeakMap();
    this.fieldIds = new Map();
  }

  /** Points first, batch by batch; once none is older than the cutoff, the series and fields left without any. */
  private deleteOlderThan(cutoffMs: number, maxRows: number): number {
    const cutoffNs = BigInt(Math.floor(cutoffMs)) * 1_000_000n;
    // Every series with every field of its measurement: a superset of the ranges that hold points, each one seek.
    const ranges = this.stmt('SELECT s.id AS series, f.id AS field FROM metric_series s JOIN metric_fields f ON f.measurement = s.measurement')
      .raw()
      .all() as Array<[number, number]>;
    const deleteRange = this.stmt(
      `DELETE FROM metric_points WHERE series = ? AND field = ? AND ts_ns IN
         (SELECT ts_ns FROM metric_points WHERE series = ? AND field = ? AND ts_ns < ? ORDER BY ts_ns LIMIT ?)`,
    );
    let points = 0;
    for (const [series, field] of ranges) {
      points += deleteRange.run(series, field, series, field, cutoffNs, maxRows - points).changes;
      if (points >= maxRows) return points;
    }
    const gone = this.stmt('SELECT id FROM metric_series WHERE last_ns < ? LIMIT ?').pluck().all(cutoffNs, maxRows - points) as number[];
    for (const id of gone) {
      this.stmt('DELETE FROM metric_series_tags WHERE series = ?').run(id);
      this.stmt('DELETE FROM metric_series WHERE id = ?').run(id);
    }
    const fields = this.stmt('DELETE FROM metric_fields WHERE last_ns < ?').run(cutoffNs).changes;
    if (gone.length > 0 || fields > 0) this.forgetIds();
    return points + gone.length + fields;
  }
}

/** A field value as a SQLite value (see the table notes above). */
function storedValue(type: number, v: MetricPoint['fieldValues'][number]): number | bigint | string {
  switch (type) {
    case FLOAT:
      return v as number;
    case INT:
      return v as number | bigint;
    case UINT:
      return typeof v === 'bigint' && v > MAX_INT64 ? Number(v) : (v as number | bigint);
    case BOOL:
      return v ? 1 : 0;
    case STRING:
    default:
      return String(v);
  }
}

/** The process's metric store over the shared database (the collector's `store` output, query's metric API). */
export function openStoreMetricStorage(runtime: Runtime, registry?: Registry): StoreMetricStorage {
  return runtime.shared.get(
    'store.metrics',
    () => new StoreMetricStorage(openSharedDatabase(runtime, registry), { log: runtime.log.child({ component: 'metric-store' }), registry }),
    (s) => s.close(),
  );
}
