/**
 * LogEvents as the pilot makes them, for output tests: each with its record JSON, target, time and deterministic id.
 */
import type { LogEvent } from '../../model/log-record.js';

export function makeLogEvents(count: number, options: { target: string; timestampMs: number; idPrefix?: string; extra?: (i: number) => Record<string, unknown> }): LogEvent[] {
  const out: LogEvent[] = [];
  for (let i = 0; i < count; i++) {
    const ts = options.timestampMs + i;
    const record = {
      '@timestamp': new Date(ts).toISOString(),
      message: `line ${i}`,
      stream: 'stdout',
      source: 'stdout',
      target: options.target,
      docker_container: 'app-1',
      docker_container_id: 'c0ffee',
      ...(options.extra?.(i) ?? {}),
    };
    const message = `line ${i}`;
    out.push({
      json: JSON.stringify(record),
      target: options.target,
      timestampMs: ts,
      id: `${options.idPrefix ?? 'c0ffee-stdout'}-${i}`,
      containerId: 'c0ffee',
      containerName: 'app-1',
      app: 'app',
      service: 'web',
      text: message,
    });
  }
  return out;
}
