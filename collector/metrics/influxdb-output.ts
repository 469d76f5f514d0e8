/**
 * The InfluxDB-API output (InfluxDB 1.x through /write, 1.8+, 2.x, 3.x and VictoriaMetrics through /api/v2/write:
 * the sink asks the server which it has) on the delivery chain (delivery/delivery-chain.ts): points → line protocol
 * → the output's durable queue under `SHIPWATCH_DATA_DIR/buffer/<name>/` (frames: ./line-protocol-frames.ts) →
 * batches by count, bytes and time → sent with bounded concurrency (./influxdb-sink.ts) → classified →
 * acknowledged, which removes them from the queue.
 *
 * - Each `write` becomes one frame, appended in the background; concurrent appends share one fdatasync. A source
 *   that answers its client (the line protocol push) awaits `settled()` first, so a 204 means the points are on disk.
 * - A target out of reach is retried without a deadline while the queue has room; a restart replays what was not
 *   acknowledged. The same series and timestamp overwrite each other in InfluxDB and VictoriaMetrics, so a replay
 *   does not duplicate a point.
 * - Full (INFLUXDB_BUFFER_MAX_SIZE): with `block`, `full()` is true and the sources hold back (a push answers 503
 *   with Retry-After, monitoring skips its rounds, counted); with `drop`, new points are dropped and counted
 *   (`shipwatch_delivery_refused_records_total{reason="busy"}`).
 * - A point line protocol cannot carry is dropped, counted (`shipwatch_influxdb_unwritable_points_total`) and logged
 *   (rate limited).
 * - close(): stops taking points, keeps delivering for `closeTimeoutMs`, then leaves the rest on disk.
 */
import { describe } from '../../platform/errors.js';
import type { HealthCheck } from '../../platform/http/admin-server.js';
import type { Logger } from '../../platform/log.js';
import type { MetricPoint } from '../../model/metric-point.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { DeliveryChain, type Admission } from '../../delivery/delivery-chain.js';
import { DurableQueue } from '../../delivery/durable-queue.js';
import type { RetryPolicy } from '../../delivery/retry.js';
import { lineFrames, type LineBatch } from './line-protocol-frames.js';
import { InfluxDbSink } from './influxdb-sink.js';
import { serializePoint } from './line-protocol-serializer.js';
import type { MetricSink } from './metric-sink.js';

export interface InfluxDbOutputOptions {
  /** Output name: the queue's folder, the `output` label, the /health entry. */
  name: string;
  url: string;
  token: string;
  org: string;
  bucket: string;
  batchPoints: number;
  /** Bytes of line protocol per request at most (a single larger frame still goes alone). */
  batchBytes: number;
  flushIntervalMs: number;
  /** Requests under way at once. */
  concurrency: number;
  /** One write request at most. */
  timeoutMs: number;
  dataDir: string;
  /** The disk budget of the queue. */
  bufferMaxBytes: number;
  whenFull: 'block' | 'drop';
  /** How long close() keeps delivering; the rest stays on disk. Default 5 s. */
  closeTimeoutMs?: number;
  /** Backoff between tries (there is no deadline). */
  retry?: Partial<Omit<RetryPolicy, 'maxElapsedMs'>>;
  log: Logger;
  registry: Registry;
}

/**
 * How full the queue is when `full()` says so: an append waits once the next frame would pass the budget, so the
 * sources are told a little before the last byte.
 */
const FULL_AT = 0.98;
const WARN_EVERY_MS = 30_000;

type Chain = DeliveryChain<readonly string[], LineBatch>;

export class InfluxDbOutput implements MetricSink {
  readonly name: string;
  private chain: Chain | undefined;
  private sink: InfluxDbSink | undefined;
  private readonly opening: Promise<Chain | undefined>;
  private openFailure: string | undefined;
  /** The queue's fill when a write was last refused for room; cleared by the next write it takes. */
  private refusedAtFill: number | undefined;
  /** Appends under way (for `settled`). */
  private readonly inFlight = new Set<Promise<Admission>>();
  private closing: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly unwritable;
  private readonly notKept;
  private lastWarnMs = -Infinity;

  constructor(private readonly options: InfluxDbOutputOptions) {
    this.name = options.name;
    this.log = options.log.child({ output: options.name });
    this.unwritable = counter(options.registry, {
      name: 'shipwatch_influxdb_unwritable_points_total', help: 'Points an InfluxDB output dropped because line protocol cannot carry them.', labelNames: ['output'] as const,
    });
    this.notKept = counter(options.registry, {
      name: 'shipwatch_influxdb_unqueued_points_total',
      help: 'Points an InfluxDB output could not queue: its queue could not be opened, or the output was closing.', labelNames: ['output'] as const,
    });
    this.opening = this.open();
  }

  private async open(): Promise<Chain | undefined> {
    const o = this.options;
    try {
      const queue = await DurableQueue.open({
        name: o.name, dataDir: o.dataDir, maxBytes: o.bufferMaxBytes, whenFull: o.whenFull, codec: lineFrames, registry: o.registry, log: this.log,
      });
      const sink = new InfluxDbSink({ name: o.name, url: o.url, token: o.token, org: o.org, bucket: o.bucket, timeoutMs: o.timeoutMs, log: this.log });
      this.sink = sink;
      const chain: Chain = new DeliveryChain({
        sink,
        queue, records: (lines) => lines.length,
        // Room for a few batches while their appends wait for the disk; past it a push is answered 503.
        maxPendingRecords: Math.max(4 * o.batchPoints, 10_000),
        batch: { maxRecords: o.batchPoints, maxBytes: o.batchBytes, flushIntervalMs: o.flushIntervalMs },
        concurrency: o.concurrency, drainTimeoutMs: o.closeTimeoutMs ?? 5_000,
        deadLetters: new DeadLetterFile(o.dataDir, o.name, o.registry), retryPolicy: o.retry, registry: o.registry, log: this.log,
      });
      if (this.closing !== undefined) {
        await chain.close();
        return undefined;
      }
      chain.start();
      this.chain = chain;
      return chain;
    } catch (err) {
      this.openFailure = `the disk buffer cannot be opened: ${describe(err)}`;
      this.log.error('InfluxDB output without its queue: points are not kept', { err });
      return undefined;
    }
  }

  write(points: readonly MetricPoint[]): void {
    const lines: string[] = [];
    for (const point of points) {
      const r = serializePoint(point);
      if (r.ok) lines.push(r.line);
      else {
        this.unwritable.inc({ output: this.name });
        this.warnRarely('a point line protocol cannot carry was dropped', { measurement: point.measurement, reason: r.reason });
      }
    }
    if (lines.length === 0) return;
    if (this.closing !== undefined) {
      this.notKept.inc({ output: this.name }, lines.length);
      return;
    }
    const chain = this.chain;
    const submitted = (chain !== undefined ? chain.submit(lines) : this.opening.then((c) => (c === undefined ? this.unqueued(lines.length) : c.submit(lines))))
      .then((admission) => {
        if (admission === 'busy') this.refusedAtFill = this.chain?.fill;
        else if (admission === 'accepted') this.refusedAtFill = undefined;
        return admission;
      });
    this.inFlight.add(submitted);
    void submitted.finally(() => this.inFlight.delete(submitted));
  }

  private unqueued(n: number): Admission {
    this.notKept.inc({ output: this.name }, n);
    return 'failed';
  }

  /**
   * Out of room with when_full=block: sources hold back until it is not — the queue is (nearly) full, or a write was
   * refused for room (the chain refuses a write that does not fit, counted, and `settled` says false) and nothing
   * has been delivered since.
   */
  full(): boolean {
    if (this.options.whenFull !== 'block' || this.chain === undefined) return false;
    const fill = this.chain.fill;
    return fill >= FULL_AT || (this.refusedAtFill !== undefined && fill >= this.refusedAtFill);
  }

  /**
   * Resolves once every point written so far is in the queue (durable): true, or false when some could not be. With
   * when_full=drop, points refused for room count as taken: they are dropped by configuration (counted by the chain).
   */
  async settled(): Promise<boolean> {
    const results = await Promise.all([...this.inFlight]);
    const dropping = this.options.whenFull === 'drop';
    return results.every((r) => r === 'accepted' || (dropping && r === 'busy'));
  }

  /** Deliveries failing (out of reach, refusing, credentials) or a full queue: degraded, points still accepted. */
  healthCheck(): HealthCheck {
    return {
      name: this.name,
      impact: 'degraded',
      check: () => {
        if (this.openFailure !== undefined) return this.openFailure;
        const problem = this.chain?.problem();
        const full = this.full() ? `the disk buffer is full (${this.options.bufferMaxBytes} bytes, INFLUXDB_BUFFER_MAX_SIZE): sources are held back` : undefined;
        return [problem, full].filter((p) => p !== undefined).join('; ') || undefined;
      },
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      await (await this.opening)?.close();
      this.sink?.destroy();
    })();
    return this.closing;
  }

  private warnRarely(msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.lastWarnMs < WARN_EVERY_MS) return;
    this.lastWarnMs = now;
    this.log.warn(msg, fields);
  }
}
