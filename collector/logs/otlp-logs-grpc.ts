/**
 * OTLP/gRPC logs: `opentelemetry.proto.collector.logs.v1.LogsService/Export`, served on the OTLP/gRPC port (4317)
 * beside TraceService. The request goes through the OTLP/HTTP receiver's protobuf decoder and records; the answer is
 * what the OTLP specification asks of a gRPC server:
 *
 * - an empty ExportLogsServiceResponse once every log output took the records
 * - INVALID_ARGUMENT for a message that does not decode or is not an ExportLogsServiceRequest (nothing written);
 *   RESOURCE_EXHAUSTED (not retryable) for one over COLLECTOR_GRPC_MAX_MESSAGE, from the gRPC server
 * - UNAVAILABLE with RetryInfo when the log outputs are behind (COLLECTOR_LOGS_MAX_IN_FLIGHT) or one failed the records
 */
import { swError } from '../../platform/errors.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { GrpcStatus, type GrpcAnswer, type RawService } from '../traces/receivers/grpc-server.js';
import type { LogIntake } from './log-intake.js';
import { decodeOtlpLogs } from './otlp-logs-decode.js';
import type { OtlpLogRecordEncoder } from './otlp-log-records.js';

export const OTLP_LOGS_SERVICE = 'opentelemetry.proto.collector.logs.v1.LogsService';

export interface OtlpLogsGrpcOptions {
  intake: LogIntake;
  encoder: OtlpLogRecordEncoder;
  retryAfterMs: number;
  registry: Registry;
}

const EMPTY_RESPONSE = Buffer.alloc(0);

export function otlpGrpcLogsService(options: OtlpLogsGrpcOptions): RawService {
  const { intake, encoder } = options;
  const labels = { protocol: 'otlp-grpc' };
  const requests = counter(options.registry, { name: 'shipwatch_collector_log_requests_received_total', help: 'OTLP log requests received, well-formed or not.', labelNames: ['protocol'] as const }).labels(labels);
  const decodeErrors = counter(options.registry, { name: 'shipwatch_collector_log_decode_errors_total', help: 'OTLP log requests refused whole: malformed, too large, or an unsupported encoding.', labelNames: ['protocol'] as const }).labels(labels);
  return {
    name: OTLP_LOGS_SERVICE,
    methods: {
      Export: async (request): Promise<GrpcAnswer> => {
        requests.inc();
        const decoded = decodeOtlpLogs(request, 'protobuf', encoder, Date.now());
        if (!decoded.ok) {
          decodeErrors.inc();
          return { ok: false, code: GrpcStatus.INVALID_ARGUMENT, message: swError('SW_BAD_REQUEST', `not an ExportLogsServiceRequest: ${decoded.malformed}`).message };
        }
        const outcome = await intake.hand(decoded.events, decoded.bytes, labels.protocol);
        if (outcome === 'busy') {
          const message = swError('SW_BUSY', `the log outputs are behind (COLLECTOR_LOGS_MAX_IN_FLIGHT): ${decoded.events.length} log records refused, retry later`).message;
          return { ok: false, code: GrpcStatus.UNAVAILABLE, retryAfterMs: options.retryAfterMs, message };
        }
        if (outcome === 'failed') {
          return { ok: false, code: GrpcStatus.UNAVAILABLE, retryAfterMs: options.retryAfterMs, message: swError('SW_OUTPUT_FAILED', 'a log output did not take the records, retry later').message };
        }
        return { ok: true, message: EMPTY_RESPONSE };
      },
    },
  };
}
