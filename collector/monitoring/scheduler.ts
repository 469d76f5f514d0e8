/**
 * Runs each container's monitoring tasks every interval, each on its own random phase so a host's containers are
 * not all polled in the same second. A run still going at its next tick makes that tick skip, with a warning and a
 * counter — runs never pile up. Tasks are added and removed as containers come and go.
 */
import type { Logger } from '../../core/log.js';
import { counter, type Registry } from '../../core/self-metrics.js';

export interface MonitorTask {
  /** Unique per container and kind, e.g. `<id>/script`. */
  key: string;
  kind: 'script' | 'http' | 'stats';
  container: string;
  run(): Promise<void>;
}

interface Entry {
  task: MonitorTask;
  timer: NodeJS.Timeout;
  running: Promise<void> | undefined;
}

export class MonitorScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly skipped;
  private readonly failed;
  private closed = false;

  constructor(
    private readonly options: { intervalMs: number; log: Logger; registry: Registry; random?: () => number },
  ) {
    this.skipped = counter(options.registry, {
      name: 'shipwatch_monitoring_skipped_ticks_total', help: 'Monitoring ticks skipped because the previous run was still going.', labelNames: ['kind'] as const,
    });
    this.failed = counter(options.registry, {
      name: 'shipwatch_monitoring_task_errors_total', help: 'Monitoring runs that threw unexpectedly.', labelNames: ['kind'] as const,
    });
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  add(task: MonitorTask, options: { runNow?: boolean } = {}): void {
    if (this.closed || this.entries.has(task.key)) return;
    const { intervalMs } = this.options;
    const phaseMs = options.runNow ? 0 : Math.floor((this.options.random ?? Math.random)() * intervalMs);
    const entry: Entry = { task, running: undefined, timer: undefined as unknown as NodeJS.Timeout };
    const tick = (): void => {
      if (entry.running) {
        this.skipped.inc({ kind: task.kind });
        this.options.log.warn('monitoring run still going at the next tick: tick skipped', { container: task.container, kind: task.kind });
        return;
      }
      entry.running = task.run().catch((err: unknown) => {
        this.failed.inc({ kind: task.kind });
        this.options.log.error('monitoring run failed', { container: task.container, kind: task.kind, err });
      }).finally(() => {
        entry.running = undefined;
      });
    };
    entry.timer = setTimeout(() => {
      if (!this.entries.has(task.key)) return;
      tick();
      entry.timer = setInterval(tick, intervalMs);
      entry.timer.unref();
    }, phaseMs);
    entry.timer.unref();
    this.entries.set(task.key, entry);
  }

  /** Removes every task whose key starts with `prefix` (a container's id). */
  removeWhere(predicate: (key: string) => boolean): void {
    for (const [key, entry] of this.entries) {
      if (!predicate(key)) continue;
      clearTimeout(entry.timer);
      clearInterval(entry.timer);
      this.entries.delete(key);
    }
  }

  /** Runs every task once now (a collection round), waiting for all; used by benchmarks and tests. */
  async runAllOnce(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.running ?? e.task.run()));
  }

  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.entries.values()].map((e) => e.running).filter((r): r is Promise<void> => r !== undefined);
    this.removeWhere(() => true);
    await Promise.allSettled(running);
  }
}
