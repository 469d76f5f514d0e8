/**
 * InfluxDB's `/api/v2/write` (InfluxDB 1.8+, 2.x, 3.x, VictoriaMetrics) as a sink of the delivery chain
 * (delivery/sink.ts): one batch of line protocol lines (./line-protocol-frames.ts) per request, and what became of
 * each line. The chain queues, batches, retries and acknowledges; this file only sends and classifies:
 *
 * - 2xx: every line delivered.
 * - A refusal for content (400 bad or partial write, 413, 422, any 4xx not below): the lines the target refuses are
 *   found by sending halves of the batch until each refused line stands alone; those go to the dead letter with
 *   InfluxDB's reason, the rest is delivered. A line sent twice this way is harmless: a point with the same series
 *   and timestamp overwrites itself.
 * - 429, 5xx, 408, connection failures, timeouts: thrown and retried by the chain, honouring Retry-After.
 * - 401, 403 (credentials) and 404 (no such bucket): thrown and retried too: the lines wait on disk until the
 *   configuration or the target is fixed, and /health names the answer.
 */
import http from 'node:http';
import https from 'node:https';
import { describe, swError } from '../../platform/errors.js';
import type { DeadLetter } from '../../delivery/dead-letter.js';
import { parseRetryAfterMs, type RetryVerdict } from '../../delivery/retry.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import { cutLines, lineFrames, type LineBatch } from './line-protocol-frames.js';

export interface InfluxDbSinkOptions {
  /** Output name: the `output` label and the name /health gives. */
  name: string;
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** One write request at most. */
  timeoutMs: number;
}

/** A status the target answered, as the `cause` of the SW_INFLUXDB_REJECTED thrown for it. */
export class WriteAnswer extends Error {
  constructor(readonly status: number, readonly detail: string, readonly retryAfterMs: number | undefined) {
    super(`${status} ${detail}`);
    this.name = 'WriteAnswer';
  }
}

/** Statuses that say nothing about the lines: the same request may pass later. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500 || status === 401 || status === 403 || status === 404;
}

/** What to look at for an answer no retry can mend alone, named on /health. */
const CONFIG_HINTS: Readonly<Record<number, string>> = {
  401: ' (check INFLUXDB_TOKEN)',
  403: ' (check INFLUXDB_TOKEN: it may not write to this bucket)',
  404: ' (check INFLUXDB_BUCKET and INFLUXDB_ORG)',
};

/** How much of an answer's body is read and quoted. */
const ANSWER_QUOTE_CHARS = 300;
/** Bytes of an answer's body kept (InfluxDB's error answers are a few hundred bytes). */
const ANSWER_MAX_BYTES = 64 * 1024;

interface RawAnswer {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

export class InfluxDbSink implements DeliverySink<LineBatch> {
  readonly name: string;
  private readonly writeUrl: string;
  private readonly headers: Record<string, string>;
  /**
   * Requests go through node:http with an agent of its own: fetch's connection pool was seen to leave a request
   * waiting for good after two connection attempts to a target that reset them (a request then never ends, and
   * every later one to the same target waits behind it).
   */
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly options: InfluxDbSinkOptions) {
    this.name = options.name;
    const query = new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 'ns' });
    this.writeUrl = `${options.url.replace(/\/+$/, '')}/api/v2/write?${query}`;
    this.headers = { 'content-type': 'text/plain; charset=utf-8', ...(options.token === '' ? {} : { authorization: `Token ${options.token}` }) };
    const secure = new URL(this.writeUrl).protocol === 'https:';
    this.transport = secure ? https : http;
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** Closes the idle connections. */
  destroy(): void {
    this.agent.destroy();
  }

  async send(batch: LineBatch, signal: AbortSignal): Promise<SendOutcome<LineBatch>> {
    const answer = await this.post(batch, signal);
    if (answer === undefined) return { delivered: batch.lines };
    return this.isolateRefused(batch, answer, signal);
  }

  classify(err: unknown): RetryVerdict {
    const answer = err instanceof Error && err.cause instanceof WriteAnswer ? err.cause : undefined;
    if (answer === undefined) return { retry: true }; // refused, reset, timed out, DNS: the target is down or slow
    if (!retryable(answer.status)) return { retry: false };
    return answer.retryAfterMs === undefined ? { retry: true } : { retry: true, retryAfterMs: answer.retryAfterMs };
  }

  deadLetters(batch: LineBatch, reason: string): DeadLetter[] {
    return linesOf(batch).map((record) => ({ index: this.options.bucket, id: '', status: 0, reason, record }));
  }

  split(batch: LineBatch, maxRecords: number): LineBatch[] {
    const parts: LineBatch[] = [];
    let rest = batch;
    while (rest.lines > maxRecords) {
      const [head, tail] = cutLines(rest, maxRecords);
      parts.push(head);
      rest = tail;
    }
    parts.push(rest);
    return parts;
  }

  /**
   * The batch was refused for its content: halves are sent until each refused line stands alone. A retryable
   * failure on the way hands the lines not yet settled back to the chain.
   */
  private async isolateRefused(batch: LineBatch, first: WriteAnswer, signal: AbortSignal): Promise<SendOutcome<LineBatch>> {
    let delivered = 0;
    const rejected: DeadLetter[] = [];
    /** Parts still to settle, in order, each with the refusal already known for it. */
    const parts: Array<{ part: LineBatch; refused?: WriteAnswer }> = [{ part: batch, refused: first }];
    while (parts.length > 0) {
      const { part, refused } = parts[0]!;
      let answer = refused;
      if (answer === undefined) {
        try {
          answer = await this.post(part, signal);
        } catch (err) {
          const rest = lineFrames.join(parts.map((p) => p.part));
          const verdict = this.classify(err);
          if (!verdict.retry) throw err;
          return { delivered, rejected, retry: { batch: rest, records: rest.lines, reason: describe(err), retryAfterMs: verdict.retryAfterMs } };
        }
      }
      parts.shift();
      if (answer === undefined) delivered += part.lines;
      else if (part.lines === 1) rejected.push({ index: this.options.bucket, id: '', status: answer.status, reason: answer.detail, record: linesOf(part)[0]! });
      else {
        const [a, b] = cutLines(part, Math.ceil(part.lines / 2));
        parts.unshift({ part: a }, { part: b });
      }
    }
    return { delivered, rejected };
  }

  /** Undefined when the lines were taken; the answer when refused for content; throws when worth another try. */
  private async post(batch: LineBatch, signal: AbortSignal): Promise<WriteAnswer | undefined> {
    let res: RawAnswer;
    try {
      res = await this.request(batch.body, signal);
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `${this.name}: no answer from ${this.options.url}: ${describe(err)}`, err);
    }
    if (res.status >= 200 && res.status < 300) return undefined;
    const answer = new WriteAnswer(res.status, answerText(res), parseRetryAfterMs(res.retryAfter));
    if (retryable(res.status)) throw swError('SW_INFLUXDB_REJECTED', `${this.options.url} answered ${answer.message}${CONFIG_HINTS[res.status] ?? ''}`, answer);
    return answer;
  }
  /** One POST of `body`: the answer, or a throw (refused, reset, no answer within timeoutMs, aborted). */
  private request(body: Buffer, signal: AbortSignal): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const req = this.transport.request(this.writeUrl, {
        method: 'POST', agent: this.agent, signal, headers: { ...this.headers, 'content-length': String(body.length) },
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

/** InfluxDB answers `{"code":"invalid","message":"…"}` (1.x: `{"error":"…"}`); else the text or the status. */
function answerText(res: RawAnswer): string {
  const text = res.text;
  try {
    const json = JSON.parse(text) as { message?: unknown; error?: unknown };
    const message = typeof json.message === 'string' ? json.message : typeof json.error === 'string' ? json.error : undefined;
    if (message !== undefined) return message.slice(0, ANSWER_QUOTE_CHARS);
  } catch {
    // Not JSON: the text itself is the reason.
  }
  return (text.trim() || http.STATUS_CODES[res.status] || '').slice(0, ANSWER_QUOTE_CHARS);
}

function linesOf(batch: LineBatch): string[] {
  return batch.body.toString('utf8').split('\n').slice(0, batch.lines);
}

