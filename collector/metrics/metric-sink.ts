/**
 * What every metric output is to the collector: it takes points and it closes. Sources (the line protocol push
 * endpoint, the monitors, container statistics) hand their points to `write`; each sink decides what it keeps.
 *
 * Outputs here: InfluxDB (influxdb-output.ts), Prometheus exposition (prometheus-series.ts). The embedded store's
 * metric table (storage/sqlite/metric-store.ts) implements the same interface, which lives in model/metric-point.ts.
 */
import type { MetricSink, PointRefusal } from '../../model/metric-point.js';

export type { MetricSink };

/** One sink that hands every batch to each of `sinks`, in order. */
export function fanOut(sinks: readonly MetricSink[]): MetricSink {
  let closing: Promise<void> | undefined;
  return {
    name: sinks.map((s) => s.name).join('+') || 'none',
    write(points) {
      if (points.length === 0) return;
      for (const sink of sinks) sink.write(points);
    },
    admit(points) {
      const refused: PointRefusal[] = [];
      for (const sink of sinks) if (sink.admit !== undefined) refused.push(...sink.admit(points));
      return refused;
    },
    full() {
      return sinks.some((s) => s.full?.() === true);
    },
    async settled() {
      const kept = await Promise.all(sinks.map((s) => s.settled?.() ?? true));
      return kept.every((k) => k);
    },
    close() {
      closing ??= Promise.all(sinks.map((s) => s.close())).then(() => undefined);
      return closing;
    },
  };
}
