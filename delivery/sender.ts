/**
 * The sender of the delivery chain: one batch into a sink (./sink.ts) until every record has an outcome —
 * delivered, or rejected into the dead-letter file with its reason. What the sink says is worth another try (items
 * answered 429 / 5xx, a request that failed as a whole and is not permanent) is sent again, only those records,
 * through the one retry helper (./retry.ts: jittered backoff, the server's Retry-After honoured) without a deadline:
 * the queue behind holds the records meanwhile, and the sources feel its bound. Only `signal` (shutdown) stops it,
 * and then the records stay in the queue, unacknowledged.
 */
import type { Counter } from 'prom-client';
import { describe } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { counter, type Registry } from '../platform/self-metrics.js';
import type { DeadLetterFile } from './dead-letter.js';
import { retry, retryCounters, type RetryCounters, type RetryPolicy } from './retry.js';
import type { DeliverySink, SendInfo } from './sink.js';

/** Records still to send again: thrown inside an attempt so the retry helper waits. */
class PendingRecords extends Error {
  constructor(reason: string, readonly retryAfterMs: number | undefined) {
    super(reason);
  }
}

export interface SenderOptions<B> {
  sink: DeliverySink<B>;
  deadLetters?: DeadLetterFile;
  /** Backoff between tries (`maxElapsedMs` is not taken: there is no deadline). */
  retryPolicy?: Partial<Omit<RetryPolicy, 'maxElapsedMs'>>;
  registry: Registry;
  log: Logger;
  /** Told when a try fails (reason) and when one goes through again (undefined): for /health. */
  onProblem(reason: string | undefined): void;
}

export type SendResult = 'done' | 'stopped';

export class Sender<B> {
  private readonly records: Counter<'output' | 'outcome'>;
  private readonly retryCounters: RetryCounters;
  private readonly policy: Partial<RetryPolicy>;

  constructor(private readonly opts: SenderOptions<B>) {
    this.records = counter(opts.registry, {
      name: 'shipwatch_delivery_records_total', help: 'Records an output\'s delivery chain finished with, by outcome (delivered, rejected), each once.',
      labelNames: ['output', 'outcome'] as const,
    });
    this.retryCounters = retryCounters(opts.registry);
    this.policy = { ...opts.retryPolicy, maxElapsedMs: Number.POSITIVE_INFINITY };
  }

  /** Sends `batch` until each record is delivered or rejected ('done'), or `signal` aborts ('stopped'). */
  async send(batch: B, signal: AbortSignal, info: SendInfo = { replayed: false }): Promise<SendResult> {
    const { sink, log } = this.opts;
    const output = sink.name;
    let pending = batch;
    try {
      await retry(
        async () => {
          const outcome = await sink.send(pending, signal, info);
          this.records.inc({ output, outcome: 'delivered' }, outcome.delivered);
          const letters = outcome.rejected ?? [];
          const rejected = letters.length + (outcome.rejectedCount ?? 0);
          if (rejected > 0) {
            this.records.inc({ output, outcome: 'rejected' }, rejected);
            log.warn('records refused by the output for their content', { output, records: rejected, reason: letters[0]?.reason });
            await this.writeDeadLetters(letters);
          }
          if (outcome.retry !== undefined) {
            pending = outcome.retry.batch;
            throw new PendingRecords(`${outcome.retry.records} records to send again: ${outcome.retry.reason}`, outcome.retry.retryAfterMs);
          }
          this.opts.onProblem(undefined);
        },
        {
          operation: `${output}.send`,
          policy: this.policy,
          counters: this.retryCounters,
          signal,
          classify: (err) => (err instanceof PendingRecords ? { retry: true, retryAfterMs: err.retryAfterMs } : sink.classify(err)),
          onRetry: ({ error }) => this.opts.onProblem(error instanceof PendingRecords ? error.message : describe(error)),
        },
      );
      return 'done';
    } catch (err) {
      if (signal.aborted) return 'stopped';
      // Refused as a whole for its content (400, 413): the same request can never pass.
      const reason = describe(err);
      const letters = sink.deadLetters?.(pending, reason) ?? [];
      this.records.inc({ output, outcome: 'rejected' }, letters.length);
      log.error('a batch was refused by the output as a whole', { output, records: letters.length, reason });
      await this.writeDeadLetters(letters);
      return 'done';
    }
  }

  private async writeDeadLetters(letters: Parameters<DeadLetterFile['write']>[0]): Promise<void> {
    if (letters.length === 0 || this.opts.deadLetters === undefined) return;
    try {
      await this.opts.deadLetters.write(letters);
    } catch (err) {
      // Counted as rejected above; the file is where a person would look, and it cannot be written.
      this.opts.log.error('dead letters not written', { output: this.opts.sink.name, records: letters.length, err });
    }
  }
}
