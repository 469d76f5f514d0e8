/**
 * Container auto scaling on Docker Swarm, as the platform Shipwatch replaces had it: every sample period
 * (COLLECTOR_AUTOSCALING_PERIOD, 1 minute by default) each service labelled `aliyun.auto_scaling.*` is sampled
 * (its running containers' average CPU and memory percent), the three-period rule is applied
 * (./scaling-decision.ts) and the service's replicas are set through the engine's services API.
 *
 * Only the swarm's leader acts, so a collector on every node (a global service) makes one decision per service, not
 * one per node. Bad labels are refused as a whole: one warning naming every problem, counted, no action, and said
 * again only when the labels change. Every decision is logged and counted in
 * shipwatch_autoscaling_decisions_total{decision}.
 */
import type { Logger } from '../../platform/log.js';
import { describe } from '../../platform/errors.js';
import {
  listServices, runningTasks, setServiceReplicas, swarmRole, type EngineClient, type SwarmService,
} from '../../platform/engine/docker-client.js';
import { counter, gauge, type Registry } from '../../platform/self-metrics.js';
import { decide, NO_STREAK, PERIODS_TO_ACT, type Decision, type Streak } from './scaling-decision.js';
import { hasScalingLabels, parseScalingLabels, type ScalingRule } from './scaling-labels.js';
import { ServiceUsage } from './service-usage.js';

export interface ServiceScalerOptions {
  client: EngineClient;
  periodMs: number;
  log: Logger;
  registry: Registry;
  /** Which labelled services this scaler takes on; default every one (a test on a shared engine: only its own). */
  select?: (service: SwarmService) => boolean;
}

type Outcome = 'scale_out' | 'scale_in' | 'at_limit' | 'refused' | 'failed';

export class ServiceScaler {
  private readonly usage: ServiceUsage;
  private readonly streaks = new Map<string, Streak>();
  /** Per service id: the problems last warned about, so one set of bad labels is warned about once. */
  private readonly refused = new Map<string, string>();
  private readonly decisions;
  private readonly roundErrors;
  private readonly watched;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private closed = false;
  /** Why this engine does not act ('' while it does), logged when it changes. */
  private idleReason: string | undefined;

  constructor(private readonly options: ServiceScalerOptions) {
    this.usage = new ServiceUsage(options.client);
    this.decisions = counter(options.registry, {
      name: 'shipwatch_autoscaling_decisions_total',
      help: 'Auto scaling decisions: scale_out, scale_in, at_limit (the rule held but max/min_instances stopped it), refused (bad labels), failed (the engine refused the update).',
      labelNames: ['decision'] as const,
    });
    this.roundErrors = counter(options.registry, { name: 'shipwatch_autoscaling_round_errors_total', help: 'Sample periods the engine could not be asked (services, tasks or statistics).' });
    this.watched = gauge(options.registry, { name: 'shipwatch_autoscaling_services', help: 'Services with valid auto scaling labels seen in the last sample period.' });
  }

  start(): void {
    if (this.closed || this.timer) return;
    const tick = (): void => {
      this.round = this.runOnce().finally(() => {
        this.round = undefined;
        if (!this.closed) this.timer = setTimeout(tick, this.options.periodMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.options.periodMs).unref();
  }

  /** Idempotent: stops the timer and waits for a period under way. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One sample period over every labelled service. Never throws: an engine failure is logged and counted. */
  async runOnce(): Promise<void> {
    try {
      const role = await swarmRole(this.options.client);
      const idle = role.leader ? '' : role.manager ? 'this engine is a swarm manager but not the leader' : `this engine is no swarm manager (swarm state ${role.state})`;
      if (idle !== this.idleReason) {
        if (idle !== '') this.options.log.info('auto scaling waits: only the swarm leader scales services', { reason: idle });
        else if (this.idleReason !== undefined) this.options.log.info('auto scaling acts: this engine is the swarm leader');
        this.idleReason = idle;
      }
      if (idle !== '') return;

      const services = (await listServices(this.options.client)).filter((s) => hasScalingLabels(s.labels) && (this.options.select?.(s) ?? true));
      const seenServices = new Set<string>();
      const seenContainers = new Set<string>();
      let valid = 0;
      for (const service of services) {
        seenServices.add(service.id);
        const rule = this.ruleOf(service);
        if (rule === undefined) continue;
        valid += 1;
        const tasks = await runningTasks(this.options.client, service.id);
        for (const t of tasks) seenContainers.add(t.containerId);
        const { sample, remote } = await this.usage.sample(tasks, role.nodeId);
        const { streak, decision } = decide(rule, this.streaks.get(service.id) ?? NO_STREAK, sample, service.replicas!);
        this.streaks.set(service.id, streak);
        await this.act(service, decision, remote);
      }
      this.watched.set(valid);
      for (const id of this.streaks.keys()) if (!seenServices.has(id)) this.streaks.delete(id);
      for (const id of this.refused.keys()) if (!seenServices.has(id)) this.refused.delete(id);
      this.usage.retain(seenContainers);
    } catch (err) {
      this.roundErrors.inc();
      this.options.log.warn('auto scaling: this sample period was skipped', { err: describe(err) });
    }
  }

  /** The service's rule, or undefined after warning (once per set of problems) that its labels are refused. */
  private ruleOf(service: SwarmService): ScalingRule | undefined {
    const parsed = parseScalingLabels(service.labels);
    const problems = 'problems' in parsed ? [...parsed.problems] : [];
    if (service.replicas === undefined) problems.push('the service is global (one task per node): only a replicated service can be scaled');
    if (problems.length === 0 && 'rule' in parsed) {
      this.refused.delete(service.id);
      return parsed.rule;
    }
    this.streaks.delete(service.id);
    const said = problems.join('; ');
    if (this.refused.get(service.id) !== said) {
      this.refused.set(service.id, said);
      this.count('refused');
      this.options.log.warn('auto scaling labels refused: the service is not scaled', { service: service.name, problems });
    }
    return undefined;
  }

  private async act(service: SwarmService, decision: Decision, remote: number): Promise<void> {
    const log = this.options.log;
    const fields = { service: service.name, replicas: service.replicas, reason: decision.reason, ...(remote > 0 ? { tasksOnOtherNodes: remote } : {}) };
    switch (decision.kind) {
      case 'wait':
      case 'no_data':
        log.debug('auto scaling sample', { ...fields, ...(decision.kind === 'wait' ? { verdict: decision.verdict, periods: decision.periods } : {}) });
        return;
      case 'at_limit':
        this.count('at_limit');
        log.info(`auto scaling: service not scaled ${decision.direction}, at its limit`, fields);
        return;
      case 'scale_out':
      case 'scale_in':
        try {
          await setServiceReplicas(this.options.client, service, decision.to);
        } catch (err) {
          // The next period that agrees acts again, rather than three more periods later.
          this.streaks.set(service.id, { verdict: decision.kind === 'scale_out' ? 'high' : 'low', periods: PERIODS_TO_ACT - 1 });
          this.count('failed');
          log.warn(`auto scaling: service could not be scaled ${decision.kind === 'scale_out' ? 'out' : 'in'}`, { ...fields, to: decision.to, err: describe(err) });
          return;
        }
        this.count(decision.kind);
        log.info(`auto scaling: service scaled ${decision.kind === 'scale_out' ? 'out' : 'in'}`, { ...fields, from: decision.from, to: decision.to });
    }
  }

  private count(outcome: Outcome): void {
    this.decisions.inc({ decision: outcome });
  }
}
