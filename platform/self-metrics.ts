/**
 * The program's own counters (records read, shipped, retried, dropped, …) through prom-client. Each program has its
 * own registry, exposed on its admin port; components get-or-create their metrics on the registry they are given,
 * so two components (or two instances in one test) never collide on registration.
 */
import client from 'prom-client';

export type Registry = client.Registry;
export const Registry = client.Registry;

export function createRegistry(program: string, collectDefaults = true): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ program });
  if (collectDefaults) client.collectDefaultMetrics({ register: registry, prefix: 'shipwatch_' });
  return registry;
}

interface MetricOpts<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export function counter<L extends string = string>(registry: client.Registry, opts: MetricOpts<L>): client.Counter<L> {
  const existing = registry.getSingleMetric(opts.name);
  if (existing) return existing as client.Counter<L>;
  return new client.Counter<L>({ ...opts, labelNames: opts.labelNames ?? [], registers: [registry] });
}

export function gauge<L extends string = string>(
  registry: client.Registry,
  opts: MetricOpts<L> & { collect?: (this: client.Gauge<L>) => void | Promise<void> },
): client.Gauge<L> {
  const existing = registry.getSingleMetric(opts.name);
  if (existing) return existing as client.Gauge<L>;
  return new client.Gauge<L>({ ...opts, labelNames: opts.labelNames ?? [], registers: [registry] });
}

export function histogram<L extends string = string>(
  registry: client.Registry,
  opts: MetricOpts<L> & { buckets?: number[] },
): client.Histogram<L> {
  const existing = registry.getSingleMetric(opts.name);
  if (existing) return existing as client.Histogram<L>;
  return new client.Histogram<L>({ ...opts, labelNames: opts.labelNames ?? [], registers: [registry] });
}
