/**
 * What every metric output is to the collector: it takes points and it closes. Sources (the line protocol push
 * endpoint, the monitors, container statistics) hand their points to `write`; each sink decides what it keeps.
 *
 * Outputs here: InfluxDB (influxdb-sink.ts), Prometheus exposition (prometheus-series.ts). The embedded store's
 * metric table implements the same interface in its own file, beside them.
 */
import type { MetricPoint } from '../../core/model/metric-point.js';

export interface MetricSink {
  /** For logs and the start-up summary. */
  readonly name: string;
  /**
   * Takes the points. Returns at once and never throws: a sink queues, batches and retries on its own, within its
   * own bounds, and counts what it cannot keep. The points may be shared with other sinks: a sink never mutates them.
   */
  write(points: readonly MetricPoint[]): void;
  /** Delivers what it still holds within its own time bound, then stops. Idempotent. */
  close(): Promise<void>;
}

/** One sink that hands every batch to each of `sinks`, in order. */
export function fanOut(sinks: readonly MetricSink[]): MetricSink {
  let closing: Promise<void> | undefined;
  return {
    name: sinks.map((s) => s.name).join('+') || 'none',
    write(points) {
      if (points.length === 0) return;
      for (const sink of sinks) sink.write(points);
    },
    close() {
      closing ??= Promise.all(sinks.map((s) => s.close())).then(() => undefined);
      return closing;
    },
  };
}
