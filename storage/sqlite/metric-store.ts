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
 * by a timer, one transaction of at most `batchPoints` points and `batchValues` field values per turn of the event
 * loop (better-sqlite3 is synchronous: `shipwatch all` answers nothing else while a transaction runs). A measurement
 * holds at most `maxSeriesPerMeasurement` series (METRICS_STORE_MAX_SERIES): points of a new series past it are
 * refused (`admit`, for a source that answers its client) or dropped, counted; existing series stay writable.
 * Retention (SHIPWATCH_RETENTION) walks the tables in bounded steps (metric-retention.ts). There is no index by
 * time: it cost about a third of the write speed in bench/metric-store.bench.ts (figures and the rest of the
 * history: docs/design/metric-store.md).
 */
import type { Statement } from 'better-sqlite3';
import type { Logger } from '../../platform/log.js';
import { BOOL, FLOAT, INT, STRING, typeName, UINT, type MetricPoint, type MetricSink, type PointRefusal } from '../../model/metric-point.js';
import type { Runtime } from '../../platform/runtime.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { openSharedDatabase, type Migration, type StoreDatabase } from './database.js';
import { MetricQueries } from './metric-query.js';
import { MetricRetention } from './metric-retention.js';
import { nextTurn } from '../../platform/turns.js';

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
  /**
   * Field values per transaction of the timer's writes at most (a point of many fields may go past it alone); `flush`
   * writes `batchPoints` at a time. 5,000 by default: the first transaction behind a push of new series took 82 ms
   * with 10,000 on a slow machine, 36 ms with 5,000, and the bench wrote as fast with either
   * (docs/design/metric-store.md). Much fewer is not quicker per value: a transaction writes each page it touched,
   * and the points of many series touch a page each (1,600 values took 150 ms).
   */
  batchValues?: number;
  /** Series of one measurement at most; see the notes above. */
  maxSeriesPerMeasurement?: number;
  /** Longest a point waits to be written. */
  flushIntervalMs?: number;
  log: Logger;
  registry?: Registry;
}

const MAX_INT64 = 2n ** 63n - 1n;
/** Series ids remembered by text; past this the memory is cleared (the table still has them). */
const MAX_CACHED_SERIES = 200_000;
/** The id of a series admitted and not yet written: the transaction that writes its first point creates it. */
const PENDING = 0;
/**
 * One of the timer's transactions should take about this long: it is a turn of the event loop. The field values a
 * transaction takes follow the pace of the last full one (MIN_STEP_VALUES to `batchValues`, growing by a quarter at
 * most), and a point of a series not written yet counts NEW_SERIES_VALUES more, its series and tag rows costing about
 * that: behind a push of 2,000 new series the first transaction of 5,000 values took 60 ms, the next ones 23-35 ms,
 * and on a 2-core CI machine 100 ms.
 */
const STEP_MS = 20;
const MIN_STEP_VALUES = 250;
const NEW_SERIES_VALUES = 6;
/** Measurements whose series count is remembered; past this the memory is cleared. */
const MAX_COUNTED_MEASUREMENTS = 10_000;
const WARN_EVERY_MS = 30_000;


interface KnownSeries {
  measurement: string;
  tagKeys: readonly string[];
  id: number;
}

export class StoreMetricStorage extends MetricQueries implements MetricSink {
  readonly name = 'store';
  /** Chunks of points waiting, oldest first; the first from its point `queueHead`. */
  private queue: Array<readonly MetricPoint[]> = [];
  private queueHead = 0;
  private queued = 0;
  private queuedValues = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Set while a drain waits for its turn (platform/turns.ts). */
  private drainWaiting = false;
  private closed = false;
  private readonly maxQueued: number;
  private readonly batchPoints: number;
  private readonly batchValues: number;
  /** Field values (new series weighed) of the timer's next transaction; see STEP_MS. */
  private stepValues: number;
  private readonly flushIntervalMs: number;
  private readonly maxSeries: number;
  /** Series of each measurement: in the table, plus those admitted since it was counted. */
  private seriesCounts = new Map<string, number>();
  private lastRefusalWarnMs = 0;
  private readonly findSeries: Statement;
  private readonly countSeries: Statement;
  private readonly retention: MetricRetention;
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
    this.batchValues = options.batchValues ?? 5_000;
    this.stepValues = this.batchValues;
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.maxSeries = options.maxSeriesPerMeasurement ?? 100_000;
    this.findSeries = db.prepare('SELECT id FROM metric_series WHERE measurement = ? AND tags = ?').pluck();
    this.countSeries = db.prepare('SELECT count(*) FROM metric_series WHERE measurement = ?').pluck();
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
    this.retention = new MetricRetention(db, () => this.forgetIds());
    const retention = this.retention;
    store.addRetention({
      name: 'metrics',
      deleteOlderThan: (cutoffMs, maxRows) => retention.step(BigInt(Math.floor(cutoffMs)) * 1_000_000n, maxRows),
      more: () => retention.more,
    });
  }

  write(points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    if (this.closed) {
      this.dropped?.inc({ reason: 'closed' }, points.length);
      return;
    }
    const refused = this.admit(points);
    if (refused.length > 0) {
      const out = new Set(refused.map((r) => r.index));
      points = points.filter((_, i) => !out.has(i));
      this.dropped?.inc({ reason: 'series_per_measurement' }, refused.length);
      const nowMs = Date.now();
      if (nowMs - this.lastRefusalWarnMs >= WARN_EVERY_MS) {
        this.lastRefusalWarnMs = nowMs;
        this.options.log.warn('metric store: points of new series past the limit of series per measurement dropped', { points: refused.length, reason: refused[0]!.message });
      }
      if (points.length === 0) return;
    }
    if (this.queued + points.length > this.maxQueued) {
      this.dropped?.inc({ reason: 'queue_full' }, points.length);
      this.options.log.warn('metric store queue full: points dropped', { points: points.length, queued: this.queued });
      // Series admitted for these points will not be written: count again from the table.
      this.seriesCounts = new Map();
      return;
    }
    let values = 0;
    for (const p of points) values += p.fieldKeys.length;
    this.queue.push(points);
    this.queued += points.length;
    this.queuedValues += values;
    if (this.queued >= this.batchPoints || this.queuedValues >= this.batchValues) {
      this.drainInTurn();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /**
   * The points of series the store holds or may still take; the others are refused (`series_per_measurement`)
   * while their measurement holds `maxSeriesPerMeasurement` series. A series admitted here counts from now on.
   */
  admit(points: readonly MetricPoint[]): PointRefusal[] {
    const refused: PointRefusal[] = [];
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const known = this.seriesByValues.get(p.tagValues);
      if (known !== undefined && known.measurement === p.measurement && known.tagKeys === p.tagKeys) continue;
      const { text, tagsJson } = seriesText(p);
      let id = this.seriesByText.get(text);
      if (id === undefined) {
        id = this.findSeries.get(p.measurement, tagsJson) as number | undefined;
        if (id === undefined) {
          const count = this.seriesCount(p.measurement);
          if (count >= this.maxSeries) {
            refused.push({
              index: i, reason: 'series_per_measurement',
              message: `max series per measurement exceeded (${count}/${this.maxSeries}): measurement ${JSON.stringify(p.measurement)} takes no new series (METRICS_STORE_MAX_SERIES)`,
            });
            continue;
          }
          this.seriesCounts.set(p.measurement, count + 1);
          id = PENDING;
        }
        this.rememberSeries(text, id);
      }
      this.seriesByValues.set(p.tagValues, { measurement: p.measurement, tagKeys: p.tagKeys, id });
    }
    return refused;
  }

  /**
   * Writes every queued point now, `batchPoints` per transaction one after the other without a pause (close, tools,
   * tests and bench/metric-store.bench.ts).
   */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queued > 0) this.writeNext(Infinity);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
  }

  /** One transaction of queued points, then the next one in a later turn of the event loop. */
  private drainInTurn(): void {
    if (this.drainWaiting) return;
    this.drainWaiting = true;
    void nextTurn().then(() => {
      this.drainWaiting = false;
      if (!this.closed) this.drain();
    });
  }

  private drain(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const started = performance.now();
    const cost = this.writeNext(this.stepValues);
    const tookMs = performance.now() - started;
    // A small transaction (the queue's tail) says little of the pace: its commit dominates.
    if (cost >= this.stepValues / 2) {
      const paced = Math.round((cost * STEP_MS) / Math.max(tookMs, 0.1));
      this.stepValues = Math.max(MIN_STEP_VALUES, Math.min(this.batchValues, Math.ceil(this.stepValues * 1.25), paced));
    }
    if (this.queued > 0 && !this.closed) this.drainInTurn();
  }

  /**
   * Writes the next batch of the queue (batchPoints, `maxValues`) in one transaction; returns its cost: its field
   * values, a point of a series not written yet counted NEW_SERIES_VALUES more.
   */
  private writeNext(maxValues: number): number {
    const batch: MetricPoint[] = [];
    let values = 0;
    let cost = 0;
    while (this.queue.length > 0 && batch.length < this.batchPoints && cost < maxValues) {
      const chunk = this.queue[0]!;
      const p = chunk[this.queueHead++]!;
      batch.push(p);
      values += p.fieldKeys.length;
      const known = this.seriesByValues.get(p.tagValues);
      cost += p.fieldKeys.length + (known === undefined || known.id === PENDING ? NEW_SERIES_VALUES : 0);
      if (this.queueHead >= chunk.length) {
        this.queue.shift();
        this.queueHead = 0;
      }
    }
    this.queued -= batch.length;
    this.queuedValues -= values;
    if (batch.length === 0) return 0;
    try {
      this.writeBatch(batch);
    } catch (err) {
      // Lost series ids would point the next batch at rows retention removed: start again from the tables.
      this.forgetIds();
      this.dropped?.inc({ reason: 'failed' }, batch.length);
      this.options.log.error('metric store write failed: points dropped', { points: batch.length, err });
    }
    return cost;
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
    if (known !== undefined && known.id !== PENDING && known.measurement === p.measurement && known.tagKeys === p.tagKeys) return known.id;
    const { text, tagsJson } = seriesText(p);
    let id = this.seriesByText.get(text);
    if (id === undefined || id === PENDING) {
      id = this.upsertSeries.pluck().get(p.measurement, tagsJson, p.timeNs) as number;
      for (let i = 0; i < p.tagKeys.length; i++) this.insertSeriesTag.run(p.tagKeys[i], p.tagValues[i], id);
      this.rememberSeries(text, id);
    }
    this.seriesByValues.set(p.tagValues, { measurement: p.measurement, tagKeys: p.tagKeys, id });
    return id;
  }

  private rememberSeries(text: string, id: number): void {
    if (this.seriesByText.size >= MAX_CACHED_SERIES) this.seriesByText.clear();
    this.seriesByText.set(text, id);
  }

  private seriesCount(measurement: string): number {
    let count = this.seriesCounts.get(measurement);
    if (count === undefined) {
      count = this.countSeries.get(measurement) as number;
      if (this.seriesCounts.size >= MAX_COUNTED_MEASUREMENTS) this.seriesCounts.clear();
      this.seriesCounts.set(measurement, count);
    }
    return count;
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
    this.seriesCounts = new Map();
  }

}

/** A series as the table keys it: its tags as a JSON object in key order, and that after the measurement. */
function seriesText(p: MetricPoint): { text: string; tagsJson: string } {
  const tags: Record<string, string> = {};
  for (let i = 0; i < p.tagKeys.length; i++) tags[p.tagKeys[i]!] = p.tagValues[i]!;
  const tagsJson = JSON.stringify(tags);
  return { text: p.measurement + '\n' + tagsJson, tagsJson };
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
    () => new StoreMetricStorage(openSharedDatabase(runtime, registry), {
      log: runtime.log.child({ component: 'metric-store' }), registry, maxSeriesPerMeasurement: runtime.config.collector.metricsStoreMaxSeries,
    }),
    (s) => s.close(),
  );
}
