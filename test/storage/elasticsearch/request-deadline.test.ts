/**
 * A request the client never settles is still left at its deadline (a request sent while the node's address reset
 * connections once ignored both the client's timeout and its abort signal): the never-settling request is the fault
 * itself, which a real node cannot be made to produce on demand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { errors } from '@elastic/elasticsearch';
import { withDeadline } from '../../../storage/elasticsearch/request-deadline.js';

// The deadline's timer does not hold the process open (a program's servers do); here a timer of the test does.
const keepAlive = setInterval(() => undefined, 1000);
test.after(() => clearInterval(keepAlive));

test('a request that never settles is abandoned at the deadline as a timeout', async () => {
  const started = Date.now();
  let seen: AbortSignal | undefined;
  await assert.rejects(
    withDeadline(new AbortController().signal, 100, (signal) => {
      seen = signal;
      return new Promise<never>(() => undefined);
    }),
    (err: unknown) => err instanceof errors.TimeoutError && /within 100 ms/.test(err.message),
  );
  assert.ok(Date.now() - started >= 90, 'not before the deadline');
  assert.equal(seen?.aborted, true, 'the client was asked to stop too');
});

test('the caller stopping rejects with its own reason, not a timeout', async () => {
  const outer = new AbortController();
  const pending = withDeadline(outer.signal, 60_000, () => new Promise<never>(() => undefined));
  outer.abort(new Error('shutting down'));
  await assert.rejects(pending, /shutting down/);
});

test('an answer or a failure of the client before the deadline passes through unchanged', async () => {
  assert.equal(await withDeadline(new AbortController().signal, 1000, async () => 'answered'), 'answered');
  const refused = new errors.ConnectionError('connect ECONNREFUSED');
  await assert.rejects(withDeadline(new AbortController().signal, 1000, async () => { throw refused; }), (err) => err === refused);
});

test('a client that rejects with its abort error at the deadline is reported as a timeout', async () => {
  await assert.rejects(
    withDeadline(new AbortController().signal, 50, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new errors.RequestAbortedError('aborted'))))),
    (err: unknown) => err instanceof errors.TimeoutError,
  );
});

test('the deadline comes even when garbage collections run while the request waits', async () => {
  // A deadline made of AbortSignal.any() over AbortSignal.timeout() never came under collections: Node holds those
  // signals weakly, and nothing else referred to them.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const collect = setInterval(() => {
    gc();
    Array.from({ length: 50_000 }, (_, i) => ({ i }));
  }, 10);
  try {
    const started = Date.now();
    await assert.rejects(withDeadline(new AbortController().signal, 300, () => new Promise<never>(() => undefined)), (err: unknown) => err instanceof errors.TimeoutError);
    assert.ok(Date.now() - started < 2_000, `the deadline came after ${Date.now() - started} ms`);
  } finally {
    clearInterval(collect);
  }
});
