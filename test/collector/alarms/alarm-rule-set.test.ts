import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AlarmRuleSet } from '../../../collector/alarms/alarm-rule-set.js';
import { ShipwatchError } from '../../../platform/errors.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import type { ContainerInfo } from '../../../platform/engine/container-info.js';

const rule = (name: string, threshold: number) => ({ name, measurement: 'docker_container_cpu', field: 'usage_percent', window: '1m', comparison: '>', threshold });

function tempFile(t: { after: (fn: () => void) => void }, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-alarm-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rules.json');
  writeFileSync(file, text);
  return file;
}

test('a wrong rules file stops the start with SW_CONFIG_INVALID naming the variable and every problem', (t) => {
  const file = tempFile(t, JSON.stringify({ rules: [{ ...rule('a', 1), comparison: '=' }, { ...rule('b', 1), window: 'x' }] }));
  assert.throws(() => new AlarmRuleSet({ file, reloadIntervalMs: 0, labelPrefix: 'aliyun', log: silentLogger, registry: createRegistry('collector') }), (err: unknown) => {
    assert.ok(err instanceof ShipwatchError);
    assert.equal(err.code, 'SW_CONFIG_INVALID');
    assert.match(err.message, /COLLECTOR_ALARM_RULES: .*rules\.json: rule "a": "comparison" "=" is not one of > >= < <=; rule "b": window "x" is not a duration/);
    return true;
  });
  assert.throws(
    () => new AlarmRuleSet({ file: join(tmpdir(), 'no-such-shipwatch-rules.json'), reloadIntervalMs: 0, labelPrefix: 'aliyun', log: silentLogger, registry: createRegistry('collector') }),
    /COLLECTOR_ALARM_RULES: cannot read .*no-such-shipwatch-rules\.json/,
  );
});

test('a changed file replaces the rules; a wrong one keeps those read before and says why until fixed', async (t) => {
  const file = tempFile(t, JSON.stringify({ rules: [rule('a', 1)] }));
  const set = new AlarmRuleSet({ file, reloadIntervalMs: 0, labelPrefix: 'aliyun', log: silentLogger, registry: createRegistry('collector') });
  t.after(() => set.close());
  assert.deepEqual(set.rules().map((r) => r.id), ['a']);
  writeFileSync(file, JSON.stringify({ rules: [rule('a', 2), rule('b', 3)] }));
  await set.reload();
  assert.deepEqual(set.rules().map((r) => [r.id, r.threshold]), [['a', 2], ['b', 3]]);
  writeFileSync(file, '{"rules": [{"name": "c"}]}');
  await set.reload();
  assert.deepEqual(set.rules().map((r) => r.id), ['a', 'b']);
  assert.match(set.problem() ?? '', /not reloaded, the rules read before stay in force: .*rule "c": "measurement" must be a non-empty string/);
  writeFileSync(file, JSON.stringify({ rules: [rule('c', 4)] }));
  await set.reload();
  assert.deepEqual(set.rules().map((r) => r.id), ['c']);
  assert.equal(set.problem(), undefined);
});

test('a container\'s label rules live while it runs, and its bad labels are listed as problems', async () => {
  const set = new AlarmRuleSet({ file: '', reloadIntervalMs: 0, labelPrefix: 'aliyun', log: silentLogger, registry: createRegistry('collector') });
  const info = {
    id: 'c1', name: 'web', labels: { 'aliyun.monitoring.alarm.cpu': 'docker_container_cpu.usage_percent:avg:1m:>:50', 'aliyun.monitoring.alarm.mem': 'nonsense' },
  } as unknown as ContainerInfo;
  set.started(info);
  assert.deepEqual(set.rules().map((r) => r.id), ['web/cpu']);
  assert.match(set.problems().join('\n'), /container web: label aliyun\.monitoring\.alarm\.mem: "nonsense" must be/);
  set.stopped(info);
  assert.deepEqual(set.rules(), []);
  assert.deepEqual(set.problems(), []);
});
