/**
 * The delivery chain every output leaving the process can use (OpenTelemetry's exporterhelper, Vector's sink
 * pipeline): bounded memory in front → queue (durable on disk: ./durable-queue.ts, or in memory: ./memory-queue.ts)
 * → batcher (./batcher.ts: count, bytes, time) → sender with bounded concurrency (./sender.ts: delivered / retried
 * without a deadline / rejected into the dead-letter file) → acknowledgement: a run leaves the queue only once each
 * of its records has an outcome. An output plugs in a sink (./sink.ts) and, for the durable queue, a frame codec.
 *
 * API:
 * - `offer(batch)`: never waits; 'busy' when the memory in front is full (the source pushes back: 429/503, a counted
 *   UDP drop); else the batch is appended in the background.
 * - `submit(batch)`: resolves once the batch is kept — on disk, made durable by the queue's group commit (concurrent
 *   submits share one fdatasync) — 'accepted'; 'busy' at once when the batch does not fit the queue's budget or
 *   the memory in front is full (it is not held waiting for room); 'failed' when the disk refused it.
 *   `{ waitForRoom: true }` is for a source with nobody to answer that can pause instead (a file tail): the batch
 *   waits for room in the queue (when_full=block), or is dropped, counted, and answered 'busy' (when_full=drop).
 * - `start()` begins delivering; `problem()` and `fill` feed /health; `close()` stops taking batches, keeps
 *   delivering for up to `drainTimeoutMs`, then stops: what is not acknowledged stays in a durable queue for the
 *   next start (a memory queue's is lost, counted as abandoned). Idempotent.
 *
 * A durable queue replays what was not acknowledged after a crash, so a record may reach the backend twice: a sink
 * makes that harmless (deterministic ids, idempotent writes).
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../platform/log.js';
import { counter, gauge, type Registry } from '../platform/self-metrics.js';
import type { BatchQueue } from './batch-queue.js';
import { Batcher, type BatchLimits } from './batcher.js';
import type { DeadLetterFile } from './dead-letter.js';
import { MemoryQueue } from './memory-queue.js';
import type { RetryPolicy } from './retry.js';
import { Sender, type SendResult } from './sender.js';
import type { DeliverySink } from './sink.js';

export interface DeliveryChainOptions<In, Out> {
  sink: DeliverySink<Out>;
  queue: BatchQueue<In, Out>;
  /** Records in a batch handed in. */
  records(batch: In): number;
  /** Records handed in and not yet in the queue (waiting for its write or for room) at most; past it 'busy'. */
  maxPendingRecords: number;
  batch: BatchLimits;
  /** Batches sent at once. */
  concurrency: number;
  /** How long close() keeps delivering what is queued; default 0. */
  drainTimeoutMs?: number;
  deadLetters?: DeadLetterFile;
  retryPolicy?: Partial<Omit<RetryPolicy, 'maxElapsedMs'>>;
  registry: Registry;
  log: Logger;
}

export type Admission = 'accepted' | 'busy' | 'failed';

export class DeliveryChain<In, Out> {
  private pending = 0;
  private readonly batcher: Batcher<In, Out>;
  private readonly sender: Sender<Out>;
  private readonly abort = new AbortController();
  private readonly appends = new Set<Promise<unknown>>();
  private loop: Promise<void> | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private failing: { sinceMs: number; reason: string } | undefined;
  private readonly refused: Counter<'output' | 'reason'>;
  private readonly abandoned: Counter<'output'>;
  private readonly queueErrors: Counter<'output'>;

  constructor(private readonly opts: DeliveryChainOptions<In, Out>) {
    const output = opts.sink.name;
    this.batcher = new Batcher(opts.queue, opts.batch);
    this.sender = new Sender({
      sink: opts.sink, deadLetters: opts.deadLetters, retryPolicy: opts.retryPolicy, registry: opts.registry, log: opts.log,
      onProblem: (reason) => this.problemChanged(reason),
    });
    this.refused = counter(opts.registry, {
      name: 'shipwatch_delivery_refused_records_total', help: 'Records an output\'s chain did not take: busy (memory in front full), dropped (queue full, when_full=drop), failed (disk error).',
      labelNames: ['output', 'reason'] as const,
    });
    this.abandoned = counter(opts.registry, {
      name: 'shipwatch_delivery_abandoned_records_total', help: 'Records of a memory queue still undelivered when the program stopped.', labelNames: ['output'] as const,
    });
    this.queueErrors = counter(opts.registry, {
      name: 'shipwatch_delivery_queue_errors_total', help: 'Reads or acknowledgements of an output\'s queue that failed (the disk), each tried again.', labelNames: ['output'] as const,
    });
    const pendingGauge = gauge(opts.registry, { name: 'shipwatch_delivery_pending_records', help: 'Records handed to an output and waiting to enter its queue.', labelNames: ['output'] as const });
    this.pendingChanged = () => pendingGauge.set({ output }, this.pending);
  }

  private readonly pendingChanged: () => void;

  /** Begins delivering (what a durable queue kept from the last run first). */
  start(): void {
    this.loop ??= this.deliver();
  }

  /** Hands a batch in without waiting (see the header). */
  offer(batch: In): 'accepted' | 'busy' {
    const n = this.opts.records(batch);
    if (n === 0) return 'accepted';
    if (!this.admit(n)) return 'busy';
    void this.append(batch, n);
    return 'accepted';
  }

  /** Hands a batch in and resolves once it is kept (see the header). */
  async submit(batch: In, options?: { waitForRoom?: boolean }): Promise<Admission> {
    const n = this.opts.records(batch);
    if (n === 0) return 'accepted';
    if (!this.admit(n)) return 'busy';
    // A source that can answer is not held while the budget is used: it is told at once to come back later.
    return this.append(batch, n, options?.waitForRoom !== true);
  }

  private admit(n: number): boolean {
    // A batch larger than the whole bound still passes when nothing waits, or it never could.
    if (this.closing || (this.pending > 0 && this.pending + n > this.opts.maxPendingRecords)) {
      this.refused.inc({ output: this.opts.sink.name, reason: 'busy' }, n);
      return false;
    }
    this.pending += n;
    this.pendingChanged();
    return true;
  }

  private append(batch: In, n: number, refuseWhenFull = false): Promise<Admission> {
    const done = this.opts.queue.append(batch, { refuseWhenFull }).then(
      (r): Admission => {
        if (r === 'queued') {
          this.batcher.added(n);
          return 'accepted';
        }
        this.refused.inc({ output: this.opts.sink.name, reason: r === 'full' ? 'busy' : 'dropped' }, n);
        return 'busy';
      },
      (err: unknown): Admission => {
        this.refused.inc({ output: this.opts.sink.name, reason: 'failed' }, n);
        this.opts.log.error('records could not be queued for the output', { output: this.opts.sink.name, records: n, err });
        return 'failed';
      },
    ).finally(() => {
      this.pending -= n;
      this.pendingChanged();
      this.appends.delete(done);
    });
    this.appends.add(done);
    return done;
  }

  /** How full the chain is, 0..1: the memory in front or the queue, whichever is fuller. */
  get fill(): number {
    return Math.max(this.pending / this.opts.maxPendingRecords, this.opts.queue.fill);
  }

  /** Why deliveries fail now (naming the output and since when), undefined while they go through. */
  problem(): string | undefined {
    if (this.failing === undefined) return undefined;
    return `${this.opts.sink.name}: ${this.failing.reason}, for ${Math.round((Date.now() - this.failing.sinceMs) / 1000)} s`;
  }

  private problemChanged(reason: string | undefined): void {
    if (reason === undefined) {
      if (this.failing !== undefined) this.opts.log.info('output answers again', { output: this.opts.sink.name, failingForMs: Date.now() - this.failing.sinceMs });
      this.failing = undefined;
      return;
    }
    if (this.failing === undefined) this.opts.log.warn('deliveries failing; records wait in the queue and are tried again', { output: this.opts.sink.name, reason });
    this.failing = { sinceMs: this.failing?.sinceMs ?? Date.now(), reason };
  }

  /** Delivers runs until stopped; a queue that fails to read or acknowledge (the disk) is logged, counted, tried again. */
  private async deliver(): Promise<void> {
    const stopped = (): boolean => this.abort.signal.aborted || (this.closing && this.opts.queue.isEmpty);
    while (!stopped()) {
      try {
        if (await this.deliverRuns(stopped)) return;
      } catch (err) {
        this.queueErrors.inc({ output: this.opts.sink.name });
        this.opts.log.error('the output\'s queue failed; trying again in a second', { output: this.opts.sink.name, err });
        await new Promise<void>((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  /** Returns true once stopped. */
  private async deliverRuns(stopped: () => boolean): Promise<boolean> {
    const { batch, concurrency, sink } = this.opts;
    for (;;) {
      const run = await this.batcher.next(batch.maxRecords * concurrency, stopped);
      if (run === undefined) return true;
      const parts = sink.split ? sink.split(run.value, batch.maxRecords, batch.maxBytes) : [run.value];
      const info = { replayed: run.replayed === true };
      const results = await inParallel(parts, concurrency, (p) => this.sender.send(p, this.abort.signal, info));
      if (results.some((r) => r === 'stopped')) return true;
      await run.ack();
    }
  }

  /** Stops taking batches, delivers for up to `drainTimeoutMs`, then stops (see the header). Idempotent. */
  close(): Promise<void> {
    return (this.closed ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    // Closing the queue first wakes appends waiting for room (they fail: their sources were not answered yet).
    await this.opts.queue.close();
    await Promise.allSettled([...this.appends]);
    this.batcher.flush();
    const timer = setTimeout(() => this.abort.abort(), this.opts.drainTimeoutMs ?? 0);
    timer.unref();
    if (this.opts.drainTimeoutMs === undefined || this.opts.drainTimeoutMs <= 0) this.abort.abort();
    await this.loop;
    clearTimeout(timer);
    const queue = this.opts.queue;
    if (queue instanceof MemoryQueue && queue.heldRecords > 0) {
      this.abandoned.inc({ output: this.opts.sink.name }, queue.heldRecords);
      this.opts.log.warn('records given up at shutdown: the output did not take them in time', { output: this.opts.sink.name, records: queue.heldRecords });
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; the results in order. */
async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  if (items.length === 1) return [await fn(items[0]!)];
  const results = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < items.length) {
      const i = nextIndex++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export type { SendResult };
