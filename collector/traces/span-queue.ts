/**
 * The bounded queue between the trace receivers and span storage: the `SpanConsumer` every receiver hands its
 * spans to. Receivers never wait on storage: `consume` either queues the spans or answers 'busy' at once, and the
 * receiver turns that into back-pressure (HTTP 429/503 with Retry-After, a counted UDP drop). Batches are written
 * to every configured writer (store, Elasticsearch or both) with bounded concurrency.
 */
import type { Logger } from '../../core/log.js';
import type { Span, SpanConsumer } from '../../core/model/span.js';
import { counter, gauge, type Registry } from '../../core/self-metrics.js';
import type { SpanWriter } from '../../core/span-storage.js';

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
  log: Logger;
  registry: Registry;
}

export class SpanQueue implements SpanConsumer {
  private queue: Span[] = [];
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
      name: 'shipwatch_spans_store_failed_total', help: 'Spans a storage write failed for (lost).', labelNames: ['storage'] as const,
    });
    const queued = gauge(registry, { name: 'shipwatch_span_queue_spans', help: 'Spans queued for storage.' });
    this.onChange = () => queued.set(this.held);
  }

  consume(spans: Span[]): 'accepted' | 'busy' {
    if (spans.length === 0) return 'accepted';
    if (this.closed || this.held + spans.length > this.options.maxQueuedSpans) return 'busy';
    for (const s of spans) this.queue.push(s);
    this.held += spans.length;
    this.onChange();
    if (this.queue.length >= this.options.maxBatchSpans) this.pump();
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
    while (this.inFlight < this.options.concurrency && this.queue.length > 0 && (force || this.queue.length >= this.options.maxBatchSpans)) {
      const batch = this.queue.splice(0, this.options.maxBatchSpans);
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.held -= batch.length;
        this.onChange();
        if (this.queue.length > 0) this.pump(this.closed || this.timer === undefined);
        if (this.inFlight === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async write(batch: Span[]): Promise<void> {
    await Promise.all(
      this.options.writers.map(async (writer, i) => {
        try {
          await writer.writeSpans(batch);
          if (i === 0) this.stored.inc(batch.length);
        } catch (err) {
          this.failed.inc({ storage: writer.constructor.name }, batch.length);
          this.options.log.error('span storage write failed', { err, spans: batch.length });
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
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drain();
  }
}
