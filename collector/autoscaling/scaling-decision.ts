/**
 * The platform's three-period rule: a service is scaled out when its containers' average stayed above an upper
 * limit for three sample periods in a row, and in when it stayed below every lower limit it has for three in a row;
 * by `step` replicas, within min_instances..max_instances. Any other period breaks the run. After a decision the
 * count starts again, so the next one needs three fresh periods that already see the new replicas.
 *
 * Pure: the scaler feeds one sample per period and acts on the decision.
 */
import type { ScalingRule } from './scaling-labels.js';

export const PERIODS_TO_ACT = 3;

/** One period's average over the service's running containers. */
export interface ServiceSample {
  cpuPercent: number;
  memoryPercent: number;
  /** Containers the averages are over. */
  containers: number;
}

export type Verdict = 'high' | 'low' | 'within';

export interface Streak {
  verdict: Verdict;
  periods: number;
}

export const NO_STREAK: Streak = Object.freeze({ verdict: 'within', periods: 0 });

export type Decision =
  | { kind: 'wait'; verdict: Verdict; periods: number; reason: string }
  | { kind: 'no_data'; reason: string }
  | { kind: 'scale_out' | 'scale_in'; from: number; to: number; reason: string }
  | { kind: 'at_limit'; direction: 'out' | 'in'; replicas: number; reason: string };

const pct = (n: number): string => `${Math.round(n * 10) / 10}%`;

/** high: some upper limit is passed; low: no upper limit passed and the sample is under every lower limit set. */
export function judgePeriod(rule: ScalingRule, s: ServiceSample): { verdict: Verdict; reason: string } {
  const above: string[] = [];
  if (rule.maxCpu !== undefined && s.cpuPercent > rule.maxCpu) above.push(`CPU ${pct(s.cpuPercent)} above max_cpu ${rule.maxCpu}%`);
  if (rule.maxMemory !== undefined && s.memoryPercent > rule.maxMemory) above.push(`memory ${pct(s.memoryPercent)} above max_memory ${rule.maxMemory}%`);
  if (above.length > 0) return { verdict: 'high', reason: above.join(', ') };
  const lows: Array<[limit: number | undefined, value: number, what: string]> = [
    [rule.minCpu, s.cpuPercent, 'CPU'],
    [rule.minMemory, s.memoryPercent, 'memory'],
  ];
  const set = lows.filter(([limit]) => limit !== undefined) as Array<[number, number, string]>;
  if (set.length > 0 && set.every(([limit, value]) => value < limit)) {
    return { verdict: 'low', reason: set.map(([limit, value, what]) => `${what} ${pct(value)} below min_${what === 'CPU' ? 'cpu' : 'memory'} ${limit}%`).join(', ') };
  }
  return { verdict: 'within', reason: `CPU ${pct(s.cpuPercent)}, memory ${pct(s.memoryPercent)} within the limits` };
}

/** The next streak and what to do, given this period's sample (undefined: no container could be read). */
export function decide(rule: ScalingRule, streak: Streak, sample: ServiceSample | undefined, replicas: number): { streak: Streak; decision: Decision } {
  if (sample === undefined || sample.containers === 0) {
    return { streak: NO_STREAK, decision: { kind: 'no_data', reason: 'no running container of the service could be read this period' } };
  }
  const { verdict, reason } = judgePeriod(rule, sample);
  const periods = verdict === streak.verdict ? streak.periods + 1 : 1;
  if (verdict === 'within' || periods < PERIODS_TO_ACT) {
    return { streak: { verdict, periods }, decision: { kind: 'wait', verdict, periods, reason } };
  }
  const over = `${reason} (average of ${sample.containers} container${sample.containers === 1 ? '' : 's'}) for ${periods} periods`;
  if (verdict === 'high') {
    const to = Math.min(replicas + rule.step, rule.maxInstances);
    const decision: Decision = to > replicas
      ? { kind: 'scale_out', from: replicas, to, reason: over }
      : { kind: 'at_limit', direction: 'out', replicas, reason: `${over}, but ${replicas} replicas is max_instances ${rule.maxInstances} already` };
    return { streak: NO_STREAK, decision };
  }
  const to = Math.max(replicas - rule.step, rule.minInstances);
  const decision: Decision = to < replicas
    ? { kind: 'scale_in', from: replicas, to, reason: over }
    : { kind: 'at_limit', direction: 'in', replicas, reason: `${over}, but ${replicas} replicas is min_instances ${rule.minInstances} already` };
  return { streak: NO_STREAK, decision };
}
