/**
 * The evaluator on the real embedded store: points written with the test's clock, rules read through the store's
 * MetricReader, alerts stepping per series, the journal's files carried across a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AlarmEvaluator } from '../../../collector/alarms/alarm-evaluator.js';
import type { RuleChanges } from '../../../collector/alarms/alarm-notifier.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { FLOAT, type MetricPoint } from '../../../model/metric-point.js';
import type { AlarmRule } from '../../../model/alarm.js';
import { AlarmJournal, readAlarmFiles } from '../../../storage/alarm-files/alarm-journal.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreMetricStorage } from '../../../storage/sqlite/metric-store.js';

const T0_MS = Date.parse('2026-12-07T10:00:00Z');

const rule: AlarmRule = {
  id: 'HighCpu', name: 'HighCpu', measurement: 'docker_container_cpu', field: 'usage_percent', tags: { host: 'h1' }, statistic: 'avg',
  windowMs: 60_000, comparison: '>', threshold: 50, forMs: 30_000, labels: { severity: 'page' }, annotations: { summary: 'busy' }, source: 'file',
};

function points(atMs: number, byContainer: Record<string, number>): MetricPoint[] {
  return Object.entries(byContainer).map(([container, v]) => ({
    measurement: 'docker_container_cpu', tagKeys: ['container_name', 'host'], tagValues: [container, 'h1'], fieldKeys: ['usage_percent'],
    fieldTypes: new Uint8Array([FLOAT]), fieldValues: [v], timeNs: BigInt(atMs) * 1_000_000n,
  }));
}

test('each series is an alert: pending, firing after for, once; a restart carries it on; a rule gone resolves it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-alarm-eval-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  t.after(() => db.close());
  const store = new StoreMetricStorage(db, { log: silentLogger });
  let nowMs = T0_MS;
  let rules = [rule];
  const notified: RuleChanges[][] = [];
  const evaluator = (): AlarmEvaluator => new AlarmEvaluator({
    reader: store, rules: () => rules, problems: () => [], journal: new AlarmJournal(dir, 100), notify: (c) => notified.push(c),
    intervalMs: 10_000, log: silentLogger, registry: createRegistry('collector'), now: () => nowMs,
  });
  const write = (atMs: number, v: Record<string, number>): void => {
    store.write(points(atMs, v));
    store.flush();
  };

  let e = evaluator();
  write(nowMs - 20_000, { web: 90, db: 10 });
  write(nowMs - 10_000, { web: 70, db: 20 });
  await e.evaluate();
  let snap = e.snapshot();
  assert.equal(snap.rules[0]!.state, 'pending');
  const byContainer = (): Record<string, string> => Object.fromEntries(e.snapshot().rules[0]!.alerts.map((a) => [a.labels['container_name'], a.state]));
  assert.deepEqual(byContainer(), { web: 'pending', db: 'inactive' });
  assert.equal(snap.rules[0]!.alerts.find((a) => a.labels['container_name'] === 'web')!.value, 80, 'the average of the window');
  assert.deepEqual(notified.at(-1), [], 'pending notifies nobody');

  nowMs += 30_000;
  write(nowMs - 5_000, { web: 95, db: 5 });
  await e.evaluate();
  assert.deepEqual(byContainer(), { web: 'firing', db: 'inactive' });
  const fired = notified.at(-1)![0]!;
  assert.deepEqual(fired.fired.map((a) => a.labels), [{ alertname: 'HighCpu', container_name: 'web', host: 'h1', severity: 'page' }]);
  assert.equal(fired.fired[0]!.annotations['summary'], 'busy');
  assert.match(fired.fired[0]!.annotations['description']!, /^avg of docker_container_cpu\.usage_percent over 60s is 85 \(threshold > 50\)$/);

  nowMs += 10_000;
  write(nowMs - 5_000, { web: 99 });
  await e.evaluate();
  assert.deepEqual(notified.at(-1)![0]!.fired, [], 'still firing: not fired again');
  await e.close();

  // A restart on the same data folder carries the firing alert on: no second firing.
  e = evaluator();
  nowMs += 10_000;
  write(nowMs - 5_000, { web: 99 });
  await e.evaluate();
  assert.deepEqual(byContainer(), { web: 'firing', db: 'inactive' });
  assert.deepEqual(notified.at(-1)![0]!.fired, []);

  // The rule is gone (the file changed): its firing alert resolves, once.
  rules = [];
  nowMs += 10_000;
  await e.evaluate();
  assert.deepEqual(notified.at(-1)!.map((c) => [c.alertname, c.resolved.map((a) => [a.labels['container_name'], a.state, a.resolvedAtMs])]), [['HighCpu', [['web', 'resolved', nowMs]]]]);
  nowMs += 10_000;
  await e.evaluate();
  assert.deepEqual(notified.at(-1), []);
  await e.close();

  const { snapshot, history } = await readAlarmFiles(dir);
  assert.deepEqual(snapshot?.rules, []);
  assert.deepEqual(history.map((h) => `${h.labels['container_name']} ${h.from}→${h.to}`), ['web inactive→pending', 'web pending→firing', 'web firing→resolved']);
  snap = e.snapshot();
  assert.equal(snap.evaluationIntervalMs, 10_000);
});

test('the history file keeps the newest transitions only, and a torn last line is skipped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-alarm-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const journal = new AlarmJournal(dir, 3);
  const entry = (i: number) => ({ timeMs: i, ruleId: 'r', fingerprint: 'f', from: 'inactive' as const, to: 'firing' as const, value: i, labels: {} });
  for (let i = 1; i <= 10; i++) journal.record([entry(i)]);
  assert.deepEqual(journal.recent(10).map((e) => e.timeMs), [10, 9, 8]);
  const { appendFileSync } = await import('node:fs');
  appendFileSync(join(dir, 'alarms', 'history.ndjson'), '{"timeMs": 11, "rul');
  const again = new AlarmJournal(dir, 3);
  assert.deepEqual(again.recent(10).map((e) => e.timeMs), [10, 9, 8]);
  const files = await readAlarmFiles(dir);
  assert.ok(files.history.length <= 6, `the file is rewritten past twice the bound (${files.history.length} lines)`);
});
