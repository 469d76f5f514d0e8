/**
 * Runs one container's `aliyun.monitoring.script` inside it (Engine API exec) and reads its standard output as
 * line protocol. Lines without a timestamp get the collection time; a bad line is reported (line number and
 * reason) and skipped while the good lines of the same output are kept. A non-zero exit is reported with its code
 * and the first line of standard error; a run past the timeout is killed by the exec helper.
 */
import type { EngineClient } from '../../core/engine/docker-client.js';
import { execInContainer } from '../../core/engine/exec.js';
import type { Logger } from '../../core/log.js';
import type { MetricPoint } from '../../core/model/metric-point.js';
import { counter, type Registry } from '../../core/self-metrics.js';
import { parseLineProtocol } from '../metrics/line-protocol-parser.js';

export interface ScriptMonitorOptions {
  client: EngineClient;
  containerId: string;
  containerName: string;
  command: string;
  timeoutMs: number;
  maxOutputBytes: number;
  hostProcDir?: string;
  /** Adds the container tags each point lacks. */
  decorate: (points: MetricPoint[]) => void;
  emit: (points: MetricPoint[]) => void;
  log: Logger;
  registry: Registry;
}

/** Reports at most this many bad lines per run in the log (all are counted). */
const LOGGED_FAILURES = 3;

export function scriptMonitorRun(options: ScriptMonitorOptions): () => Promise<void> {
  const { registry, log } = options;
  const runs = counter(registry, {
    name: 'shipwatch_monitoring_script_runs_total', help: 'Monitoring script runs by outcome.', labelNames: ['outcome'] as const,
  });
  const badLines = counter(registry, { name: 'shipwatch_monitoring_bad_lines_total', help: 'Line protocol lines of monitoring output that were skipped.' });
  const points = counter(registry, { name: 'shipwatch_monitoring_points_total', help: 'Points collected by monitoring.', labelNames: ['kind'] as const });
  const where = { container: options.containerName, command: options.command };

  return async () => {
    const timeNs = BigInt(Date.now()) * 1_000_000n;
    const result = await execInContainer(options.client, options.containerId, options.command, {
      timeoutMs: options.timeoutMs, maxOutputBytes: options.maxOutputBytes,
      ...(options.hostProcDir ? { hostProcDir: options.hostProcDir } : {}),
    });
    if (result.timedOut) {
      runs.inc({ outcome: 'timeout' });
      log.warn('monitoring script overran its timeout', { ...where, timeoutMs: options.timeoutMs, killed: result.killed });
    } else if (result.exitCode !== 0) {
      runs.inc({ outcome: 'failed' });
      const firstErr = result.stderr.split('\n', 1)[0]!.slice(0, 300);
      log.warn('monitoring script failed', { ...where, exitCode: result.exitCode, stderr: firstErr });
    } else runs.inc({ outcome: 'ok' });
    if (result.truncated) log.warn('monitoring script output cut', { ...where, maxOutputBytes: options.maxOutputBytes });

    // A cut output ends mid-line: drop the partial last line rather than report it as bad.
    const text = result.truncated ? result.stdout.slice(0, result.stdout.lastIndexOf('\n') + 1) : result.stdout;
    const parsed = parseLineProtocol(text, { defaultTimeNs: timeNs });
    if (parsed.failures.length > 0) {
      badLines.inc(parsed.failures.length);
      for (const f of parsed.failures.slice(0, LOGGED_FAILURES)) {
        log.warn('monitoring script printed a bad line: skipped', { ...where, line: f.line, reason: f.reason, text: f.text });
      }
      if (parsed.failures.length > LOGGED_FAILURES) log.warn('more bad lines skipped', { ...where, count: parsed.failures.length - LOGGED_FAILURES });
    }
    if (parsed.points.length > 0) {
      options.decorate(parsed.points);
      points.inc({ kind: 'script' }, parsed.points.length);
      options.emit(parsed.points);
    }
  };
}
