/**
 * Evaluates every alarm rule each COLLECTOR_ALARM_EVALUATION_INTERVAL on the metric storage through the MetricReader
 * interface (the embedded store or InfluxDB, as the metric API reads them): one read per rule over the last `window`
 * as a single step, so each series matching the rule's measurement, field and tags gives one value of the rule's
 * statistic, and each series is one alert (labels: `alertname`, the series' tags, the rule's labels).
 *
 * Each alert steps through ./alert-state.ts; transitions go to the history and firing/resolved ones to the notifier.
 * A series without a value in the window counts as not breaching (a container that stopped resolves its alert), and
 * the alerts of a rule that is gone (the file changed, its container stopped) resolve. A rule whose read fails keeps
 * its alerts as they were and says why. Evaluations never overlap: the next is planned when one ends.
 *
 * The alerts a previous run left pending or firing (state.json) are carried on, so a restart neither fires an alert
 * again nor forgets to resolve it.
 */
import { describe } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { counter, gauge, type Registry } from '../../platform/self-metrics.js';
import type { MetricReader } from '../../storage/sqlite/metric-query.js';
import type { AlarmJournal } from '../../storage/alarm-files/alarm-journal.js';
import type { AlarmHistoryEntry, AlarmRule, AlarmRuleStatus, AlarmSnapshot, AlertInstance } from '../../model/alarm.js';
import { labelName } from '../metrics/prometheus-series.js';
import { labelsFingerprint } from './alertmanager-payload.js';
import type { RuleChanges } from './alarm-notifier.js';
import { breaches, stepAlert, worstState } from './alert-state.js';

/** Series one rule follows at most (the rest are left out of that evaluation, and said). */
const MAX_SERIES_PER_RULE = 1000;
/** How long a resolved alert stays listed once its series has no value. */
const RESOLVED_KEEP_MS = 15 * 60_000;

export interface AlarmEvaluatorOptions {
  reader: MetricReader;
  rules: () => AlarmRule[];
  problems: () => string[];
  journal: AlarmJournal;
  notify: (changes: RuleChanges[], nowMs: number) => void;
  intervalMs: number;
  log: Logger;
  registry: Registry;
  now?: () => number;
}

/**
 * An alert's labels: the series' tags, then the rule's labels, then `alertname`; names made valid Prometheus label
 * names (other characters become `_`, as on /metrics), or Alertmanager refuses the alert (a container label such as
 * `com.docker.compose.project` is a tag of the statistics points).
 */
function alertLabels(tags: Readonly<Record<string, string>>, rule: AlarmRule): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) out[labelName(k)] = v;
  for (const [k, v] of Object.entries(rule.labels)) out[labelName(k)] = v;
  out['alertname'] = rule.name;
  return out;
}

function formatValue(v: number | null): string {
  return v === null ? 'no value' : String(Math.round(v * 1000) / 1000);
}

export class AlarmEvaluator {
  /** Alerts by rule id, then fingerprint. */
  private readonly alerts = new Map<string, Map<string, AlertInstance>>();
  /** The rules seen at the last evaluation, to resolve the alerts of one that is gone. */
  private readonly lastRules = new Map<string, AlarmRule>();
  private readonly errors = new Map<string, string>();
  private evaluatedAtMs: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;
  private readonly evaluations;
  private readonly transitions;

  constructor(private readonly opts: AlarmEvaluatorOptions) {
    this.now = opts.now ?? Date.now;
    this.evaluations = counter(opts.registry, {
      name: 'shipwatch_alarm_evaluations_total', help: 'Alarm rule evaluations: ok, or failed (the metric storage did not answer).', labelNames: ['outcome'] as const,
    });
    this.transitions = counter(opts.registry, { name: 'shipwatch_alarm_transitions_total', help: 'Alert state changes, by the state entered.', labelNames: ['to'] as const });
    const self = this;
    gauge(opts.registry, {
      name: 'shipwatch_alarm_alerts', help: 'Alerts by state.', labelNames: ['state'] as const,
      collect() {
        const counts = { inactive: 0, pending: 0, firing: 0, resolved: 0 };
        for (const m of self.alerts.values()) for (const a of m.values()) counts[a.state]++;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    this.restore(opts.journal.lastSnapshot());
  }

  private restore(snapshot: AlarmSnapshot | undefined): void {
    for (const s of snapshot?.rules ?? []) {
      const kept = s.alerts.filter((a) => a.state === 'pending' || a.state === 'firing');
      if (kept.length === 0) continue;
      this.alerts.set(s.rule.id, new Map(kept.map((a) => [a.fingerprint, a])));
      this.lastRules.set(s.rule.id, s.rule);
    }
  }

  start(): void {
    const tick = (): void => {
      this.running = this.evaluate().finally(() => {
        this.running = undefined;
        if (!this.closed) {
          this.timer = setTimeout(tick, this.opts.intervalMs);
          this.timer.unref();
        }
      });
    };
    this.timer = setTimeout(tick, 0);
    this.timer.unref();
  }

  /** One evaluation of every rule; resolves when done, never rejects. */
  async evaluate(): Promise<void> {
    const nowMs = this.now();
    const rules = this.opts.rules();
    const changes: RuleChanges[] = [];
    const history: AlarmHistoryEntry[] = [];
    const current = new Set(rules.map((r) => r.id));

    // Rules gone since the last evaluation: their firing alerts resolve.
    for (const [id, rule] of this.lastRules) {
      if (current.has(id)) continue;
      const resolved: AlertInstance[] = [];
      for (const a of this.alerts.get(id)?.values() ?? []) {
        const step = stepAlert(a, false, a.value, nowMs, rule.forMs);
        if (step.changedFrom !== undefined) history.push(this.entry(nowMs, id, step.next, step.changedFrom));
        if (step.next.state === 'resolved') resolved.push(step.next);
      }
      if (resolved.length > 0) changes.push({ alertname: rule.name, fired: [], resolved, firing: [] });
      this.alerts.delete(id);
      this.lastRules.delete(id);
      this.errors.delete(id);
    }

    for (const rule of rules) {
      this.lastRules.set(rule.id, rule);
      let values: Map<string, { tags: Record<string, string>; value: number | null }>;
      try {
        values = await this.read(rule, nowMs);
        this.errors.delete(rule.id);
        this.evaluations.inc({ outcome: 'ok' });
      } catch (err) {
        const reason = describe(err);
        if (this.errors.get(rule.id) !== reason) this.opts.log.warn('alarm rule not evaluated: the metric storage failed', { rule: rule.id, reason });
        this.errors.set(rule.id, reason);
        this.evaluations.inc({ outcome: 'failed' });
        continue;
      }
      const alerts = this.alerts.get(rule.id) ?? new Map<string, AlertInstance>();
      this.alerts.set(rule.id, alerts);
      const fired: AlertInstance[] = [];
      const resolved: AlertInstance[] = [];
      const seen = new Set<string>();
      for (const { tags, value } of values.values()) {
        const labels = alertLabels(tags, rule);
        const fingerprint = labelsFingerprint(labels);
        seen.add(fingerprint);
        const prev = alerts.get(fingerprint) ?? { fingerprint, labels, annotations: {}, state: 'inactive', value: null };
        const step = stepAlert({ ...prev, labels, annotations: this.annotations(rule, value) }, breaches(value, rule.comparison, rule.threshold), value, nowMs, rule.forMs);
        alerts.set(fingerprint, step.next);
        if (step.changedFrom !== undefined) history.push(this.entry(nowMs, rule.id, step.next, step.changedFrom));
        if (step.changedFrom !== undefined && step.next.state === 'firing') fired.push(step.next);
        if (step.changedFrom !== undefined && step.next.state === 'resolved') resolved.push(step.next);
      }
      // Series with no value in the window: not breaching.
      for (const [fingerprint, a] of alerts) {
        if (seen.has(fingerprint)) continue;
        const step = stepAlert(a, false, null, nowMs, rule.forMs);
        if (step.changedFrom !== undefined) history.push(this.entry(nowMs, rule.id, step.next, step.changedFrom));
        if (step.next.state === 'resolved' && step.changedFrom !== undefined) resolved.push(step.next);
        const forget = step.next.state === 'inactive' || (step.next.state === 'resolved' && nowMs - (step.next.resolvedAtMs ?? nowMs) > RESOLVED_KEEP_MS);
        if (forget) alerts.delete(fingerprint);
        else alerts.set(fingerprint, step.next);
      }
      const firing = [...alerts.values()].filter((a) => a.state === 'firing');
      if (fired.length > 0 || resolved.length > 0 || firing.length > 0) changes.push({ alertname: rule.name, fired, resolved, firing });
    }

    for (const e of history) this.transitions.inc({ to: e.to });
    this.evaluatedAtMs = nowMs;
    try {
      this.opts.journal.record(history);
      this.opts.journal.saveSnapshot(this.snapshot());
    } catch (err) {
      this.opts.log.error('alarm state could not be written to the data folder', { err });
    }
    this.opts.notify(changes, nowMs);
  }

  /** The statistic of each series matching the rule over [now − window, now), by the series' tags. */
  private async read(rule: AlarmRule, nowMs: number): Promise<Map<string, { tags: Record<string, string>; value: number | null }>> {
    const out = new Map<string, { tags: Record<string, string>; value: number | null }>();
    const result = await this.opts.reader.series({
      measurement: rule.measurement, field: rule.field, tags: rule.tags, startMs: nowMs - rule.windowMs, endMs: nowMs, stepMs: rule.windowMs,
      aggregate: rule.statistic, maxSeries: MAX_SERIES_PER_RULE,
    });
    for (const s of result?.series ?? []) {
      const last = s.points.at(-1)?.[1];
      const value = typeof last === 'number' ? last : typeof last === 'string' && last !== '' && Number.isFinite(Number(last)) ? Number(last) : null;
      out.set(JSON.stringify(Object.entries(s.tags).sort()), { tags: s.tags, value });
    }
    return out;
  }

  private annotations(rule: AlarmRule, value: number | null): Record<string, string> {
    return {
      description: `${rule.statistic} of ${rule.measurement}.${rule.field} over ${rule.windowMs / 1000}s is ${formatValue(value)} (threshold ${rule.comparison} ${rule.threshold})`,
      ...rule.annotations,
      value: formatValue(value),
    };
  }

  private entry(timeMs: number, ruleId: string, a: AlertInstance, from: AlertInstance['state']): AlarmHistoryEntry {
    return { timeMs, ruleId, fingerprint: a.fingerprint, from, to: a.state, value: a.value, labels: a.labels };
  }

  /** Every rule in force with its alerts, as the query shows them. */
  snapshot(): AlarmSnapshot {
    const rules: AlarmRuleStatus[] = this.opts.rules().map((rule) => {
      const alerts = [...(this.alerts.get(rule.id)?.values() ?? [])];
      const error = this.errors.get(rule.id);
      return { rule, state: worstState(alerts), alerts, ...(error === undefined ? {} : { error }) };
    });
    return { evaluatedAtMs: this.evaluatedAtMs, evaluationIntervalMs: this.opts.intervalMs, rules, problems: this.opts.problems() };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }
}
