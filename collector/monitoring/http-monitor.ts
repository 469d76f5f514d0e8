/**
 * Polls one container's `aliyun.monitoring.http` endpoint and turns its JSON into `httpjson_<container>` points.
 * A slow endpoint is cut at the timeout, a huge body at the output limit; an endpoint that is down, answers HTML,
 * a JSON scalar or an error status is reported (log + counter) and the next tick tries again.
 *
 * Every poll, whatever became of it, also gives one `http_response` point as Telegraf's `http_response` input does
 * (./http-response.ts): the endpoint's status, response time, body size and result, so a dashboard sees an endpoint
 * that is down, slow or failing and not only the absence of its JSON.
 */
import type { Logger } from '../../platform/log.js';
import type { MetricPoint } from '../../model/metric-point.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { httpJsonMeasurement, parseHttpJson } from './http-json.js';
import { httpResponsePoint, requestFailureResult, type HttpResponseFacts } from './http-response.js';

export interface HttpMonitorOptions {
  url: URL;
  tagKeys: string[];
  containerName: string;
  /** Tags every point gets unless it has them (container_name, docker_app, docker_service, host). */
  tags: Record<string, string>;
  timeoutMs: number;
  maxBodyBytes: number;
  emit: (points: MetricPoint[]) => void;
  log: Logger;
  registry: Registry;
}

export type HttpOutcome = 'ok' | 'status' | 'too_large' | 'timeout' | 'unreachable' | 'bad_body';

export function httpMonitorRun(options: HttpMonitorOptions): () => Promise<HttpOutcome> {
  const failures = counter(options.registry, {
    name: 'shipwatch_monitoring_http_failures_total', help: 'HTTP monitoring polls that gave no points.', labelNames: ['reason'] as const,
  });
  const points = counter(options.registry, { name: 'shipwatch_monitoring_points_total', help: 'Points collected by monitoring.', labelNames: ['kind'] as const });
  const measurement = httpJsonMeasurement(options.containerName);
  const fail = (reason: Exclude<HttpOutcome, 'ok'>, detail: string): HttpOutcome => {
    failures.inc({ reason });
    options.log.warn('monitoring http poll failed', { container: options.containerName, url: options.url.href, reason: detail });
    return reason;
  };

  const server = options.url.href;
  const respond = (timeNs: bigint, facts: Omit<HttpResponseFacts, 'server' | 'method'>): MetricPoint => {
    points.inc({ kind: 'http_response' });
    return httpResponsePoint({ server, method: 'GET', ...facts }, options.tags, timeNs);
  };

  return async () => {
    const timeNs = BigInt(Date.now()) * 1_000_000n;
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(options.url, { signal: AbortSignal.timeout(options.timeoutMs), headers: { accept: 'application/json' } });
    } catch (err) {
      const result = requestFailureResult(err);
      options.emit([respond(timeNs, { result })]);
      const e = err as Error & { cause?: { code?: string } };
      if (result === 'timeout') return fail('timeout', `no answer within ${options.timeoutMs} ms`);
      return fail('unreachable', e.cause?.code ? `${e.message} (${e.cause.code})` : e.message);
    }
    const answer = { status: res.status, responseTimeS: (performance.now() - started) / 1000 };
    // The body is read whatever the status, as Telegraf does, for content_length.
    const read = await readLimited(res, options.maxBodyBytes);
    if (!read.ok) {
      options.emit([respond(timeNs, { result: 'body_read_error', answer, contentLength: read.bytes })]);
      if (read.truncated) return fail('too_large', `the body is larger than ${options.maxBodyBytes} bytes`);
      const e = read.err as Error;
      if (e.name === 'TimeoutError') return fail('timeout', `the body was not read within ${options.timeoutMs} ms`);
      return fail('unreachable', `the body could not be read: ${e.message}`);
    }
    const response = respond(timeNs, { result: 'success', answer, contentLength: read.body.length });
    if (!res.ok) {
      options.emit([response]);
      return fail('status', `the endpoint answered ${res.status} ${res.statusText}`);
    }
    const result = parseHttpJson(read.body.toString('utf8'), { measurement, tagKeys: options.tagKeys, tags: options.tags, timeNs });
    if (!result.ok) {
      options.emit([response]);
      return fail('bad_body', result.reason);
    }
    for (const w of result.warnings) options.log.warn('monitoring http body', { container: options.containerName, warning: w });
    points.inc({ kind: 'http' }, result.points.length);
    options.emit([...result.points, response]);
    return 'ok';
  };
}

type BodyRead = { ok: true; body: Buffer } | { ok: false; bytes: number; truncated: boolean; err?: unknown };

/** Reads at most `maxBytes` of a response body; stops (and cancels) past it. Never throws. */
async function readLimited(res: Response, maxBytes: number): Promise<BodyRead> {
  if (!res.body) return { ok: true, body: Buffer.alloc(0) };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        return { ok: false, bytes: size, truncated: true };
      }
      chunks.push(value);
    }
  } catch (err) {
    return { ok: false, bytes: size, truncated: false, err };
  }
  return { ok: true, body: Buffer.concat(chunks) };
}
