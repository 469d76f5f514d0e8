/**
 * OTLP/gRPC traces (port 4317): `opentelemetry.proto.collector.trace.v1.TraceService/Export`. The request message
 * goes through the OTLP/HTTP receiver's protobuf decoder and translation; the answer is what the OTLP specification
 * asks of a gRPC server:
 *
 * - an empty ExportTraceServiceResponse, or its `partial_success` (rejected spans and why) when some spans could not
 *   be mapped while the others were taken
 * - INVALID_ARGUMENT for a message that does not decode, RESOURCE_EXHAUSTED for one over COLLECTOR_GRPC_MAX_MESSAGE
 *   or with more than COLLECTOR_OTLP_MAX_SPANS spans (not retryable: no RetryInfo)
 * - UNAVAILABLE with RetryInfo when span storage cannot keep up (the specification's throttling signal), INTERNAL
 *   when the spans could not be handed to it
 */
import type { Logger } from '../../../platform/log.js';
import type { SpanConsumer } from '../../../model/span.js';
import type { Registry } from '../../../platform/self-metrics.js';
import { decodeOtlpTraces } from '../codecs/otlp/otlp-decode.js';
import { encodeExportTraceResponse } from '../codecs/otlp/otlp-protobuf.js';
import { GrpcStatus, type GrpcAnswer, type RawService } from './grpc-server.js';
import { handOverSpansDurably, traceCounters } from './trace-receiver-metrics.js';

export const OTLP_TRACE_SERVICE = 'opentelemetry.proto.collector.trace.v1.TraceService';

export interface OtlpGrpcServiceOptions {
  consumer: SpanConsumer;
  registry: Registry;
  log: Logger;
  maxSpansPerRequest: number;
  retryAfterMs: number;
}

/** The TraceService, to serve on a gRPC server (grpc-server.ts). */
export function otlpGrpcTraceService(options: OtlpGrpcServiceOptions): RawService {
  const { consumer, log } = options;
  const c = traceCounters(options.registry, 'otlp-grpc');
  const refuse = (code: GrpcStatus, message: string): GrpcAnswer => {
    c.decodeErrors.inc();
    return { ok: false, code, message };
  };
  return {
    name: OTLP_TRACE_SERVICE,
    methods: {
      Export: async (request): Promise<GrpcAnswer> => {
        c.requests.inc();
        const decoded = decodeOtlpTraces(request, 'protobuf', options.maxSpansPerRequest);
        if (!decoded.ok) {
          return decoded.status === 413
            ? refuse(GrpcStatus.RESOURCE_EXHAUSTED, `${decoded.message} (COLLECTOR_OTLP_MAX_SPANS)`)
            : refuse(GrpcStatus.INVALID_ARGUMENT, `not an ExportTraceServiceRequest: ${decoded.message}`);
        }
        const { spans, rejected, errors } = decoded.translation;
        if (rejected > 0) c.rejectedSpans.inc(rejected);
        const outcome = await handOverSpansDurably(consumer, spans, c, log, 'an OTLP/gRPC request');
        if (outcome === 'failed') return { ok: false, code: GrpcStatus.INTERNAL, message: 'spans could not be handed to span storage' };
        if (outcome === 'busy') {
          return {
            ok: false, code: GrpcStatus.UNAVAILABLE, retryAfterMs: options.retryAfterMs,
            message: `span storage cannot keep up: ${spans.length} spans refused, retry later`,
          };
        }
        return { ok: true, message: Buffer.from(encodeExportTraceResponse(rejected, errors.join('; '))) };
      },
    },
  };
}
