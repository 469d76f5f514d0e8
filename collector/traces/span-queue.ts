/**
 * The bounded queue between the trace receivers and span storage: the `SpanConsumer` every receiver hands its
 * spans to. Receivers never wait on storage: `consume` either queues the spans or answers 'busy' at once, and the
 * receiver turns that into back-pressure (HTTP 429/503 with Retry-After, a counted UDP drop). Batches are written
 * to every configured writer (store, Elasticsearch or both) with bounded concurrency.
 *
 * The queue holds chunks as receivers hand them over (model/span.ts): spans in the model, or spans still in a
 * Jaeger datagram's bytes. A batch is whole chunks up to `maxBatchSpans` (a larger chunk of the model is split; a
 * datagram's spans, at most a datagram's worth, never are). A writer that takes chunks (`writeChunks`: the
 * embedded store) gets them as they are; any other gets the spans in the model.
 *
 * A span is counted failed once per storage, and only when that storage will never hold it: the writer refused it or
 * gave it up at shutdown. A writer that retries (Elasticsearch, without a deadline) keeps its batch until done, so
 * while storage is down the queue fills and the receivers push back. close() waits for the writes up to
 * `closeTimeoutMs`, then has the writers give up (abandon) what they still retry.
 */
import type { Logger } from '../../platform/log.js';
import { chunkSize, chunkSpans, type Span, type SpanChunk, type SpanConsumer } from '../../model/span.js';
import { counter, gauge, type Registry } from '../../platform/self-metrics.js';
import type { SpanWriter } from '../../storage/span-storage.js';

export interface SpanQueueOptions {
  writers: SpanWriter[];
  /** Spans held at most (queued + being written). */
  maxQueuedSpans: number;
  /** Spans per write. */
  maxBatchSpans: number;
  /** Longest a span waits for its batch to fill. */
  flushIntervalMs: number;
  /** Writes under way at once. */
  concurrency: number;
  /** How long close() waits for storage to take what is queued before the writers give it up; default: no bound. */
  closeTimeoutMs?: number;
  log: Logger;
  registry: Registry;
}

export class SpanQueue implements SpanConsumer {
  private queue: SpanChunk[] = [];
  /** Spans in `queue`. */
  private queued = 0;
  private held = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly stored;
  private readonly failed;
  private readonly onChange: () => void;

  constructor(private readonly options: SpanQueueOptions) {
    const { registry } = options;
    this.stored = counter(registry, { name: 'shipwatch_spans_stored_total', help: 'Spans written to span storage.' });
    this.failed = counter(registry, {
      name: 'shipwatch_spans_store_failed_total', help: 'Spans a storage will not hold (refused, or given up at shutdown), each once.', labelNames: ['storage'] as const,
    });
    const queued = gauge(registry, { name: 'shipwatch_span_queue_spans', help: 'Spans queued for storage.' });
    this.onChange = () => queued.set(this.held);
  }

  consume(spans: SpanChunk): 'accepted' | 'busy' {
    const n = chunkSize(spans);
    if (n === 0) return 'accepted';
    if (this.closed || this.held + n > this.options.maxQueuedSpans) return 'busy';
    this.queue.push(spans);
    this.queued += n;
    this.held += n;
    this.onChange();
    if (this.queued >= this.options.maxBatchSpans) this.pump();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump(true);
      }, this.options.flushIntervalMs);
      this.timer.unref();
    }
    return 'accepted';
  }

  /** Fraction of the queue in use, for health and Retry-After. */
  get fill(): number {
    return this.held / this.options.maxQueuedSpans;
  }

  private pump(force = false): void {
    while (this.inFlight < this.options.concurrency && this.queued > 0 && (force || this.queued >= this.options.maxBatchSpans)) {
      const batch = this.take();
      const n = batch.reduce((sum, c) => sum + chunkSize(c), 0);
      this.queued -= n;
      this.inFlight++;
      void this.write(batch, n).finally(() => {
        this.inFlight--;
        this.held -= n;
        this.onChange();
        if (this.queued > 0) this.pump(this.closed || this.timer === undefined);
        if (this.inFlight === 0 && this.queued === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  /** The next batch: whole chunks up to `maxBatchSpans` spans, splitting a chunk of the model that would pass it. */
  private take(): SpanChunk[] {
    const max = this.options.maxBatchSpans;
    const queue = this.queue;
    let k = 0;
    let n = 0;
    while (k < queue.length && n + chunkSize(queue[k]!) <= max) n += chunkSize(queue[k++]!);
    const batch = queue.splice(0, k);
    const next = queue[0];
    if (next !== undefined && n < max) {
      if (Array.isArray(next)) {
        batch.push(next.slice(0, max - n));
        queue[0] = next.slice(max - n);
      } else if (batch.length === 0) {
        // A datagram's spans stay together: in a batch of their own when they pass the size alone, else the next.
        batch.push(next);
        queue.shift();
      }
    }
    return batch;
  }

  private async write(batch: SpanChunk[], n: number): Promise<void> {
    let spans: Span[] | undefined;
    await Promise.all(
      this.options.writers.map(async (writer, i) => {
        try {
          const result = writer.writeChunks
            ? await writer.writeChunks(batch)
            : await writer.writeSpans((spans ??= batch.length === 1 ? chunkSpans(batch[0]!) : batch.flatMap(chunkSpans)));
          const failed = result?.failed ?? 0;
          if (failed > 0) {
            this.failed.inc({ storage: writer.constructor.name }, failed);
            this.options.log.warn('spans not stored', { storage: writer.constructor.name, spans: failed, of: n });
          }
          if (i === 0) this.stored.inc(n - failed);
        } catch (err) {
          this.failed.inc({ storage: writer.constructor.name }, n);
          this.options.log.error('span storage write failed', { err, spans: n });
        }
      }),
    );
  }

  /** Resolves when everything queued so far is written. */
  async drain(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pump(true);
    if (this.inFlight === 0 && this.queued === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { closeTimeoutMs } = this.options;
    const giveUp = closeTimeoutMs === undefined ? undefined : setTimeout(() => {
      this.options.log.warn('span storage did not take the queued spans in time; giving them up', { spans: this.held });
      for (const writer of this.options.writers) writer.abandon?.();
    }, closeTimeoutMs);
    giveUp?.unref();
    await this.drain();
    clearTimeout(giveUp);
  }
}
