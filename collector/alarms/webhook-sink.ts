/**
 * Alarm notifications as a sink of the delivery chain (delivery/sink.ts): each record is one JSON body POSTed to one
 * URL (an Alertmanager webhook receiver, or Alertmanager's /api/v2/alerts). The chain queues, retries through the one
 * retry helper and counts; this file only sends and classifies.
 *
 * - 2xx: delivered.
 * - 408, 429, 5xx, no answer, timeout: thrown and retried, honouring Retry-After.
 * - Any other answer (400, 404, 422…): the receiver refuses this body; retrying cannot mend it: a dead letter with the
 *   status and the start of the answer.
 */
import { describe, swError } from '../../platform/errors.js';
import type { DeadLetter } from '../../delivery/dead-letter.js';
import { parseRetryAfterMs, type RetryVerdict } from '../../delivery/retry.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';

export interface Notice {
  /** The JSON body. */
  body: string;
  /** For dead letters and logs: the rule and status. */
  what: string;
}

class Answered extends Error {
  constructor(readonly status: number, readonly retryAfterMs: number | undefined, detail: string) {
    super(`${status} ${detail}`);
  }
}

const ANSWER_QUOTE_CHARS = 300;

export class WebhookSink implements DeliverySink<Notice[]> {
  constructor(readonly name: string, private readonly url: string, private readonly timeoutMs: number) {}

  async send(batch: Notice[], signal: AbortSignal): Promise<SendOutcome<Notice[]>> {
    let delivered = 0;
    const rejected: DeadLetter[] = [];
    // In order, one at a time: a rule's resolved notification never overtakes its firing one.
    for (const [i, notice] of batch.entries()) {
      let res: Response;
      try {
        res = await fetch(this.url, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: notice.body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
        });
      } catch (err) {
        if (i === 0) throw swError('SW_OUTPUT_FAILED', `${this.name}: no answer from ${this.url}: ${describe(err)}`, err);
        return { delivered, rejected, retry: { batch: batch.slice(i), records: batch.length - i, reason: describe(err) } };
      }
      const text = (await res.text().catch(() => '')).slice(0, ANSWER_QUOTE_CHARS);
      if (res.ok) {
        delivered++;
        continue;
      }
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        const answer = new Answered(res.status, parseRetryAfterMs(res.headers.get('retry-after')), text);
        if (i === 0) throw swError('SW_OUTPUT_FAILED', `${this.name}: ${this.url} answered ${answer.message}`, answer);
        return { delivered, rejected, retry: { batch: batch.slice(i), records: batch.length - i, reason: answer.message, retryAfterMs: answer.retryAfterMs } };
      }
      rejected.push({ index: this.url, status: res.status, reason: `${notice.what}: ${text}`, id: '', record: notice.body });
    }
    return { delivered, rejected };
  }

  classify(err: unknown): RetryVerdict {
    const cause = (err as { cause?: unknown }).cause;
    return { retry: true, retryAfterMs: cause instanceof Answered ? cause.retryAfterMs : undefined };
  }
}
