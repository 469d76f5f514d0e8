/**
 * The Elasticsearch bulk pipeline (Vector's sink shape): encoded items (./bulk-items.ts) are batched by count, bytes
 * and time, each batch is sent with bounded concurrency, and the answer is read item by item:
 *
 * - delivered items are done;
 * - items refused for their content (mapping conflict, other 4xx) are written to the dead-letter file with the reason;
 * - 429 / 5xx items, and whole-request failures (connection refused, timeouts, a half-written answer, 429, 5xx), are
 *   retried with the one retry helper — only the items still pending — until the retry deadline;
 * - what is still pending at the deadline comes back as `undelivered` for the caller (the disk buffer) to keep.
 *
 * Items travel as byte ranges of what the caller handed in: a request body is those ranges joined, nothing is
 * encoded again for a retry. Every outcome and every retry is counted. `deliver` resolves when each of its items has
 * an outcome.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Counter } from 'prom-client';
import { describe, swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { retry, retryCounters, RetryExhaustedError, type RetryCounters, type RetryPolicy } from '../../delivery/retry.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { describeItem, itemStart, joinItems, NO_ITEMS, sliceItems, type BulkItems } from './bulk-items.js';
import { classifyBulkItems, classifyRequestError, requestErrorStatus } from './bulk-response.js';
import { esProblem } from './request-failure.js';
import type { DeadLetter, DeadLetterFile } from '../../delivery/dead-letter.js';

export interface BulkSinkOptions {
  /** Output name, the `output` label of the counters. */
  name: string;
  client: Client;
  /** `index` overwrites by `_id`; `create` for data streams. */
  opType: 'index' | 'create';
  maxBatchEvents: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  concurrency: number;
  /** `maxElapsedMs` is how long one batch is retried before its rest is handed back undelivered. */
  retryPolicy: Partial<RetryPolicy>;
  deadLetters: DeadLetterFile;
  registry: Registry;
  log: Logger;
  requestTimeoutMs?: number;
}

export interface DeliveryReport {
  delivered: number;
  rejected: number;
  /** Items still pending when their retry deadline passed, in their original order. */
  undelivered: BulkItems;
}

type Outcome = 'delivered' | 'rejected' | 'undelivered';

/**
 * The answer's parts the pipeline reads: whether any item failed, and each item's status and error. Without the
 * rest (index, id, version, shards, sequence numbers) the answer of a 1000-item request is ~25 KiB instead of
 * ~200 KiB, which the client would otherwise parse for nothing (the `es` case of bench/pilot-pipeline).
 */
const FILTER_PATH = 'errors,items.*.status,items.*.error';

/** One `deliver` call waiting for the outcomes of its items. */
class Ticket {
  private remaining: number;
  private delivered = 0;
  private rejected = 0;
  private undelivered: Array<[number, number]> = [];
  resolve!: (report: DeliveryReport) => void;
  readonly done: Promise<DeliveryReport>;

  constructor(readonly items: BulkItems) {
    this.remaining = items.ends.length;
    this.done = new Promise((r) => (this.resolve = r));
  }

  settle(from: number, to: number, outcome: Outcome): void {
    const n = to - from;
    if (outcome === 'delivered') this.delivered += n;
    else if (outcome === 'rejected') this.rejected += n;
    else this.undelivered.push([from, to]);
    this.remaining -= n;
    if (this.remaining === 0) {
      const ranges = this.undelivered.sort((a, b) => a[0] - b[0]);
      this.resolve({ delivered: this.delivered, rejected: this.rejected, undelivered: joinItems(ranges.map(([f, t]) => sliceItems(this.items, f, t))) });
    }
  }
}

/** Items `[from, to)` of one delivery. */
interface Piece {
  ticket: Ticket;
  from: number;
  to: number;
}

const pieceBytes = (p: Piece): number => itemStart(p.ticket.items, p.to) - itemStart(p.ticket.items, p.from);

/** Transient item failures left after an attempt: thrown to the retry helper so it waits and tries again. */
class PendingItemsError extends Error {
  constructor(readonly count: number, readonly sample: string) {
    super(`${count} bulk items to retry (${sample})`);
  }
}

export class BulkSink {
  private queue: Piece[] = [];
  private queuedItems = 0;
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly abort = new AbortController();
  private closed = false;
  private readonly retryCounters: RetryCounters;
  private readonly events: Counter<'output' | 'outcome'>;
  private readonly requests: Counter<'output' | 'result'>;
  private readonly itemRetries: Counter<'output'>;
  /** Since when, and why, requests fail; undefined once one goes through. For /health. */
  private failingSince: { sinceMs: number; reason: string } | undefined;
  /** Start times of the requests awaiting an answer, so a node that hangs shows before the time-out. */
  private readonly unanswered = new Set<{ atMs: number }>();

  constructor(private readonly opts: BulkSinkOptions) {
    const r = opts.registry;
    this.retryCounters = retryCounters(r);
    this.events = counter(r, {
      name: 'shipwatch_output_events_total', help: 'Records by output and outcome (delivered, rejected, undelivered, dropped).',
      labelNames: ['output', 'outcome'] as const,
    });
    this.requests = counter(r, {
      name: 'shipwatch_es_bulk_requests_total', help: 'Bulk requests by result (ok, partial, failed).', labelNames: ['output', 'result'] as const,
    });
    this.itemRetries = counter(r, {
      name: 'shipwatch_es_bulk_item_retries_total', help: 'Bulk items sent again after a 429 or 5xx item answer.', labelNames: ['output'] as const,
    });
  }

  /**
   * Why Elasticsearch does not take the items now, for /health: the last failure while requests fail, or how long the
   * oldest request has waited for an answer past `slowMs`; undefined while requests go through.
   */
  problem(slowMs = 10_000): string | undefined {
    const now = Date.now();
    if (this.failingSince) return `${this.failingSince.reason}, for ${Math.round((now - this.failingSince.sinceMs) / 1000)} s`;
    let oldest = now;
    for (const r of this.unanswered) oldest = Math.min(oldest, r.atMs);
    return now - oldest > slowMs ? `no answer yet (asked ${Math.round((now - oldest) / 1000)} s ago)` : undefined;
  }

  /** Resolves when every item is delivered, rejected (dead letter) or given back undelivered at its deadline. */
  deliver(items: BulkItems): Promise<DeliveryReport> {
    if (this.closed) return Promise.reject(swError('SW_OUTPUT_FAILED', `${this.opts.name} is closed`));
    const ticket = new Ticket(items);
    const n = items.ends.length;
    if (n === 0) {
      ticket.resolve({ delivered: 0, rejected: 0, undelivered: NO_ITEMS });
      return ticket.done;
    }
    this.queue.push({ ticket, from: 0, to: n });
    this.queuedItems += n;
    this.queuedBytes += items.bytes.length;
    if (this.queuedItems >= this.opts.maxBatchEvents || this.queuedBytes >= this.opts.maxBatchBytes) this.cut();
    if (this.queue.length > 0 && this.timer === undefined) {
      // Referenced on purpose: callers await these records; it lives at most flushIntervalMs.
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.cut();
      }, this.opts.flushIntervalMs);
    }
    return ticket.done;
  }

  /** Sends what is queued now, without waiting for the batch to fill. */
  flush(): void {
    this.cut();
  }

  /** Stops waiting between retries (pending items come back undelivered) and refuses new items. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.cut();
    this.closed = true;
    this.abort.abort(swError('SW_OUTPUT_FAILED', `${this.opts.name} is closing`));
    while (this.inFlight > 0) await new Promise<void>((r) => this.waiting.push(r));
  }

  /** Cuts the queue into requests of at most maxBatchEvents items and maxBatchBytes (an item alone may be larger). */
  private cut(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const { maxBatchEvents, maxBatchBytes } = this.opts;
    while (this.queue.length > 0) {
      const batch: Piece[] = [];
      let n = 0;
      let bytes = 0;
      while (this.queue.length > 0 && n < maxBatchEvents) {
        const p = this.queue[0]!;
        const whole = pieceBytes(p);
        if (n + p.to - p.from <= maxBatchEvents && bytes + whole <= maxBatchBytes) {
          batch.push(p);
          this.queue.shift();
          n += p.to - p.from;
          bytes += whole;
          continue;
        }
        // Part of this piece: the items that still fit.
        const items = p.ticket.items;
        const base = itemStart(items, p.from);
        let take = p.from;
        while (take < p.to && n + take - p.from < maxBatchEvents && (n + take - p.from === 0 || bytes + items.ends[take]! - base <= maxBatchBytes)) take++;
        if (take > p.from) {
          batch.push({ ticket: p.ticket, from: p.from, to: take });
          n += take - p.from;
          bytes += itemStart(items, take) - base;
          p.from = take;
        }
        break;
      }
      this.queuedItems -= n;
      this.queuedBytes -= bytes;
      void this.dispatch(batch);
    }
    this.queuedItems = 0;
    this.queuedBytes = 0;
  }

  private async dispatch(batch: Piece[]): Promise<void> {
    while (this.inFlight >= this.opts.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    try {
      await this.send(batch);
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /** One batch to its end: retried (only what is pending) until delivered, rejected, or its deadline. */
  private async send(batch: Piece[]): Promise<void> {
    const { name } = this.opts;
    let pending = batch;
    try {
      await retry(
        async () => {
          pending = await this.attempt(pending);
          if (pending.length > 0) {
            const count = pending.reduce((s, p) => s + p.to - p.from, 0);
            this.itemRetries.inc({ output: name }, count);
            throw new PendingItemsError(count, describeItem(pending[0]!.ticket.items, pending[0]!.from).id);
          }
        },
        {
          operation: `${name}.bulk`,
          policy: this.opts.retryPolicy,
          counters: this.retryCounters,
          signal: this.abort.signal,
          classify: (err) => (err instanceof PendingItemsError ? { retry: true } : classifyRequestError(err)),
          onRetry: ({ attempt, delayMs, error }) => {
            this.opts.log.debug('bulk retry', { output: name, attempt, delayMs, error: describe(error) });
            this.failingSince = { sinceMs: this.failingSince?.sinceMs ?? Date.now(), reason: error instanceof PendingItemsError ? error.message : esProblem(error) };
          },
        },
      );
    } catch (err) {
      const status = requestErrorStatus(err);
      if (err instanceof RetryExhaustedError || this.abort.signal.aborted || status === 401 || status === 403 || status === 413) {
        // Not the documents' fault (outage, credentials, size): hand them back to be kept and tried later.
        this.opts.log.warn('bulk delivery postponed', { output: name, events: pending.reduce((s, p) => s + p.to - p.from, 0), error: describe(err) });
        for (const p of pending) this.settle(p, 'undelivered');
      } else {
        // A permanent failure of the whole request (400: the body itself was refused): dead letters, with the reason.
        const letters: DeadLetter[] = [];
        for (const p of pending) for (let i = p.from; i < p.to; i++) letters.push({ ...describeItem(p.ticket.items, i), status, reason: describe(err) });
        await this.reject(letters, pending);
      }
    }
  }

  /** Sends the pieces once; returns those to try again. Throws on a whole-request failure. */
  private async attempt(pieces: Piece[]): Promise<Piece[]> {
    const slices = pieces.map((p) => p.ticket.items.bytes.subarray(itemStart(p.ticket.items, p.from), itemStart(p.ticket.items, p.to)));
    const sent = pieces.reduce((s, p) => s + p.to - p.from, 0);
    let body: unknown;
    const asked = { atMs: Date.now() };
    this.unanswered.add(asked);
    try {
      body = await this.opts.client.transport.request(
        { method: 'POST', path: '/_bulk', querystring: { filter_path: FILTER_PATH }, bulkBody: slices.length === 1 ? slices[0]! : Buffer.concat(slices) },
        // The client's own redaction of a failed request's error copies its metadata key by key — the request body
        // too, byte by byte: a sixth of the CPU while Elasticsearch was down (bench/pilot-pipeline, es-buffer). Its
        // `remove` mode drops the answer's headers, Retry-After included. So it is off, and the request (its
        // headers carry the credentials) is taken out of the error below instead.
        { signal: this.abort.signal, requestTimeout: this.opts.requestTimeoutMs ?? 30_000, redaction: { type: 'off' } },
      );
    } catch (err) {
      withoutRequest(err);
      this.requests.inc({ output: this.opts.name, result: 'failed' });
      throw err;
    } finally {
      this.unanswered.delete(asked);
    }
    const answer = body as { errors?: unknown; items?: unknown[] } | undefined;
    if (answer?.errors === false && answer.items?.length === sent) {
      // Every item succeeded: nothing to read one by one.
      this.requests.inc({ output: this.opts.name, result: 'ok' });
      this.failingSince = undefined;
      for (const p of pieces) this.settle(p, 'delivered');
      return [];
    }
    const outcomes = classifyBulkItems(body, sent, this.opts.opType);
    const delivered: Piece[] = [];
    const again: Piece[] = [];
    const letters: DeadLetter[] = [];
    const rejected: Piece[] = [];
    let k = 0;
    for (const p of pieces) {
      for (let i = p.from; i < p.to; i++) {
        const o = outcomes[k++]!;
        if (o.kind === 'delivered') addItem(delivered, p.ticket, i);
        else if (o.kind === 'retry') addItem(again, p.ticket, i);
        else {
          const item = describeItem(p.ticket.items, i);
          letters.push({ ...item, index: o.index || item.index, status: o.status, reason: o.reason });
          addItem(rejected, p.ticket, i);
        }
      }
    }
    for (const p of delivered) this.settle(p, 'delivered');
    this.requests.inc({ output: this.opts.name, result: again.length === 0 && rejected.length === 0 ? 'ok' : 'partial' });
    if (again.length === 0) this.failingSince = undefined;
    await this.reject(letters, rejected);
    return again;
  }

  private async reject(letters: DeadLetter[], pieces: Piece[]): Promise<void> {
    if (pieces.length === 0) return;
    try {
      await this.opts.deadLetters.write(letters);
      for (const p of pieces) this.settle(p, 'rejected');
    } catch (err) {
      // The dead-letter file is unwritable: keep the records rather than lose them.
      this.opts.log.error('dead letters not written; records kept as undelivered', { output: this.opts.name, error: describe(err) });
      for (const p of pieces) this.settle(p, 'undelivered');
    }
  }

  private settle(p: Piece, outcome: Outcome): void {
    this.events.inc({ output: this.opts.name, outcome }, p.to - p.from);
    p.ticket.settle(p.from, p.to, outcome);
  }
}

/** Appends item `i` to `pieces`, extending the last piece when it is the item just before. */
function addItem(pieces: Piece[], ticket: Ticket, i: number): void {
  const last = pieces[pieces.length - 1];
  if (last !== undefined && last.ticket === ticket && last.to === i) last.to = i + 1;
  else pieces.push({ ticket, from: i, to: i + 1 });
}

/** Takes the request (headers with credentials, the body) and the connection out of a client error's metadata. */
function withoutRequest(err: unknown): void {
  const meta = (err as { meta?: { meta?: Record<string, unknown> } } | null)?.meta?.meta;
  if (meta === undefined || meta === null || typeof meta !== 'object') return;
  delete meta['request'];
  delete meta['connection'];
}
