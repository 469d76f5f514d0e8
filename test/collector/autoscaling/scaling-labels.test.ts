import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasScalingLabels, parseScalingLabels } from '../../../collector/autoscaling/scaling-labels.js';
import { loadConfig } from '../../../platform/config/load-config.js';

const P = 'aliyun.auto_scaling.';
const labels = (entries: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(entries).map(([k, v]) => [P + k, v]));

const problemsOf = (entries: Record<string, string>): string[] => {
  const parsed = parseScalingLabels(labels(entries));
  assert.ok('problems' in parsed, `expected problems for ${JSON.stringify(entries)}`);
  return parsed.problems;
};

test('cpu limits alone give a rule with the platform\'s defaults: step 1, at most 10 and at least 1 instance', () => {
  assert.deepEqual(parseScalingLabels(labels({ max_cpu: '60', min_cpu: '10' })), {
    rule: { maxCpu: 60, minCpu: 10, step: 1, maxInstances: 10, minInstances: 1 },
  });
});

test('every label is read: memory limits, step, max and min instances', () => {
  assert.deepEqual(
    parseScalingLabels(labels({ max_cpu: '80', min_cpu: '20', max_memory: '75.5', min_memory: '30', step: '5', max_instances: '8', min_instances: '2' })),
    { rule: { maxCpu: 80, minCpu: 20, maxMemory: 75.5, minMemory: 30, step: 5, maxInstances: 8, minInstances: 2 } },
  );
});

test('a single limit is a rule too (scale out only, or in only)', () => {
  assert.deepEqual(parseScalingLabels(labels({ max_memory: '90' })), { rule: { maxMemory: 90, step: 1, maxInstances: 10, minInstances: 1 } });
  assert.deepEqual(parseScalingLabels(labels({ min_cpu: '5' })), { rule: { minCpu: 5, step: 1, maxInstances: 10, minInstances: 1 } });
});

test('an expansion limit less than 30 points above its contraction limit is refused, naming both', () => {
  assert.deepEqual(problemsOf({ max_cpu: '60', min_cpu: '31' }), [`${P}max_cpu=60 is not at least 30 points above ${P}min_cpu=31`]);
  assert.deepEqual(problemsOf({ max_memory: '50', min_memory: '40' }), [`${P}max_memory=50 is not at least 30 points above ${P}min_memory=40`]);
  // Exactly 30 points apart is allowed.
  assert.ok('rule' in parseScalingLabels(labels({ max_cpu: '60', min_cpu: '30' })));
});

test('bad values are refused all together, each naming its label and value', () => {
  const problems = problemsOf({ max_cpu: '150', min_cpu: 'low', step: '6', max_instances: '0', min_instances: '-1', max_memory: '80%' });
  assert.deepEqual(problems, [
    `${P}max_cpu="150" is not a percent from 0 to 100`,
    `${P}min_cpu="low" is not a percent from 0 to 100`,
    `${P}max_memory="80%" is not a percent from 0 to 100`,
    `${P}step="6" is not a whole number from 1 to 5`,
    `${P}max_instances="0" is not a whole number from 1 to up`,
    `${P}min_instances="-1" is not a whole number from 1 to up`,
  ]);
  assert.deepEqual(problemsOf({ max_cpu: '70', step: '1.5' }), [`${P}step="1.5" is not a whole number from 1 to 5`]);
});

test('a minimum above the maximum of instances, an unknown label and a missing limit are each named', () => {
  assert.deepEqual(problemsOf({ max_cpu: '70', min_instances: '4', max_instances: '3' }), [`${P}min_instances=4 is above ${P}max_instances=3`]);
  const typo = problemsOf({ max_cpus: '70' });
  assert.equal(typo.length, 2);
  assert.match(typo[0]!, /^aliyun\.auto_scaling\.max_cpus is not an auto scaling label \(known: max_cpu, min_cpu/);
  assert.match(typo[1]!, /^no limit set: give aliyun\.auto_scaling\.max_cpu, /);
  assert.deepEqual(problemsOf({ step: '2' }).length, 1);
});

test('only labels under aliyun.auto_scaling. make a service scaled', () => {
  assert.equal(hasScalingLabels({ 'aliyun.logs.app': 'stdout', 'com.docker.stack.namespace': 'shop' }), false);
  assert.equal(hasScalingLabels({ 'aliyun.auto_scaling.max_cpu': '70' }), true);
});

test('COLLECTOR_AUTOSCALING_PERIOD: one minute by default, 0 turns it off, under a second or not a duration is refused', () => {
  assert.equal(loadConfig({}, 'collector').collector.autoscalingPeriodMs, 60_000);
  assert.equal(loadConfig({ COLLECTOR_AUTOSCALING_PERIOD: '5s' }, 'collector').collector.autoscalingPeriodMs, 5000);
  assert.equal(loadConfig({ COLLECTOR_AUTOSCALING_PERIOD: '0' }, 'collector').collector.autoscalingPeriodMs, 0);
  assert.throws(() => loadConfig({ COLLECTOR_AUTOSCALING_PERIOD: '500ms' }, 'collector'), /COLLECTOR_AUTOSCALING_PERIOD: "500ms" is shorter than 1s \(0 turns auto scaling off\)/);
  assert.throws(() => loadConfig({ COLLECTOR_AUTOSCALING_PERIOD: 'soon' }, 'collector'), /COLLECTOR_AUTOSCALING_PERIOD: "soon" is not a duration/);
});
