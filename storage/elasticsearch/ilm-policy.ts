/**
 * Index lifecycle management (ILM) for the pilot's data streams, where the cluster has it: one policy,
 * `shipwatch-logs`, rolls a stream's write index over after a day or 50 GB a primary shard, and deletes a backing
 * index `days` after its rollover; a stream's template (./log-index-templates.ts) names it in
 * `index.lifecycle.name`, so every backing index gets it. ILM is X-Pack's: a cluster without it (the OSS and
 * integration-test distributions) answers `_ilm/status` with no handler, and ./retention.ts cleans instead.
 *
 * The request bodies are pure; the few calls here only ask and put.
 */
import { errors, type Client } from '@elastic/elasticsearch';
import { swError } from '../../platform/errors.js';
import { esProblem } from './request-failure.js';

export const LOGS_ILM_POLICY = 'shipwatch-logs';
/** A day: the cleaner's granularity, so a backing index holds about one day and is deleted about `days` later. */
export const ROLLOVER_MAX_AGE = '1d';
/** Elastic's own recommendation for a shard (its built-in `logs` policy rolls over at the same size). */
export const ROLLOVER_MAX_PRIMARY_SHARD_SIZE = '50gb';

export interface IlmPolicyBody {
  policy: {
    _meta: Record<string, string>;
    phases: {
      hot: { actions: { rollover: { max_age: string; max_primary_shard_size: string } } };
      delete: { min_age: string; actions: { delete: Record<string, never> } };
    };
  };
}

/** `PUT _ilm/policy/shipwatch-logs` body: rollover by age and size, delete `days` after rollover. */
export function logsIlmPolicy(days: number): IlmPolicyBody {
  return {
    policy: {
      _meta: { managed_by: 'shipwatch', description: `Shipwatch pilot log data streams: rollover daily or at 50gb a primary shard, deleted ${days} days after rollover` },
      phases: {
        hot: { actions: { rollover: { max_age: ROLLOVER_MAX_AGE, max_primary_shard_size: ROLLOVER_MAX_PRIMARY_SHARD_SIZE } } },
        delete: { min_age: `${days}d`, actions: { delete: {} } },
      },
    },
  };
}

/** Whether a stored policy (`GET _ilm/policy/<name>`'s `policy`) already says what `wanted` says. */
export function samePolicy(stored: unknown, wanted: IlmPolicyBody): boolean {
  const phases = (stored as { phases?: Record<string, { min_age?: string; actions?: Record<string, unknown> }> } | undefined)?.phases;
  if (phases === undefined) return false;
  const rollover = phases['hot']?.actions?.['rollover'] as Record<string, unknown> | undefined;
  const want = wanted.policy.phases;
  return rollover?.['max_age'] === want.hot.actions.rollover.max_age
    && rollover?.['max_primary_shard_size'] === want.hot.actions.rollover.max_primary_shard_size
    && phases['delete']?.min_age === want.delete.min_age
    && phases['delete']?.actions?.['delete'] !== undefined;
}

/** Settings naming the policy, in the nested form `GET _index_template` answers and `PUT` takes. */
export function withLifecycleSetting(settings: Record<string, unknown> | undefined, policy: string): Record<string, unknown> {
  const s = { ...(settings ?? {}) };
  const index = { ...((s['index'] as Record<string, unknown> | undefined) ?? {}) };
  index['lifecycle'] = { ...((index['lifecycle'] as Record<string, unknown> | undefined) ?? {}), name: policy };
  s['index'] = index;
  delete s['index.lifecycle.name'];
  return s;
}

/** The policy a template's settings name, nested or flat; undefined when none. */
export function lifecycleOf(settings: Record<string, unknown> | undefined): string | undefined {
  const flat = settings?.['index.lifecycle.name'];
  if (typeof flat === 'string') return flat;
  const nested = ((settings?.['index'] as Record<string, unknown> | undefined)?.['lifecycle'] as Record<string, unknown> | undefined)?.['name'];
  return typeof nested === 'string' ? nested : undefined;
}

/**
 * Whether the cluster has ILM: `GET _ilm/status` answers. A cluster without X-Pack's ILM has no handler for it
 * (400, 404 or 405 with "no handler" / "Incorrect HTTP method"). Refused credentials (401, 403) and an unreachable
 * cluster are errors: they say nothing about ILM.
 */
export async function ilmAvailable(client: Client, signal?: AbortSignal): Promise<boolean> {
  try {
    await client.ilm.getStatus({}, { signal });
    return true;
  } catch (err) {
    if (err instanceof errors.ResponseError && [400, 404, 405].includes(err.statusCode ?? 0)) return false;
    throw swError('SW_OUTPUT_FAILED', `Elasticsearch _ilm/status: ${esProblem(err)}`, err);
  }
}

/** Puts the `shipwatch-logs` policy unless it already says the same; true when it was put. */
export async function ensureLogsIlmPolicy(client: Client, days: number, signal?: AbortSignal): Promise<boolean> {
  const wanted = logsIlmPolicy(days);
  const found = await client.ilm.getLifecycle({ name: LOGS_ILM_POLICY }, { signal, ignore: [404] });
  if (samePolicy((found as Record<string, { policy?: unknown }>)[LOGS_ILM_POLICY]?.policy, wanted)) return false;
  await client.ilm.putLifecycle({ name: LOGS_ILM_POLICY, ...wanted } as never, { signal });
  return true;
}
