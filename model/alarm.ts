/**
 * Alarm rules and their alerts as the collector evaluates them (collector/alarms/) and the query reads them back
 * (storage/alarm-files/): what a rule says, each alert's state, and the transitions kept as history.
 */
import type { Aggregate } from '../storage/sqlite/metric-query.js';

export type AlarmStatistic = Aggregate;
export type AlarmComparison = '>' | '>=' | '<' | '<=';
export const ALARM_COMPARISONS: readonly AlarmComparison[] = ['>', '>=', '<', '<='];

export interface AlarmRule {
  /** Unique among the rules: the file's `name`, or `<container>/<name>` for a container's label. */
  id: string;
  /** The alert's `alertname`. */
  name: string;
  measurement: string;
  field: string;
  /** Every tag must have this value (a label rule adds `container_name`). */
  tags: Readonly<Record<string, string>>;
  statistic: AlarmStatistic;
  windowMs: number;
  comparison: AlarmComparison;
  threshold: number;
  /** How long the condition must hold before the alert fires; 0: at once. */
  forMs: number;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** `file` (COLLECTOR_ALARM_RULES) or `label` (a container's `<prefix>.monitoring.alarm.<name>`). */
  source: 'file' | 'label';
  /** The declaring container, for a label rule. */
  container?: string;
}

/** inactive → pending (condition holds, waiting for `for`) → firing → resolved (it held, and no longer does). */
export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolved';

/** One series group of a rule: its alert. */
export interface AlertInstance {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  /** The statistic's value at the last evaluation; null when the series had no value in the window. */
  value: number | null;
  /** When the condition started holding (pending and firing). */
  activeSinceMs?: number;
  /** When the alert fired (firing and resolved). */
  firedAtMs?: number;
  /** When it resolved. */
  resolvedAtMs?: number;
}

export interface AlarmRuleStatus {
  rule: AlarmRule;
  /** The rule's worst state: firing, else pending, else resolved, else inactive. */
  state: AlertState;
  alerts: AlertInstance[];
  /** Why the last evaluation failed (the metric storage), undefined when it worked. */
  error?: string;
}

/** What the collector last evaluated, as the query shows it. */
export interface AlarmSnapshot {
  evaluatedAtMs: number | null;
  evaluationIntervalMs: number;
  rules: AlarmRuleStatus[];
  /** Rules refused (the file, a container's labels), each with its reason. */
  problems: string[];
}

/** One transition of one alert, kept in the history. */
export interface AlarmHistoryEntry {
  timeMs: number;
  ruleId: string;
  fingerprint: string;
  from: AlertState;
  to: AlertState;
  value: number | null;
  labels: Record<string, string>;
}
