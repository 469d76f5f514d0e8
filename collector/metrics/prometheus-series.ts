/**
 * Collected points exposed for Prometheus (what Telegraf's `prometheus_client` output does): each numeric field
 * becomes the series `<measurement>_<field>{<tags>}` holding its last value.
 *
 * - Names follow Prometheus' rules: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`;
 *   any other character becomes `_`, a leading digit gets a `_` before it, a label's leading `__` (reserved by
 *   Prometheus) becomes `_`. When two tags end up with the same label name, the first (in key order) is kept.
 * - Floats, integers and unsigned integers are exposed as they are (as doubles), booleans as 1 and 0; string
 *   fields are skipped. Series are `untyped` (line protocol does not say gauge or counter) and carry no
 *   timestamp, as Telegraf's exposition: Prometheus stamps the scrape.
 * - A series not updated for `stalenessMs` disappears; `forget(predicate)` removes the series of a container that
 *   is gone at once. At most `maxSeries` series are held; new ones past it are dropped and counted.
 * - Collected names starting with `shipwatch_` are skipped: they would collide with the program's own metrics.
 *
 * Render the text with `render()`; `exposeOnMetrics(app)` appends it to the admin port's `/metrics`.
 */
import type { FastifyInstance } from 'fastify';
import { numericValue, type MetricPoint } from '../../model/metric-point.js';
import { counter, gauge, type Registry } from '../../platform/self-metrics.js';
import type { MetricSink } from './metric-sink.js';

export interface PrometheusSeriesOptions {
  stalenessMs: number;
  maxSeries: number;
  registry: Registry;
  /** For tests: the clock. */
  now?: () => number;
}

interface Series {
  /** `{a="1",b="2"}` or ''. */
  labels: string;
  value: number;
  updatedMs: number;
  measurement: string;
  /** The point's tags, for forget() (the point's own arrays: points are never changed). */
  tagKeys: readonly string[];
  tagValues: readonly string[];
}

export type SeriesPredicate = (series: { measurement: string; tags: Readonly<Record<string, string>> }) => boolean;

export class PrometheusSeries implements MetricSink {
  readonly name = 'prometheus';
  /** Metric name → label text → series. */
  private readonly byName = new Map<string, Map<string, Series>>();
  private count = 0;
  private readonly now: () => number;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly dropped;
  private closed = false;

  constructor(private readonly options: PrometheusSeriesOptions) {
    this.now = options.now ?? Date.now;
    this.dropped = counter(options.registry, {
      name: 'shipwatch_prometheus_series_dropped_total', help: 'Collected series not exposed (max series reached, or a reserved name).', labelNames: ['reason'] as const,
    });
    const series = gauge(options.registry, { name: 'shipwatch_prometheus_series', help: 'Collected series exposed on /metrics.' });
    series.set(0);
    // Series that are never scraped still go away: a sweep every half staleness period.
    this.sweepTimer = setInterval(() => {
      this.sweep();
      series.set(this.count);
    }, Math.max(1_000, Math.floor(options.stalenessMs / 2)));
    this.sweepTimer.unref();
  }

  get seriesCount(): number {
    return this.count;
  }

  write(points: readonly MetricPoint[]): void {
    if (this.closed) return;
    const now = this.now();
    for (const point of points) {
      const prefix = metricName(point.measurement) + '_';
      let labels: string | undefined;
      for (let i = 0; i < point.fieldKeys.length; i++) {
        const v = numericValue(point, i);
        if (v === undefined) continue;
        const name = prefix + metricName(point.fieldKeys[i]!);
        if (name.startsWith('shipwatch_')) {
          this.dropped.inc({ reason: 'reserved_name' });
          continue;
        }
        labels ??= labelText(point.tagKeys, point.tagValues);
        let family = this.byName.get(name);
        const existing = family?.get(labels);
        if (existing) {
          existing.value = v;
          existing.updatedMs = now;
          continue;
        }
        if (this.count >= this.options.maxSeries) {
          this.dropped.inc({ reason: 'max_series' });
          continue;
        }
        if (!family) {
          family = new Map();
          this.byName.set(name, family);
        }
        family.set(labels, { labels, value: v, updatedMs: now, measurement: point.measurement, tagKeys: point.tagKeys, tagValues: point.tagValues });
        this.count++;
      }
    }
  }

  /** Removes at once the series whose point matched `predicate` (e.g. the tags of a container that is gone). */
  forget(predicate: SeriesPredicate): number {
    let removed = 0;
    this.removeWhere((s) => predicate({ measurement: s.measurement, tags: Object.fromEntries(s.tagKeys.map((k, i) => [k, s.tagValues[i]!])) }), () => removed++);
    return removed;
  }

  /** The exposition text (format 0.0.4) of the live series; '' when there are none. */
  render(): string {
    this.sweep();
    const out: string[] = [];
    for (const [name, family] of this.byName) {
      out.push(`# TYPE ${name} untyped`);
      for (const s of family.values()) out.push(`${name}${s.labels} ${formatValue(s.value)}`);
    }
    return out.length === 0 ? '' : out.join('\n') + '\n';
  }

  /** Appends the collected series to the program's own metrics on this app's `GET /metrics`. */
  exposeOnMetrics(app: FastifyInstance): void {
    app.addHook('onSend', async (req, _reply, payload) => {
      if (req.method !== 'GET' || req.routeOptions.url !== '/metrics' || typeof payload !== 'string') return payload;
      return payload + this.render();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
  }

  private sweep(): void {
    const oldest = this.now() - this.options.stalenessMs;
    this.removeWhere((s) => s.updatedMs < oldest);
  }

  private removeWhere(test: (s: Series) => boolean, onRemove?: () => void): void {
    for (const [name, family] of this.byName) {
      for (const [labels, s] of family) {
        if (!test(s)) continue;
        family.delete(labels);
        this.count--;
        onRemove?.();
      }
      if (family.size === 0) this.byName.delete(name);
    }
  }
}

/** A valid Prometheus metric name (or part of one). */
export function metricName(raw: string): string {
  const s = raw.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) ? '_' + s : s;
}

/** A valid Prometheus label name. */
export function labelName(raw: string): string {
  let s = raw.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) s = '_' + s;
  while (s.startsWith('__')) s = s.slice(1);
  return s === '' ? '_' : s;
}

function labelText(keys: readonly string[], values: readonly string[]): string {
  if (keys.length === 0) return '';
  const seen = new Set<string>();
  const parts: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const name = labelName(keys[i]!);
    const value = values[i]!;
    if (seen.has(name)) continue;
    seen.add(name);
    parts.push(`${name}="${value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c))}"`);
  }
  return `{${parts.join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
