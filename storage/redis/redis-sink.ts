/**
 * Redis as a sink of the delivery chain (delivery/sink.ts): one batch of records is one MULTI, one RPUSH per run of
 * records bound for the same list (the record's target, as log-pilot names the list), and EXEC — written together,
 * one round trip a batch. The chain queues, batches, retries and acknowledges; this file only sends and classifies:
 *
 * - EXEC answered: each RPUSH's reply is read on its own. A list length: its records are delivered. WRONGTYPE (the
 *   key holds something other than a list): its records go to the dead letter with Redis's reason, as no retry can
 *   mend them. Any other error reply: those records are sent again alone.
 * - No EXEC answer (not connected, the connection lost, no answer within REDIS_TIMEOUT) or EXEC refused as a whole
 *   (EXECABORT after a command was refused while queued: OOM at maxmemory, NOAUTH, READONLY replica, LOADING): thrown
 *   and retried by the chain without a deadline; /health names the reason.
 *
 * Why MULTI: a batch is applied whole or not at all, so a connection lost halfway leaves nothing half pushed to be
 * pushed again. What remains is at-least-once: an EXEC Redis applied whose answer never came back (the connection
 * dropped after it, the pilot killed before the acknowledgement) is sent again, and RPUSH is not idempotent.
 */
import type { Redis } from 'ioredis';
import { describe, swError } from '../../platform/errors.js';
import type { DeadLetter } from '../../delivery/dead-letter.js';
import type { RetryVerdict } from '../../delivery/retry.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import { joinBatches, sliceBatch, type RedisBatch } from './redis-frames.js';

export interface RedisSinkOptions {
  /** Output name: the `output` label and the name /health gives. */
  name: string;
  /** A client made by ./redis-output.ts: commands fail at once while it is not connected. */
  client: Redis;
  /** Where Redis is, for messages (no password). */
  where: string;
  /** Why the client last failed to connect, for messages. */
  lastConnectionError(): string | undefined;
}

/** Records `from` .. `to` (exclusive) of a batch all go to `key`. */
interface KeyRun {
  key: string;
  from: number;
  to: number;
}

/** Consecutive records of one list are one RPUSH: order within each list is the batch's order. */
function keyRuns(batch: RedisBatch): KeyRun[] {
  const runs: KeyRun[] = [];
  const n = batch.keys.length;
  let from = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || batch.keys[i] !== batch.keys[from]) {
      runs.push({ key: batch.keys[from]!, from, to: i });
      from = i;
    }
  }
  return runs;
}

export class RedisSink implements DeliverySink<RedisBatch> {
  readonly name: string;

  constructor(private readonly options: RedisSinkOptions) {
    this.name = options.name;
  }

  async send(batch: RedisBatch, signal: AbortSignal): Promise<SendOutcome<RedisBatch>> {
    const { client } = this.options;
    if (client.status !== 'ready') {
      const why = this.options.lastConnectionError() ?? client.status;
      throw swError('SW_OUTPUT_FAILED', `${this.name}: unreachable (${why}) at ${this.options.where}`);
    }
    const runs = keyRuns(batch);
    const tx = client.multi();
    for (const r of runs) tx.rpush(r.key, ...batch.docs.slice(r.from, r.to));
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await untilAborted(tx.exec(), signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw swError('SW_OUTPUT_FAILED', `${this.name}: ${describe(err)} (${this.options.where})`, err);
    }
    // null is EXEC's answer to a WATCH that failed; nothing here WATCHes, so nothing was applied.
    if (replies === null) throw swError('SW_OUTPUT_FAILED', `${this.name}: the transaction was discarded`);
    let delivered = 0;
    const rejected: DeadLetter[] = [];
    const again: RedisBatch[] = [];
    let againReason = '';
    runs.forEach((r, i) => {
      const err = replies![i]?.[0];
      if (err === null || err === undefined) delivered += r.to - r.from;
      else if (/^WRONGTYPE/.test(err.message)) rejected.push(...this.letters(sliceBatch(batch, r.from, r.to), err.message));
      else {
        again.push(sliceBatch(batch, r.from, r.to));
        againReason ||= err.message;
      }
    });
    if (again.length === 0) return { delivered, rejected };
    const retry = joinBatches(again);
    return { delivered, rejected, retry: { batch: retry, records: retry.docs.length, reason: againReason } };
  }

  /** Every failure of a whole batch may pass later: the records wait on disk and /health names the reason. */
  classify(_err: unknown): RetryVerdict {
    return { retry: true };
  }

  deadLetters(batch: RedisBatch, reason: string): DeadLetter[] {
    return this.letters(batch, reason);
  }

  split(batch: RedisBatch, maxRecords: number): RedisBatch[] {
    const n = batch.docs.length;
    if (n <= maxRecords) return [batch];
    const parts: RedisBatch[] = [];
    for (let from = 0; from < n; from += maxRecords) parts.push(sliceBatch(batch, from, Math.min(n, from + maxRecords)));
    return parts;
  }

  private letters(batch: RedisBatch, reason: string): DeadLetter[] {
    return batch.docs.map((record, i) => ({ index: batch.keys[i]!, id: '', status: 0, reason, record }));
  }
}

/**
 * `work`, or a rejection as soon as `signal` aborts (shutdown): the batch then stays in the queue for the next
 * start, whatever Redis makes of the EXEC already sent.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
