// The web UI's shell: the navigation, the hash router (#/logs, #/traces, #/trace/<id>, #/metrics, #/alarms, #/status)
// and the token menu. Each view renders into <main> and returns a function that stops what it started.
import { renderAlarms } from './alarms-view.js';
import { forgetToken, token } from './api.js';
import { h, routeParams } from './dom.js';
import { renderLogs } from './logs-view.js';
import { renderMetrics } from './metrics-view.js';
import { renderStatus } from './status-view.js';
import { renderTrace } from './trace-view.js';
import { renderTraces } from './traces-view.js';

const main = document.querySelector('main');
const nav = document.querySelector('nav.views');
let stop = () => {};

function route() {
  const hash = location.hash || '#/logs';
  const path = hash.slice(1).split('?', 1)[0];
  const params = routeParams(hash);
  stop();
  let view = path.split('/')[1] || 'logs';
  if (view === 'traces') sessionStorage.setItem('shipwatch.lastSearch', hash);
  if (view === 'trace') {
    stop = renderTrace(main, decodeURIComponent(path.slice('/trace/'.length)), params.span);
    view = 'traces';
  } else if (view === 'traces') stop = renderTraces(main, params);
  else if (view === 'metrics') stop = renderMetrics(main, params);
  else if (view === 'alarms') stop = renderAlarms(main, params);
  else if (view === 'status') stop = renderStatus(main, params);
  else {
    view = 'logs';
    stop = renderLogs(main, params);
  }
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.view === view);
  document.title = `${view[0].toUpperCase()}${view.slice(1)} · Shipwatch`;
}

function tokenMenu() {
  const slot = document.querySelector('.token-slot');
  const draw = () => {
    slot.replaceChildren();
    if (token()) {
      slot.append(h('button.link', { type: 'button', title: 'Forget the API token kept in this browser', onclick: () => (forgetToken(), draw(), route()) }, 'Forget token'));
    }
  };
  draw();
  document.getElementById('token-dialog').addEventListener('close', draw);
}

window.addEventListener('hashchange', route);
tokenMenu();
route();
