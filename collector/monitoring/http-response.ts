/**
 * The `http_response` point of an `aliyun.monitoring.http` poll, named and numbered as Telegraf's `http_response`
 * input names them, so dashboards and alerts written for Telegraf read it unchanged:
 *
 * - tags `server` (the URL polled), `method`, `status_code` (when the server answered) and `result`;
 * - fields `response_time` (float, seconds until the answer's head; when the server answered), `http_response_code`
 *   (int, when it answered), `content_length` (int, body bytes read), `result_type` (string, the same word as the
 *   `result` tag) and `result_code` (int).
 *
 * Results and codes (Telegraf's table): success 0 (an HTTP answer, whatever its status), response_string_mismatch 1
 * and response_status_code_mismatch 6 (Telegraf's match options; the label has none, so never given here),
 * body_read_error 2 (the body could not be read whole, or is larger than MONITORING_MAX_OUTPUT), connection_failed 3
 * (any other network error), timeout 4 (no answer within MONITORING_TIMEOUT), dns_error 5 (the host name does not
 * resolve). Pure: no I/O, never throws.
 */
import { float, int, makePoint, str, type FieldValue, type MetricPoint } from '../../model/metric-point.js';

export const HTTP_RESPONSE_MEASUREMENT = 'http_response';

export const RESULT_CODES = {
  success: 0,
  response_string_mismatch: 1,
  body_read_error: 2,
  connection_failed: 3,
  timeout: 4,
  dns_error: 5,
  response_status_code_mismatch: 6,
} as const;

export type HttpResult = keyof typeof RESULT_CODES;

export interface HttpResponseFacts {
  /** The URL polled. */
  server: string;
  method: string;
  result: HttpResult;
  /** Present when the server answered. */
  answer?: { status: number; responseTimeS: number };
  /** Body bytes read (absent when no answer came). */
  contentLength?: number;
}

/** The point, with `tags` (the container's) added; Telegraf's own tags win a clash. */
export function httpResponsePoint(facts: HttpResponseFacts, tags: Readonly<Record<string, string>>, timeNs: bigint): MetricPoint {
  const own: Record<string, string> = { server: facts.server, method: facts.method, result: facts.result };
  if (facts.answer !== undefined) own.status_code = String(facts.answer.status);
  const fields: Array<[string, FieldValue]> = [];
  if (facts.answer !== undefined) {
    fields.push(['response_time', float(facts.answer.responseTimeS)], ['http_response_code', int(facts.answer.status)]);
  }
  if (facts.contentLength !== undefined) fields.push(['content_length', int(facts.contentLength)]);
  fields.push(['result_type', str(facts.result)], ['result_code', int(RESULT_CODES[facts.result])]);
  return makePoint(HTTP_RESPONSE_MEASUREMENT, { ...tags, ...own }, fields, timeNs);
}

/** Error codes of a name that does not resolve (getaddrinfo). */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA', 'EAI_FAIL']);

/** What a failed request (fetch's error, before any answer) was: timeout, dns_error or connection_failed. */
export function requestFailureResult(err: unknown): Extract<HttpResult, 'timeout' | 'dns_error' | 'connection_failed'> {
  const e = err as { name?: string; cause?: { code?: string; name?: string } } | undefined;
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || e?.cause?.code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (e?.cause?.code !== undefined && DNS_CODES.has(e.cause.code)) return 'dns_error';
  return 'connection_failed';
}
