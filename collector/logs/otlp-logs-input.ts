/**
 * The collector's OTLP logs: the log outputs of LOGGING_OUTPUT (logs/outputs/, the pilot's; in `all` the very same
 * ones), the intake bounding what waits for them, and the receivers the OTLP ports serve beside traces
 * (`POST /v1/logs` on the OTLP/HTTP port, LogsService/Export on the OTLP/gRPC port).
 *
 * Close order (after the receivers stopped accepting): wait for the records handed out to be taken (bounded), then
 * close the outputs (in `all`, the runtime closes them after every program).
 */
import { openLogOutputs } from '../../logs/outputs/log-outputs.js';
import type { Runtime } from '../../platform/runtime.js';
import type { Registry } from '../../platform/self-metrics.js';
import type { OtlpLogsReceivers } from '../traces/receivers/trace-receivers.js';
import { LogIntake } from './log-intake.js';
import { OtlpLogRecordEncoder } from './otlp-log-records.js';
import { otlpGrpcLogsService } from './otlp-logs-grpc.js';
import { registerOtlpLogsHttp } from './otlp-logs-http.js';

export interface OtlpLogsInput {
  receivers: OtlpLogsReceivers;
  /** For /health: why a log output does not take records now. */
  problem(): string | undefined;
  summary: string[];
  close(drainTimeoutMs: number): Promise<void>;
}

export async function openOtlpLogsInput(runtime: Runtime, registry: Registry, hostName: string): Promise<OtlpLogsInput> {
  const { config, log } = runtime;
  const c = config.collector;
  const outputs = await openLogOutputs(runtime, registry);
  const ilog = log.child({ component: 'otlp-logs' });
  const intake = new LogIntake({ sinks: outputs.sinks, maxInFlightBytes: c.logsMaxInFlightBytes, registry, log: ilog });
  const encoder = new OtlpLogRecordEncoder({ target: c.otlpLogsTarget, hostName });
  return {
    receivers: {
      registerHttp: (app) => registerOtlpLogsHttp(app, { intake, encoder, maxBodyBytes: c.otlpMaxBodyBytes, retryAfterMs: c.tracesRetryAfterMs, registry, log: ilog }),
      grpcService: otlpGrpcLogsService({ intake, encoder, retryAfterMs: c.tracesRetryAfterMs, registry }),
    },
    problem: () => intake.problem(),
    summary: [
      config.program === 'all'
        ? `OTLP logs (target ${c.otlpLogsTarget}) to the pilot's log outputs`
        : `OTLP logs (target ${c.otlpLogsTarget}) to ${outputs.summary.map((s) => s.replace(/^output /, '')).join(', ')}`,
    ],
    close: async (drainTimeoutMs) => {
      const drained = await intake.drained(drainTimeoutMs);
      if (!drained) ilog.warn('log outputs did not take every OTLP log record in time; their clients had no answer and send them again');
      await outputs.close();
    },
  };
}
