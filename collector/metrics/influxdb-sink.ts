/**
 * An InfluxDB-compatible server's write API as a sink of the delivery chain (delivery/sink.ts): one batch of line
 * protocol lines (./line-protocol-frames.ts) per request, and what became of each line. The chain queues, batches,
 * retries and acknowledges; this file only finds the API, sends and classifies.
 *
 * The API is asked for before the first write and again after a 404 (the server may have changed under the URL, or
 * its database was dropped): `GET /ping` says which server answers (storage/influxdb/write-api.ts). InfluxDB before
 * 1.8 is written through `/write?db=&rp=` (the database is created first when missing); InfluxDB 1.8+, 2.x, 3.x and
 * VictoriaMetrics through `/api/v2/write`. While the server cannot be asked, the send fails and is retried: the
 * points wait in the chain's queue.
 *
 * - 2xx: every line delivered.
 * - A refusal for content (400 bad or partial write, 413, 422, any 4xx not below): the lines the target refuses are
 *   found by sending halves of the batch until each refused line stands alone; those go to the dead letter with
 *   InfluxDB's reason, the rest is delivered. A line sent twice this way is harmless: a point with the same series
 *   and timestamp overwrites itself.
 * - 429, 5xx, 408, connection failures, timeouts: thrown and retried by the chain, honouring Retry-After.
 * - 401, 403 (credentials) and 404 (no such bucket or database; asked again as said above): thrown and retried too:
 *   the lines wait on disk until the configuration or the target is fixed, and /health names the answer.
 */
import http from 'node:http';
import https from 'node:https';
import { describe, swError } from '../../platform/errors.js';
import type { DeadLetter } from '../../delivery/dead-letter.js';
import { parseRetryAfterMs, type RetryVerdict } from '../../delivery/retry.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import type { Logger } from '../../platform/log.js';
import {
  authorization, createDatabaseRequest, databaseOf, pingUrl, queryError, writeApiFromPing, writeUrl, type WriteApiKind,
} from '../../storage/influxdb/write-api.js';
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
  /** Where the API found is told. */
  log?: Logger;
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
const CONFIG_HINTS: Readonly<Record<WriteApiKind, Readonly<Record<number, string>>>> = {
  v2: {
    401: ' (check INFLUXDB_TOKEN)',
    403: ' (check INFLUXDB_TOKEN: it may not write to this bucket)',
    404: ' (check INFLUXDB_BUCKET and INFLUXDB_ORG)',
  },
  v1: {
    401: ' (check INFLUXDB_TOKEN: user:password)',
    403: ' (check INFLUXDB_TOKEN: the user may not write to this database)',
    404: ' (check INFLUXDB_BUCKET: database or database/retention-policy)',
  },
};

/** The write API found for the server, and how to call it. */
interface WriteApi {
  kind: WriteApiKind;
  server: string;
  url: string;
  headers: Record<string, string>;
  /** Why the database could not be created (1.x API), for the answer to a write into a missing one. */
  createFailure?: string;
}

/** How much of an answer's body is read and quoted. */
const ANSWER_QUOTE_CHARS = 300;
/** Bytes of an answer's body kept (InfluxDB's error answers are a few hundred bytes). */
const ANSWER_MAX_BYTES = 64 * 1024;

interface RawAnswer {
  status: number;
  retryAfter: string | undefined;
  /** `X-Influxdb-Version`. */
  version: string | undefined;
  text: string;
}

export class InfluxDbSink implements DeliverySink<LineBatch> {
  readonly name: string;
  /** The API being found or found; undefined before the first send and after a 404 (asked again). */
  private api: Promise<WriteApi> | undefined;
  /** The API `api` resolved to, while it stands. */
  private current: WriteApi | undefined;
  /** The API last found, to tell the log only when it changes. */
  private lastApi: string | undefined;
  /**
   * Requests go through node:http with an agent of its own: fetch's connection pool was seen to leave a request
   * waiting for good after two connection attempts to a target that reset them (a request then never ends, and
   * every later one to the same target waits behind it).
   */
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly options: InfluxDbSinkOptions) {
    this.name = options.name;
    const secure = new URL(options.url).protocol === 'https:';
    this.transport = secure ? https : http;
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** The API, asked for once; a failure to ask is thrown (the chain retries the send) and asked again next time. */
  private found(signal: AbortSignal): Promise<WriteApi> {
    if (this.api === undefined) {
      const asking = this.detect(signal);
      this.api = asking;
      asking.catch(() => {
        if (this.api === asking) this.api = undefined;
      });
    }
    return this.api;
  }

  private async detect(signal: AbortSignal): Promise<WriteApi> {
    const o = this.options;
    let ping: RawAnswer;
    try {
      ping = await this.request('GET', pingUrl(o.url), {}, undefined, signal);
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `${this.name}: no answer from ${o.url}/ping: ${describe(err)}`, err);
    }
    const verdict = writeApiFromPing({ status: ping.status, version: ping.version });
    if (verdict === 'unknown') {
      const answer = new WriteAnswer(ping.status, answerText(ping), parseRetryAfterMs(ping.retryAfter));
      throw swError('SW_INFLUXDB_REJECTED', `${o.url}/ping answered ${answer.message}: the write API is not known yet`, answer);
    }
    const target = { url: o.url, token: o.token, org: o.org, bucket: o.bucket };
    const headers = { 'content-type': 'text/plain; charset=utf-8', ...authorization(verdict.api, o.token) };
    const api: WriteApi = { kind: verdict.api, server: verdict.server, url: writeUrl(verdict.api, target), headers };
    if (api.kind === 'v1') api.createFailure = await this.createDatabase(target, signal);
    const said = `${api.kind} ${api.url}`;
    if (said !== this.lastApi) {
      o.log?.info('InfluxDB output writes through the API its server has', { server: api.server, api: new URL(api.url).pathname, url: o.url });
      this.lastApi = said;
    }
    this.current = api;
    return api;
  }

  /**
   * `CREATE DATABASE` (nothing happens when it exists): undefined when done, else InfluxDB's reason (a user who is
   * not an admin may write to a database but not create one), logged and named with a 404. Throws when the server
   * does not answer (the API is asked for again).
   */
  private async createDatabase(target: { url: string; token: string; org: string; bucket: string }, signal: AbortSignal): Promise<string | undefined> {
    const { url, body } = createDatabaseRequest(target);
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...authorization('v1', target.token) };
    let res: RawAnswer;
    try {
      res = await this.request('POST', url, headers, Buffer.from(body), signal);
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `${this.name}: no answer from ${target.url}/query: ${describe(err)}`, err);
    }
    const error = res.status >= 200 && res.status < 300 ? queryError(res.text) : `${res.status} ${answerText(res)}`;
    if (error !== undefined) {
      this.options.log?.warn('the InfluxDB database could not be created; writes go on into it as it is', {
        database: databaseOf(target.bucket).database, url: target.url, reason: error,
      });
    }
    return error;
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
    const api = await this.found(signal);
    let res: RawAnswer;
    try {
      res = await this.request('POST', api.url, api.headers, batch.body, signal);
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `${this.name}: no answer from ${this.options.url}: ${describe(err)}`, err);
    }
    if (res.status >= 200 && res.status < 300) return undefined;
    const answer = new WriteAnswer(res.status, answerText(res), parseRetryAfterMs(res.retryAfter));
    if (!retryable(res.status)) return answer;
    // The server may have changed under the URL (an upgrade, another container) or dropped the database: ask again.
    if (res.status === 404 && this.current === api) {
      this.current = undefined;
      this.api = undefined;
    }
    const created = res.status === 404 && api.createFailure !== undefined ? `; creating it failed: ${api.createFailure}` : '';
    const path = new URL(api.url).pathname;
    throw swError('SW_INFLUXDB_REJECTED', `${this.options.url}${path} (${api.server}) answered ${answer.message}${CONFIG_HINTS[api.kind][res.status] ?? ''}${created}`, answer);
  }

  /** One request: the answer, or a throw (refused, reset, no answer within timeoutMs, aborted). */
  private request(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body: Buffer | undefined, signal: AbortSignal): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const req = this.transport.request(url, {
        method, agent: this.agent, signal, headers: body === undefined ? headers : { ...headers, 'content-length': String(body.length) },
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
          resolve({
            status: res.statusCode ?? 0, retryAfter: oneHeader(res.headers['retry-after']), version: oneHeader(res.headers['x-influxdb-version']),
            text: Buffer.concat(chunks).toString('utf8'),
          });
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

function oneHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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

