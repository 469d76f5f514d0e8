/**
 * The one retry helper (OpenTelemetry exporter style): jittered exponential backoff, a server's `Retry-After` wins
 * when it asks for longer, every attempt stops at a deadline, and a permanent error is never retried.
 *
 * Callers classify what they caught: `classify(err)` says whether it is worth another try and whether the server named
 * a delay. Every retry and every give-up is counted on the counters handed in, labelled by operation, so nothing is
 * retried without leaving a trace in /metrics.
 */
import type { Counter } from 'prom-client';
import { counter, type Registry } from '../platform/self-metrics.js';

export interface RetryPolicy {
  /** First backoff. */
  initialDelayMs: number;
  /** Backoff ceiling. */
  maxDelayMs: number;
  /** Growth per attempt (2 doubles). */
  multiplier: number;
  /** Randomisation factor 0..1: the delay is drawn from [d·(1−j), d·(1+j)] (OpenTelemetry's default is 0.5). */
  jitter: number;
  /** Total time allowed from the first attempt; no retry starts whose wait would end past it. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  multiplier: 1.5,
  jitter: 0.5,
  maxElapsedMs: 300_000,
});

export type RetryVerdict =
  | { retry: false }
  | { retry: true; /** Delay the server asked for (`Retry-After`), if any. */ retryAfterMs?: number };

export interface RetryCounters {
  retries: Counter<'operation'>;
  exhausted: Counter<'operation'>;
}

/** `shipwatch_retries_total` / `shipwatch_retry_exhausted_total` on a registry, by operation. */
export function retryCounters(registry: Registry): RetryCounters {
  return {
    retries: counter(registry, { name: 'shipwatch_retries_total', help: 'Attempts repeated after a transient failure.', labelNames: ['operation'] as const }),
    exhausted: counter(registry, {
      name: 'shipwatch_retry_exhausted_total', help: 'Operations given up at their retry deadline.', labelNames: ['operation'] as const,
    }),
  };
}

/** Thrown when the deadline passes with the last transient failure as `cause`. */
export class RetryExhaustedError extends Error {
  constructor(readonly operation: string, readonly attempts: number, cause: unknown) {
    super(`${operation}: gave up after ${attempts} attempts`, { cause });
    this.name = 'RetryExhaustedError';
  }
}

export interface RetryOptions {
  operation: string;
  policy?: Partial<RetryPolicy>;
  classify: (err: unknown) => RetryVerdict;
  counters?: RetryCounters;
  /** Aborting stops waiting at once; the pending wait rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called before each wait (for logs). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** For tests: a source of randomness in [0, 1). */
  random?: () => number;
  /** For tests: the clock. */
  now?: () => number;
}

/** The backoff before retry number `attempt` (1-based), jittered, capped. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable.
 */
export function parseRetryAfterMs(header: string | string[] | undefined | null, nowMs: number = Date.now()): number | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw === null || raw.trim() === '') return undefined;
  const t = raw.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const date = Date.parse(t);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * A wait that ends early when `signal` aborts. It keeps the process alive (unlike background timers): someone awaits
 * the work behind it, and letting the process exit mid-wait would drop records in hand. Shutdown aborts it.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, fails permanently (rethrown as is), or the deadline passes (RetryExhaustedError).
 */
export async function retry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const deadline = now() + policy.maxElapsedMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const verdict = options.classify(err);
      if (!verdict.retry) throw err;
      const backoff = backoffDelayMs(policy, n, random);
      const delayMs = verdict.retryAfterMs !== undefined ? Math.max(verdict.retryAfterMs, backoff) : backoff;
      if (now() + delayMs > deadline || options.signal?.aborted) {
        options.counters?.exhausted.inc({ operation: options.operation });
        throw new RetryExhaustedError(options.operation, n, err);
      }
      options.counters?.retries.inc({ operation: options.operation });
      options.onRetry?.({ attempt: n, delayMs, error: err });
      await sleep(delayMs, options.signal);
    }
  }
}
