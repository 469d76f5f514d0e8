/**
 * One Elasticsearch request with a deadline of its own that holds even when the client does not keep it.
 *
 * Neither the client's request timeout nor an abort signal ended a request sent while the node's address reset
 * connections: one such request stayed unsettled for 7 minutes, and everything queued behind it waited
 * (test/collector/span-durability.test.ts caught it). So the caller stops waiting at the deadline whether or not the
 * client's promise ever settles, and the try counts as a request that timed out (retried like one).
 *
 * The deadline is a plain timer, not `AbortSignal.timeout()` combined by `AbortSignal.any()`: Node holds such signals
 * weakly, and with nothing else referring to the combined signal a garbage collection can take it with its timer
 * before it fires — the deadline then never comes (the same test still lost spans 1 run in 3 that way).
 */
import { errors } from '@elastic/elasticsearch';

/**
 * Runs `request` with a signal that aborts with `outer` or after `timeoutMs`; resolves or rejects with it, or rejects
 * at the deadline with the client's TimeoutError, or when the caller stops with `outer`'s reason.
 */
export function withDeadline<T>(outer: AbortSignal, timeoutMs: number, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outer.removeEventListener('abort', onOuter);
      settle();
    };
    const onOuter = (): void => {
      controller.abort(outer.reason);
      finish(() => reject(outer.reason));
    };
    const timer = setTimeout(() => {
      const timedOut = new errors.TimeoutError(`no answer from Elasticsearch within ${timeoutMs} ms`);
      controller.abort(timedOut);
      finish(() => reject(timedOut));
    }, timeoutMs);
    // The timer alone does not keep a program running; its servers do.
    timer.unref();
    if (outer.aborted) {
      onOuter();
      return;
    }
    outer.addEventListener('abort', onOuter, { once: true });
    let pending: Promise<T>;
    try {
      pending = request(controller.signal);
    } catch (err) {
      finish(() => reject(err));
      return;
    }
    pending.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}
