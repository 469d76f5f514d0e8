import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../../platform/log.js';
import { buildQueryApp } from '../../../query/api-app.js';
import { AlarmJournal } from '../../../storage/alarm-files/alarm-journal.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import type { AlarmSnapshot } from '../../../model/alarm.js';

test('the alarm API answers what the collector wrote to the data folder, behind the token, and the UI serves the Alarms page', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-alarm-api-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  t.after(() => db.close());
  const app = buildQueryApp({
    spanReader: new StoreSpanStorage(db), authToken: 'tok', corsOrigins: [], maxTraces: 10, maxLogs: 10, log: silentLogger, alarmsDataDir: dir,
  });
  t.after(() => app.close());
  const get = async (url: string, token = 'tok') => {
    const res = await app.inject({ url, headers: token === '' ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, body: res.headers['content-type']?.toString().includes('json') ? res.json() : res.body };
  };

  // No collector has written here yet.
  assert.deepEqual((await get('/api/alarms')).body, { evaluatedAtMs: null, evaluationIntervalMs: 0, rules: [], problems: [] });
  assert.deepEqual((await get('/api/alarms/history')).body, { data: [] });
  assert.equal((await get('/api/alarms', '')).status, 401);

  const journal = new AlarmJournal(dir, 100);
  const snapshot: AlarmSnapshot = {
    evaluatedAtMs: 1000, evaluationIntervalMs: 30_000, problems: ['container web: label aliyun.monitoring.alarm.x: threshold "a" is not a number'],
    rules: [{
      rule: { id: 'web/cpu', name: 'cpu', measurement: 'docker_container_cpu', field: 'usage_percent', tags: { container_name: 'web' }, statistic: 'avg', windowMs: 60_000,
        comparison: '>', threshold: 80, forMs: 0, labels: {}, annotations: {}, source: 'label', container: 'web' },
      state: 'firing',
      alerts: [{ fingerprint: 'ab', labels: { alertname: 'cpu', container_name: 'web' }, annotations: {}, state: 'firing', value: 97, activeSinceMs: 900, firedAtMs: 900 }],
    }],
  };
  journal.saveSnapshot(snapshot);
  journal.record([
    { timeMs: 900, ruleId: 'web/cpu', fingerprint: 'ab', from: 'inactive', to: 'firing', value: 97, labels: { alertname: 'cpu' } },
    { timeMs: 950, ruleId: 'db/mem', fingerprint: 'cd', from: 'inactive', to: 'pending', value: 60, labels: { alertname: 'mem' } },
  ]);
  assert.deepEqual((await get('/api/alarms')).body, snapshot);
  assert.deepEqual((await get('/api/alarms/history')).body.data.map((e: { ruleId: string }) => e.ruleId), ['db/mem', 'web/cpu'], 'newest first');
  assert.deepEqual((await get('/api/alarms/history?rule=web/cpu')).body.data.map((e: { timeMs: number }) => e.timeMs), [900]);
  assert.deepEqual((await get('/api/alarms/history?limit=1')).body.data.length, 1);
  for (const bad of ['0', '10001', 'many', '1.5']) {
    const r = await get(`/api/alarms/history?limit=${bad}`);
    assert.equal(r.status, 400, bad);
    assert.match(JSON.stringify(r.body), /limit .* must be a whole number from 1 to 10000/);
  }

  const index = await get('/', '');
  assert.match(String(index.body), /<a href="#\/alarms" data-view="alarms">Alarms<\/a>/);
  const view = await get('/ui/alarms-view.js', '');
  assert.equal(view.status, 200);
  assert.match(String(view.body), /export function renderAlarms/);
});
