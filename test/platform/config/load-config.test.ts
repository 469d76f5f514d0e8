/**
 * loadConfig: the only reader of the environment. Every problem is reported at once with its variable's name;
 * durations, sizes and ports are read with their units; log-pilot's variable names still work.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, type ConfigProblem, type Env } from '../../../platform/config/load-config.js';
import { ShipwatchError } from '../../../platform/errors.js';

function problemsOf(env: Env, program: Parameters<typeof loadConfig>[1]): ConfigProblem[] {
  try {
    loadConfig(env, program);
  } catch (err) {
    assert.ok(err instanceof ShipwatchError, 'a ShipwatchError');
    assert.equal(err.code, 'SW_CONFIG_INVALID');
    return (err as ShipwatchError & { problems: ConfigProblem[] }).problems;
  }
  assert.fail('the configuration was accepted');
}

test('a configuration with several bad variables reports every problem at once, each naming its variable', () => {
  const bad: Env = {
    SHIPWATCH_RETENTION: '7 weeks',
    SHIPWATCH_SHUTDOWN_TIMEOUT: 'soon',
    PILOT_ADMIN_LISTEN: ':99999',
    PILOT_MAX_LINE_BYTES: '12 parsecs',
    LOGGING_OUTPUT: 'console,splunk',
    LOG_LEVEL: 'loud',
  };
  const problems = problemsOf({ ...bad, QUERY_MAX_TRACES: '10' }, 'all');
  assert.deepEqual(problems.map((p) => p.variable).sort(), Object.keys(bad).sort());
  for (const p of problems) {
    // The reason quotes the value, or the part of it that is wrong (the port of a listen address, one output).
    const parts = [bad[p.variable]!, ...bad[p.variable]!.split(/[,:]/)].filter((x) => x !== '');
    assert.ok(parts.some((part) => p.reason.includes(`"${part}"`)), `${p.variable}: ${p.reason} quotes what is wrong`);
  }

  assert.throws(
    () => loadConfig(bad, 'all'),
    (err: Error) => Object.keys(bad).every((name) => err.message.includes(name)),
    'the message names every variable',
  );
});

test('durations, sizes and ports are read with their units, and a bare duration is seconds', () => {
  const config = loadConfig(
    {
      SHIPWATCH_RETENTION: '36h',
      SHIPWATCH_SHUTDOWN_TIMEOUT: '3',
      MONITORING_INTERVAL: '1500ms',
      MONITORING_TIMEOUT: '2m',
      PILOT_MAX_LINE_BYTES: '64KiB',
      MONITORING_MAX_OUTPUT: '2MB',
      PILOT_ADMIN_LISTEN: '127.0.0.1:2000',
      QUERY_LISTEN: ':0',
    },
    'all',
  );
  assert.equal(config.common.retentionMs, 36 * 60 * 60 * 1000);
  assert.equal(config.common.shutdownTimeoutMs, 3 * 1000);
  assert.equal(config.collector.monitoringIntervalMs, 1500);
  assert.equal(config.collector.monitoringTimeoutMs, 2 * 60 * 1000);
  assert.equal(config.pilot.maxLineBytes, 64 * 1024);
  assert.equal(config.collector.monitoringMaxOutputBytes, 2 * 1000 * 1000);
  assert.deepEqual(config.pilot.adminListen, { host: '127.0.0.1', port: 2000 });
  assert.deepEqual(config.query.listen, { host: '0.0.0.0', port: 0 });
});

test('durations, sizes and ports out of their grammar are refused', () => {
  const problems = problemsOf(
    { SHIPWATCH_RETENTION: '-1d', MONITORING_MAX_OUTPUT: '1 GiBs', PILOT_ADMIN_LISTEN: '127.0.0.1', QUERY_LISTEN: ':65536' },
    'all',
  );
  assert.deepEqual(problems.map((p) => p.variable).sort(), ['MONITORING_MAX_OUTPUT', 'PILOT_ADMIN_LISTEN', 'QUERY_LISTEN', 'SHIPWATCH_RETENTION']);
});

test('an unknown log output is refused, naming it and the outputs that exist', () => {
  const [problem, ...rest] = problemsOf({ LOGGING_OUTPUT: 'file,splunk' }, 'pilot');
  assert.equal(rest.length, 0);
  assert.equal(problem!.variable, 'LOGGING_OUTPUT');
  assert.match(problem!.reason, /"splunk"/);
  for (const output of ['elasticsearch', 'console', 'file', 'store', 'redis', 'kafka']) assert.ok(problem!.reason.includes(output), `names ${output}`);
});

test("log-pilot's FLUENTD_OUTPUT and FILEBEAT_OUTPUT are read when LOGGING_OUTPUT is unset, and LOGGING_OUTPUT wins", () => {
  assert.deepEqual(loadConfig({ FLUENTD_OUTPUT: 'file,console' }, 'pilot').pilot.outputs, ['file', 'console']);
  assert.deepEqual(loadConfig({ FILEBEAT_OUTPUT: 'file' }, 'pilot').pilot.outputs, ['file']);
  assert.deepEqual(loadConfig({ LOGGING_OUTPUT: 'console', FLUENTD_OUTPUT: 'file' }, 'pilot').pilot.outputs, ['console']);
  assert.deepEqual(problemsOf({ FLUENTD_OUTPUT: 'splunk' }, 'pilot').map((p) => p.variable), ['FLUENTD_OUTPUT']);
});

test('the default log output depends on the program: console for a lone pilot, store in all', () => {
  assert.deepEqual(loadConfig({}, 'pilot').pilot.outputs, ['console']);
  assert.deepEqual(loadConfig({}, 'all').pilot.outputs, ['store']);
});

test("a variable of another program's section is neither parsed nor reported", () => {
  const env: Env = { QUERY_LISTEN: 'nowhere' };
  assert.deepEqual(loadConfig(env, 'pilot').query.listen, loadConfig({}, 'query').query.listen);
  assert.deepEqual(problemsOf(env, 'query').map((p) => p.variable), ['QUERY_LISTEN']);
});

test('the configuration is frozen', () => {
  const config = loadConfig({}, 'all');
  assert.ok(Object.isFrozen(config));
  for (const section of ['common', 'spanStorage', 'pilot', 'collector', 'query'] as const) assert.ok(Object.isFrozen(config[section]), section);
});
