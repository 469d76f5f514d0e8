import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, type ConfigProblem } from '../../../platform/config/load-config.js';

function problems(env: Record<string, string>): ConfigProblem[] {
  try {
    loadConfig(env, 'pilot');
    return [];
  } catch (err) {
    return (err as { problems: ConfigProblem[] }).problems;
  }
}

test('the syslog receiver is off unless PILOT_SYSLOG_LISTEN is set, and takes host:port or :port', () => {
  const off = loadConfig({}, 'pilot').pilot;
  assert.equal(off.syslogListen, null);
  assert.equal(off.syslogTarget, 'syslog');
  assert.equal(off.syslogUdpSocketBufferBytes, 4 * 1024 * 1024);
  assert.deepEqual(loadConfig({ PILOT_SYSLOG_LISTEN: ':5514' }, 'pilot').pilot.syslogListen, { host: '0.0.0.0', port: 5514 });
  assert.deepEqual(loadConfig({ PILOT_SYSLOG_LISTEN: '127.0.0.1:514' }, 'pilot').pilot.syslogListen, { host: '127.0.0.1', port: 514 });
});

test('bad syslog variables are reported together, each naming its variable', () => {
  const found = problems({ PILOT_SYSLOG_LISTEN: 'syslog', PILOT_SYSLOG_TARGET: 'Sys Log', PILOT_SYSLOG_UDP_SOCKET_BUFFER: 'big' });
  assert.deepEqual(found.map((p) => p.variable).sort(), ['PILOT_SYSLOG_LISTEN', 'PILOT_SYSLOG_TARGET', 'PILOT_SYSLOG_UDP_SOCKET_BUFFER']);
  assert.match(found.find((p) => p.variable === 'PILOT_SYSLOG_LISTEN')!.reason, /"syslog" is not host:port/);
  assert.match(found.find((p) => p.variable === 'PILOT_SYSLOG_TARGET')!.reason, /not a valid index name/);
  assert.deepEqual(problems({ PILOT_SYSLOG_LISTEN: ':70000' }).map((p) => p.variable), ['PILOT_SYSLOG_LISTEN']);
});
