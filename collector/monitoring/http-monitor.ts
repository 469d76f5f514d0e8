/**
 * Polls one container's `aliyun.monitoring.http` endpoint and turns its JSON into `httpjson_<container>` points.
 * A slow endpoint is cut at the timeout, a huge body at the output limit; an endpoint that is down, answers HTML,
 * a JSON scalar or an error status is reported (log + counter) and the next tick tries again.
 */
import type { Logger } from '../../platform/log.js';
import type { MetricPoint } from '../../model/metric-point.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { httpJsonMeasurement, parseHttpJson } from './http-json.js';

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

  return async () => {
    const timeNs = BigInt(Date.now()) * 1_000_000n;
    let body: string;
    try {
      const res = await fetch(options.url, { signal: AbortSignal.timeout(options.timeoutMs), headers: { accept: 'application/json' } });
      if (!res.ok) {
        await res.body?.cancel();
        return fail('status', `the endpoint answered ${res.status} ${res.statusText}`);
      }
      const read = await readLimited(res, options.maxBodyBytes);
      if (read.truncated) return fail('too_large', `the body is larger than ${options.maxBodyBytes} bytes`);
      body = read.text;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') return fail('timeout', `no answer within ${options.timeoutMs} ms`);
      return fail('unreachable', e.cause?.code ? `${e.message} (${e.cause.code})` : e.message);
    }
    const result = parseHttpJson(body, { measurement, tagKeys: options.tagKeys, tags: options.tags, timeNs });
    if (!result.ok) return fail('bad_body', result.reason);
    for (const w of result.warnings) options.log.warn('monitoring http body', { container: options.containerName, warning: w });
    if (result.points.length > 0) {
      points.inc({ kind: 'http' }, result.points.length);
      options.emit(result.points);
    }
    return 'ok';
  };
}

/** Reads at most `maxBytes` of a response body; stops (and cancels) past it. */
async function readLimited(res: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return { text: '', truncated: true };
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}
