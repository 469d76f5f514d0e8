/**
 * The strategies of SAMPLING_STRATEGIES_FILE, kept current: the file is read at start (a wrong file, or one that
 * cannot be read, stops the start with SW_CONFIG_INVALID, as a wrong variable does) and read again every
 * SAMPLING_STRATEGIES_RELOAD_INTERVAL; a changed text is parsed and replaces the strategies. A reload that fails
 * (the file gone, unreadable or wrong) keeps the last good strategies, logs a warning and counts it once
 * (shipwatch_sampling_reloads_total{outcome="failed"}), and is named by `problem()` (the collector's /health, as
 * degraded) and shipwatch_sampling_reload_failing until a good file is read. Without a file every service gets probabilistic 0.001, as Jaeger.
 * The reading and polling are ../polled-file.ts's.
 */
import type { Logger } from '../log.js';
import { PolledFile } from '../polled-file.js';
import type { Runtime } from '../runtime.js';
import { counter, gauge, type Registry } from '../self-metrics.js';
import type { SamplingStrategy, SamplingStrategyProvider } from '../../model/sampling-strategy.js';
import { DEFAULT_SAMPLING_PROBABILITY, defaultStrategyTable, parseStrategiesFile, type StrategyTable } from './strategies-file.js';

export interface FileStrategyProviderOptions {
  /** '' for none: the default strategy for every service. */
  file: string;
  /** 0: read once. */
  reloadIntervalMs: number;
  log: Logger;
  registry?: Registry;
  defaultSamplingProbability?: number;
}

export class FileStrategyProvider implements SamplingStrategyProvider {
  private table: StrategyTable;
  private readonly file: PolledFile<StrategyTable> | undefined;
  private readonly defaultSamplingProbability: number;
  private readonly reloads: { loaded: () => void; failed: () => void };

  /** Reads the file once; throws SW_CONFIG_INVALID naming SAMPLING_STRATEGIES_FILE when it cannot be used. */
  constructor(private readonly options: FileStrategyProviderOptions) {
    this.defaultSamplingProbability = options.defaultSamplingProbability ?? DEFAULT_SAMPLING_PROBABILITY;
    const reloads = options.registry
      ? counter(options.registry, { name: 'shipwatch_sampling_reloads_total', help: 'Reloads of the sampling strategies file: loaded (a changed file replaced the strategies) or failed (a failure, counted once until it changes; the last good strategies kept).', labelNames: ['outcome'] as const })
      : undefined;
    this.reloads = { loaded: () => reloads?.labels('loaded').inc(), failed: () => reloads?.labels('failed').inc() };
    if (options.registry) {
      const self = this;
      gauge(options.registry, {
        name: 'shipwatch_sampling_reload_failing',
        help: '1 while the last read of the sampling strategies file failed and the strategies read before are served.',
        collect() {
          this.set(self.file?.problem === undefined ? 0 : 1);
        },
      });
    }
    this.table = defaultStrategyTable(this.defaultSamplingProbability);
    if (options.file === '') return;

    this.file = new PolledFile({
      file: options.file, variable: 'SAMPLING_STRATEGIES_FILE', reloadIntervalMs: options.reloadIntervalMs,
      parse: (text) => {
        const parsed = parseStrategiesFile(text, this.defaultSamplingProbability);
        if (!parsed.ok) return parsed;
        for (const warning of parsed.warnings) options.log.warn('sampling strategy', { file: options.file, warning });
        return { ok: true, value: parsed.table };
      },
      loaded: (table, initial) => {
        this.table = table;
        if (!initial) this.reloads.loaded();
        options.log.info(initial ? 'sampling strategies loaded' : 'sampling strategies reloaded', { file: options.file, services: table.serviceStrategies.size });
      },
      failed: (reason) => {
        options.log.warn('sampling strategies not reloaded', { reason });
        this.reloads.failed();
      },
    });
  }

  strategyFor(serviceName: string): SamplingStrategy {
    return this.table.serviceStrategies.get(serviceName) ?? this.table.defaultStrategy;
  }

  /** Why the strategies served are not the file's current ones; undefined while they are. */
  problem(): string | undefined {
    const reason = this.file?.problem;
    return reason === undefined ? undefined : `the sampling strategies file was not reloaded, the strategies read before are served: ${reason}`;
  }

  /** Reads the file now (the timer calls this); resolves when done, never rejects. */
  reload(): Promise<void> {
    return this.file?.reload() ?? Promise.resolve();
  }

  close(): void {
    this.file?.close();
  }
}

/**
 * The provider of `file`, one per process: in `shipwatch all` the collector's sampling port and the query's
 * /api/sampling share it. The runtime closes it after every program.
 */
export function sharedStrategyProvider(runtime: Runtime, options: Omit<FileStrategyProviderOptions, 'log'>): FileStrategyProvider {
  return runtime.shared.get(
    `sampling-strategies:${options.file}:${options.reloadIntervalMs}`,
    () => new FileStrategyProvider({ ...options, log: runtime.log.child({ component: 'sampling' }) }),
    (provider) => provider.close(),
  );
}
