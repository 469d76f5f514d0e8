/**
 * Retention runs on Elasticsearch (the README's "Retention"): what the pilot (`ELASTICSEARCH_RETENTION_DAYS`) and
 * the collector (`ES_RETENTION_DAYS`) do every hour, and `shipwatch es-clean` once.
 *
 * - Span indices: Jaeger's daily indices under the prefix, deleted by ./index-cleaner.ts's rules.
 * - Log indices: the daily and monthly indices of every target that has a Shipwatch template
 *   (`shipwatch-logs-<target>`, installed by the pilot before a target's first document, or by `es-init`), deleted
 *   by the same rules. Targets are found from the templates, not from the indices, so another product's
 *   `name-YYYY.MM.DD` indices on the same cluster are never taken.
 * - Log data streams (Shipwatch's `shipwatch-logs-stream-*` templates): with ILM, the `shipwatch-logs` policy is
 *   put and named in each stream's template and backing indices, and ILM rolls over and deletes; without ILM (said
 *   once in the log), the run rolls a stream over when its write index is a day old and has documents (the same
 *   condition the policy has), and deletes each backing index whose successor was created before the cutoff.
 *
 * A run that fails (Elasticsearch down, a request refused) is logged and counted; the next one tries again.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../../platform/log.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import {
  dailyLogShape, expiredBackingIndices, expiredIndices, indexFacts, jaegerDailyShape, jaegerIndexPattern, logIndexPatterns,
  monthlyLogShape, retentionCutoffMs,
} from './index-cleaner.js';
import { ensureLogsIlmPolicy, ilmAvailable, lifecycleOf, LOGS_ILM_POLICY, ROLLOVER_MAX_AGE, withLifecycleSetting } from './ilm-policy.js';
import { esProblem } from './request-failure.js';

/** Indices named in one delete request: keeps the URL short. */
const DELETE_CHUNK = 50;
/** The template names of the pilot's indices and streams (./log-index-templates.ts). */
export const LOG_TEMPLATE_PATTERN = 'shipwatch-logs-*';

export interface RetentionReport {
  deleted: string[];
  rolledOver: string[];
  /** Data streams whose template and backing indices were given the ILM policy in this run. */
  ilmAttached: string[];
  /** Whether the cluster has ILM; undefined when the run did not need to know (no data stream). */
  ilm?: boolean;
}

interface RunOptions {
  days: number;
  /** The clock (tests move it to judge real creation dates against a cutoff of their choosing). */
  nowMs?: number;
  signal?: AbortSignal;
}

async function listIndices(client: Client, patterns: string[], signal?: AbortSignal): Promise<ReturnType<typeof indexFacts>> {
  if (patterns.length === 0) return [];
  const answer = await client.indices.get(
    { index: patterns, flat_settings: true, filter_path: ['*.aliases', '*.settings'], expand_wildcards: ['open', 'closed'], ignore_unavailable: true, allow_no_indices: true },
    { signal },
  );
  return indexFacts(answer as never);
}

async function deleteIndices(client: Client, names: string[], signal?: AbortSignal): Promise<void> {
  for (let i = 0; i < names.length; i += DELETE_CHUNK) {
    await client.indices.delete({ index: names.slice(i, i + DELETE_CHUNK), ignore_unavailable: true }, { signal });
  }
}

/** Deletes the expired Jaeger span and service indices under `prefix`. */
export async function cleanSpanIndices(client: Client, o: RunOptions & { prefix: string }): Promise<RetentionReport> {
  const cutoff = retentionCutoffMs(o.nowMs ?? Date.now(), o.days);
  const expired = expiredIndices(await listIndices(client, [jaegerIndexPattern(o.prefix)], o.signal), [jaegerDailyShape(o.prefix)], cutoff);
  await deleteIndices(client, expired, o.signal);
  return { deleted: expired, rolledOver: [], ilmAttached: [] };
}

interface StoredTemplate {
  name: string;
  index_template: {
    index_patterns: string[] | string;
    data_stream?: unknown;
    version?: number;
    _meta?: Record<string, unknown>;
    template?: { settings?: Record<string, unknown> };
  } & Record<string, unknown>;
}

/** Shipwatch's log templates on the cluster: the targets (daily/monthly/none) and the data streams they cover. */
export async function shipwatchLogTemplates(client: Client, templatePattern = LOG_TEMPLATE_PATTERN, signal?: AbortSignal): Promise<{ targets: string[]; streams: StoredTemplate[] }> {
  const found = await client.indices.getIndexTemplate({ name: templatePattern }, { signal, ignore: [404] });
  const targets: string[] = [];
  const streams: StoredTemplate[] = [];
  for (const t of (found.index_templates ?? []) as unknown as StoredTemplate[]) {
    if (t.index_template._meta?.['managed_by'] !== 'shipwatch' || !t.name.startsWith('shipwatch-logs-')) continue;
    if (t.index_template.data_stream !== undefined) streams.push(t);
    else targets.push(t.name.slice('shipwatch-logs-'.length));
  }
  return { targets: targets.sort(), streams };
}

export interface LogRetentionOptions extends RunOptions {
  /** Which of Shipwatch's templates to follow (a test narrows it to its own targets). */
  templatePattern?: string;
  /** Told once whether the cluster has ILM (the caller logs it once). */
  onIlm?: (available: boolean) => void;
}

/** One retention run over the pilot's indices and data streams. */
export async function cleanLogIndices(client: Client, o: LogRetentionOptions): Promise<RetentionReport> {
  const cutoff = retentionCutoffMs(o.nowMs ?? Date.now(), o.days);
  const { targets, streams } = await shipwatchLogTemplates(client, o.templatePattern, o.signal);
  const shapes = targets.flatMap((t) => [dailyLogShape(t), monthlyLogShape(t)]);
  const facts = await listIndices(client, targets.flatMap(logIndexPatterns), o.signal);
  const report: RetentionReport = { deleted: expiredIndices(facts, shapes, cutoff), rolledOver: [], ilmAttached: [] };
  await deleteIndices(client, report.deleted, o.signal);
  if (streams.length === 0) return report;

  report.ilm = await ilmAvailable(client, o.signal);
  o.onIlm?.(report.ilm);
  if (report.ilm) {
    await ensureLogsIlmPolicy(client, o.days, o.signal);
    for (const t of streams) if (await attachPolicy(client, t, o.signal)) report.ilmAttached.push(streamOf(t));
    return report;
  }
  for (const t of streams) {
    const stream = streamOf(t);
    const r = await client.indices.rollover(
      { alias: stream, conditions: { max_age: ROLLOVER_MAX_AGE, min_docs: 1 } },
      { signal: o.signal, ignore: [404] },
    );
    if ((r as { rolled_over?: boolean }).rolled_over === true) report.rolledOver.push(stream);
    const backing = await backingIndices(client, stream, o.signal);
    const expired = expiredBackingIndices(backing, cutoff);
    await deleteIndices(client, expired, o.signal);
    report.deleted.push(...expired);
  }
  return report;
}

function streamOf(t: StoredTemplate): string {
  const p = t.index_template.index_patterns;
  return Array.isArray(p) ? p[0]! : p;
}

/** A stream's backing indices, oldest first, with their creation dates; none when the stream does not exist yet. */
async function backingIndices(client: Client, stream: string, signal?: AbortSignal): Promise<Array<{ name: string; creationMs: number }>> {
  const resolved = await client.indices.resolveIndex({ name: stream, expand_wildcards: 'all' }, { signal, ignore: [404] });
  const found = resolved.data_streams?.find((d) => d.name === stream)?.backing_indices ?? [];
  const names = typeof found === 'string' ? [found] : found;
  if (names.length === 0) return [];
  const facts = new Map((await listIndices(client, [...names], signal)).map((f) => [f.name, f.creationMs]));
  return names.filter((n) => facts.has(n)).map((name) => ({ name, creationMs: facts.get(name)! }));
}

/**
 * Names the policy in a stream's template (as it stands, the operator's edits kept) and in its backing indices
 * already made; false when the template already named it.
 */
async function attachPolicy(client: Client, t: StoredTemplate, signal?: AbortSignal): Promise<boolean> {
  const body = t.index_template;
  if (lifecycleOf(body.template?.settings) === LOGS_ILM_POLICY) return false;
  const template = { ...(body.template ?? {}), settings: withLifecycleSetting(body.template?.settings, LOGS_ILM_POLICY) };
  await client.indices.putIndexTemplate({ name: t.name, ...body, template } as never, { signal });
  await client.indices.putSettings({ index: streamOf(t), settings: { 'index.lifecycle.name': LOGS_ILM_POLICY }, expand_wildcards: 'all' }, { signal, ignore: [404] });
  return true;
}

export interface RetentionJobOptions {
  /** What the program cleans: `logs` (pilot) or `spans` (collector); names the log lines and the counters. */
  what: 'logs' | 'spans';
  run: (signal: AbortSignal) => Promise<RetentionReport>;
  intervalMs: number;
  /** Wait before the first run: the program starts first. */
  firstDelayMs: number;
  registry: Registry;
  log: Logger;
}

/** Runs a retention run every `intervalMs` (the timers unref'd); close() stops it and waits for a run under way. */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private closed = false;
  private readonly deleted;
  private readonly failed;

  constructor(private readonly o: RetentionJobOptions) {
    this.deleted = counter(o.registry, { name: 'shipwatch_retention_deleted_indices_total', help: 'Indices deleted by retention runs', labelNames: ['what'] });
    this.failed = counter(o.registry, { name: 'shipwatch_retention_failed_runs_total', help: 'Retention runs that failed (tried again at the next interval)', labelNames: ['what'] });
  }

  start(): this {
    this.schedule(this.o.firstDelayMs);
    return this;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().then(() => undefined).finally(() => {
        this.running = undefined;
        this.schedule(this.o.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  /** One run now; never rejects (a failure is logged and counted). */
  async runOnce(): Promise<RetentionReport | undefined> {
    try {
      const r = await this.o.run(this.abort.signal);
      this.deleted.inc({ what: this.o.what }, r.deleted.length);
      if (r.deleted.length > 0 || r.rolledOver.length > 0 || r.ilmAttached.length > 0) {
        this.o.log.info(`retention run on ${this.o.what}`, { deleted: r.deleted, rolledOver: r.rolledOver, ilmPolicyAttached: r.ilmAttached });
      }
      return r;
    } catch (err) {
      if (this.abort.signal.aborted) return undefined;
      this.failed.inc({ what: this.o.what });
      this.o.log.warn(`retention run on ${this.o.what} failed; trying again in ${Math.round(this.o.intervalMs / 60_000)} min`, { error: esProblem(err) });
      return undefined;
    }
  }

  /** Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }
}

/** The hourly run (Jaeger's cleaner is usually a daily cron job; an hour keeps the overshoot small). */
export const RETENTION_INTERVAL_MS = 3_600_000;
/** The first run a minute after start, so a restarting program does not delete while starting. */
export const RETENTION_FIRST_DELAY_MS = 60_000;

/** The message said once when a data stream needs ILM and the cluster has none. */
export function noIlmMessage(): string {
  return 'this Elasticsearch has no ILM (_ilm/status has no handler): data streams are rolled over and their old backing indices deleted by Shipwatch\'s own retention run instead';
}

interface Closable {
  close(): Promise<void>;
}

/** The job bound to its own client (closed with it). */
function startJob(what: 'logs' | 'spans', days: number, makeClient: () => Client, run: (client: Client, signal: AbortSignal) => Promise<RetentionReport>, registry: Registry, log: Logger): Closable {
  const client = makeClient();
  const job = new RetentionJob({ what, run: (signal) => run(client, signal), intervalMs: RETENTION_INTERVAL_MS, firstDelayMs: RETENTION_FIRST_DELAY_MS, registry, log }).start();
  log.info(`retention on: ${what} indices older than ${days} days are deleted every hour`);
  let closing: Promise<void> | undefined;
  return { close: () => (closing ??= job.close().then(() => client.close())) };
}

/** The pilot's hourly run on the log indices, or undefined when ELASTICSEARCH_RETENTION_DAYS is unset. */
export function startLogRetention(days: number | undefined, makeClient: () => Client, registry: Registry, log: Logger): Closable | undefined {
  if (days === undefined) return undefined;
  const l = log.child({ component: 'retention' });
  let ilmSaid = false;
  const onIlm = (available: boolean): void => {
    if (available || ilmSaid) return;
    ilmSaid = true;
    l.warn(noIlmMessage());
  };
  return startJob('logs', days, makeClient, (client, signal) => cleanLogIndices(client, { days, signal, onIlm }), registry, l);
}

/** The collector's hourly run on the span indices, or undefined when ES_RETENTION_DAYS is unset. */
export function startSpanRetention(days: number | undefined, prefix: string, makeClient: () => Client, registry: Registry, log: Logger): Closable | undefined {
  if (days === undefined) return undefined;
  return startJob('spans', days, makeClient, (client, signal) => cleanSpanIndices(client, { days, prefix, signal }), registry, log.child({ component: 'retention' }));
}
