// Alarms (GET /api/alarms, /api/alarms/history): every rule the collector evaluates, from its rules file and from
// container labels, with its state and each alert (one per series), and the latest state changes.
import { getJson } from './api.js';
import { clear, formatAgo, formatTime, h } from './dom.js';

const REFRESH_MS = 10_000;
// The status page's pills: red firing, amber pending, green resolved, grey inactive.
const PILL = { firing: 'failed', pending: 'unhealthy', resolved: 'ok', inactive: 'unknown' };

export function renderAlarms(main) {
  const body = h('div.status-body', h('p.muted', 'Loading…'));
  const updated = h('span.muted');
  clear(main, h('section.view.status-view.alarms-view', h('div.results-bar', h('h2', 'Alarms'), updated), body));
  const controller = new AbortController();
  const load = () =>
    Promise.all([
      getJson('/api/alarms', {}, { signal: controller.signal }),
      getJson('/api/alarms/history', { limit: 50 }, { signal: controller.signal }),
    ])
      .then(([s, history]) => {
        clear(body, rules(s), historyCard(history.data));
        updated.textContent = s.evaluatedAtMs === null
          ? 'no evaluation yet'
          : `evaluated ${formatAgo(s.evaluatedAtMs)} (every ${s.evaluationIntervalMs / 1000} s) · refreshes every ${REFRESH_MS / 1000} s`;
      })
      .catch((err) => {
        if (!controller.signal.aborted) clear(body, h('p.error', `Could not read the alarms: ${err.message}`));
      });
  void load();
  const timer = setInterval(load, REFRESH_MS);
  return () => {
    clearInterval(timer);
    controller.abort();
  };
}

function pill(state) {
  return h(`span.pill.${PILL[state] ?? 'unknown'}`, state);
}

function condition(r) {
  const tags = Object.entries(r.tags).map(([k, v]) => `${k}=${v}`).join(',');
  return `${r.statistic}(${r.measurement}.${r.field}${tags ? `{${tags}}` : ''}) over ${r.windowMs / 1000}s ${r.comparison} ${r.threshold}` +
    (r.forMs > 0 ? ` for ${r.forMs / 1000}s` : '');
}

function rules(s) {
  const card = h('div.card.wide', h('h3', 'Rules'));
  if (s.problems.length > 0) card.append(h('ul.failures', s.problems.map((p) => h('li.error', p))));
  if (s.rules.length === 0) {
    card.append(h('p.muted', 'No alarm rule yet: set COLLECTOR_ALARM_RULES to a rules file, or label a container ',
      h('code', 'aliyun.monitoring.alarm.cpu=docker_container_cpu.usage_percent:avg:5m:>:80'), '.'));
    return card;
  }
  const rows = s.rules.flatMap(({ rule, state, alerts, error }) => [
    h('tr',
      h('td', h('strong', rule.name), h('div.muted', rule.source === 'label' ? `label of ${rule.container}` : 'rules file')),
      h('td', pill(state)),
      h('td.mono', condition(rule)),
      h('td', Object.entries(rule.labels).map(([k, v]) => h('div', h('span.muted', `${k}=`), v))),
      h('td', error ? h('span.error', error) : alerts.length === 0 ? h('span.muted', 'no series') : alerts.map((a) => h('div',
        pill(a.state), ' ', h('span.mono', a.labels.container_name ?? a.fingerprint), h('span.muted', ` · ${a.value === null ? 'no value' : a.value}`),
        a.firedAtMs ? h('span.muted', ` · fired ${formatTime(a.firedAtMs)}`) : null,
      ))),
    ),
  ]);
  card.append(h('table.grid', h('thead', h('tr', ['Rule', 'State', 'Condition', 'Labels', 'Alerts'].map((t) => h('th', t)))), h('tbody', rows)));
  return card;
}

function historyCard(entries) {
  const card = h('div.card.wide', h('h3', 'History'));
  if (entries.length === 0) {
    card.append(h('p.muted', 'No state change yet.'));
    return card;
  }
  card.append(h('table.grid',
    h('thead', h('tr', ['Time', 'Rule', 'Alert', 'Change', 'Value'].map((t) => h('th', t)))),
    h('tbody', entries.map((e) => h('tr',
      h('td', formatTime(e.timeMs)),
      h('td', e.ruleId),
      h('td.mono', e.labels.container_name ?? e.fingerprint),
      h('td', pill(e.from), ' → ', pill(e.to)),
      h('td', e.value === null ? h('span.muted', 'no value') : String(e.value)),
    )))));
  return card;
}
