import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runContainer, waitFor } from '../helpers/docker.js';
import { PilotDirs, PilotProcess } from './pilot-process.js';

test('a pilot given json limits ships a line past them whole, names the limit and counts it by limit', async (t) => {
  const dirs = new PilotDirs(t);
  const pilot = await PilotProcess.start(t, dirs, { PILOT_JSON_MAX_KEYS: '3', PILOT_JSON_MAX_DEPTH: '2' });
  const lines = {
    atLimits: '{"level":"info","req":{"ms":3}}',
    tooWide: '{"level":"info","a":1,"b":2,"c":3}',
    tooDeep: '{"req":{"headers":{"host":"x"}}}',
  };
  const c = await runContainer(t, {
    name: 'json-limits',
    labels: { 'aliyun.logs.app': 'stdout', 'aliyun.logs.app.format': 'json' },
    cmd: ['sh', '-c', `${Object.values(lines).map((l) => `echo '${l}'`).join('; ')}; sleep 3600`],
  });
  const records = await waitFor(() => {
    const r = dirs.records(c.id);
    return r.length >= 3 && r;
  }, { what: 'the three records' });

  assert.equal(records[0]!['level'], 'info');
  assert.deepEqual(records[0]!['req'], { ms: 3 });
  assert.equal(records[0]!['parse_error'], undefined);
  assert.equal(records[1]!['message'], lines.tooWide);
  assert.equal(records[1]!['parse_error'], 'over PILOT_JSON_MAX_KEYS: more than 3 keys');
  assert.equal(records[1]!['a'], undefined);
  assert.equal(records[2]!['message'], lines.tooDeep);
  assert.equal(records[2]!['parse_error'], 'over PILOT_JSON_MAX_DEPTH: nested deeper than 2 levels');

  const metrics = await pilot.metrics();
  assert.match(metrics, /shipwatch_pilot_json_lines_over_limit_total\{limit="keys",program="pilot"\} 1\n/);
  assert.match(metrics, /shipwatch_pilot_json_lines_over_limit_total\{limit="depth",program="pilot"\} 1\n/);
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});

test('a json limit outside its range stops the pilot at start with the variable named', async (t) => {
  const dirs = new PilotDirs(t);
  await assert.rejects(PilotProcess.start(t, dirs, { PILOT_JSON_MAX_DEPTH: '0' }), /PILOT_JSON_MAX_DEPTH/);
});
