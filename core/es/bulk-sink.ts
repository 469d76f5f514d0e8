/**
 * The Elasticsearch bulk pipeline (Vector's sink shape): events are batched by count, bytes and time, each batch is
 * sent with bounded concurrency, and the answer is read item by item:
 *
 * - delivered items are done;
 * - items refused for their content (mapping conflict, other 4xx) are written to the dead-letter file with the reason;
 * - 429 / 5xx items, and whole-request failures (connection refused, timeouts, a half-written answer, 429, 5xx), are
 *   retried with the one retry helper — only the items still pending — until the retry deadline;
 * - what is still pending at the deadline comes back as `undelivered` for the caller (the disk buffer) to keep.
 *
 * Every outcome and every retry is counted. `deliver` resolves when each of its events has an outcome.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Counter } from 'prom-client';
import { describe, swError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LogEvent } from '../model/log-record.js';
import { retry, retryCounters, RetryExhaustedError, type RetryCounters, type RetryPolicy } from '../retry.js';
import { counter, type Registry } from '../self-metrics.js';
import { classifyBulkItems, classifyRequestError, requestErrorStatus } from './bulk-response.js';
import type { DeadLetter, DeadLetterFile } from './dead-letter.js';

export interface BulkSinkOptions {
  /** Output name, the `output` label of the counters. */
  name: string;
  client: Client;
  /** Builds the `_bulk` NDJSON body (action and source lines, trailing newline) of the events, in order. */
  encode: (events: LogEvent[]) => string;
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
  /** Events still pending when their retry deadline passed, in their original order. */
  undelivered: LogEvent[];
}

/** One `deliver` call waiting for the outcomes of its events. */
class Ticket {
  remaining: number;
  readonly report: DeliveryReport = { delivered: 0, rejected: 0, undelivered: [] };
  private readonly order = new Map<LogEvent, number>();
  resolve!: (report: DeliveryReport) => void;
  readonly done: Promise<DeliveryReport>;

  constructor(events: LogEvent[]) {
    this.remaining = events.length;
    events.forEach((e, i) => this.order.set(e, i));
    this.done = new Promise((r) => (this.resolve = r));
  }

  settle(event: LogEvent, outcome: 'delivered' | 'rejected' | 'undelivered'): void {
    if (outcome === 'delivered') this.report.delivered++;
    else if (outcome === 'rejected') this.report.rejected++;
    else this.report.undelivered.push(event);
    if (--this.remaining === 0) {
      this.report.undelivered.sort((a, b) => this.order.get(a)! - this.order.get(b)!);
      this.resolve(this.report);
    }
  }
}

interface Entry {
  event: LogEvent;
  ticket: Ticket;
}

/** Transient item failures left after an attempt: thrown to the retry helper so it waits and tries again. */
class PendingItemsError extends Error {
  constructor(readonly count: number, readonly sample: string) {
    super(`${count} bulk items to retry (${sample})`);
  }
}

/** Bytes an event adds to a bulk body: its source line plus an action line (index name and id). */
function entryBytes(e: LogEvent): number {
  return e.json.length + e.target.length + e.id.length + 64;
}

export class BulkSink {
  private queue: Entry[] = [];
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

  /** Resolves when every event is delivered, rejected (dead letter) or given back undelivered at its deadline. */
  deliver(events: LogEvent[]): Promise<DeliveryReport> {
    if (this.closed) return Promise.reject(swError('SW_OUTPUT_FAILED', `${this.opts.name} is closed`));
    const ticket = new Ticket(events);
    if (events.length === 0) ticket.resolve(ticket.report);
    for (const event of events) {
      this.queue.push({ event, ticket });
      this.queuedBytes += entryBytes(event);
      if (this.queue.length >= this.opts.maxBatchEvents || this.queuedBytes >= this.opts.maxBatchBytes) this.cut();
    }
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

  /** Stops waiting between retries (pending items come back undelivered) and refuses new events. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.cut();
    this.closed = true;
    this.abort.abort(swError('SW_OUTPUT_FAILED', `${this.opts.name} is closing`));
    while (this.inFlight > 0) await new Promise<void>((r) => this.waiting.push(r));
  }

  private cut(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && n < this.opts.maxBatchEvents) {
        const b = entryBytes(this.queue[n]!.event);
        if (n > 0 && bytes + b > this.opts.maxBatchBytes) break;
        bytes += b;
        n++;
      }
      const batch = this.queue.splice(0, n);
      this.queuedBytes -= bytes;
      void this.dispatch(batch);
    }
    this.queuedBytes = 0;
  }

  private async dispatch(batch: Entry[]): Promise<void> {
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
  private async send(batch: Entry[]): Promise<void> {
    const { name } = this.opts;
    let pending = batch;
    try {
      await retry(
        async () => {
          pending = await this.attempt(pending);
          if (pending.length > 0) {
            this.itemRetries.inc({ output: name }, pending.length);
            throw new PendingItemsError(pending.length, pending[0]!.event.id);
          }
        },
        {
          operation: `${name}.bulk`,
          policy: this.opts.retryPolicy,
          counters: this.retryCounters,
          signal: this.abort.signal,
          classify: (err) => (err instanceof PendingItemsError ? { retry: true } : classifyRequestError(err)),
          onRetry: ({ attempt, delayMs, error }) => this.opts.log.debug('bulk retry', { output: name, attempt, delayMs, error: describe(error) }),
        },
      );
    } catch (err) {
      const status = requestErrorStatus(err);
      if (err instanceof RetryExhaustedError || this.abort.signal.aborted || status === 401 || status === 403 || status === 413) {
        // Not the documents' fault (outage, credentials, size): hand them back to be kept and tried later.
        this.opts.log.warn('bulk delivery postponed', { output: name, events: pending.length, error: describe(err) });
        for (const e of pending) this.settle(e, 'undelivered');
      } else {
        // A permanent failure of the whole request (400: the body itself was refused): dead letters, with the reason.
        await this.reject(pending.map((e) => ({ index: e.event.target, status, reason: describe(err), event: e.event })), pending);
      }
    }
  }

  /** Sends the entries once; returns those to try again. Throws on a whole-request failure. */
  private async attempt(entries: Entry[]): Promise<Entry[]> {
    const events = entries.map((e) => e.event);
    let body: unknown;
    try {
      body = await this.opts.client.transport.request(
        { method: 'POST', path: '/_bulk', bulkBody: this.opts.encode(events) },
        { signal: this.abort.signal, requestTimeout: this.opts.requestTimeoutMs ?? 30_000 },
      );
    } catch (err) {
      this.requests.inc({ output: this.opts.name, result: 'failed' });
      throw err;
    }
    const outcomes = classifyBulkItems(body, entries.length, this.opts.opType);
    const again: Entry[] = [];
    const letters: DeadLetter[] = [];
    const rejected: Entry[] = [];
    outcomes.forEach((o, i) => {
      const entry = entries[i]!;
      if (o.kind === 'delivered') this.settle(entry, 'delivered');
      else if (o.kind === 'retry') again.push(entry);
      else {
        letters.push({ index: o.index, status: o.status, reason: o.reason, event: entry.event });
        rejected.push(entry);
      }
    });
    this.requests.inc({ output: this.opts.name, result: again.length === 0 && rejected.length === 0 ? 'ok' : 'partial' });
    await this.reject(letters, rejected);
    return again;
  }

  private async reject(letters: DeadLetter[], entries: Entry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.opts.deadLetters.write(letters);
      for (const e of entries) this.settle(e, 'rejected');
    } catch (err) {
      // The dead-letter file is unwritable: keep the records rather than lose them.
      this.opts.log.error('dead letters not written; records kept as undelivered', { output: this.opts.name, error: describe(err) });
      for (const e of entries) this.settle(e, 'undelivered');
    }
  }

  private settle(entry: Entry, outcome: 'delivered' | 'rejected' | 'undelivered'): void {
    this.events.inc({ output: this.opts.name, outcome });
    entry.ticket.settle(entry.event, outcome);
  }
}
