/**
 * What the delivery chain (./delivery-chain.ts) reads batches from: the durable queue (./durable-queue.ts, on disk)
 * or the bounded memory queue (./memory-queue.ts). Both take batches with `append`, hand the oldest ones back as a
 * run of at most `maxRecords` records and `maxBytes`, and forget a run only when it is acknowledged: runs are
 * acknowledged in order, one consumer at a time.
 */
import type { QueuedRun } from './durable-queue.js';

export type { QueuedRun } from './durable-queue.js';

export interface BatchQueue<In, Out> {
  /**
   * Resolves once the batch is kept (on disk: durable); 'dropped' when full and configured to drop (counted); with
   * `refuseWhenFull`, 'full' at once when it does not fit (neither kept nor counted), instead of waiting or dropping.
   */
  append(batch: In, options?: { refuseWhenFull?: boolean }): Promise<'queued' | 'dropped' | 'full'>;
  /** The oldest records not yet acknowledged, or undefined when there is none right now. */
  next(limits: { maxRecords: number; maxBytes: number }): Promise<QueuedRun<Out> | undefined>;
  /** Resolves when there is something to read (at once when there is, or when closed). */
  waitForData(): Promise<void>;
  /** Nothing is left to read. */
  readonly isEmpty: boolean;
  /** How full the budget is, 0..1. */
  readonly fill: number;
  /** Refuses new appends; what is kept stays (on disk: for the next start). Idempotent. */
  close(): Promise<void>;
}
