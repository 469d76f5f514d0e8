// Status (GET /api/status): which programs of this process run and what their health says, whether the
// container engine answers, the containers declaring logs or monitoring, and what the storages hold.
import { getJson } from './api.js';
import { clear, formatAgo, formatTime, h } from './dom.js';

const REFRESH_MS = 10_000;
const STATE_TEXT = { ok: 'running', unhealthy: 'running, unhealthy', unreachable: 'not answering', unknown: 'not probed' };

export function renderStatus(main) {
  const body = h('div.status-body', h('p.muted', 'Loading…'));
  const updated = h('span.muted');
  clear(main, h('section.view.status-view', h('div.results-bar', h('h2', 'Status'), updated), body));
  const controller = new AbortController();
  const load = () =>
    getJson('/api/status', {}, { signal: controller.signal })
      .then((s) => {
        clear(body, programs(s), storage(s), engine(s), gettingStarted(s.receivers));
        updated.textContent = `updated ${formatTime(s.timeMs)} · refreshes every ${REFRESH_MS / 1000} s`;
      })
      .catch((err) => {
        if (!controller.signal.aborted) clear(body, h('p.error', `Could not read the status: ${err.message}`));
      });
  void load();
  const timer = setInterval(load, REFRESH_MS);
  return () => {
    clearInterval(timer);
    controller.abort();
  };
}

function card(title, ...content) {
  return h('div.card', h('h3', title), ...content);
}

function wideCard(title, ...content) {
  const c = card(title, ...content);
  c.classList.add('wide');
  return c;
}

function programs(s) {
  return card(`Programs (shipwatch ${s.command})`,
    h('div.program-list', s.programs.map((p) => h('div.program',
      h('span.program-name', p.name),
      h(`span.pill.${p.state}`, STATE_TEXT[p.state] ?? p.state),
      p.admin ? h('span.muted.mono', p.admin) : null,
      p.failures ? h('ul.failures', Object.entries(p.failures).map(([k, v]) => h('li', h('strong', k), ': ', v))) : null,
    ))),
  );
}

function engine(s) {
  if (!s.engine) return card('Container engine', h('p.muted', 'This query runs alone: it does not watch a container engine (the pilot and collector on each host do).'));
  const e = s.engine;
  if (!e.connected) {
    return card('Container engine',
      h('p', h('span.pill.unreachable', 'not connected'), ' ', h('span.mono', e.where)),
      h('p.error', e.reason ?? ''),
      h('p.muted', 'Logs and monitoring need the engine: mount its socket (-v /var/run/docker.sock:/var/run/docker.sock) or set DOCKER_HOST.'));
  }
  const rows = e.containers.map((c) => h('tr',
    h('td', h('strong', c.name), h('div.muted.mono', c.id.slice(0, 12))),
    h('td', c.image),
    h('td', c.state),
    h('td', c.logs.length === 0 ? h('span.muted', '—') : c.logs.map((l) => h('div', h('a', { href: `#/logs?container=${encodeURIComponent(c.name)}` }, l.name), ' ← ', h('span.mono', l.source)))),
    h('td', c.monitoring.length === 0 ? h('span.muted', '—') : c.monitoring.join(', ')),
  ));
  return wideCard('Container engine',
    h('p', h('span.pill.ok', 'connected'), ' ', h('span.mono', e.where), h('span.muted', ` · ${e.containers.length} container${e.containers.length === 1 ? '' : 's'} declaring logs or monitoring, ${e.otherContainers} other running`)),
    e.containers.length === 0
      ? h('p.muted', 'No running container declares logs or monitoring by label yet.')
      : h('table.grid', h('thead', h('tr', ['Container', 'Image', 'State', 'Logs (name ← source)', 'Monitoring'].map((t) => h('th', t)))), h('tbody', rows)),
  );
}

function storage(s) {
  const st = s.storage;
  const newest = st.newestLog ? Date.parse(st.newestLog) : undefined;
  return card('Storage',
    h('table.kv', h('tbody',
      h('tr', h('th', 'Spans'), h('td', `${st.spans} · ${st.services} service${st.services === 1 ? '' : 's'}`)),
      h('tr', h('th', 'Logs'), h('td', st.logRecords === undefined ? st.logs : `${st.logs} · ${st.logRecords} record${st.logRecords === 1 ? '' : 's'}`,
        newest ? h('span.muted', ` · newest ${formatAgo(newest)} (${formatTime(newest)})`) : null)),
      h('tr', h('th', 'Metrics'), h('td.storage-metrics', metricsText(st.metrics))),
    )),
  );
}

/** METRIC_STORAGE_TYPE as the status reports it: the embedded store, or InfluxDB with where it is. */
function metricsText(metrics) {
  if (metrics === undefined) return h('span.muted', 'not reported');
  if (metrics === 'store') return 'embedded store';
  if (metrics.startsWith('influxdb')) return `InfluxDB${metrics.slice('influxdb'.length)}`;
  return metrics;
}

/**
 * Where to send data, with the ports this process's collector listens on when it runs one (`receivers`); a lone
 * query does not know its collector's ports and names the defaults as such.
 */
function gettingStarted(receivers) {
  const r = receivers;
  const port = (n) => (n === 0 ? 'a port chosen at start' : String(n));
  return card('Getting started',
    h('ul.help',
      h('li', 'Logs: label a container ', h('code', 'aliyun.logs.app=stdout'), ' (or a file path in it, ', h('code', '/var/log/app/*.log'),
        '); add ', h('code', 'aliyun.logs.app.format=json'), ' to expand JSON lines into fields.'),
      r
        ? h('li.hint-traces', 'Traces: point an OpenTelemetry exporter at ', h('code', `http://${location.hostname}:${port(r.otlpHttp)}`),
          ` (OTLP/HTTP; OTLP/gRPC on ${port(r.otlpGrpc)}), a Jaeger client at UDP ${port(r.jaegerCompact)}/${port(r.jaegerBinary)} or HTTP ${port(r.jaegerHttp)}, a Zipkin one at ${port(r.zipkin)}.`)
        : h('li.hint-traces', 'Traces: point a Jaeger, Zipkin or OpenTelemetry client at the collector (by default UDP 6831/6832, HTTP 14268, 9411, OTLP 4318 and 4317; this query runs without one and does not know its ports).'),
      h('li.hint-metrics', 'Metrics: label ', h('code', 'aliyun.monitoring.http=http://container:8080/stats'), ' or ', h('code', 'aliyun.monitoring.script=…'),
        r ? [', or push line protocol to port ', port(r.lineProtocol), ' ', h('code', '/write'), '.'] : [', or push line protocol to the collector\'s admin port (14269 by default) ', h('code', '/write'), '.']),
    ),
  );
}
