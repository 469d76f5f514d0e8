/**
 * The pilot's log documents into Elasticsearch's `_bulk` API, as a sink of the delivery chain (delivery/sink.ts):
 * one request of the bulk items (./bulk-items.ts) it is handed, and the answer read item by item
 * (./bulk-response.ts):
 *
 * - delivered items are counted;
 * - items answered 429 / 5xx come back as a batch of their own (byte ranges of what was sent, nothing encoded
 *   again), with the reason and the answer's Retry-After;
 * - items refused for their content (400: a mapping conflict, a field Elasticsearch does not take) are sent once
 *   more, right away, in the safe shape (./log-safe-shape.ts: the parsed fields as text under `json_text`, the
 *   reason in `mapping_error`); refused again, or refused otherwise (any other 4xx), they are dead letters with
 *   Elasticsearch's reason. Both counted in `shipwatch_es_mapping_conflicts_total`.
 *
 * Before a run is sent, the index templates its indices need are installed (./log-template-installer.ts); while
 * that cannot be done the run fails as a whole, like a request that does not reach Elasticsearch.
 *
 * A request that fails as a whole throws, worded for /health (unreachable, no answer in time, answered 503);
 * `classify` says whether another try may pass: connection failures, timeouts, a half-written answer, 429, 5xx,
 * and 401 / 403 (the credentials: the records wait on disk until an operator mends them). A 400 refuses the body
 * itself: its items become dead letters. A 413 of several items sends halves until each passes or stands alone.
 * The chain queues, batches, retries without a deadline and acknowledges; nothing here loops or waits.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Counter } from 'prom-client';
import type { DeadLetter } from '../../delivery/dead-letter.js';
import { parseRetryAfterMs, type RetryVerdict } from '../../delivery/retry.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { describeItem, itemStart, joinItems, sliceItems, type BulkItems } from './bulk-items.js';
import { ItemRun } from './item-run.js';
import { classifyBulkItems, classifyRequestError, requestErrorStatus } from './bulk-response.js';
import { withDeadline } from './request-deadline.js';
import { esProblem } from './request-failure.js';
import { safeShape } from './log-safe-shape.js';
import type { LogTemplateInstaller } from './log-template-installer.js';

export interface LogBulkSinkOptions {
  /** Output name: the `output` label and the name /health gives. */
  name: string;
  client: Client;
  /** `index` overwrites by `_id`; `create` for data streams. */
  opType: 'index' | 'create';
  /** One request at most; default 30 s. */
  requestTimeoutMs?: number;
  /** Installs the index templates of the indices written to; none: documents go without (tests of the raw path). */
  templates?: LogTemplateInstaller;
  registry: Registry;
}

/**
 * The answer's parts the sink reads: whether any item failed, and each item's status and error. Without the rest
 * (index, id, version, shards, sequence numbers) the answer of a 1000-item request is ~25 KiB instead of ~200 KiB,
 * which the client would otherwise parse for nothing (the `es` case of bench/pilot-pipeline).
 */
const FILTER_PATH = 'errors,items.*.status,items.*.error';
/** How long past the client's own request timeout a request is abandoned when the client does not end it. */
const DEADLINE_GRACE_MS = 5_000;

/** What to look at when Elasticsearch refuses the credentials, named on /health. */
const CREDENTIAL_HINT = ' (check ELASTICSEARCH_USER / ELASTICSEARCH_PASSWORD or the credential file)';

/** A bulk request that failed as a whole: the message as /health words it, the client's error as `cause`. */
export class BulkRequestFailure extends Error {
  constructor(readonly status: number, cause: unknown) {
    super(esProblem(cause) + (status === 401 || status === 403 ? CREDENTIAL_HINT : ''), { cause });
    this.name = 'BulkRequestFailure';
  }
}

/** An item refused for its content and its safe shape. */
interface Reshaped {
  item: number;
  record: string;
  original: string;
  reason: string;
}

export class LogBulkSink implements DeliverySink<BulkItems> {
  readonly name: string;
  private readonly requests: Counter<'output' | 'result'>;
  private readonly itemRetries: Counter<'output'>;
  private readonly conflicts: Counter<'output' | 'outcome'>;
  /** Start times of the requests awaiting an answer, so a node that hangs shows before the time-out. */
  private readonly unanswered = new Set<{ atMs: number }>();
  /** The status of a batch refused as a whole, for its dead letters. */
  private readonly refusedWith = new WeakMap<BulkItems, number>();

  constructor(private readonly opts: LogBulkSinkOptions) {
    this.name = opts.name;
    this.requests = counter(opts.registry, {
      name: 'shipwatch_es_bulk_requests_total', help: 'Bulk requests by result (ok, partial, failed).', labelNames: ['output', 'result'] as const,
    });
    this.itemRetries = counter(opts.registry, {
      name: 'shipwatch_es_bulk_item_retries_total', help: 'Bulk items sent again after a 429 or 5xx item answer.', labelNames: ['output'] as const,
    });
    this.conflicts = counter(opts.registry, {
      name: 'shipwatch_es_mapping_conflicts_total',
      help: 'Log documents Elasticsearch refused for their content (400), by outcome: reshaped (sent again in the safe shape, json_text), dead_letter (the safe shape refused too, or none to make).',
      labelNames: ['output', 'outcome'] as const,
    });
  }

  /**
   * How long the oldest request has waited for an answer, past `slowMs`, for /health while no request has failed
   * yet (a node that accepts connections and never answers); undefined otherwise.
   */
  slowAnswer(slowMs = 10_000): string | undefined {
    const now = Date.now();
    let oldest = now;
    for (const r of this.unanswered) oldest = Math.min(oldest, r.atMs);
    return now - oldest > slowMs ? `no answer yet (asked ${Math.round((now - oldest) / 1000)} s ago)` : undefined;
  }

  async send(items: BulkItems, signal: AbortSignal): Promise<SendOutcome<BulkItems>> {
    try {
      return await this.request(items, signal);
    } catch (err) {
      if (err instanceof BulkRequestFailure && err.status === 413 && items.ends.length > 1) return this.sendHalves(items, signal);
      if (err instanceof BulkRequestFailure && !this.classify(err).retry) this.refusedWith.set(items, err.status);
      throw err;
    }
  }

  classify(err: unknown): RetryVerdict {
    if (!(err instanceof BulkRequestFailure)) return { retry: false };
    if (err.status === 401 || err.status === 403) return { retry: true };
    return classifyRequestError(err.cause);
  }

  deadLetters(items: BulkItems, reason: string): DeadLetter[] {
    const status = this.refusedWith.get(items) ?? 0;
    const letters: DeadLetter[] = [];
    for (let i = 0; i < items.ends.length; i++) letters.push({ ...describeItem(items, i), status, reason });
    return letters;
  }

  /**
   * Parts of at most `maxRecords` items and `maxBytes` (an item alone may be larger), in order. A run read from the
   * disk buffer is cut by its stored parts, before anything is expanded (./item-run.ts).
   */
  split(items: BulkItems, maxRecords: number, maxBytes: number): BulkItems[] {
    if (items instanceof ItemRun) return items.split(maxRecords, maxBytes);
    const n = items.ends.length;
    if (n <= maxRecords && items.bytes.length <= maxBytes) return [items];
    const parts: BulkItems[] = [];
    let from = 0;
    for (let i = 1; i <= n; i++) {
      const full = i - from === maxRecords || i === n || items.ends[i]! - itemStart(items, from) > maxBytes;
      if (!full) continue;
      parts.push(sliceItems(items, from, i));
      from = i;
    }
    return parts;
  }

  /** One `_bulk` request of `items`; throws BulkRequestFailure when it fails as a whole. */
  private async request(items: BulkItems, signal: AbortSignal): Promise<SendOutcome<BulkItems>> {
    const { name } = this.opts;
    const sent = items.ends.length;
    let answer: { body: unknown; headers?: Record<string, unknown> };
    const asked = { atMs: Date.now() };
    this.unanswered.add(asked);
    try {
      if (this.opts.templates !== undefined) await this.opts.templates.ensureFor(items, signal);
      const timeoutMs = this.opts.requestTimeoutMs ?? 30_000;
      // The client's timeout normally ends a request; the deadline a little later holds where it does not.
      answer = await withDeadline(signal, timeoutMs + DEADLINE_GRACE_MS, (tried) => this.opts.client.transport.request(
        { method: 'POST', path: '/_bulk', querystring: { filter_path: FILTER_PATH }, bulkBody: items.bytes },
        // The client's own redaction of a failed request's error copies its metadata key by key — the request body
        // too, byte by byte: a sixth of the CPU while Elasticsearch was down (bench/pilot-pipeline, es-buffer). Its
        // `remove` mode drops the answer's headers, Retry-After included. So it is off, and the request (its
        // headers carry the credentials) is taken out of the error below instead.
        { signal: tried, requestTimeout: timeoutMs, redaction: { type: 'off' }, meta: true },
      ));
    } catch (err) {
      withoutRequest(err);
      this.requests.inc({ output: name, result: 'failed' });
      throw new BulkRequestFailure(requestErrorStatus(err), err);
    } finally {
      this.unanswered.delete(asked);
    }
    const body = answer.body as { errors?: unknown; items?: unknown[] } | undefined;
    if (body?.errors === false && body.items?.length === sent) {
      // Every item succeeded: nothing to read one by one.
      this.requests.inc({ output: name, result: 'ok' });
      return { delivered: sent };
    }
    const outcomes = classifyBulkItems(body, sent, this.opts.opType);
    let delivered = 0;
    const again: Array<[number, number]> = [];
    let againReason = '';
    const rejected: DeadLetter[] = [];
    const reshaped: Reshaped[] = [];
    for (let i = 0; i < sent; i++) {
      const o = outcomes[i]!;
      if (o.kind === 'delivered') delivered++;
      else if (o.kind === 'retry') {
        const last = again[again.length - 1];
        if (last !== undefined && last[1] === i) last[1] = i + 1;
        else again.push([i, i + 1]);
        againReason ||= `answered ${o.status || 'nothing'} for ${describeItem(items, i).id} (${o.reason})`;
      } else {
        const item = describeItem(items, i);
        const safe = o.status === 400 ? safeShape(item.record, o.reason) : undefined;
        if (safe !== undefined) reshaped.push({ item: i, record: safe, original: item.record, reason: o.reason });
        else {
          if (o.status === 400) this.conflicts.inc({ output: name, outcome: 'dead_letter' });
          rejected.push({ ...item, index: o.index || item.index, status: o.status, reason: o.reason });
        }
      }
    }
    this.requests.inc({ output: name, result: again.length === 0 && rejected.length === 0 && reshaped.length === 0 ? 'ok' : 'partial' });
    const outcome: SendOutcome<BulkItems> = { delivered, rejected };
    const later: BulkItems[] = [];
    if (again.length > 0) {
      const batch = joinItems(again.map(([f, t]) => sliceItems(items, f, t)));
      this.itemRetries.inc({ output: name }, batch.ends.length);
      later.push(batch);
    }
    if (reshaped.length > 0) {
      const second = await this.sendReshaped(items, reshaped, signal);
      outcome.delivered += second.delivered;
      rejected.push(...(second.rejected ?? []));
      if (second.retry !== undefined) {
        later.push(second.retry.batch);
        againReason ||= second.retry.reason;
      }
    }
    if (later.length > 0) {
      const batch = joinItems(later);
      const retryAfterMs = parseRetryAfterMs(answer.headers?.['retry-after'] as string | undefined);
      outcome.retry = { batch, records: batch.ends.length, reason: againReason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    return outcome;
  }

  /**
   * The items refused for their content, sent once more in their safe shape (same index, same id). Refused again:
   * dead letters with both reasons. A request that fails as a whole hands them back, safe shape and all, for the
   * chain's next try.
   */
  private async sendReshaped(items: BulkItems, reshaped: ReadonlyArray<Reshaped>, signal: AbortSignal): Promise<SendOutcome<BulkItems>> {
    const { name } = this.opts;
    const parts: Buffer[] = [];
    const ends = new Uint32Array(reshaped.length);
    let at = 0;
    for (let k = 0; k < reshaped.length; k++) {
      const { item, record } = reshaped[k]!;
      const start = itemStart(items, item);
      const action = items.bytes.subarray(start, items.bytes.indexOf(10, start) + 1);
      const source = Buffer.from(record + '\n', 'utf8');
      parts.push(action, source);
      at += action.length + source.length;
      ends[k] = at;
    }
    this.conflicts.inc({ output: name, outcome: 'reshaped' }, reshaped.length);
    const safeItems: BulkItems = { bytes: Buffer.concat(parts, at), ends };
    let second: SendOutcome<BulkItems>;
    try {
      second = await this.request(safeItems, signal);
    } catch (err) {
      if (!this.classify(err).retry) {
        return { delivered: 0, rejected: this.deadLetters(safeItems, err instanceof Error ? err.message : String(err)) };
      }
      const reason = err instanceof Error ? err.message : String(err);
      return { delivered: 0, rejected: [], retry: { batch: safeItems, records: ends.length, reason } };
    }
    // Refused again: the letter keeps the record as written and both reasons.
    const rejected = (second.rejected ?? []).map((letter) => {
      const first = reshaped.find((r) => r.record === letter.record);
      return first === undefined ? letter : { ...letter, record: first.original, reason: `${first.reason}; in the safe shape: ${letter.reason}` };
    });
    return { ...second, rejected };
  }

  /**
   * A request too large for the node (413): its halves are sent, each halved again while refused so, until each
   * passes or stands alone (an item alone that large is a dead letter). A half refused for good is a dead letter;
   * one that fails for now hands what is not settled yet back for another try.
   */
  private async sendHalves(items: BulkItems, signal: AbortSignal): Promise<SendOutcome<BulkItems>> {
    const n = items.ends.length;
    const halves = [sliceItems(items, 0, Math.ceil(n / 2)), sliceItems(items, Math.ceil(n / 2), n)];
    const total: SendOutcome<BulkItems> = { delivered: 0, rejected: [] };
    const later: BulkItems[] = [];
    let retryReason = '';
    let retryAfterMs: number | undefined;
    for (let h = 0; h < halves.length; h++) {
      let part: SendOutcome<BulkItems>;
      try {
        part = await this.send(halves[h]!, signal);
      } catch (err) {
        if (!this.classify(err).retry) {
          total.rejected!.push(...this.deadLetters(halves[h]!, err instanceof Error ? err.message : String(err)));
          continue;
        }
        later.push(...halves.slice(h));
        retryReason = err instanceof Error ? err.message : String(err);
        break;
      }
      total.delivered += part.delivered;
      total.rejected!.push(...(part.rejected ?? []));
      if (part.retry !== undefined) {
        later.push(part.retry.batch);
        retryReason = part.retry.reason;
        retryAfterMs = part.retry.retryAfterMs;
      }
    }
    if (later.length > 0) {
      const batch = joinItems(later);
      total.retry = { batch, records: batch.ends.length, reason: retryReason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    return total;
  }
}

/** Takes the request (headers with credentials, the body) and the connection out of a client error's metadata. */
function withoutRequest(err: unknown): void {
  const meta = (err as { meta?: { meta?: Record<string, unknown> } } | null)?.meta?.meta;
  if (meta === undefined || meta === null || typeof meta !== 'object') return;
  delete meta['request'];
  delete meta['connection'];
}
