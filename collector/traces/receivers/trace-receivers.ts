/**
 * Starts every trace receiver on its own port (the README's "Ports"): Jaeger agent UDP (compact 6831, binary 6832),
 * Jaeger HTTP 14268, Jaeger gRPC 14250 (with remote sampling's SamplingManager when a strategy provider is given),
 * Zipkin 9411, OTLP/HTTP 4318, OTLP/gRPC 4317 — all handing spans to one bounded span queue; the OTLP ports also
 * serve OTLP logs when `otlpLogs` is given (collector/logs/). The HTTP and gRPC ones
 * need COLLECTOR_AUTH_TOKEN when it is set; UDP datagrams carry no credentials (keep those ports on a trusted
 * network).
 */
import type { Config } from '../../../platform/config/load-config.js';
import type { Logger } from '../../../platform/log.js';
import type { SpanConsumer } from '../../../model/span.js';
import type { Registry } from '../../../platform/self-metrics.js';
import { startJaegerHttpReceiver } from './jaeger-http-receiver.js';
import { startJaegerUdpReceiver } from './jaeger-udp-receiver.js';
import { startOtlpHttpReceiver } from './otlp-http-receiver.js';
import { startZipkinReceiver } from './zipkin-receiver.js';
import { startGrpcServer, type RawService } from './grpc-server.js';
import { otlpGrpcTraceService } from './otlp-grpc-receiver.js';
import { jaegerGrpcCollectorService, jaegerGrpcSamplingService } from './jaeger-grpc-receiver.js';
import type { SamplingStrategyProvider } from '../../../model/sampling-strategy.js';
import type { FastifyInstance } from 'fastify';

/** What the OTLP ports serve for logs beside traces: `POST /v1/logs` and LogsService. */
export interface OtlpLogsReceivers {
  registerHttp(app: FastifyInstance): Promise<void>;
  grpcService: RawService;
}

export interface StartedReceiver {
  name: string;
  where: string;
  close(): Promise<void>;
}

export async function startTraceReceivers(
  config: Config['collector'],
  consumer: SpanConsumer,
  registry: Registry,
  log: Logger,
  sampling?: SamplingStrategyProvider,
  otlpLogs?: OtlpLogsReceivers,
): Promise<StartedReceiver[]> {
  const started: StartedReceiver[] = [];
  const at = (l: { host: string }, port: number, proto = 'tcp'): string => `${l.host}:${port}/${proto}`;
  try {
    for (const [protocol, listen] of [['compact', config.jaegerCompactListen], ['binary', config.jaegerBinaryListen]] as const) {
      const r = await startJaegerUdpReceiver({
        listen, protocol, consumer, registry, log: log.child({ receiver: `jaeger-${protocol}` }),
        maxSpansPerBatch: config.jaegerMaxSpansPerBatch, socketBufferBytes: config.jaegerUdpSocketBufferBytes,
      });
      started.push({ name: `Jaeger Thrift ${protocol} (UDP emitBatch)`, where: at(listen, r.port, 'udp'), close: () => r.close() });
    }
    const jaegerHttp = await startJaegerHttpReceiver({
      listen: config.jaegerHttpListen, consumer, registry, log: log.child({ receiver: 'jaeger-http' }),
      maxBodyBytes: config.jaegerMaxBodyBytes, maxSpansPerBatch: config.jaegerMaxSpansPerBatch, retryAfterMs: config.tracesRetryAfterMs,
      authToken: config.authToken,
    });
    started.push({ name: 'Jaeger HTTP POST /api/traces', where: at(config.jaegerHttpListen, jaegerHttp.port), close: () => jaegerHttp.close() });
    const zipkin = await startZipkinReceiver({
      listen: config.zipkinListen, consumer, registry, log: log.child({ receiver: 'zipkin' }),
      maxBodyBytes: config.zipkinMaxBodyBytes, maxSpansPerRequest: config.zipkinMaxSpansPerRequest, retryAfterMs: config.tracesRetryAfterMs,
      authToken: config.authToken,
    });
    started.push({ name: 'Zipkin POST /api/v2/spans, /api/v1/spans', where: at(config.zipkinListen, zipkin.port), close: () => zipkin.close() });
    const otlp = await startOtlpHttpReceiver({
      listen: config.otlpHttpListen, consumer, registry, log: log.child({ receiver: 'otlp-http' }),
      maxBodyBytes: config.otlpMaxBodyBytes, maxSpansPerRequest: config.otlpMaxSpansPerRequest, retryAfterMs: config.tracesRetryAfterMs,
      authToken: config.authToken, ...(otlpLogs ? { alsoServe: (app: FastifyInstance) => otlpLogs.registerHttp(app) } : {}),
    });
    started.push({ name: otlpLogs ? 'OTLP/HTTP POST /v1/traces, /v1/logs' : 'OTLP/HTTP POST /v1/traces', where: at(config.otlpHttpListen, otlp.port), close: () => otlp.close() });
    const otlpGrpc = await startGrpcServer({
      listen: config.otlpGrpcListen, maxMessageBytes: config.grpcMaxMessageBytes, authToken: config.authToken,
      log: log.child({ receiver: 'otlp-grpc' }),
      services: [otlpGrpcTraceService({
        consumer, registry, log: log.child({ receiver: 'otlp-grpc' }),
        maxSpansPerRequest: config.otlpMaxSpansPerRequest, retryAfterMs: config.tracesRetryAfterMs,
      }), ...(otlpLogs ? [otlpLogs.grpcService] : [])],
    });
    started.push({ name: otlpLogs ? 'OTLP/gRPC TraceService/Export, LogsService/Export' : 'OTLP/gRPC TraceService/Export', where: at(config.otlpGrpcListen, otlpGrpc.port), close: () => otlpGrpc.close() });
    const jaegerServices: RawService[] = [jaegerGrpcCollectorService({
      consumer, registry, log: log.child({ receiver: 'jaeger-grpc' }),
      maxSpansPerBatch: config.jaegerMaxSpansPerBatch, retryAfterMs: config.tracesRetryAfterMs,
    })];
    if (sampling !== undefined) jaegerServices.push(jaegerGrpcSamplingService(sampling));
    const jaegerGrpc = await startGrpcServer({
      listen: config.jaegerGrpcListen, maxMessageBytes: config.grpcMaxMessageBytes, authToken: config.authToken,
      log: log.child({ receiver: 'jaeger-grpc' }), services: jaegerServices,
    });
    const jaegerGrpcName = sampling === undefined ? 'Jaeger gRPC PostSpans' : 'Jaeger gRPC PostSpans, SamplingManager';
    started.push({ name: jaegerGrpcName, where: at(config.jaegerGrpcListen, jaegerGrpc.port), close: () => jaegerGrpc.close() });
  } catch (err) {
    await Promise.allSettled(started.map((r) => r.close()));
    throw err;
  }
  return started;
}
