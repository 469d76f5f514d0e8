import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, judgePeriod, NO_STREAK, type Decision, type ServiceSample, type Streak } from '../../../collector/autoscaling/scaling-decision.js';
import type { ScalingRule } from '../../../collector/autoscaling/scaling-labels.js';

const RULE: ScalingRule = { maxCpu: 60, minCpu: 10, step: 1, maxInstances: 10, minInstances: 1 };
const sample = (cpuPercent: number, memoryPercent = 5, containers = 1): ServiceSample => ({ cpuPercent, memoryPercent, containers });

/** Feeds the samples one period each, replicas as given; returns every decision. */
function run(rule: ScalingRule, samples: Array<ServiceSample | undefined>, replicas: number): Decision[] {
  let streak: Streak = NO_STREAK;
  return samples.map((s) => {
    const next = decide(rule, streak, s, replicas);
    streak = next.streak;
    return next.decision;
  });
}

test('three periods in a row above max_cpu scale out by step; two are not enough', () => {
  const decisions = run(RULE, [sample(95), sample(90)], 1);
  assert.deepEqual(decisions.map((d) => d.kind), ['wait', 'wait']);
  const third = run(RULE, [sample(95), sample(90), sample(99)], 1)[2]!;
  assert.equal(third.kind, 'scale_out');
  assert.deepEqual(third.kind === 'scale_out' && [third.from, third.to], [1, 2]);
  assert.match(third.reason, /^CPU 99% above max_cpu 60% \(average of 1 container\) for 3 periods$/);
});

test('a period within the limits breaks the run: the count starts again', () => {
  const decisions = run(RULE, [sample(95), sample(95), sample(30), sample(95), sample(95), sample(95)], 2);
  assert.deepEqual(decisions.map((d) => d.kind), ['wait', 'wait', 'wait', 'wait', 'wait', 'scale_out']);
});

test('a period without any readable container breaks the run too', () => {
  const decisions = run(RULE, [sample(95), sample(95), undefined, sample(95)], 1);
  assert.deepEqual(decisions.map((d) => d.kind), ['wait', 'wait', 'no_data', 'wait']);
});

test('after a decision three fresh periods are needed for the next one', () => {
  const decisions = run(RULE, [sample(95), sample(95), sample(95), sample(95), sample(95), sample(95)], 1);
  assert.deepEqual(decisions.map((d) => d.kind), ['wait', 'wait', 'scale_out', 'wait', 'wait', 'scale_out']);
});

test('three periods below min_cpu scale in by step, never under min_instances', () => {
  const rule = { ...RULE, step: 3, minInstances: 2 };
  const fromSix = run(rule, [sample(1), sample(2), sample(0)], 6)[2]!;
  assert.deepEqual(fromSix.kind === 'scale_in' && [fromSix.from, fromSix.to], [6, 3]);
  const fromFour = run(rule, [sample(1), sample(2), sample(0)], 4)[2]!;
  assert.deepEqual(fromFour.kind === 'scale_in' && [fromFour.from, fromFour.to], [4, 2]);
  const atMin = run(rule, [sample(1), sample(2), sample(0)], 2)[2]!;
  assert.equal(atMin.kind, 'at_limit');
  assert.match(atMin.reason, /but 2 replicas is min_instances 2 already$/);
});

test('scaling out stops at max_instances: the step is cut, then the decision says the limit held it', () => {
  const rule = { ...RULE, step: 5, maxInstances: 4 };
  const cut = run(rule, [sample(90), sample(90), sample(90)], 2)[2]!;
  assert.deepEqual(cut.kind === 'scale_out' && [cut.from, cut.to], [2, 4]);
  const held = run(rule, [sample(90), sample(90), sample(90)], 4)[2]!;
  assert.deepEqual(held.kind === 'at_limit' && [held.direction, held.replicas], ['out', 4]);
});

test('memory above max_memory is high even with CPU low; low needs every lower limit undercut', () => {
  const rule: ScalingRule = { maxCpu: 70, minCpu: 20, maxMemory: 80, minMemory: 30, step: 1, maxInstances: 10, minInstances: 1 };
  assert.equal(judgePeriod(rule, sample(5, 85)).verdict, 'high');
  assert.equal(judgePeriod(rule, sample(5, 50)).verdict, 'within', 'CPU low but memory not');
  assert.equal(judgePeriod(rule, sample(5, 10)).verdict, 'low');
  assert.equal(judgePeriod({ maxCpu: 70, step: 1, maxInstances: 10, minInstances: 1 }, sample(0, 0)).verdict, 'within', 'no lower limit: never scaled in');
});

test('a limit is passed only when the average is beyond it, not at it', () => {
  assert.equal(judgePeriod(RULE, sample(60)).verdict, 'within');
  assert.equal(judgePeriod(RULE, sample(10)).verdict, 'within');
  assert.equal(judgePeriod(RULE, sample(60.1)).verdict, 'high');
});
