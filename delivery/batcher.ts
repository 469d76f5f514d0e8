/**
 * The batcher of the delivery chain: when to read the next run from the queue. A run is sent once the queue holds a
 * full batch (`maxRecords`) or the oldest record has waited `flushIntervalMs`; how many records and bytes a run takes
 * is the queue's `next(limits)` (count, bytes). Records of a previous process (found on disk at start) count as
 * waiting since the start, so a replay is not held back.
 */
import type { BatchQueue, QueuedRun } from './batch-queue.js';

export interface BatchLimits {
  /** Records per batch. */
  maxRecords: number;
  /** Bytes per batch (as the queue counts them). */
  maxBytes: number;
  /** Longest the first record waits for its batch to fill. */
  flushIntervalMs: number;
}

export class Batcher<In, Out> {
  /** Records appended and not yet read: a full batch need not wait. */
  private unread = 0;
  /** When the oldest unread record arrived; undefined while none is known to wait. */
  private oldestMs: number | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly queue: BatchQueue<In, Out>, private readonly limits: BatchLimits) {}

  /** A batch of `records` was appended. */
  added(records: number): void {
    this.unread += records;
    this.oldestMs ??= Date.now();
    if (this.unread >= this.limits.maxRecords) this.wake?.();
  }

  /** Resolves with the next run of at most `runRecords` records (or undefined when `stopped()` says so). */
  async next(runRecords: number, stopped: () => boolean): Promise<QueuedRun<Out> | undefined> {
    for (;;) {
      if (stopped()) return undefined;
      await this.queue.waitForData();
      if (stopped()) return undefined;
      const waitMs = this.oldestMs === undefined ? 0 : this.oldestMs + this.limits.flushIntervalMs - Date.now();
      if (this.unread < this.limits.maxRecords && waitMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          timer.unref();
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        continue;
      }
      const run = await this.queue.next({ maxRecords: runRecords, maxBytes: this.limits.maxBytes * Math.max(1, Math.ceil(runRecords / this.limits.maxRecords)) });
      if (run === undefined) {
        // Read to the end (what is left was torn or damaged, or in flight): wait for the next append.
        this.unread = 0;
        this.oldestMs = undefined;
        continue;
      }
      this.unread = Math.max(0, this.unread - run.records);
      this.oldestMs = this.unread > 0 ? Date.now() : undefined;
      return run;
    }
  }

  /** Stops a wait for the batch to fill (shutdown: send what there is). */
  flush(): void {
    this.oldestMs = 0;
    this.wake?.();
  }
}
