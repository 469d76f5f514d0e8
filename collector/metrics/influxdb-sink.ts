/**
 * Metrics to InfluxDB's `/api/v2/write` (InfluxDB 1.8+, 2.x, 3.x, VictoriaMetrics) through the transport of
 * `@influxdata/influxdb-client` (token, timeout), with line protocol written by line-protocol-serializer.ts.
 *
 * `write` serialises the points at once (a line is far smaller than a point) into a bounded queue and returns: the
 * caller never waits. Batches leave by count or after the flush interval, one write at a time, in order.
 * - A down or slow target (connection refused, timeout, 429, 5xx) is retried with the one retry helper
 *   (delivery/retry.ts: jittered exponential backoff, a longer `Retry-After` wins), for as long as it takes; meanwhile
 *   the queue fills and, when full, drops its oldest points, counted (`reason="queue_full"`) with a warning.
 *   Memory is bounded by the queue plus the one batch in flight.
 * - Any other 4xx (400 bad data, 401/403 credentials, 404 bucket, 413) is not retried: that batch is dropped,
 *   counted (`reason="rejected"`, and by status) and logged as SW_INFLUXDB_REJECTED with InfluxDB's message.
 * - A point line protocol cannot carry is dropped, counted (`reason="unwritable"`) and logged (rate limited).
 * - close(): sends what is queued within `closeTimeoutMs`; what is left then is counted (`reason="shutdown"`).
 */
import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import { describe, swError } from '../../platform/errors.js';
import type { HealthCheck } from '../../platform/http/admin-server.js';
import type { Logger } from '../../platform/log.js';
import type { MetricPoint } from '../../model/metric-point.js';
import { parseRetryAfterMs, retry, retryCounters, type RetryPolicy, type RetryVerdict } from '../../delivery/retry.js';
import { counter, gauge, type Registry } from '../../platform/self-metrics.js';
import { serializePoint } from './line-protocol-serializer.js';
import type { MetricSink } from './metric-sink.js';

export interface InfluxDbSinkOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Points (lines) queued at most. */
  queuePoints: number;
  batchPoints: number;
  flushIntervalMs: number;
  /** One write request at most. */
  timeoutMs: number;
  /** How long close() keeps trying to deliver; default 5 s. */
  closeTimeoutMs?: number;
  /** Backoff; the default retries forever, from 500 ms up to 30 s apart. */
  retry?: Partial<RetryPolicy>;
  log: Logger;
  registry: Registry;
  /** Told apart in metrics and logs when there are several targets; default `influxdb`. */
  name?: string;
}

const WARN_EVERY_MS = 30_000;

export class InfluxDbSink implements MetricSink {
  readonly name: string;
  private readonly client: InfluxDB;
  private readonly path: string;
  private readonly log: Logger;
  /** Lines waiting, oldest first, from `head`. */
  private queue: string[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** Since when, and why, writes fail; undefined while they succeed. */
  private failing: { sinceMs: number; reason: string } | undefined;
  private lastWarnMs = new Map<string, number>();
  private droppedSinceWarn = 0;
  private readonly metrics;

  constructor(private readonly options: InfluxDbSinkOptions) {
    this.name = options.name ?? 'influxdb';
    this.log = options.log.child({ sink: this.name });
    this.client = new InfluxDB({ url: options.url, token: options.token, timeout: options.timeoutMs });
    const query = new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 'ns' });
    this.path = `/api/v2/write?${query}`;
    const r = options.registry;
    this.metrics = {
      written: counter(r, { name: 'shipwatch_influxdb_points_written_total', help: 'Points InfluxDB accepted.', labelNames: ['sink'] as const }),
      dropped: counter(r, {
        name: 'shipwatch_influxdb_points_dropped_total', help: 'Points not delivered to InfluxDB, by reason (queue_full, rejected, unwritable, shutdown).',
        labelNames: ['sink', 'reason'] as const,
      }),
      errors: counter(r, {
        name: 'shipwatch_influxdb_write_errors_total', help: 'Failed InfluxDB writes, by HTTP status (or network).', labelNames: ['sink', 'status'] as const,
      }),
      queued: gauge(r, { name: 'shipwatch_influxdb_queue_points', help: 'Points waiting for InfluxDB.', labelNames: ['sink'] as const }),
      retries: retryCounters(r),
    };
    this.metrics.queued.set({ sink: this.name }, 0);
  }

  get queuedPoints(): number {
    return this.queue.length - this.head;
  }

  write(points: readonly MetricPoint[]): void {
    if (this.closing) {
      this.drop('shutdown', points.length);
      return;
    }
    let unwritable = 0;
    for (const point of points) {
      const r = serializePoint(point);
      if (!r.ok) {
        unwritable++;
        this.warnRarely('unwritable', 'a point line protocol cannot carry was dropped', { measurement: point.measurement, reason: r.reason });
        continue;
      }
      if (this.queuedPoints >= this.options.queuePoints) {
        this.head++;
        this.droppedSinceWarn++;
        this.metrics.dropped.inc({ sink: this.name, reason: 'queue_full' });
      }
      this.queue.push(r.line);
    }
    if (unwritable > 0) this.drop('unwritable', unwritable);
    if (this.droppedSinceWarn > 0 && this.warnRarely('queue_full', 'InfluxDB queue full: the oldest points were dropped', { dropped: this.droppedSinceWarn, queuePoints: this.options.queuePoints })) {
      this.droppedSinceWarn = 0;
    }
    this.compact();
    this.metrics.queued.set({ sink: this.name }, this.queuedPoints);
    this.arm();
  }

  /** A full batch leaves now; a partial one when the flush interval is up. */
  private arm(): void {
    if (this.pumping !== undefined) return;
    if (this.queuedPoints >= this.options.batchPoints) this.pump();
    else if (this.queuedPoints > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, this.options.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Failing writes make the collector's /health say so (the points still wait in the queue). */
  healthCheck(): HealthCheck {
    return {
      name: this.name,
      // Points wait in the sink's queue meanwhile: the collector still accepts them.
      impact: 'degraded',
      check: () => (this.failing ? `writes to ${this.options.url} failing for ${Math.round((Date.now() - this.failing.sinceMs) / 1000)} s: ${this.failing.reason}` : undefined),
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      const deadline = setTimeout(() => this.abort.abort(swError('SW_OUTPUT_FAILED', 'closing: InfluxDB did not take the rest in time')), this.options.closeTimeoutMs ?? 5_000);
      deadline.unref();
      this.pump();
      while (this.pumping) await this.pumping;
      clearTimeout(deadline);
      if (this.queuedPoints > 0) this.drop('shutdown', this.queuedPoints);
      this.queue = [];
      this.head = 0;
      this.metrics.queued.set({ sink: this.name }, 0);
    })();
    return this.closing;
  }

  /** Sends batches until the queue is empty; one at a time. */
  private pump(): void {
    if (this.pumping !== undefined || this.queuedPoints === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pumping = this.drain().finally(() => {
      this.pumping = undefined;
      // Points that came during the last write wait for a full batch or the timer, as any others.
      if (!this.closing) this.arm();
    });
  }

  private async drain(): Promise<void> {
    while (this.queuedPoints > 0 && !this.abort.signal.aborted) {
      const end = Math.min(this.queue.length, this.head + this.options.batchPoints);
      const batch = this.queue.slice(this.head, end);
      this.head = end;
      this.compact();
      this.metrics.queued.set({ sink: this.name }, this.queuedPoints);
      await this.deliver(batch);
    }
  }

  private async deliver(lines: string[]): Promise<void> {
    const body = lines.join('\n');
    try {
      await retry(() => this.post(body), {
        operation: 'influxdb_write',
        policy: { maxElapsedMs: Number.POSITIVE_INFINITY, ...this.options.retry },
        classify: (err) => this.classify(err),
        counters: this.metrics.retries,
        signal: this.abort.signal,
        onRetry: ({ delayMs, error }) => {
          this.failing ??= { sinceMs: Date.now(), reason: describe(error) };
          this.failing.reason = describe(error);
          this.warnRarely('retry', 'InfluxDB write failed, retrying', { url: this.options.url, reason: describe(error), delayMs, queued: this.queuedPoints });
        },
      });
      this.metrics.written.inc({ sink: this.name }, lines.length);
      if (this.failing) this.log.info('InfluxDB writes succeed again', { url: this.options.url, failedForMs: Date.now() - this.failing.sinceMs });
      this.failing = undefined;
    } catch (err) {
      if (err instanceof HttpError && !isTransient(err.statusCode)) {
        this.drop('rejected', lines.length);
        const e = swError('SW_INFLUXDB_REJECTED', `${err.statusCode} ${influxMessage(err)}`, err);
        this.log.error(e.message, { code: e.code, url: this.options.url, status: err.statusCode, points: lines.length });
      } else {
        // Only closing stops the retries (the deadline is infinite): what was in flight did not make it.
        this.drop('shutdown', lines.length);
      }
    }
  }

  private async post(body: string): Promise<void> {
    // A signal per request: the transport leaves its listener on the signal it is given, so the sink's own
    // (long-lived) signal only forwards to it, and drops the forwarding when the request is over.
    const request = new AbortController();
    const forward = (): void => request.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', forward, { once: true });
    try {
      await this.client.transport.request(this.path, body, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, signal: request.signal });
    } catch (err) {
      const status = err instanceof HttpError ? String(err.statusCode) : 'network';
      this.metrics.errors.inc({ sink: this.name, status });
      throw err;
    } finally {
      this.abort.signal.removeEventListener('abort', forward);
    }
  }

  private classify(err: unknown): RetryVerdict {
    if (this.abort.signal.aborted) return { retry: false };
    if (err instanceof HttpError) {
      if (!isTransient(err.statusCode)) return { retry: false };
      const retryAfterMs = parseRetryAfterMs(err.headers?.['retry-after']);
      return retryAfterMs === undefined ? { retry: true } : { retry: true, retryAfterMs };
    }
    // Refused, reset, timed out, DNS: the target is down or slow; wait and try again.
    return { retry: true };
  }

  private drop(reason: 'queue_full' | 'rejected' | 'unwritable' | 'shutdown', count: number): void {
    if (count > 0) this.metrics.dropped.inc({ sink: this.name, reason }, count);
  }

  /** Logs a warning of this kind at most every 30 s; true when it did. */
  private warnRarely(kind: string, msg: string, fields: Record<string, unknown>): boolean {
    const now = Date.now();
    if (now - (this.lastWarnMs.get(kind) ?? -Infinity) < WARN_EVERY_MS) return false;
    this.lastWarnMs.set(kind, now);
    this.log.warn(msg, fields);
    return true;
  }

  /** Drops the consumed head of the queue once it is the larger part. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

function isTransient(status: number): boolean {
  return status === 429 || status >= 500;
}

/** InfluxDB answers `{"code":"invalid","message":"…"}`; else the status text. */
function influxMessage(err: HttpError): string {
  const json = err.json as { message?: unknown } | undefined;
  if (json && typeof json.message === 'string') return json.message;
  return (err.body ?? err.statusMessage ?? '').slice(0, 300);
}
