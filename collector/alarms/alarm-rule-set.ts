/**
 * The alarm rules in force: those of the rules file (COLLECTOR_ALARM_RULES) and those the running containers declare
 * by label. The file is read at start (a wrong or unreadable file stops the start with SW_CONFIG_INVALID naming the
 * variable, every problem at once) and read again every COLLECTOR_ALARM_RELOAD_INTERVAL: a changed, good text
 * replaces the file's rules; a wrong one keeps the rules read before, is logged once and named by `problem()`
 * (/health, degraded) until a good file is read. Polling the text, as the sampling strategies file is, sees a file
 * replaced through a symbolic link (a ConfigMap) too.
 *
 * A container's rules live while it runs: added when it starts, dropped when it stops (its firing alerts then
 * resolve). A refused label is a warning naming the container, the label and the reason, counted in
 * shipwatch_alarm_bad_rules_total; the container's other rules stand.
 */
import type { Counter } from 'prom-client';
import type { ContainerInfo } from '../../platform/engine/container-info.js';
import type { ContainerListener } from '../../platform/engine/container-watcher.js';
import type { Logger } from '../../platform/log.js';
import { PolledFile } from '../../platform/polled-file.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import type { AlarmRule } from '../../model/alarm.js';
import { alarmLabels, parseRulesFile } from './alarm-grammar.js';

export interface AlarmRuleSetOptions {
  /** '' for none. */
  file: string;
  /** 0: read once. */
  reloadIntervalMs: number;
  labelPrefix: string;
  log: Logger;
  registry: Registry;
}

export class AlarmRuleSet implements ContainerListener {
  private fileRules: AlarmRule[] = [];
  private readonly containerRules = new Map<string, { name: string; rules: AlarmRule[]; problems: string[] }>();
  private readonly file: PolledFile<AlarmRule[]> | undefined;
  private readonly badRules: Counter<'source'>;

  /** Reads the file once; throws SW_CONFIG_INVALID naming COLLECTOR_ALARM_RULES when it cannot be used. */
  constructor(private readonly opts: AlarmRuleSetOptions) {
    this.badRules = counter(opts.registry, {
      name: 'shipwatch_alarm_bad_rules_total', help: 'Alarm rules refused: a rules file that could not be used (file), a container label (label).', labelNames: ['source'] as const,
    });
    if (opts.file === '') return;
    this.file = new PolledFile({
      file: opts.file, variable: 'COLLECTOR_ALARM_RULES', reloadIntervalMs: opts.reloadIntervalMs,
      parse: (text) => {
        const parsed = parseRulesFile(text);
        return parsed.ok ? { ok: true, value: parsed.rules } : parsed;
      },
      loaded: (rules, initial) => {
        this.fileRules = rules;
        opts.log.info(initial ? 'alarm rules loaded' : 'alarm rules reloaded', { file: opts.file, rules: rules.length });
      },
      failed: (reason) => {
        opts.log.warn('alarm rules not reloaded', { reason });
        this.badRules.inc({ source: 'file' });
      },
    });
  }

  /** Every rule in force: the file's, then the containers' (by container name). */
  rules(): AlarmRule[] {
    return [...this.fileRules, ...[...this.containerRules.values()].flatMap((c) => c.rules)];
  }

  /** Rules refused now: the labels of running containers (the file's problems are `problem()`). */
  problems(): string[] {
    const out = [...this.containerRules.values()].flatMap((c) => c.problems.map((p) => `container ${c.name}: ${p}`));
    const failure = this.problem();
    if (failure !== undefined) out.unshift(failure);
    return out;
  }

  /** Why the file's rules in force are not the file's current text; undefined while they are. */
  problem(): string | undefined {
    const reason = this.file?.problem;
    return reason === undefined ? undefined : `the alarm rules file was not reloaded, the rules read before stay in force: ${reason}`;
  }

  started(info: ContainerInfo): void {
    const found = alarmLabels(info.name, info.labels, this.opts.labelPrefix);
    for (const reason of found.problems) {
      this.badRules.inc({ source: 'label' });
      this.opts.log.warn('alarm label refused', { container: info.name, reason });
    }
    if (found.rules.length === 0 && found.problems.length === 0) this.containerRules.delete(info.id);
    else this.containerRules.set(info.id, { name: info.name, ...found });
  }

  stopped(info: ContainerInfo): void {
    this.containerRules.delete(info.id);
  }

  removed(id: string): void {
    this.containerRules.delete(id);
  }

  /** Reads the file now (the timer calls this); resolves when done, never rejects. */
  reload(): Promise<void> {
    return this.file?.reload() ?? Promise.resolve();
  }

  close(): void {
    this.file?.close();
  }
}

/** Hands every container event to each listener in turn (monitoring, then alarm labels). */
export function bothListeners(...listeners: ContainerListener[]): ContainerListener {
  return {
    started: async (info) => {
      for (const l of listeners) await l.started(info);
    },
    stopped: async (info) => {
      for (const l of listeners) await l.stopped(info);
    },
    removed: async (id) => {
      for (const l of listeners) await l.removed?.(id);
    },
    synced: async (all) => {
      for (const l of listeners) await l.synced?.(all);
    },
  };
}
