/**
 * What a failed Elasticsearch request means to a reader and to /health. A node that cannot be reached, does not
 * answer in time or answers 429/5xx is unavailable for now (503: come back later); anything else is a failure of
 * the request itself.
 *
 * Pure: no I/O, never throws.
 */
import { errors } from '@elastic/elasticsearch';
import { describe, swError, type ShipwatchError } from '../../platform/errors.js';
import { classifyRequestError } from './bulk-response.js';

const MAX_REASON_CHARS = 200;

/** How long a /health probe waits for Elasticsearch: below the one second a readiness probe waits by default. */
export const PROBE_TIMEOUT_MS = 800;

/** The client's error behind `err` (ours wrap it as `cause`), or `err` itself. */
function clientErrorOf(err: unknown): unknown {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof errors.ElasticsearchClientError) return e;
  }
  return err;
}

/**
 * A failure in a few words, for /health and logs: `unreachable (connect ECONNREFUSED …)`, `no answer in time (…)`,
 * `answered 503 (…)`.
 */
export function esProblem(err: unknown): string {
  const e = clientErrorOf(err);
  const reason = (text: string): string => (text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text);
  if (e instanceof errors.ResponseError) return `answered ${e.statusCode ?? 'without a status'} (${reason(describe(e))})`;
  if (e instanceof errors.TimeoutError) return `no answer in time (${reason(describe(e))})`;
  if (e instanceof errors.ConnectionError || e instanceof errors.NoLivingConnectionsError) return `unreachable (${reason(describe(e))})`;
  return reason(describe(err));
}

/** True when Elasticsearch is down or busy rather than refusing the request. */
export function isUnavailable(err: unknown): boolean {
  return classifyRequestError(clientErrorOf(err)).retry;
}

/**
 * A reader's error for a failed request: SW_STORAGE_UNAVAILABLE (503) while Elasticsearch is down or busy,
 * SW_STORE_FAILED otherwise; `what` names the request (`search on jaeger-span-*`).
 */
export function esReadError(what: string, err: unknown): ShipwatchError {
  return swError(isUnavailable(err) ? 'SW_STORAGE_UNAVAILABLE' : 'SW_STORE_FAILED', `Elasticsearch ${what}: ${esProblem(err)}`, err);
}
