/**
 * One alert's state machine, pure: inactive → pending (the condition holds; waits `for`) → firing → resolved (it
 * held and no longer does, or its series has no value in the window, or its rule is gone). Pending that stops
 * holding goes back to inactive without a notification; resolved behaves as inactive at the next evaluation.
 * A `for` of 0 fires at the first evaluation that holds, as Prometheus does.
 */
import type { AlarmComparison, AlertInstance, AlertState } from '../../model/alarm.js';

export function breaches(value: number | null, comparison: AlarmComparison, threshold: number): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  switch (comparison) {
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '<': return value < threshold;
    case '<=': return value <= threshold;
  }
}

export interface Step {
  next: AlertInstance;
  /** The state left, when it changed. */
  changedFrom?: AlertState;
}

/** The alert after an evaluation at `nowMs` that saw `value` (null: no value in the window). */
export function stepAlert(prev: AlertInstance, holds: boolean, value: number | null, nowMs: number, forMs: number): Step {
  const base: AlertInstance = { ...prev, value };
  const idle = prev.state === 'inactive' || prev.state === 'resolved';
  if (holds) {
    if (idle) {
      const started: AlertInstance = { ...base, activeSinceMs: nowMs, firedAtMs: undefined, resolvedAtMs: undefined };
      return forMs <= 0
        ? { next: { ...started, state: 'firing', firedAtMs: nowMs }, changedFrom: prev.state }
        : { next: { ...started, state: 'pending' }, changedFrom: prev.state };
    }
    if (prev.state === 'pending' && nowMs - (prev.activeSinceMs ?? nowMs) >= forMs) {
      return { next: { ...base, state: 'firing', firedAtMs: nowMs }, changedFrom: 'pending' };
    }
    return { next: base };
  }
  if (prev.state === 'pending') return { next: { ...base, state: 'inactive', activeSinceMs: undefined }, changedFrom: 'pending' };
  if (prev.state === 'firing') return { next: { ...base, state: 'resolved', resolvedAtMs: nowMs }, changedFrom: 'firing' };
  return { next: base };
}

const RANK: Readonly<Record<AlertState, number>> = { firing: 3, pending: 2, resolved: 1, inactive: 0 };

/** A rule's state: its worst alert's. */
export function worstState(alerts: readonly AlertInstance[]): AlertState {
  let worst: AlertState = 'inactive';
  for (const a of alerts) if (RANK[a.state] > RANK[worst]) worst = a.state;
  return worst;
}
