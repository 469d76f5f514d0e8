/**
 * The collector's alarms put together: the rules (file and container labels: ./alarm-rule-set.ts), their evaluation on
 * the metric storage (./alarm-evaluator.ts), the journal in the data folder the query reads
 * (storage/alarm-files/alarm-journal.ts) and the notifications (./alarm-notifier.ts).
 *
 * Close order: the rules file's timer, the evaluator (an evaluation under way finishes), the notifier (drains).
 */
import { swError } from '../../platform/errors.js';
import type { ContainerListener } from '../../platform/engine/container-watcher.js';
import type { Runtime } from '../../platform/runtime.js';
import type { Registry } from '../../platform/self-metrics.js';
import { InfluxMetricReader } from '../../storage/influxdb/metric-reader.js';
import { AlarmJournal } from '../../storage/alarm-files/alarm-journal.js';
import type { MetricReader } from '../../storage/sqlite/metric-query.js';
import { openStoreMetricStorage } from '../../storage/sqlite/metric-store.js';
import { AlarmEvaluator } from './alarm-evaluator.js';
import { AlarmNotifier } from './alarm-notifier.js';
import { AlarmRuleSet } from './alarm-rule-set.js';

export interface Alarms {
  listener: ContainerListener;
  evaluator: AlarmEvaluator;
  /** For /health (degraded): a rules file that did not reload, a receiver that fails. */
  problem(): string | undefined;
  summary: string;
  close(): Promise<void>;
}

/** The reader of COLLECTOR_ALARM_METRIC_STORAGE: the reader interface the query's metric API uses too. */
function alarmMetricReader(runtime: Runtime, registry: Registry): MetricReader {
  const c = runtime.config.collector;
  if (c.alarmMetricStorage === 'store') return openStoreMetricStorage(runtime, registry);
  if (c.influxdbUrl === '') throw swError('SW_CONFIG_INVALID', 'INFLUXDB_URL: needed with COLLECTOR_ALARM_METRIC_STORAGE=influxdb');
  return new InfluxMetricReader({ url: c.influxdbUrl, token: c.influxdbToken, bucket: c.influxdbBucket, timeoutMs: c.influxdbTimeoutMs });
}

export function startAlarms(runtime: Runtime, options: { registry: Registry; hostName: string; drainTimeoutMs: number }): Alarms {
  const { config } = runtime;
  const c = config.collector;
  const log = runtime.log.child({ component: 'alarms' });
  const rules = new AlarmRuleSet({ file: c.alarmRulesFile, reloadIntervalMs: c.alarmReloadIntervalMs, labelPrefix: c.monitoringLabelPrefix, log, registry: options.registry });
  const reader = alarmMetricReader(runtime, options.registry);
  const uiUrl = c.alarmUiUrl !== '' ? c.alarmUiUrl : `http://${options.hostName}:16686`;
  const notifier = new AlarmNotifier({
    webhookUrls: c.alarmWebhookUrls, alertmanagerUrls: c.alarmAlertmanagerUrls, generatorUrl: `${uiUrl}/#/alarms`, timeoutMs: c.alarmNotifyTimeoutMs,
    dataDir: config.common.dataDir, drainTimeoutMs: options.drainTimeoutMs, registry: options.registry, log,
  });
  const evaluator = new AlarmEvaluator({
    reader, rules: () => rules.rules(), problems: () => rules.problems(), journal: new AlarmJournal(config.common.dataDir, c.alarmHistory),
    notify: (changes, nowMs) => notifier.notify(changes, nowMs), intervalMs: c.alarmEvaluationIntervalMs, log, registry: options.registry,
  });
  evaluator.start();
  const targets = c.alarmWebhookUrls.length + c.alarmAlertmanagerUrls.length;
  return {
    listener: rules, evaluator,
    problem: () => [rules.problem(), notifier.problem()].filter((p) => p !== undefined).join('; ') || undefined,
    summary: `alarm rules (${c.alarmRulesFile || 'container labels only'}) evaluated every ${c.alarmEvaluationIntervalMs} ms on ${c.alarmMetricStorage}, notifying ${targets} target${targets === 1 ? '' : 's'}`,
    close: async () => {
      rules.close();
      await evaluator.close();
      await notifier.close();
    },
  };
}
