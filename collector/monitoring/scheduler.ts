/**
 * Runs each container's monitoring tasks every interval, each on its own random phase so a host's containers are
 * not all polled in the same second. A run still going at its next tick makes that tick skip, with a warning and a
 * counter — runs never pile up, and a collection round (`runAllOnce`) joins a run in progress instead of starting a
 * second one. While `holdBack` says so (a metric output is full and blocks) ticks are skipped too, counted: the points
 * a run would make have nowhere to go. Tasks are added and removed as containers come and go; a removed task never
 * starts again.
 */
import type { Logger } from '../../platform/log.js';
import { counter, type Registry } from '../../platform/self-metrics.js';

export interface MonitorTask {
  /** Unique per container and kind, e.g. `<id>/script`. */
  key: string;
  kind: 'script' | 'http' | 'stats';
  container: string;
  run(): Promise<unknown>;
}

interface Entry {
  task: MonitorTask;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  removed: boolean;
}

export interface SchedulerOptions {
  intervalMs: number;
  log: Logger;
  registry: Registry;
  /** True while runs should not start (a metric output is full and blocks). */
  holdBack?: () => boolean;
  /** Source of each task's phase in [0, 1) of the interval; default Math.random. */
  random?: () => number;
}

/** Node runs a timer longer than this (about 24.8 days) after 1 ms: longer intervals are cut to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class MonitorScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly skipped;
  private readonly failed;
  private readonly heldBack;
  private closed = false;

  constructor(private readonly options: SchedulerOptions) {
    this.skipped = counter(options.registry, {
      name: 'shipwatch_monitoring_skipped_ticks_total', help: 'Monitoring ticks skipped because the previous run was still going.', labelNames: ['kind'] as const,
    });
    this.heldBack = counter(options.registry, {
      name: 'shipwatch_monitoring_held_back_ticks_total', help: 'Monitoring ticks skipped because a metric output was full (INFLUXDB_BUFFER_WHEN_FULL=block).',
      labelNames: ['kind'] as const,
    });
    this.failed = counter(options.registry, {
      name: 'shipwatch_monitoring_task_errors_total', help: 'Monitoring runs that threw unexpectedly.', labelNames: ['kind'] as const,
    });
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Schedules a task: first run after a random phase within the interval (now with `runNow`), then every interval. */
  add(task: MonitorTask, options: { runNow?: boolean } = {}): void {
    if (this.closed || this.entries.has(task.key)) return;
    const intervalMs = Math.min(Math.max(this.options.intervalMs, 1), MAX_TIMER_MS);
    const phaseMs = options.runNow ? 0 : Math.floor((this.options.random ?? Math.random)() * intervalMs);
    const entry: Entry = { task, running: undefined, timer: undefined, removed: false };
    const tick = (): void => {
      if (entry.running) {
        this.skipped.inc({ kind: task.kind });
        this.options.log.warn('monitoring run still going at the next tick: tick skipped', { container: task.container, kind: task.kind, intervalMs });
        return;
      }
      if (this.options.holdBack?.() === true) {
        this.heldBack.inc({ kind: task.kind });
        return;
      }
      void this.start(entry);
    };
    entry.timer = setTimeout(() => {
      if (entry.removed) return;
      entry.timer = setInterval(tick, intervalMs);
      entry.timer.unref();
      tick();
    }, phaseMs);
    entry.timer.unref();
    this.entries.set(task.key, entry);
  }

  /** Starts a run unless one is going; never rejects (a throw is counted and logged). */
  private start(entry: Entry): Promise<void> {
    if (entry.running) return entry.running;
    const { task } = entry;
    let run: Promise<unknown>;
    try {
      run = task.run();
    } catch (err) {
      run = Promise.reject(err);
    }
    entry.running = run.then(
      () => undefined,
      (err: unknown) => {
        this.failed.inc({ kind: task.kind });
        this.options.log.error('monitoring run failed', { container: task.container, kind: task.kind, err });
      },
    ).finally(() => {
      entry.running = undefined;
    });
    return entry.running;
  }

  /** Removes every task whose key matches (e.g. a container's `<id>/` prefix); a run in progress finishes. */
  removeWhere(predicate: (key: string) => boolean): void {
    for (const [key, entry] of this.entries) {
      if (!predicate(key)) continue;
      entry.removed = true;
      clearTimeout(entry.timer);
      clearInterval(entry.timer);
      this.entries.delete(key);
    }
  }

  /** One collection round: runs every task (or those `filter` picks) now, joining runs already going, and waits for all. */
  async runAllOnce(filter?: (task: MonitorTask) => boolean): Promise<void> {
    const entries = [...this.entries.values()].filter((e) => !filter || filter(e.task));
    await Promise.all(entries.map((e) => this.start(e)));
  }

  /** Stops scheduling and waits for the runs in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.entries.values()].map((e) => e.running).filter((r): r is Promise<void> => r !== undefined);
    this.removeWhere(() => true);
    await Promise.all(running);
  }
}
