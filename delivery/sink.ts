/**
 * What an output plugs into the delivery chain (./delivery-chain.ts): a sink that sends one batch and says what
 * became of each record. The chain does the rest (queue, batching, concurrency, retries, dead letters, acks), so a
 * sink writes no loop of its own.
 *
 * `send` resolves with the records delivered, what is worth another try (a subset of the batch, built by the sink,
 * which alone knows its batch's shape: Elasticsearch items answered 429 / 5xx) and the records refused for their
 * content (dead letters, each with its reason). A whole request that fails throws; `classify` narrows the error to
 * retryable (unreachable, timed out, 429, 5xx, with the server's Retry-After) or permanent — a permanent failure
 * rejects the whole batch, through `deadLetters` when the sink can word it.
 */
import type { DeadLetter } from './dead-letter.js';
import type { RetryVerdict } from './retry.js';

export interface SendOutcome<B> {
  /** Records the backend now holds. */
  delivered: number;
  /** Records to send again, as a batch of their own, and why. */
  retry?: { batch: B; records: number; reason: string; retryAfterMs?: number };
  /** Records refused for their content: written to the dead-letter file and not sent again. */
  rejected?: DeadLetter[];
  /** Records refused for which the sink has no dead letter to write (counted only). */
  rejectedCount?: number;
}

/** What the chain knows of a batch it sends. */
export interface SendInfo {
  /** Read back from a durable queue written by an earlier process: some records may already be delivered. */
  replayed: boolean;
}

export interface DeliverySink<B> {
  /** The `output` label and the name /health gives. */
  readonly name: string;
  /**
   * Sends a batch. `signal` aborts at shutdown: the batch stays in the queue (on disk: for the next start).
   * Throws for a request that failed as a whole. A sink whose writes are not idempotent checks a replayed batch
   * against what the backend holds.
   */
  send(batch: B, signal: AbortSignal, info: SendInfo): Promise<SendOutcome<B>>;
  /** A thrown failure: retryable (with the server's delay) or permanent. */
  classify(err: unknown): RetryVerdict;
  /** Dead letters for a whole batch refused permanently; absent: the records are only counted. */
  deadLetters?(batch: B, reason: string): DeadLetter[];
  /**
   * The batch as parts of at most `maxRecords` records (and, for a sink that can tell, `maxBytes`), sent at once by up
   * to the chain's concurrency; called for every run, [batch] when it fits. Absent: a run is sent whole.
   */
  split?(batch: B, maxRecords: number, maxBytes: number): B[];
}
