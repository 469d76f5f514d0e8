/**
 * A swarm service's auto scaling labels → its rule, or every problem with them at once (the platform's rules):
 *
 *   aliyun.auto_scaling.max_cpu / min_cpu          scale out above / in below this average CPU percent
 *   aliyun.auto_scaling.max_memory / min_memory    the same for memory percent
 *   aliyun.auto_scaling.step                       replicas added or removed at once, 1–5 (default 1)
 *   aliyun.auto_scaling.max_instances              never more replicas (default 10)
 *   aliyun.auto_scaling.min_instances              never fewer replicas (default 1)
 *
 * An expansion limit must stand at least 30 points above its contraction limit, so that one scaling step cannot
 * push the average across both limits and back (flapping). Pure: no I/O, never throws.
 */

export const AUTO_SCALING_LABEL_PREFIX = 'aliyun.auto_scaling.';

export const MIN_LIMIT_GAP_POINTS = 30;
export const DEFAULT_STEP = 1;
export const MAX_STEP = 5;
export const DEFAULT_MAX_INSTANCES = 10;
export const DEFAULT_MIN_INSTANCES = 1;

export interface ScalingRule {
  /** Percent limits; undefined when not set. */
  maxCpu?: number;
  minCpu?: number;
  maxMemory?: number;
  minMemory?: number;
  step: number;
  maxInstances: number;
  minInstances: number;
}

export type ScalingLabels = { rule: ScalingRule } | { problems: string[] };

const PERCENT_KEYS = ['max_cpu', 'min_cpu', 'max_memory', 'min_memory'] as const;
const COUNT_KEYS = ['step', 'max_instances', 'min_instances'] as const;
const KNOWN = new Set<string>([...PERCENT_KEYS, ...COUNT_KEYS]);

/** True when the service carries any auto scaling label (then it is either scaled or warned about). */
export function hasScalingLabels(labels: Record<string, string>): boolean {
  return Object.keys(labels).some((k) => k.startsWith(AUTO_SCALING_LABEL_PREFIX));
}

export function parseScalingLabels(labels: Record<string, string>): ScalingLabels {
  const problems: string[] = [];
  const raw = new Map<string, string>();
  for (const [key, value] of Object.entries(labels)) {
    if (!key.startsWith(AUTO_SCALING_LABEL_PREFIX)) continue;
    const name = key.slice(AUTO_SCALING_LABEL_PREFIX.length);
    if (KNOWN.has(name)) raw.set(name, value);
    else problems.push(`${key} is not an auto scaling label (known: ${[...KNOWN].join(', ')})`);
  }

  const percent = (name: (typeof PERCENT_KEYS)[number]): number | undefined => {
    const value = raw.get(name);
    if (value === undefined) return undefined;
    const t = value.trim();
    const n = Number(t);
    if (!/^\d+(\.\d+)?$/.test(t) || n > 100) {
      problems.push(`${AUTO_SCALING_LABEL_PREFIX}${name}="${value}" is not a percent from 0 to 100`);
      return undefined;
    }
    return n;
  };
  const count = (name: (typeof COUNT_KEYS)[number], min: number, max: number, fallback: number): number | undefined => {
    const value = raw.get(name);
    if (value === undefined) return fallback;
    const t = value.trim();
    const n = Number(t);
    if (!/^\d+$/.test(t) || n < min || n > max) {
      problems.push(`${AUTO_SCALING_LABEL_PREFIX}${name}="${value}" is not a whole number from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'up' : max}`);
      return undefined;
    }
    return n;
  };

  const maxCpu = percent('max_cpu');
  const minCpu = percent('min_cpu');
  const maxMemory = percent('max_memory');
  const minMemory = percent('min_memory');
  const step = count('step', 1, MAX_STEP, DEFAULT_STEP);
  const maxInstances = count('max_instances', 1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_INSTANCES);
  const minInstances = count('min_instances', 1, Number.MAX_SAFE_INTEGER, DEFAULT_MIN_INSTANCES);

  const gap = (what: string, max: number | undefined, min: number | undefined): void => {
    if (max !== undefined && min !== undefined && max - min < MIN_LIMIT_GAP_POINTS) {
      problems.push(
        `${AUTO_SCALING_LABEL_PREFIX}max_${what}=${max} is not at least ${MIN_LIMIT_GAP_POINTS} points above ${AUTO_SCALING_LABEL_PREFIX}min_${what}=${min}`,
      );
    }
  };
  gap('cpu', maxCpu, minCpu);
  gap('memory', maxMemory, minMemory);
  if (maxInstances !== undefined && minInstances !== undefined && minInstances > maxInstances) {
    problems.push(`${AUTO_SCALING_LABEL_PREFIX}min_instances=${minInstances} is above ${AUTO_SCALING_LABEL_PREFIX}max_instances=${maxInstances}`);
  }
  const limitsGiven = PERCENT_KEYS.some((k) => raw.has(k));
  if (!limitsGiven) problems.push(`no limit set: give ${PERCENT_KEYS.map((k) => AUTO_SCALING_LABEL_PREFIX + k).join(', ')} (one or more)`);

  if (problems.length > 0) return { problems };
  return {
    rule: {
      ...(maxCpu === undefined ? {} : { maxCpu }),
      ...(minCpu === undefined ? {} : { minCpu }),
      ...(maxMemory === undefined ? {} : { maxMemory }),
      ...(minMemory === undefined ? {} : { minMemory }),
      step: step!,
      maxInstances: maxInstances!,
      minInstances: minInstances!,
    },
  };
}
