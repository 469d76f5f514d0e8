/**
 * OTLP/HTTP traces (port 4318): `POST /v1/traces`, `application/json` or `application/x-protobuf`, optionally
 * gzip/deflate-compressed. Answers in the request's encoding, as the OTLP/HTTP specification asks:
 *
 * - 200 with an ExportTraceServiceResponse; its `partialSuccess` (`rejectedSpans`, `errorMessage`) counts the
 *   spans that could not be mapped (bad ids, times or values) while the others were taken
 * - 400 with a google.rpc.Status for a body that does not decode, 413 for a body over the limit or more spans than
 *   allowed, 415 for another content type or encoding, 405 for another method
 * - 503 with Retry-After when span storage cannot keep up (OTLP clients retry it)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { acceptRawBodies, ingestAccess, startHttpServer, type RunningHttpServer } from '../../../platform/http/http-server.js';
import { decodeContentEncoding, mediaType } from './http-body.js';
import { decodeOtlpTraces, type OtlpEncoding } from '../codecs/otlp/otlp-decode.js';
import { encodeExportTraceResponse, encodeRpcStatus } from '../codecs/otlp/otlp-protobuf.js';
import { handOverSpansDurably, traceCounters, type TraceCounters } from './trace-receiver-metrics.js';
import type { HttpTraceReceiverOptions } from './http-receiver-options.js';

export type OtlpHttpReceiverOptions = HttpTraceReceiverOptions;

const CONTENT_TYPES: Record<string, OtlpEncoding> = { 'application/json': 'json', 'application/x-protobuf': 'protobuf' };
/** google.rpc.Code values for the Status body. */
const GRPC_CODE: Record<number, number> = { 400: 3, 405: 12, 413: 8, 415: 3, 500: 13, 503: 14 };

function encodingOf(req: FastifyRequest): OtlpEncoding | undefined {
  return CONTENT_TYPES[mediaType(req.headers['content-type'])];
}

/** An error answer: a google.rpc.Status in the request's encoding (JSON when it has none we speak). */
function status(reply: FastifyReply, encoding: OtlpEncoding | undefined, httpStatus: number, message: string): FastifyReply {
  void reply.status(httpStatus);
  if (encoding === 'protobuf') {
    return reply.type('application/x-protobuf').send(Buffer.from(encodeRpcStatus(GRPC_CODE[httpStatus] ?? 2, message)));
  }
  return reply.type('application/json').send({ code: GRPC_CODE[httpStatus] ?? 2, message });
}

function success(reply: FastifyReply, encoding: OtlpEncoding, rejected: number, errorMessage: string): FastifyReply {
  void reply.status(200);
  if (encoding === 'protobuf') return reply.type('application/x-protobuf').send(Buffer.from(encodeExportTraceResponse(rejected, errorMessage)));
  const body = rejected > 0 || errorMessage !== '' ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage } } : {};
  return reply.type('application/json').send(body);
}

/**
 * Registers `POST /v1/traces` on `app` in its own encapsulated scope (raw-body parser, error mapping). Await it
 * (or the app's `ready()`) before serving.
 */
export async function registerOtlpHttpReceiver(app: FastifyInstance, options: OtlpHttpReceiverOptions): Promise<void> {
  const { consumer, log } = options;
  const counters: Record<OtlpEncoding, TraceCounters> = {
    json: traceCounters(options.registry, 'otlp-json'),
    protobuf: traceCounters(options.registry, 'otlp-protobuf'),
  };
  const retryAfter = String(Math.max(1, Math.ceil(options.retryAfterMs / 1000)));

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    acceptRawBodies(scope, '*');
    scope.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
      const encoding = encodingOf(req);
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        if (encoding) counters[encoding].decodeErrors.inc();
        return status(reply, encoding, 413, `body over ${options.maxBodyBytes} bytes (COLLECTOR_OTLP_MAX_BODY)`);
      }
      if ((err.statusCode ?? 500) < 500) return status(reply, encoding, err.statusCode ?? 400, err.message);
      throw err; // not ours to word: the app's own handler answers it
    });

    scope.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url: '/v1/traces',
      handler: async (req, reply) => status(reply.header('allow', 'POST'), encodingOf(req), 405, `${req.method} is not allowed: POST an ExportTraceServiceRequest`),
    });

    scope.post('/v1/traces', {
      bodyLimit: options.maxBodyBytes,
      onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
        if (encodingOf(req) === undefined) {
          const type = mediaType(req.headers['content-type']);
          return status(reply, undefined, 415, `"${type.slice(0, 100)}": POST /v1/traces takes application/json or application/x-protobuf`);
        }
        return undefined;
      },
    }, async (req, reply) => {
      const encoding = encodingOf(req)!;
      const c = counters[encoding];
      c.requests.inc();
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const body = await decodeContentEncoding(raw, req.headers['content-encoding'], options.maxBodyBytes);
      if (!body.ok) {
        c.decodeErrors.inc();
        return status(reply, encoding, body.status, body.message);
      }
      const decoded = decodeOtlpTraces(body.body, encoding, options.maxSpansPerRequest);
      if (!decoded.ok) {
        c.decodeErrors.inc();
        const limit = decoded.status === 413 ? ' (COLLECTOR_OTLP_MAX_SPANS)' : '';
        return status(reply, encoding, decoded.status, decoded.message + limit);
      }
      const { spans, rejected, errors } = decoded.translation;
      if (rejected > 0) c.rejectedSpans.inc(rejected);
      const outcome = await handOverSpansDurably(consumer, spans, c, log, 'an OTLP request');
      if (outcome === 'failed') return status(reply, encoding, 500, 'spans could not be handed to span storage');
      if (outcome === 'busy') {
        return status(reply.header('retry-after', retryAfter), encoding, 503, `span storage cannot keep up: ${spans.length} spans refused, retry later`);
      }
      return success(reply, encoding, rejected, errors.join('; '));
    });
  });
}

export type OtlpHttpReceiver = RunningHttpServer;

/**
 * A server of its own on `listen` (OTLP/HTTP's 4318) serving `POST /v1/traces`, and what `alsoServe` registers on it
 * (the collector's `POST /v1/logs`: collector/logs/otlp-logs-http.ts).
 */
export async function startOtlpHttpReceiver(
  options: OtlpHttpReceiverOptions & { listen: { host: string; port: number }; alsoServe?: (app: FastifyInstance) => Promise<void> },
): Promise<OtlpHttpReceiver> {
  return startHttpServer(
    { log: options.log, bodyLimitBytes: options.maxBodyBytes, listen: options.listen, access: ingestAccess(options.authToken) },
    async (app) => {
      await registerOtlpHttpReceiver(app, options);
      await options.alsoServe?.(app);
    },
  );
}
