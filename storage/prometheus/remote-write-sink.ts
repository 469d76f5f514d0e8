/**
 * A Prometheus remote write 1.0 receiver as a sink of the delivery chain (delivery/sink.ts): one batch of series
 * entries (./remote-write-frames.ts) per request — the entries are a `prometheus.WriteRequest` already — snappy
 * block-compressed and POSTed with `Content-Encoding: snappy`, `Content-Type: application/x-protobuf` and
 * `X-Prometheus-Remote-Write-Version: 0.1.0`. The chain queues, batches, retries and acknowledges; this file only
 * sends and classifies, as the remote write specification asks of a sender:
 *
 * - 2xx: every series delivered.
 * - 400 and 413 (refused for content: Prometheus answers 400 for a whole request when one sample is out of order,
 *   too old, or a duplicate with another value, and keeps none of it): halves of the batch are sent until each
 *   refused series stands alone; those go to the dead letter with the receiver's reason, the rest is delivered. A
 *   series sent twice this way is harmless: the same sample again is not an error in Prometheus.
 * - Any other 4xx but 429 (401, 403, 404: no receiver at that path, e.g. Prometheus started without
 *   `--web.enable-remote-write-receiver`): the specification says not to retry; the batch goes whole to the dead
 *   letter with the answer, logged as an error.
 * - 429, 5xx, connection failures, timeouts: thrown and retried by the chain without a deadline, honouring
 *   Retry-After; the series wait in the queue and /health names the failure.
 *
 * Batches must reach Prometheus in order (a sample older than the last one of its series is refused): the output
 * sends one request at a time.
 */
import http from 'node:http';
import https from 'node:https';
import { compress } from 'snappy';
import { describe, swError } from '../../platform/errors.js';
import type { DeadLetter } from '../../delivery/dead-letter.js';
import { parseRetryAfterMs, type RetryVerdict } from '../../delivery/retry.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import { cutSeries, seriesEntries, seriesFrames, type SeriesBatch } from './remote-write-frames.js';
import { decodeSeriesEntry, seriesText } from './remote-write-proto.js';

export interface RemoteWriteSinkOptions {
  /** Output name: the `output` label and the name /health gives. */
  name: string;
  /** The receiver's write URL, e.g. `http://prometheus:9090/api/v1/write`; `user:password@` is sent as Basic auth. */
  url: string;
  /** One write request at most. */
  timeoutMs: number;
}

/** A status the receiver answered, as the `cause` of the error thrown for it. */
export class RemoteWriteAnswer extends Error {
  constructor(readonly status: number, readonly detail: string, readonly retryAfterMs: number | undefined) {
    super(`${status} ${detail}`);
    this.name = 'RemoteWriteAnswer';
  }
}

/** The specification: 5xx and 429 may pass later; any other 4xx never will. */
function retryable(status: number): boolean {
  return status === 429 || status >= 500 || status < 400;
}

/** Refusals that name the content: worth finding which series. */
function refusedForContent(status: number): boolean {
  return status === 400 || status === 413;
}

const HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
  'user-agent': 'shipwatch',
} as const;

/** What to look at, named with an answer no retry mends. */
const HINTS: Readonly<Record<number, string>> = {
  401: ' (the receiver wants credentials: user:password@ in the URL)',
  403: ' (the credentials in the URL may not write)',
  404: ' (no remote write receiver at this URL: Prometheus needs --web.enable-remote-write-receiver and the path /api/v1/write)',
  405: ' (no remote write receiver at this URL: Prometheus takes POST /api/v1/write)',
};

/** How much of an answer's body is quoted, and kept. */
const ANSWER_QUOTE_CHARS = 300;
const ANSWER_MAX_BYTES = 64 * 1024;

export class RemoteWriteSink implements DeliverySink<SeriesBatch> {
  readonly name: string;
  /** Requests go through node:http with an agent of their own, as the InfluxDB sink's (fetch's pool was seen to hang). */
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  /** The URL without credentials, for messages. */
  private readonly shownUrl: string;

  constructor(private readonly options: RemoteWriteSinkOptions) {
    this.name = options.name;
    const url = new URL(options.url);
    const secure = url.protocol === 'https:';
    this.transport = secure ? https : http;
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    url.username = '';
    url.password = '';
    this.shownUrl = url.href;
  }

  /** Closes the idle connections. */
  destroy(): void {
    this.agent.destroy();
  }

  async send(batch: SeriesBatch, signal: AbortSignal): Promise<SendOutcome<SeriesBatch>> {
    const answer = await this.post(batch, signal);
    if (answer === undefined) return { delivered: batch.series };
    if (!refusedForContent(answer.status)) throw swError('SW_OUTPUT_FAILED', `${this.shownUrl} answered ${answer.message}${HINTS[answer.status] ?? ''}`, answer);
    return this.isolateRefused(batch, answer, signal);
  }

  classify(err: unknown): RetryVerdict {
    const answer = err instanceof Error && err.cause instanceof RemoteWriteAnswer ? err.cause : undefined;
    if (answer === undefined) return { retry: true }; // refused, reset, timed out, DNS: the receiver is down or slow
    if (!retryable(answer.status)) return { retry: false };
    return answer.retryAfterMs === undefined ? { retry: true } : { retry: true, retryAfterMs: answer.retryAfterMs };
  }

  deadLetters(batch: SeriesBatch, reason: string): DeadLetter[] {
    return seriesEntries(batch).map((entry) => this.letter(entry, 0, reason));
  }

  split(batch: SeriesBatch, maxRecords: number): SeriesBatch[] {
    const parts: SeriesBatch[] = [];
    let rest = batch;
    while (rest.series > maxRecords) {
      const [head, tail] = cutSeries(rest, maxRecords);
      parts.push(head);
      rest = tail;
    }
    parts.push(rest);
    return parts;
  }

  private letter(entry: Buffer, status: number, reason: string): DeadLetter {
    const decoded = decodeSeriesEntry(entry);
    const record = typeof decoded === 'string' ? `undecodable series (${decoded}): ${entry.toString('base64')}` : seriesText(decoded);
    return { index: this.shownUrl, id: '', status, reason, record };
  }

  /**
   * The batch was refused for its content: halves are sent until each refused series stands alone. A retryable
   * failure on the way hands the series not yet settled back to the chain.
   */
  private async isolateRefused(batch: SeriesBatch, first: RemoteWriteAnswer, signal: AbortSignal): Promise<SendOutcome<SeriesBatch>> {
    let delivered = 0;
    const rejected: DeadLetter[] = [];
    const parts: Array<{ part: SeriesBatch; refused?: RemoteWriteAnswer }> = [{ part: batch, refused: first }];
    while (parts.length > 0) {
      const { part, refused } = parts[0]!;
      let answer = refused;
      if (answer === undefined) {
        try {
          answer = await this.post(part, signal);
        } catch (err) {
          const rest = seriesFrames.join(parts.map((p) => p.part));
          const verdict = this.classify(err);
          if (!verdict.retry) throw err;
          return { delivered, rejected, retry: { batch: rest, records: rest.series, reason: describe(err), retryAfterMs: verdict.retryAfterMs } };
        }
      }
      parts.shift();
      if (answer === undefined) delivered += part.series;
      else if (!refusedForContent(answer.status)) {
        // The receiver changed its mind about the whole request (a 401 midway): the rest of the batch shares its fate.
        for (const p of [part, ...parts.map((q) => q.part)]) rejected.push(...seriesEntries(p).map((e) => this.letter(e, answer!.status, answer!.detail)));
        parts.length = 0;
      } else if (part.series === 1) rejected.push(this.letter(part.body, answer.status, answer.detail));
      else {
        const [a, b] = cutSeries(part, Math.ceil(part.series / 2));
        parts.unshift({ part: a }, { part: b });
      }
    }
    return { delivered, rejected };
  }

  /** Undefined when the series were taken; the answer when refused for good; throws when worth another try. */
  private async post(batch: SeriesBatch, signal: AbortSignal): Promise<RemoteWriteAnswer | undefined> {
    // snappy's compress runs on libuv's pool, off the event loop.
    const body = await compress(batch.body);
    let res: { status: number; retryAfter: string | undefined; text: string };
    try {
      res = await this.request(body, signal);
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `${this.name}: no answer from ${this.shownUrl}: ${describe(err)}`, err);
    }
    if (res.status >= 200 && res.status < 300) return undefined;
    const text = (res.text.trim() || http.STATUS_CODES[res.status] || '').slice(0, ANSWER_QUOTE_CHARS);
    const answer = new RemoteWriteAnswer(res.status, text, parseRetryAfterMs(res.retryAfter));
    if (!retryable(res.status)) return answer;
    throw swError('SW_OUTPUT_FAILED', `${this.shownUrl} answered ${answer.message}`, answer);
  }

  /** One POST: the answer, or a throw (refused, reset, no answer within timeoutMs, aborted). */
  private request(body: Buffer, signal: AbortSignal): Promise<{ status: number; retryAfter: string | undefined; text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.transport.request(this.options.url, {
        method: 'POST', agent: this.agent, signal, headers: { ...HEADERS, 'content-length': String(body.length) },
      }, (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept >= ANSWER_MAX_BYTES) return;
          chunks.push(chunk);
          kept += chunk.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      timer.unref();
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }
}
