import assert from 'node:assert/strict';
import { test } from 'node:test';
import { breaches, stepAlert, worstState } from '../../../collector/alarms/alert-state.js';
import type { AlertInstance } from '../../../model/alarm.js';

const fresh: AlertInstance = { fingerprint: 'f', labels: { alertname: 'x' }, annotations: {}, state: 'inactive', value: null };

test('comparisons hold as written, and no value never breaches', () => {
  assert.equal(breaches(81, '>', 80), true);
  assert.equal(breaches(80, '>', 80), false);
  assert.equal(breaches(80, '>=', 80), true);
  assert.equal(breaches(79, '<', 80), true);
  assert.equal(breaches(80, '<=', 80), true);
  assert.equal(breaches(null, '<', 80), false);
  assert.equal(breaches(Number.NaN, '<', 80), false);
});

test('inactive → pending → firing after the for-duration → resolved, each change said once', () => {
  let a = fresh;
  const steps: Array<[boolean, number]> = [[true, 0], [true, 30_000], [true, 60_000], [true, 90_000], [false, 120_000], [false, 150_000]];
  const seen: string[] = [];
  for (const [holds, t] of steps) {
    const s = stepAlert(a, holds, holds ? 95 : 10, t, 60_000);
    seen.push(s.changedFrom === undefined ? `(${s.next.state})` : `${s.changedFrom}→${s.next.state}`);
    a = s.next;
  }
  assert.deepEqual(seen, ['inactive→pending', '(pending)', 'pending→firing', '(firing)', 'firing→resolved', '(resolved)']);
  assert.equal(a.activeSinceMs, 0);
  assert.equal(a.firedAtMs, 60_000);
  assert.equal(a.resolvedAtMs, 120_000);
  assert.equal(a.value, 10);
});

test('a for of 0 fires at the first breach; pending that stops holding goes back to inactive without firing', () => {
  const fired = stepAlert(fresh, true, 99, 1000, 0);
  assert.equal(fired.next.state, 'firing');
  assert.equal(fired.changedFrom, 'inactive');
  assert.equal(fired.next.firedAtMs, 1000);
  const pending = stepAlert(fresh, true, 99, 1000, 60_000).next;
  const back = stepAlert(pending, false, 1, 2000, 60_000);
  assert.equal(back.next.state, 'inactive');
  assert.equal(back.changedFrom, 'pending');
  assert.equal(back.next.activeSinceMs, undefined);
});

test('a resolved alert that breaches again starts over, and a rule shows its worst alert', () => {
  const resolved: AlertInstance = { ...fresh, state: 'resolved', activeSinceMs: 0, firedAtMs: 10, resolvedAtMs: 20 };
  const again = stepAlert(resolved, true, 99, 100, 50);
  assert.equal(again.next.state, 'pending');
  assert.equal(again.next.activeSinceMs, 100);
  assert.equal(again.next.firedAtMs, undefined);
  assert.equal(again.next.resolvedAtMs, undefined);
  assert.equal(worstState([]), 'inactive');
  assert.equal(worstState([resolved, { ...fresh, state: 'pending' }]), 'pending');
  assert.equal(worstState([resolved, { ...fresh, state: 'firing' }, { ...fresh, state: 'pending' }]), 'firing');
});
