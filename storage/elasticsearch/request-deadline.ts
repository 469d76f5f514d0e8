/**
 * One Elasticsearch request with a deadline of its own that holds even when the client does not keep it.
 *
 * Neither the client's request timeout nor an abort signal ended a request sent while the node's address reset
 * connections: one such request stayed unsettled for 7 minutes, and everything queued behind it waited
 * (test/collector/span-durability.test.ts caught it). So the caller stops waiting at the deadline whether or not the
 * client's promise ever settles, and the try counts as a request that timed out (retried like one).
 */
import { errors } from '@elastic/elasticsearch';

/**
 * Runs `request` with a signal that aborts with `outer` or after `timeoutMs`; resolves or rejects with it, or rejects
 * at the signal — with the client's TimeoutError when the deadline passed, with `outer`'s reason when the caller
 * stopped.
 */
export function withDeadline<T>(outer: AbortSignal, timeoutMs: number, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = AbortSignal.any([outer, AbortSignal.timeout(timeoutMs)]);
  return new Promise<T>((resolve, reject) => {
    const fail = (err: unknown): void => {
      reject(outer.aborted || !signal.aborted ? err : new errors.TimeoutError(`no answer from Elasticsearch within ${timeoutMs} ms`));
    };
    if (signal.aborted) {
      fail(signal.reason);
      return;
    }
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    request(signal).then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        fail(e);
      },
    );
  });
}
