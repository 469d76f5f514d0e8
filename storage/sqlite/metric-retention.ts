/**
 * Retention of the embedded store's metrics (tables in metric-store.ts): a walk over the tables in steps of a
 * bounded number of rows, each step one transaction and one turn of the event loop (database.ts runs them).
 *
 * 1. Points: the walk goes from one (series, field) range of `metric_points` to the next along the primary key
 *    (`(series, field) >= (?, ?)`, one seek each) and deletes the points of a range older than the cutoff. Only
 *    ranges that hold points are visited: the former query joined every series with every field of its
 *    measurement, which with 100,000 fields made one retention run hold the process for seconds.
 * 2. Series whose last point is older than the cutoff, with their tag index rows, by rowid ranges.
 * 3. Fields likewise.
 *
 * A step visits at most `maxRows` ranges or rows and deletes at most `maxRows` rows, and says (`more`) whether the
 * walk goes on. The walk's place is kept between steps, so writes made between them are met or not, never half; a pass that
 * ends (or fails) starts the next one from the beginning.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

interface RetentionStep {
  deleted: number;
  more: boolean;
}

const POINTS = 0;
const SERIES = 1;
const FIELDS = 2;

export class MetricRetention {
  /** Whether the pass has more to do after the last step. */
  more = false;
  private phase = POINTS;
  /** Points: the next range is the first at or after (series, field). Series and fields: the last rowid done. */
  private series = 0;
  private field = 0;
  private lastId = 0;
  private readonly nextRange: Statement;
  private readonly deleteRange: Statement;
  private readonly seriesAfter: Statement;
  private readonly deleteSeriesTags: Statement;
  private readonly deleteSeries: Statement;
  private readonly fieldsAfter: Statement;
  private readonly deleteField: Statement;

  /** `forget` is told when series or fields were deleted: ids the writer remembers may be gone. */
  constructor(db: Db, private readonly forget: () => void) {
    this.nextRange = db.prepare('SELECT series, field, ts_ns FROM metric_points WHERE (series, field) >= (?, ?) ORDER BY series, field, ts_ns LIMIT 1').raw().safeIntegers();
    this.deleteRange = db.prepare(
      `DELETE FROM metric_points WHERE series = ? AND field = ? AND ts_ns IN
         (SELECT ts_ns FROM metric_points WHERE series = ? AND field = ? AND ts_ns < ? ORDER BY ts_ns LIMIT ?)`,
    );
    this.seriesAfter = db.prepare('SELECT id, last_ns < ? FROM metric_series WHERE id > ? ORDER BY id LIMIT ?').raw();
    this.deleteSeriesTags = db.prepare('DELETE FROM metric_series_tags WHERE series = ?');
    this.deleteSeries = db.prepare('DELETE FROM metric_series WHERE id = ? AND last_ns < ?');
    this.fieldsAfter = db.prepare('SELECT id, last_ns < ? FROM metric_fields WHERE id > ? ORDER BY id LIMIT ?').raw();
    this.deleteField = db.prepare('DELETE FROM metric_fields WHERE id = ? AND last_ns < ?');
  }

  /** One step of the pass for points older than `cutoffNs`: the rows it deleted (see `more`). Run it inside a transaction. */
  step(cutoffNs: bigint, maxRows: number): number {
    this.more = false;
    let step: RetentionStep;
    try {
      step = this.phase === POINTS ? this.points(cutoffNs, maxRows) : this.phase === SERIES ? this.rows(cutoffNs, maxRows, true) : this.rows(cutoffNs, maxRows, false);
    } catch (err) {
      this.restart();
      throw err;
    }
    if (step.more) this.more = true;
    else this.restart();
    return step.deleted;
  }

  private restart(): void {
    this.phase = POINTS;
    this.series = 0;
    this.field = 0;
    this.lastId = 0;
  }

  private points(cutoffNs: bigint, maxRows: number): RetentionStep {
    let deleted = 0;
    for (let visits = 0; visits < maxRows; visits++) {
      const next = this.nextRange.get(this.series, this.field) as [bigint, bigint, bigint] | undefined;
      if (next === undefined) {
        this.phase = SERIES;
        return { deleted, more: true };
      }
      const [series, field, oldestNs] = next;
      this.series = Number(series);
      this.field = Number(field);
      if (oldestNs < cutoffNs) {
        const want = maxRows - deleted;
        const n = this.deleteRange.run(series, field, series, field, cutoffNs, want).changes;
        deleted += n;
        // The range may hold more old points: the next step starts on it again.
        if (n === want) return { deleted, more: true };
      }
      this.field++;
    }
    return { deleted, more: true };
  }

  /** Series (with their tag rows) or fields whose last point is older than the cutoff, `maxRows` rowids a step. */
  private rows(cutoffNs: bigint, maxRows: number, series: boolean): RetentionStep {
    const found = (series ? this.seriesAfter : this.fieldsAfter).all(cutoffNs, this.lastId, maxRows) as Array<[number, number]>;
    let deleted = 0;
    for (const [id, old] of found) {
      if (old !== 1) continue;
      if (series) {
        // Tag index rows are the series' own and not counted, as the former query did not.
        if (this.deleteSeries.run(id, cutoffNs).changes === 0) continue;
        this.deleteSeriesTags.run(id);
        deleted++;
      } else {
        deleted += this.deleteField.run(id, cutoffNs).changes;
      }
    }
    if (deleted > 0) this.forget();
    if (found.length === maxRows) {
      this.lastId = found[found.length - 1]![0];
      return { deleted, more: true };
    }
    this.lastId = 0;
    if (series) {
      this.phase = FIELDS;
      return { deleted, more: true };
    }
    return { deleted, more: false };
  }
}
