/**
 * Runs one container's `aliyun.monitoring.script` inside it (Engine API exec) and reads its standard output as
 * line protocol. Lines without a timestamp get the collection time; a bad line is reported (line number and
 * reason) and skipped while the good lines of the same output are kept. A non-zero exit is reported with its code
 * and the first line of standard error, and what it printed is still read. A run past the timeout is stopped (with
 * the processes it started, see platform/engine/exec.ts); so is a run whose output passes the bound, since the rest
 * would be thrown away: the complete lines before the cut are kept.
 */
import type { EngineClient } from '../../platform/engine/docker-client.js';
import { execInContainer, type ExecResult } from '../../platform/engine/exec.js';
import { describe } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { MetricPoint } from '../../model/metric-point.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { parseLineProtocol } from '../metrics/line-protocol-parser.js';

export interface ScriptMonitorOptions {
  client: EngineClient;
  containerId: string;
  containerName: string;
  command: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Adds the container tags each point lacks. */
  decorate: (points: MetricPoint[]) => void;
  emit: (points: MetricPoint[]) => void;
  log: Logger;
  registry: Registry;
}

/** Reports at most this many bad lines per run in the log (all are counted). */
const LOGGED_FAILURES = 3;

export type ScriptOutcome = 'ok' | 'failed' | 'timeout' | 'too_large' | 'gone' | 'engine_error';

export function scriptMonitorRun(options: ScriptMonitorOptions): () => Promise<ScriptOutcome> {
  const { registry, log } = options;
  const runs = counter(registry, {
    name: 'shipwatch_monitoring_script_runs_total', help: 'Monitoring script runs by outcome.', labelNames: ['outcome'] as const,
  });
  const badLines = counter(registry, { name: 'shipwatch_monitoring_bad_lines_total', help: 'Line protocol lines of monitoring output that were skipped.' });
  const points = counter(registry, { name: 'shipwatch_monitoring_points_total', help: 'Points collected by monitoring.', labelNames: ['kind'] as const });
  const where = { container: options.containerName, command: options.command };

  return async () => {
    const timeNs = BigInt(Date.now()) * 1_000_000n;
    let result: ExecResult;
    try {
      result = await execInContainer(options.client, options.containerId, options.command, {
        timeoutMs: options.timeoutMs, maxOutputBytes: options.maxOutputBytes, stopOnOverflow: true,
      });
    } catch (err) {
      // 404 / 409: the container is gone or stopped between the tick and the exec; the watcher removes its tasks.
      const status = (err as { cause?: { statusCode?: number } }).cause?.statusCode;
      const outcome: ScriptOutcome = status === 404 || status === 409 ? 'gone' : 'engine_error';
      runs.inc({ outcome });
      if (outcome === 'gone') log.debug('monitoring script not run: the container is not running', where);
      else log.warn('monitoring script could not be run', { ...where, reason: describe(err) });
      return outcome;
    }
    const outcome = outcomeOf(result);
    runs.inc({ outcome });
    if (outcome === 'timeout') log.warn('monitoring script overran its timeout: stopped', { ...where, timeoutMs: options.timeoutMs, killed: result.killed });
    else if (outcome === 'too_large') {
      log.warn('monitoring script printed more than the output bound: stopped, the output cut', { ...where, maxOutputBytes: options.maxOutputBytes, killed: result.killed });
    } else if (outcome === 'failed') {
      const firstErr = result.stderr.split('\n', 1)[0]!.slice(0, 300);
      log.warn('monitoring script failed', { ...where, exitCode: result.exitCode, stderr: firstErr });
    }

    // A stopped output may end mid-line: drop the partial last line rather than report it as bad. (Standard output
    // is never cut without stopping the script; a long standard error is cut, which does not concern the lines.)
    const complete = result.exitCode !== null;
    const text = complete ? result.stdout : result.stdout.slice(0, result.stdout.lastIndexOf('\n') + 1);
    const parsed = parseLineProtocol(text, { defaultTimeNs: timeNs });
    if (parsed.failures.length > 0) {
      badLines.inc(parsed.failures.length);
      for (const f of parsed.failures.slice(0, LOGGED_FAILURES)) {
        log.warn('monitoring script printed a bad line: skipped', { ...where, line: f.line, column: f.column, reason: f.reason, text: f.text });
      }
      if (parsed.failures.length > LOGGED_FAILURES) log.warn('more bad lines skipped', { ...where, count: parsed.failures.length - LOGGED_FAILURES });
    }
    if (parsed.points.length > 0) {
      options.decorate(parsed.points);
      points.inc({ kind: 'script' }, parsed.points.length);
      options.emit(parsed.points);
    }
    return outcome;
  };
}

function outcomeOf(result: ExecResult): ScriptOutcome {
  if (result.timedOut) return 'timeout';
  if (result.overflowed) return 'too_large';
  return result.exitCode === 0 ? 'ok' : 'failed';
}
