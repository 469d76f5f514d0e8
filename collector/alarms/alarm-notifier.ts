/**
 * Where alerts go when they change: each webhook URL (COLLECTOR_ALARM_WEBHOOK_URLS) gets Alertmanager's webhook body
 * for every rule whose alerts fired or resolved at an evaluation, one body per rule and status; each Alertmanager
 * (COLLECTOR_ALARM_ALERTMANAGER_URLS) gets `POST /api/v2/alerts` with those alerts, and the firing ones again every
 * RESEND_MS (Alertmanager resolves an alert on its own once its `endsAt` passes without news, as Prometheus relies on).
 *
 * Every target has its own delivery chain (a memory queue: a receiver down does not hold the others back, and the
 * one retry helper tries again without a deadline); what a chain holds at shutdown is counted as abandoned.
 */
import { DeliveryChain } from '../../delivery/delivery-chain.js';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { MemoryQueue } from '../../delivery/memory-queue.js';
import type { Logger } from '../../platform/log.js';
import type { Registry } from '../../platform/self-metrics.js';
import type { AlertInstance } from '../../model/alarm.js';
import { apiAlert, webhookAlert, webhookMessage } from './alertmanager-payload.js';
import { WebhookSink, type Notice } from './webhook-sink.js';

/** How often firing alerts are sent to an Alertmanager again, and how long each sending stays valid there. */
const RESEND_MS = 60_000;
const VALID_FOR_MS = 4 * RESEND_MS;
const MAX_QUEUED_NOTICES = 10_000;

export interface RuleChanges {
  alertname: string;
  /** Alerts that fired at this evaluation. */
  fired: AlertInstance[];
  /** Alerts that resolved at this evaluation. */
  resolved: AlertInstance[];
  /** Every alert of the rule firing now (fired included), for Alertmanager's re-sending. */
  firing: AlertInstance[];
}

export interface AlarmNotifierOptions {
  webhookUrls: readonly string[];
  alertmanagerUrls: readonly string[];
  /** The link of each alert (`generatorURL`) and of the message (`externalURL`): the web UI's alarm page. */
  generatorUrl: string;
  timeoutMs: number;
  dataDir: string;
  drainTimeoutMs: number;
  registry: Registry;
  log: Logger;
}

type Chain = DeliveryChain<Notice[], Notice[]>;

export class AlarmNotifier {
  private readonly webhooks: Chain[];
  private readonly alertmanagers: Chain[];
  private lastResendMs = 0;

  constructor(private readonly opts: AlarmNotifierOptions) {
    const chain = (name: string, url: string): Chain => {
      const queue = new MemoryQueue<Notice[]>({
        name, maxRecords: MAX_QUEUED_NOTICES, whenFull: 'drop', records: (b) => b.length, join: (b) => b.flat(), registry: opts.registry,
      });
      const c = new DeliveryChain<Notice[], Notice[]>({
        sink: new WebhookSink(name, url, opts.timeoutMs), queue, records: (b) => b.length, maxPendingRecords: MAX_QUEUED_NOTICES,
        batch: { maxRecords: 50, maxBytes: 4 * 1024 * 1024, flushIntervalMs: 0 }, concurrency: 1, drainTimeoutMs: opts.drainTimeoutMs,
        deadLetters: new DeadLetterFile(opts.dataDir, name, opts.registry), registry: opts.registry, log: opts.log,
      });
      c.start();
      return c;
    };
    this.webhooks = opts.webhookUrls.map((u, i) => chain(opts.webhookUrls.length === 1 ? 'alarm-webhook' : `alarm-webhook-${i + 1}`, u));
    this.alertmanagers = opts.alertmanagerUrls.map((u, i) =>
      chain(opts.alertmanagerUrls.length === 1 ? 'alertmanager' : `alertmanager-${i + 1}`, `${u.replace(/\/+$/, '')}/api/v2/alerts`));
  }

  /** Hands an evaluation's changes to every target; never waits. */
  notify(changes: readonly RuleChanges[], nowMs: number): void {
    const url = this.opts.generatorUrl;
    const notices: Notice[] = [];
    for (const c of changes) {
      for (const [status, alerts] of [['firing', c.fired], ['resolved', c.resolved]] as const) {
        if (alerts.length === 0) continue;
        const body = JSON.stringify(webhookMessage(c.alertname, status, alerts.map((a) => webhookAlert(a, url)), url));
        notices.push({ body, what: `${c.alertname} ${status}` });
      }
    }
    if (notices.length > 0) for (const w of this.webhooks) this.offer(w, notices);

    if (this.alertmanagers.length === 0) return;
    const resend = nowMs - this.lastResendMs >= RESEND_MS;
    if (resend) this.lastResendMs = nowMs;
    const sent = changes.flatMap((c) => [...(resend ? c.firing : c.fired), ...c.resolved]);
    if (sent.length === 0) return;
    const body = JSON.stringify(sent.map((a) => apiAlert(a, url, VALID_FOR_MS, nowMs)));
    for (const am of this.alertmanagers) this.offer(am, [{ body, what: `${sent.length} alerts` }]);
  }

  private offer(chain: Chain, notices: Notice[]): void {
    if (chain.offer(notices) === 'busy') this.opts.log.warn('alarm notifications dropped: the target is behind', { notices: notices.length });
  }

  /** For /health: a target that fails now, with why. */
  problem(): string | undefined {
    return [...this.webhooks, ...this.alertmanagers].map((c) => c.problem()).filter((p) => p !== undefined).join('; ') || undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.webhooks, ...this.alertmanagers].map((c) => c.close()));
  }
}
