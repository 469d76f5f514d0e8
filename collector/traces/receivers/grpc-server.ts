/**
 * The gRPC side of the trace receivers: one `@grpc/grpc-js` server per port, serving unary methods whose messages
 * reach the handler as their raw bytes (identity (de)serializers: the receivers decode protobuf themselves, with the
 * same decoders the HTTP receivers use).
 *
 * - grpc-js takes care of HTTP/2, framing and `grpc-encoding` (gzip, deflate; another encoding is refused with
 *   UNIMPLEMENTED before a handler sees the call); a message over `maxMessageBytes` (once uncompressed) is refused
 *   with RESOURCE_EXHAUSTED
 * - with a token, every call needs `authorization: Bearer <token>` metadata, else UNAUTHENTICATED (compared in
 *   constant time, as the HTTP receivers do)
 * - a refusal to retry later is UNAVAILABLE carrying a google.rpc.RetryInfo in `grpc-status-details-bin` (the OTLP
 *   specification's throttling signal; gRPC clients retry UNAVAILABLE anyway)
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../platform/log.js';
import { tokenMatches } from '../../../platform/http/http-auth.js';
import { ProtoWriter } from './grpc-proto-writer.js';

export { status as GrpcStatus } from '@grpc/grpc-js';

export type GrpcAnswer =
  | { ok: true; message: Buffer }
  | { ok: false; code: grpc.status; message: string; retryAfterMs?: number };

/** A unary method: the request message's bytes in, an answer out. */
export type RawUnaryHandler = (request: Buffer, call: grpc.ServerUnaryCall<Buffer, Buffer>) => GrpcAnswer | Promise<GrpcAnswer>;

export interface RawService {
  /** Fully qualified, e.g. `jaeger.api_v2.CollectorService`. */
  name: string;
  methods: Record<string, RawUnaryHandler>;
}

export interface GrpcServerOptions {
  listen: { host: string; port: number };
  /** Largest message taken, once uncompressed. */
  maxMessageBytes: number;
  /** '' leaves the server open. */
  authToken: string;
  log: Logger;
  services: RawService[];
}

export interface RunningGrpcServer {
  port: number;
  close(): Promise<void>;
}

const identity = (b: Buffer): Buffer => b;

/** google.rpc.Status{code, message, details: [Any{RetryInfo{retry_delay}}]} for the `grpc-status-details-bin` trailer. */
export function retryInfoStatus(code: number, message: string, retryAfterMs: number): Buffer {
  const seconds = Math.floor(retryAfterMs / 1000);
  const nanos = (retryAfterMs % 1000) * 1e6;
  return new ProtoWriter()
    .varintField(1, code)
    .stringField(2, message)
    .messageField(3, (any) => any
      .stringField(1, 'type.googleapis.com/google.rpc.RetryInfo')
      .messageField(2, (info) => info.messageField(1, (d) => d.varintField(1, seconds).varintField(2, nanos))))
    .finish();
}

function bearer(metadata: grpc.Metadata): string | undefined {
  const values = metadata.get('authorization');
  if (values.length !== 1 || typeof values[0] !== 'string') return undefined;
  const m = /^Bearer +(.*)$/i.exec(values[0]);
  return m === null ? undefined : m[1]!.trim();
}

function errorOf(answer: Extract<GrpcAnswer, { ok: false }>): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (answer.retryAfterMs !== undefined) {
    metadata.set('grpc-status-details-bin', retryInfoStatus(answer.code, answer.message, answer.retryAfterMs));
  }
  return { code: answer.code, details: answer.message, metadata };
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const { log } = options;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    // An idle client's connection is let go after 10 minutes rather than held forever.
    'grpc.max_connection_idle_ms': 600_000,
  });
  for (const service of options.services) {
    const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(service.methods)) {
      definition[method] = {
        path: `/${service.name}/${method}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      } satisfies grpc.MethodDefinition<Buffer, Buffer>;
      implementation[method] = ((call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        if (options.authToken !== '' && !tokenMatches(bearer(call.metadata), options.authToken)) {
          const details = 'missing or wrong token: send "authorization: Bearer <COLLECTOR_AUTH_TOKEN>" metadata';
          callback({ code: grpc.status.UNAUTHENTICATED, details });
          return;
        }
        const request = call.request;
        if (request.length > options.maxMessageBytes) {
          const details = `message of ${request.length} bytes, over ${options.maxMessageBytes} (COLLECTOR_GRPC_MAX_MESSAGE)`;
          callback({ code: grpc.status.RESOURCE_EXHAUSTED, details });
          return;
        }
        let answered: GrpcAnswer | Promise<GrpcAnswer>;
        try {
          answered = handler(request, call);
        } catch (err) {
          answered = Promise.reject(err);
        }
        void Promise.resolve(answered).then(
          (answer) => (answer.ok ? callback(null, answer.message) : callback(errorOf(answer))),
          (err: unknown) => {
            log.error(`gRPC ${service.name}/${method} failed`, { err });
            callback({ code: grpc.status.INTERNAL, details: 'the request could not be handled' });
          },
        );
      }) as grpc.handleUnaryCall<Buffer, Buffer>;
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }
  const host = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host;
  const port = await new Promise<number>((resolve, reject) => {
    const address = `${host}:${options.listen.port}`;
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () => closed ??= new Promise<void>((resolve) => {
      // Calls in flight get a moment to be answered; then the connections are cut.
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2_000);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    }),
  };
}
