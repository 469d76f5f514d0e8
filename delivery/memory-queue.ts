/**
 * The bounded memory queue: a BatchQueue (./batch-queue.ts) for an output that keeps nothing on disk. At most
 * `maxRecords` records are held, those being sent included; past it `append` waits for room (`block`) or drops the
 * batch and counts it (`drop`). What it holds is lost with the process: an output that must survive a crash uses the
 * durable queue instead.
 */
import type { Counter } from 'prom-client';
import { swError } from '../platform/errors.js';
import { counter, type Registry } from '../platform/self-metrics.js';
import type { BatchQueue, QueuedRun } from './batch-queue.js';

export interface MemoryQueueOptions<T> {
  /** Output name: the `output` label. */
  name: string;
  maxRecords: number;
  whenFull: 'block' | 'drop';
  /** Records in a batch. */
  records(batch: T): number;
  /** Batches read together, as one (at least one batch per run; a batch is never split). */
  join(batches: T[]): T;
  /** Bytes a batch counts for against a run's `maxBytes`; default 0 (runs bounded by records only). */
  bytes?(batch: T): number;
  registry: Registry;
}

export class MemoryQueue<T> implements BatchQueue<T, T> {
  private batches: Array<{ value: T; records: number; bytes: number }> = [];
  /** Index of the first batch not yet handed out in a run. */
  private readAt = 0;
  private held = 0;
  private closed = false;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly dataWaiters: Array<() => void> = [];
  private readonly dropped: Counter<'output'>;

  constructor(private readonly opts: MemoryQueueOptions<T>) {
    this.dropped = counter(opts.registry, {
      name: 'shipwatch_memory_queue_dropped_records_total', help: 'Records dropped because an output\'s memory queue was full and when_full=drop.', labelNames: ['output'] as const,
    });
  }

  get isEmpty(): boolean {
    return this.readAt >= this.batches.length;
  }

  /** Records held, those being sent included. */
  get heldRecords(): number {
    return this.held;
  }

  get fill(): number {
    return this.held / this.opts.maxRecords;
  }

  async append(batch: T, options?: { refuseWhenFull?: boolean }): Promise<'queued' | 'dropped' | 'full'> {
    if (this.closed) throw swError('SW_OUTPUT_FAILED', `the queue of ${this.opts.name} is closed`);
    const records = this.opts.records(batch);
    if (records === 0) return 'queued';
    // A batch larger than the whole bound still passes an empty queue, or it never could.
    while (this.held > 0 && this.held + records > this.opts.maxRecords) {
      if (options?.refuseWhenFull === true) return 'full';
      if (this.opts.whenFull === 'drop' || this.closed) {
        this.dropped.inc({ output: this.opts.name }, records);
        return 'dropped';
      }
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    this.batches.push({ value: batch, records, bytes: this.opts.bytes?.(batch) ?? 0 });
    this.held += records;
    this.dataWaiters.splice(0).forEach((r) => r());
    return 'queued';
  }

  async next(limits: { maxRecords: number; maxBytes: number }): Promise<QueuedRun<T> | undefined> {
    if (this.isEmpty) return undefined;
    const start = this.readAt;
    let records = 0;
    let bytes = 0;
    let k = start;
    while (k < this.batches.length) {
      const b = this.batches[k]!;
      if (k > start && (records + b.records > limits.maxRecords || bytes + b.bytes > limits.maxBytes)) break;
      records += b.records;
      bytes += b.bytes;
      k++;
    }
    this.readAt = k;
    const values = this.batches.slice(start, k).map((b) => b.value);
    let acked = false;
    return {
      value: values.length === 1 ? values[0]! : this.opts.join(values),
      records,
      ack: async () => {
        if (acked) return;
        acked = true;
        // Runs are acknowledged in order: this one is at the head.
        this.batches.splice(0, k - start);
        this.readAt -= k - start;
        this.held -= records;
        this.spaceWaiters.splice(0).forEach((r) => r());
      },
    };
  }

  /** Hands the runs not acknowledged out again (a consumer that stopped mid-run). */
  rewind(): void {
    this.readAt = 0;
  }

  waitForData(): Promise<void> {
    if (!this.isEmpty || this.closed) return Promise.resolve();
    return new Promise((r) => this.dataWaiters.push(r));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.spaceWaiters.splice(0).forEach((r) => r());
    this.dataWaiters.splice(0).forEach((r) => r());
  }
}
