/**
 * Reading an Elasticsearch answer, item by item (Vector's response classification): each bulk item is delivered,
 * worth retrying (429 or 5xx, the node was busy or failing), or rejected for its content (a mapping conflict, a
 * malformed document: any other 4xx) and so a dead letter. Whole-request failures are classified the same way.
 *
 * Pure: no I/O, never throws.
 */
import { errors } from '@elastic/elasticsearch';
import { parseRetryAfterMs, type RetryVerdict } from '../../delivery/retry.js';

export type ItemOutcome =
  | { kind: 'delivered'; index: string }
  | { kind: 'retry'; status: number; reason: string }
  | { kind: 'rejected'; status: number; index: string; reason: string };

interface BulkItemResult {
  _index?: string;
  status?: number;
  error?: { type?: string; reason?: string | null; caused_by?: { type?: string; reason?: string | null } } | string;
}

function reasonOf(error: BulkItemResult['error']): string {
  if (error === undefined) return 'unknown error';
  if (typeof error === 'string') return error;
  const head = `${error.type ?? 'error'}: ${error.reason ?? ''}`.trim();
  const cause = error.caused_by ? ` (caused by ${error.caused_by.type ?? 'error'}: ${error.caused_by.reason ?? ''})` : '';
  return head + cause;
}

/** The status every HTTP client treats as "come back later". */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * One outcome per sent document, in request order. A response that does not account for every item (fewer items than
 * sent, a missing body) makes the unaccounted ones retryable: re-sending is safe because ids are deterministic.
 */
export function classifyBulkItems(body: unknown, sent: number, opType: 'index' | 'create'): ItemOutcome[] {
  const items = (body as { items?: Array<Record<string, BulkItemResult>> } | undefined)?.items;
  const out: ItemOutcome[] = [];
  for (let i = 0; i < sent; i++) {
    const wrapper = items?.[i];
    const item = wrapper ? (wrapper[opType] ?? Object.values(wrapper)[0]) : undefined;
    if (item === undefined || typeof item.status !== 'number') {
      out.push({ kind: 'retry', status: 0, reason: 'no result for this item in the bulk response' });
      continue;
    }
    const status = item.status;
    const index = item._index ?? '';
    if (status >= 200 && status < 300) out.push({ kind: 'delivered', index });
    // A create that finds the same deterministic id already stored (data streams) is a replay: it is there.
    else if (status === 409 && opType === 'create') out.push({ kind: 'delivered', index });
    else if (isTransientStatus(status)) out.push({ kind: 'retry', status, reason: reasonOf(item.error) });
    else out.push({ kind: 'rejected', status, index, reason: reasonOf(item.error) });
  }
  return out;
}

/**
 * Whole-request failures: connection refused/reset, timeouts, a half-written answer, 429 and 5xx are transient
 * (honouring `Retry-After`); anything else is permanent.
 */
export function classifyRequestError(err: unknown): RetryVerdict {
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? 0;
    if (!isTransientStatus(status)) return { retry: false };
    const retryAfterMs = parseRetryAfterMs(err.headers?.['retry-after']);
    return retryAfterMs === undefined ? { retry: true } : { retry: true, retryAfterMs };
  }
  if (
    err instanceof errors.ConnectionError ||
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoLivingConnectionsError ||
    err instanceof errors.DeserializationError
  ) {
    return { retry: true };
  }
  return { retry: false };
}

/** The HTTP status of a failed request, 0 when it never got one. */
export function requestErrorStatus(err: unknown): number {
  return err instanceof errors.ResponseError ? (err.statusCode ?? 0) : 0;
}
