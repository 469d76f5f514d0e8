/**
 * `shipwatch es-init`: everything the programs would create on Elasticsearch, created up front, for clusters where
 * programs may not manage templates (ELASTICSEARCH_INSTALL_TEMPLATES=false, a user without `manage_index_templates`).
 *
 * - Log index templates of the named targets (./log-index-templates.ts), for the configured rotation: a target's
 *   template, or with `datastream` its stream's. As the pilot does (./log-template-installer.ts), a template of
 *   this version or newer is left as it stands, and an optional part a cluster refuses is left out.
 * - Where data streams are kept `ELASTICSEARCH_RETENTION_DAYS` and the cluster has ILM: the `shipwatch-logs` policy
 *   (./ilm-policy.ts), named in each stream's template. Without ILM it says so: the pilot's hourly run cleans.
 * - The span index templates (./jaeger-indices.ts), put as the collector puts them.
 *
 * Running it again changes nothing that is up to date. Each step reports one line; the first Elasticsearch error
 * stops it (thrown with the node and Elasticsearch's answer).
 */
import type { Client } from '@elastic/elasticsearch';
import { swError } from '../../platform/errors.js';
import { ensureLogsIlmPolicy, ilmAvailable, lifecycleOf, LOGS_ILM_POLICY } from './ilm-policy.js';
import { jaegerIndexTemplates } from './jaeger-indices.js';
import { dataStreamName, dataStreamTemplate, simplerTemplate, targetTemplate, type LogIndexTemplate } from './log-index-templates.js';
import { esProblem } from './request-failure.js';
import { noIlmMessage } from './retention.js';

export interface EsInitLogs {
  client: Client;
  /** Where the client goes, for error messages. */
  where: string;
  targets: readonly string[];
  rotation: 'daily' | 'monthly' | 'none' | 'datastream';
  dataStreamNamespace: string;
  retentionDays?: number;
}

export interface EsInitSpans {
  client: Client;
  where: string;
  prefix: string;
  shards: number;
  replicas: number;
}

/** Wraps an Elasticsearch failure with the node asked and what it answered. */
function failed(where: string, step: string, err: unknown): Error {
  return swError('SW_OUTPUT_FAILED', `Elasticsearch at ${where}, ${step}: ${esProblem(err)}`, err);
}

/** Creates the log templates (and the ILM policy) of `o`; reports one line per step through `say`. */
export async function initLogs(o: EsInitLogs, say: (line: string) => void): Promise<void> {
  let ilm = false;
  if (o.rotation === 'datastream' && o.retentionDays !== undefined) {
    try {
      ilm = await ilmAvailable(o.client);
      if (ilm) say(`ILM policy ${LOGS_ILM_POLICY}: ${(await ensureLogsIlmPolicy(o.client, o.retentionDays)) ? 'put' : 'up to date'} (delete ${o.retentionDays} days after rollover)`);
      else say(noIlmMessage());
    } catch (err) {
      throw failed(o.where, 'ILM policy', err);
    }
  }
  for (const target of o.targets) {
    let t = o.rotation === 'datastream' ? dataStreamTemplate(dataStreamName(target, o.dataStreamNamespace)) : targetTemplate(target);
    if (ilm) t = { name: t.name, body: { ...t.body, template: { ...t.body.template, settings: { ...t.body.template.settings, 'index.lifecycle.name': LOGS_ILM_POLICY } } } };
    try {
      say(`log index template ${t.name} (${t.body.index_patterns.join(', ')}): ${await putLogTemplate(o.client, t, ilm)}`);
    } catch (err) {
      throw failed(o.where, `log index template ${t.name}`, err);
    }
  }
}

/** Puts `t` unless a template of its version or newer (naming the policy when `ilm`) is there; says which. */
async function putLogTemplate(client: Client, t: LogIndexTemplate, ilm: boolean): Promise<string> {
  const found = await client.indices.getIndexTemplate({ name: t.name }, { ignore: [404] });
  const stored = found.index_templates?.[0]?.index_template;
  const version = stored?.version;
  const named = lifecycleOf(stored?.template?.settings as Record<string, unknown> | undefined) === LOGS_ILM_POLICY;
  if (typeof version === 'number' && version >= t.body.version && (!ilm || named)) return `up to date (version ${version})`;
  for (let put: LogIndexTemplate | undefined = t; ;) {
    try {
      await client.indices.putIndexTemplate({ name: put.name, ...put.body } as never);
      return put === t ? `installed (version ${t.body.version})` : `installed (version ${t.body.version}, without a part this Elasticsearch lacks)`;
    } catch (err) {
      const body = (err as { meta?: { body?: unknown } }).meta?.body;
      put = simplerTemplate(put, body === undefined ? esProblem(err) : JSON.stringify(body));
      if (put === undefined) throw err;
    }
  }
}

/** Puts the span index templates (Jaeger's two and Shipwatch's two). */
export async function initSpans(o: EsInitSpans, say: (line: string) => void): Promise<void> {
  for (const t of jaegerIndexTemplates({ prefix: o.prefix, shards: o.shards, replicas: o.replicas })) {
    try {
      await o.client.indices.putIndexTemplate({ name: t.name, ...t.body } as never);
    } catch (err) {
      throw failed(o.where, `span index template ${t.name}`, err);
    }
    say(`span index template ${t.name} (${(t.body['index_patterns'] as string[]).join(', ')}): installed`);
  }
}
