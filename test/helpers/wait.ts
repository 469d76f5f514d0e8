/** Polling for a condition the test cannot be told about (a log line shipped, a sample scraped). */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error: "waited 10000 ms for <what>". */
  what?: string;
}

/**
 * Calls `predicate` until it returns something other than undefined, null or false, and returns that. A predicate
 * that throws is retried too; on timeout the error names `what` and carries the last throw as its cause.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 10_000, intervalMs = 100, what = 'the condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`waited ${timeoutMs} ms for ${what}${detail}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
