/**
 * Jaeger's gRPC collector API (port 14250): `jaeger.api_v2.CollectorService/PostSpans`, what Jaeger's agents, the
 * OpenTelemetry Collector's Jaeger exporter and Envoy send, decoded by codecs/jaeger-proto into the same spans the
 * Thrift receivers make of the same batch. Answers an empty PostSpansResponse, or:
 *
 * - INVALID_ARGUMENT for a message that does not decode (Jaeger fails the whole request too)
 * - RESOURCE_EXHAUSTED for a message over COLLECTOR_GRPC_MAX_MESSAGE or a batch over COLLECTOR_JAEGER_MAX_SPANS
 * - UNAVAILABLE with RetryInfo when span storage cannot keep up, INTERNAL when the spans could not be handed to it
 *
 * With a strategy provider, the same port serves `jaeger.api_v2.SamplingManager/GetSamplingStrategy`.
 */
import type { Logger } from '../../../platform/log.js';
import type { SpanConsumer } from '../../../model/span.js';
import type { Registry } from '../../../platform/self-metrics.js';
import { decodePostSpansRequest } from '../codecs/jaeger-proto/jaeger-proto-decode.js';
import type { SamplingStrategyProvider } from '../../../model/sampling-strategy.js';
import { decodeSamplingStrategyParameters, encodeSamplingStrategyResponse } from '../../sampling/sampling-proto.js';
import { GrpcStatus, type GrpcAnswer, type RawService } from './grpc-server.js';
import { handOverSpansDurably, traceCounters } from './trace-receiver-metrics.js';

export const JAEGER_COLLECTOR_SERVICE = 'jaeger.api_v2.CollectorService';
export const JAEGER_SAMPLING_SERVICE = 'jaeger.api_v2.SamplingManager';

export interface JaegerGrpcServiceOptions {
  consumer: SpanConsumer;
  registry: Registry;
  log: Logger;
  maxSpansPerBatch: number;
  retryAfterMs: number;
}

const EMPTY = Buffer.alloc(0);

/** The CollectorService, to serve on a gRPC server (grpc-server.ts). */
export function jaegerGrpcCollectorService(options: JaegerGrpcServiceOptions): RawService {
  const { consumer, log } = options;
  const c = traceCounters(options.registry, 'jaeger-grpc');
  return {
    name: JAEGER_COLLECTOR_SERVICE,
    methods: {
      PostSpans: async (request): Promise<GrpcAnswer> => {
        c.requests.inc();
        const decoded = decodePostSpansRequest(request, options.maxSpansPerBatch);
        if (!decoded.ok) {
          c.decodeErrors.inc();
          return decoded.reason === 'too_many_spans'
            ? { ok: false, code: GrpcStatus.RESOURCE_EXHAUSTED, message: `${decoded.error} (COLLECTOR_JAEGER_MAX_SPANS)` }
            : { ok: false, code: GrpcStatus.INVALID_ARGUMENT, message: `not a PostSpansRequest: ${decoded.error}` };
        }
        const outcome = await handOverSpansDurably(consumer, decoded.spans, c, log, 'a Jaeger gRPC batch');
        if (outcome === 'failed') return { ok: false, code: GrpcStatus.INTERNAL, message: 'spans could not be handed to span storage' };
        if (outcome === 'busy') {
          return {
            ok: false, code: GrpcStatus.UNAVAILABLE, retryAfterMs: options.retryAfterMs,
            message: `span storage cannot keep up: ${decoded.spans.length} spans refused, retry later`,
          };
        }
        return { ok: true, message: EMPTY };
      },
    },
  };
}

/** The SamplingManager: a service's strategy from the provider, as Jaeger's SamplingStrategyResponse. */
export function jaegerGrpcSamplingService(provider: SamplingStrategyProvider): RawService {
  return {
    name: JAEGER_SAMPLING_SERVICE,
    methods: {
      GetSamplingStrategy: (request): GrpcAnswer => {
        const params = decodeSamplingStrategyParameters(request);
        if ('error' in params) return { ok: false, code: GrpcStatus.INVALID_ARGUMENT, message: `not a SamplingStrategyParameters: ${params.error}` };
        return { ok: true, message: encodeSamplingStrategyResponse(provider.strategyFor(params.serviceName)) };
      },
    },
  };
}
