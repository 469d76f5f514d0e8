/** The collector's alarm variables (collector/alarms/): where rules come from, how often they are evaluated, where alerts go. */
import { parseDurationMs, parseEnum, parseInteger, parseString, parseUrl, parseUrlList, Problem, v } from './schema.js';

function positiveDurationMs(raw: string): number | Problem {
  const ms = parseDurationMs(raw);
  if (ms instanceof Problem) return ms;
  return ms < 100 ? new Problem(`"${raw}" is too short: at least 100ms`) : ms;
}

export const collectorAlarms = {
  alarmRulesFile: v({
    name: 'COLLECTOR_ALARM_RULES', default: '', parse: parseString,
    doc: 'Alarm rules file (JSON: {"rules": [{name, measurement, field, tags, statistic, window, comparison, threshold, for, labels, annotations}]}); a wrong file stops the start, a wrong reload keeps the rules read before. Empty: container labels only (<prefix>.monitoring.alarm.<name>).',
  }),
  alarmReloadIntervalMs: v({ name: 'COLLECTOR_ALARM_RELOAD_INTERVAL', default: '10s', doc: 'How often the alarm rules file is checked for changes and reloaded; 0: read once.', parse: parseDurationMs }),
  alarmEvaluationIntervalMs: v({
    name: 'COLLECTOR_ALARM_EVALUATION_INTERVAL', default: '30s', parse: positiveDurationMs,
    doc: 'How often every alarm rule is evaluated on the metric storage (an alert fires at most one interval after its window and for-duration hold).',
  }),
  alarmMetricStorage: v({
    name: 'COLLECTOR_ALARM_METRIC_STORAGE', default: 'store', parse: parseEnum(['store', 'influxdb'] as const),
    doc: 'Where alarm rules read metrics: store (the embedded store, METRICS_STORE=true) or influxdb (InfluxQL /query of INFLUXDB_URL, the database of INFLUXDB_BUCKET, with INFLUXDB_TOKEN).',
  }),
  alarmWebhookUrls: v({
    name: 'COLLECTOR_ALARM_WEBHOOK_URLS', default: '', parse: parseUrlList,
    doc: 'Alertmanager webhook receivers (comma list of URLs): each gets Alertmanager\'s webhook JSON (version 4) when alerts fire or resolve.',
  }),
  alarmAlertmanagerUrls: v({
    name: 'COLLECTOR_ALARM_ALERTMANAGER_URLS', default: '', parse: parseUrlList,
    doc: 'Alertmanagers (comma list of base URLs) that get every alert through POST /api/v2/alerts, firing ones again every minute.',
  }),
  alarmNotifyTimeoutMs: v({ name: 'COLLECTOR_ALARM_NOTIFY_TIMEOUT', default: '10s', doc: 'One notification request taking longer is abandoned and tried again.', parse: positiveDurationMs }),
  alarmHistory: v({
    name: 'COLLECTOR_ALARM_HISTORY', default: '1000', parse: parseInteger(1, 1_000_000),
    doc: 'Alert state changes kept (SHIPWATCH_DATA_DIR/alarms/history.ndjson), newest first in GET /api/alarms/history.',
  }),
  alarmUiUrl: v({
    name: 'COLLECTOR_ALARM_UI_URL', default: '', defaultDoc: 'http://<SHIPWATCH_HOSTNAME>:16686', parse: parseUrl,
    doc: 'The web UI as the receivers of notifications reach it: alerts link to <url>/#/alarms (generatorURL, externalURL).',
  }),
};
