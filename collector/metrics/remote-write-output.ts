/**
 * The Prometheus remote write output (`PROMETHEUS_REMOTE_WRITE_URL`, and a container's
 * `aliyun.monitoring.addon.prometheus`) on the delivery chain (delivery/delivery-chain.ts), built as the InfluxDB
 * output (./influxdb-output.ts): points → series entries → the output's durable queue under
 * `SHIPWATCH_DATA_DIR/buffer/<name>/` (frames: storage/prometheus/remote-write-frames.ts) → batches by count, bytes
 * and time → sent one request at a time (storage/prometheus/remote-write-sink.ts) → classified → acknowledged.
 *
 * - A point becomes one series per numeric field, named as the collector's `/metrics` names it
 *   (./prometheus-series.ts): `<measurement>_<field>`, tags as labels, booleans 1 and 0, string fields left out; the
 *   point's own time (milliseconds) is the sample's. A point with no numeric field sends nothing.
 * - One request at a time: Prometheus refuses a sample older than the last one of its series, so batches must not
 *   overtake each other (Prometheus's own sender keeps a series to one shard for the same reason).
 * - A receiver out of reach is retried without a deadline while the queue has room; a restart replays what was not
 *   acknowledged (the same sample twice is not an error in Prometheus).
 * - Full (PROMETHEUS_REMOTE_WRITE_BUFFER_MAX_SIZE): with `block`, `full()` is true and the sources hold back; with
 *   `drop`, new points are dropped and counted.
 * - close(): stops taking points, keeps delivering for `closeTimeoutMs`, then leaves the rest on disk.
 */
import { describe } from '../../platform/errors.js';
import type { HealthCheck } from '../../platform/http/admin-server.js';
import type { Logger } from '../../platform/log.js';
import { numericValue, type MetricPoint } from '../../model/metric-point.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { DeliveryChain, type Admission } from '../../delivery/delivery-chain.js';
import { DurableQueue } from '../../delivery/durable-queue.js';
import type { RetryPolicy } from '../../delivery/retry.js';
import { seriesFrames, type SeriesBatch } from '../../storage/prometheus/remote-write-frames.js';
import { encodeSeriesEntry } from '../../storage/prometheus/remote-write-proto.js';
import { RemoteWriteSink } from '../../storage/prometheus/remote-write-sink.js';
import type { MetricSink } from './metric-sink.js';
import { labelName, metricName } from './prometheus-series.js';

export interface RemoteWriteOutputOptions {
  /** Output name: the queue's folder, the `output` label, the /health entry. */
  name: string;
  /** The receiver's write URL (`…/api/v1/write` for Prometheus). */
  url: string;
  /** Series (samples) per request. */
  batchSeries: number;
  /** Bytes of uncompressed entries per request at most. */
  batchBytes: number;
  flushIntervalMs: number;
  timeoutMs: number;
  dataDir: string;
  bufferMaxBytes: number;
  whenFull: 'block' | 'drop';
  /** How long close() keeps delivering; the rest stays on disk. Default 5 s. */
  closeTimeoutMs?: number;
  retry?: Partial<Omit<RetryPolicy, 'maxElapsedMs'>>;
  log: Logger;
  registry: Registry;
}

const FULL_AT = 0.98;

type Chain = DeliveryChain<readonly Buffer[], SeriesBatch>;

/**
 * The series entries of points, as /metrics names them. Labels: the tags, named as /metrics names them (of two tags
 * with the same label name the first in key order is kept), and `__name__`.
 */
export function seriesOfPoints(points: readonly MetricPoint[]): Buffer[] {
  const entries: Buffer[] = [];
  for (const point of points) {
    let labels: Array<[string, string]> | undefined;
    const prefix = metricName(point.measurement) + '_';
    const timestampMs = Number(point.timeNs / 1_000_000n);
    for (let i = 0; i < point.fieldKeys.length; i++) {
      const value = numericValue(point, i);
      if (value === undefined) continue;
      if (labels === undefined) {
        labels = [];
        const seen = new Set<string>();
        for (let t = 0; t < point.tagKeys.length; t++) {
          const name = labelName(point.tagKeys[t]!);
          if (seen.has(name)) continue;
          seen.add(name);
          labels.push([name, point.tagValues[t]!]);
        }
      }
      entries.push(encodeSeriesEntry({ labels: [['__name__', prefix + metricName(point.fieldKeys[i]!)], ...labels], value, timestampMs }));
    }
  }
  return entries;
}

export class RemoteWriteOutput implements MetricSink {
  readonly name: string;
  private chain: Chain | undefined;
  private sink: RemoteWriteSink | undefined;
  private readonly opening: Promise<Chain | undefined>;
  private openFailure: string | undefined;
  private refusedAtFill: number | undefined;
  private readonly inFlight = new Set<Promise<Admission>>();
  private closing: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly notKept;

  constructor(private readonly options: RemoteWriteOutputOptions) {
    this.name = options.name;
    this.log = options.log.child({ output: options.name });
    this.notKept = counter(options.registry, {
      name: 'shipwatch_remote_write_unqueued_series_total',
      help: 'Series a Prometheus remote write output could not queue: its queue could not be opened, or the output was closing.', labelNames: ['output'] as const,
    });
    this.opening = this.open();
  }

  private async open(): Promise<Chain | undefined> {
    const o = this.options;
    try {
      const queue = await DurableQueue.open({
        name: o.name, dataDir: o.dataDir, maxBytes: o.bufferMaxBytes, whenFull: o.whenFull, codec: seriesFrames, registry: o.registry, log: this.log,
      });
      const sink = new RemoteWriteSink({ name: o.name, url: o.url, timeoutMs: o.timeoutMs });
      this.sink = sink;
      const chain: Chain = new DeliveryChain({
        sink,
        queue, records: (entries) => entries.length,
        // Records are samples, several per point: room for a line protocol push's slice of points with many fields
        // while their appends wait for the disk (about 15 MB of entries); past it a push is answered 503.
        maxPendingRecords: Math.max(16 * o.batchSeries, 100_000),
        batch: { maxRecords: o.batchSeries, maxBytes: o.batchBytes, flushIntervalMs: o.flushIntervalMs },
        concurrency: 1, drainTimeoutMs: o.closeTimeoutMs ?? 5_000,
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
      this.log.error('Prometheus remote write output without its queue: points are not kept', { err });
      return undefined;
    }
  }

  write(points: readonly MetricPoint[]): void {
    const entries = seriesOfPoints(points);
    if (entries.length === 0) return;
    if (this.closing !== undefined) {
      this.notKept.inc({ output: this.name }, entries.length);
      return;
    }
    const chain = this.chain;
    const submitted = (chain !== undefined ? chain.submit(entries) : this.opening.then((c) => (c === undefined ? this.unqueued(entries.length) : c.submit(entries))))
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

  /** Out of room with when_full=block: sources hold back until it is not (as the InfluxDB output). */
  full(): boolean {
    if (this.options.whenFull !== 'block' || this.chain === undefined) return false;
    const fill = this.chain.fill;
    return fill >= FULL_AT || (this.refusedAtFill !== undefined && fill >= this.refusedAtFill);
  }

  /** Resolves once every point written so far is in the queue: true, or false when some could not be. */
  async settled(): Promise<boolean> {
    const results = await Promise.all([...this.inFlight]);
    const dropping = this.options.whenFull === 'drop';
    return results.every((r) => r === 'accepted' || (dropping && r === 'busy'));
  }

  /** Deliveries failing (out of reach, refusing) or a full queue: degraded, points still accepted. */
  healthCheck(): HealthCheck {
    return {
      name: this.name,
      impact: 'degraded',
      check: () => {
        if (this.openFailure !== undefined) return this.openFailure;
        const problem = this.chain?.problem();
        const full = this.full() ? `the disk buffer is full (${this.options.bufferMaxBytes} bytes, PROMETHEUS_REMOTE_WRITE_BUFFER_MAX_SIZE): sources are held back` : undefined;
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
}
