/**
 * Jaeger's file-based sampling strategies (SAMPLING_STRATEGIES_FILE), read as Jaeger 2.x's `remote_sampling`
 * extension reads them (`file:` provider), so that one file gives the same answers from either:
 *
 *     { "default_strategy": { "type": "probabilistic", "param": 0.5, "operation_strategies": [...] },
 *       "service_strategies": [ { "service": "api", "type": "ratelimiting", "param": 5,
 *                                 "operation_strategies": [ { "operation": "GET /x", "type": "probabilistic", "param": 1 } ] } ] }
 *
 * - `type` is `probabilistic` (param: the probability) or `ratelimiting` (param: traces per second, cut to a whole
 *   number); any other type, a missing one included, stands for probabilistic at the default probability (0.001).
 * - Per-operation strategies are probabilistic only: a rate-limiting one is left out (Jaeger warns and does too).
 * - A service's per-operation defaults: its own probability when it is probabilistic, else 0.001; the lower bound of
 *   traces per second is 0 (the file cannot set it).
 * - The default strategy's operations apply to every service: a service without operations of its own gets them
 *   (with its own probability as the default when it is probabilistic); one with its own gets the default's
 *   operations it does not name, after its own.
 * - A service not listed gets the default strategy; no file, or a file holding `null`, gives probabilistic 0.001.
 * - As Go's JSON decoder: keys match case-insensitively, unknown keys are ignored, `null` leaves a field unset, and a
 *   value of the wrong JSON type makes the whole file wrong. Entries that are `null` (on which Jaeger would crash)
 *   are refused too.
 *
 * Parsing is synchronous, does no I/O and never throws: the caller gets the table and the warnings, or every
 * problem of the file at once.
 */
import type { OperationSamplingStrategy, SamplingStrategy } from '../../model/sampling-strategy.js';

/** What Jaeger answers for a service it has no strategy for, with no file (`default_sampling_probability`). */
export const DEFAULT_SAMPLING_PROBABILITY = 0.001;

export interface StrategyTable {
  defaultStrategy: SamplingStrategy;
  serviceStrategies: ReadonlyMap<string, SamplingStrategy>;
}

export type StrategiesParse =
  | { ok: true; table: StrategyTable; warnings: string[] }
  | { ok: false; problems: string[] };

export function defaultStrategyTable(defaultSamplingProbability = DEFAULT_SAMPLING_PROBABILITY): StrategyTable {
  return Object.freeze({ defaultStrategy: probabilistic(defaultSamplingProbability), serviceStrategies: new Map() });
}

interface FileStrategy {
  service: string;
  type: string;
  param: number;
  operations: Array<{ operation: string; type: string; param: number }> | undefined;
}

/** Parses the text of a strategies file. */
export function parseStrategiesFile(text: string, defaultSamplingProbability = DEFAULT_SAMPLING_PROBABILITY): StrategiesParse {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`not JSON: ${jsonErrorWhere(err, text)}`] };
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  if (doc === null) return { ok: true, table: defaultStrategyTable(defaultSamplingProbability), warnings };
  const top = objectFields(doc, '(the file)', { default_strategy: 'object', service_strategies: 'array' }, problems);
  if (top === undefined) return { ok: false, problems };

  const readService = (value: unknown, where: string): FileStrategy | undefined => {
    const f = objectFields(value, where, { service: 'string', type: 'string', param: 'number', operation_strategies: 'array' }, problems);
    if (f === undefined) return undefined;
    let operations: FileStrategy['operations'];
    if (f.operation_strategies !== undefined) {
      operations = [];
      (f.operation_strategies as unknown[]).forEach((op, i) => {
        const o = objectFields(op, `${where}.operation_strategies[${i}]`, { operation: 'string', type: 'string', param: 'number' }, problems);
        if (o !== undefined) operations!.push({ operation: (o.operation as string) ?? '', type: (o.type as string) ?? '', param: (o.param as number) ?? 0 });
      });
    }
    return { service: (f.service as string) ?? '', type: (f.type as string) ?? '', param: (f.param as number) ?? 0, operations };
  };

  const defaultEntry = top.default_strategy === undefined ? undefined : readService(top.default_strategy, 'default_strategy');
  const serviceEntries: FileStrategy[] = [];
  ((top.service_strategies as unknown[] | undefined) ?? []).forEach((s, i) => {
    const entry = readService(s, `service_strategies[${i}]`);
    if (entry !== undefined) serviceEntries.push(entry);
  });
  if (problems.length > 0) return { ok: false, problems };

  const toStrategy = (entry: FileStrategy, where: string): SamplingStrategy => serviceStrategy(entry, where, defaultSamplingProbability, warnings);
  const defaultStrategy = defaultEntry === undefined ? probabilistic(defaultSamplingProbability) : toStrategy(defaultEntry, 'default_strategy');
  const defaultOperations = defaultStrategy.operationSampling;
  const services = new Map<string, SamplingStrategy>();
  serviceEntries.forEach((entry, i) => {
    const own = toStrategy(entry, `service_strategies[${i}] (${entry.service})`);
    if (defaultOperations === undefined) {
      services.set(entry.service, own);
    } else if (own.operationSampling === undefined) {
      // The default's operations, with the service's own probability as the default when it has one.
      const rate = own.probabilisticSampling?.samplingRate ?? defaultOperations.defaultSamplingProbability;
      services.set(entry.service, { ...own, operationSampling: { ...defaultOperations, defaultSamplingProbability: rate } });
    } else {
      // The service's operations first; the default's it does not name after them.
      const named = new Set(own.operationSampling.perOperationStrategies.map((o) => o.operation));
      const perOperationStrategies = [
        ...own.operationSampling.perOperationStrategies,
        ...defaultOperations.perOperationStrategies.filter((o) => !named.has(o.operation)),
      ];
      services.set(entry.service, { ...own, operationSampling: { ...own.operationSampling, perOperationStrategies } });
    }
  });
  for (const s of services.values()) deepFreeze(s);
  return { ok: true, table: Object.freeze({ defaultStrategy: deepFreeze(defaultStrategy), serviceStrategies: services }), warnings };
}

function serviceStrategy(entry: FileStrategy, where: string, defaultSamplingProbability: number, warnings: string[]): SamplingStrategy {
  const strategy = simpleStrategy(entry.type, entry.param, where, defaultSamplingProbability, warnings);
  if (entry.operations === undefined || entry.operations.length === 0) return strategy;
  const perOperationStrategies: OperationSamplingStrategy[] = [];
  const defaultProbability = strategy.probabilisticSampling?.samplingRate ?? defaultSamplingProbability;
  for (const op of entry.operations) {
    const s = simpleStrategy(op.type, op.param, `${where} operation "${op.operation}"`, defaultSamplingProbability, warnings);
    if (s.probabilisticSampling === undefined) {
      warnings.push(`${where} operation "${op.operation}": per-operation strategies are probabilistic only; this one is left out (the service's default probability ${defaultProbability} applies)`);
      continue;
    }
    perOperationStrategies.push({ operation: op.operation, probabilisticSampling: s.probabilisticSampling });
  }
  return {
    ...strategy,
    operationSampling: { defaultSamplingProbability: defaultProbability, defaultLowerBoundTracesPerSecond: 0, perOperationStrategies },
  };
}

function simpleStrategy(type: string, param: number, where: string, defaultSamplingProbability: number, warnings: string[]): SamplingStrategy {
  if (type === 'probabilistic') return probabilistic(param);
  if (type === 'ratelimiting') return { strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: toInt32(param) } };
  warnings.push(`${where}: type ${type === '' ? 'missing' : JSON.stringify(type)} is neither "probabilistic" nor "ratelimiting"; probabilistic ${defaultSamplingProbability} is used`);
  return probabilistic(defaultSamplingProbability);
}

function probabilistic(samplingRate: number): SamplingStrategy {
  return { strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate } };
}

/** Go's int32(float64) on the platforms Jaeger ships for: truncated, and out of range it is the smallest int32. */
function toInt32(n: number): number {
  return n >= 2 ** 31 || n <= -(2 ** 31) - 1 ? -(2 ** 31) : Math.trunc(n);
}

type JsonKind = 'object' | 'array' | 'string' | 'number';

/**
 * An object's fields as Go's decoder assigns them to a struct: a key names a field exactly or case-insensitively
 * (the last one written wins), unknown keys are skipped, `null` leaves the field unset. A value of the wrong kind is a
 * problem named by its path.
 */
function objectFields(value: unknown, where: string, fields: Record<string, JsonKind>, problems: string[]): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where}: ${kindOf(value)}, expected an object`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = Object.hasOwn(fields, key) ? key : key.toLowerCase();
    const kind = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (kind === undefined || v === null) continue;
    const path = `${where === '(the file)' ? '' : `${where}.`}${name}`;
    if (kindOf(v) !== kind) problems.push(`${path}: ${kindOf(v)}, expected ${kind === 'array' || kind === 'object' ? `an ${kind}` : `a ${kind}`}`);
    else if (kind === 'number' && !Number.isFinite(v)) problems.push(`${path}: ${String(v)} is out of range`);
    else out[name] = kind === 'string' ? wellFormed(v as string) : v;
  }
  return out;
}

/** Go's decoder turns an escaped lone surrogate into U+FFFD; so does this, so that answers encode the same. */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'boolean';
  return typeof value === 'object' ? 'object' : (typeof value as string);
}

/** JSON.parse's complaint with the line and column it points at, when it names a position. */
function jsonErrorWhere(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /at position (\d+)/.exec(message);
  if (at === null) return message;
  const before = text.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message} (line ${line}, column ${column})`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
