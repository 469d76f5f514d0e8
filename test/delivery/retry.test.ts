import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelayMs, parseRetryAfterMs, retry, RetryExhaustedError, retryCounters } from '../../delivery/retry.js';
import { createRegistry } from '../../platform/self-metrics.js';

const policy = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0.5, maxElapsedMs: 10_000 };

test('backoff grows exponentially within its jitter band and stops at the ceiling', () => {
  assert.equal(backoffDelayMs(policy, 1, () => 0), 50);
  assert.equal(backoffDelayMs(policy, 1, () => 0.5), 100);
  assert.equal(backoffDelayMs(policy, 3, () => 0.5), 400);
  assert.equal(backoffDelayMs(policy, 10, () => 0.5), 1000);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelayMs(policy, 2, Math.random);
    assert.ok(d >= 100 && d <= 300, `delay ${d}`);
  }
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(parseRetryAfterMs('3'), 3000);
  assert.equal(parseRetryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000);
  assert.equal(parseRetryAfterMs(undefined), undefined);
  assert.equal(parseRetryAfterMs('soon'), undefined);
});

test('a permanent error is thrown at once, without a retry', async () => {
  const registry = createRegistry('test', false);
  let calls = 0;
  await assert.rejects(
    retry(async () => {
      calls++;
      throw new Error('bad request');
    }, { operation: 'op', classify: () => ({ retry: false }), counters: retryCounters(registry) }),
    /bad request/,
  );
  assert.equal(calls, 1);
});

test('a transient error is retried until it succeeds, each retry counted', async () => {
  const registry = createRegistry('test', false);
  const counters = retryCounters(registry);
  let calls = 0;
  const result = await retry(async (n) => {
    calls++;
    if (n < 3) throw new Error('busy');
    return 'done';
  }, { operation: 'op', policy: { initialDelayMs: 1, maxDelayMs: 2 }, classify: () => ({ retry: true }), counters });
  assert.equal(result, 'done');
  assert.equal(calls, 3);
  assert.equal((await counters.retries.get()).values[0]!.value, 2);
});

test('the deadline stops retrying, with the last failure as the cause, and is counted', async () => {
  const registry = createRegistry('test', false);
  const counters = retryCounters(registry);
  let clock = 0;
  const err = await retry(async () => {
    clock += 400;
    throw new Error('still down');
  }, {
    operation: 'op', policy: { initialDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 1000 }, classify: () => ({ retry: true }), counters, now: () => clock,
  }).catch((e: unknown) => e);
  assert.ok(err instanceof RetryExhaustedError);
  assert.equal((err.cause as Error).message, 'still down');
  assert.equal(err.attempts, 3);
  assert.equal((await counters.exhausted.get()).values[0]!.value, 1);
});

test('a server asking for longer than the deadline leaves is not waited for', async () => {
  let calls = 0;
  const began = Date.now();
  await assert.rejects(retry(async () => {
    calls++;
    throw new Error('429');
  }, { operation: 'op', policy: { maxElapsedMs: 500 }, classify: () => ({ retry: true, retryAfterMs: 60_000 }) }), RetryExhaustedError);
  assert.equal(calls, 1);
  assert.ok(Date.now() - began < 400);
});
