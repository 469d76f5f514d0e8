/**
 * Zipkin's collector API (port 9411): `POST /api/v2/spans` with a JSON array (`application/json`) or proto3
 * `ListOfSpans` (`application/x-protobuf`), and `POST /api/v1/spans` with v1 JSON; gzip or deflate bodies.
 * Answers, as Zipkin does, 202 with no body when the spans are taken.
 *
 * Refusals: 415 for another content type or encoding (v1 Thrift included), 413 for a body over the limit or
 * more spans than allowed, 400 naming the problem for a body or span that does not decode, 503 with Retry-After
 * when span storage cannot keep up. Each is counted.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { swError, type ErrorCode } from '../../../platform/errors.js';
import { acceptRawBodies, ingestAccess, startHttpServer, type RunningHttpServer } from '../../../platform/http/http-server.js';
import { decodeContentEncoding, mediaType } from './http-body.js';
import { handOverSpansDurably, traceCounters, type TraceCounters } from './trace-receiver-metrics.js';
import { decodeZipkin, type ZipkinFormat } from '../codecs/zipkin/zipkin-decode.js';
import type { HttpTraceReceiverOptions } from './http-receiver-options.js';

export type ZipkinReceiverOptions = HttpTraceReceiverOptions;

const STATUS_CODE: Record<number, ErrorCode> = { 400: 'SW_BAD_REQUEST', 413: 'SW_PAYLOAD_TOO_LARGE', 415: 'SW_UNSUPPORTED_MEDIA_TYPE' };

function refuse(reply: FastifyReply, code: ErrorCode, detail: string): FastifyReply {
  const err = swError(code, detail);
  return reply.status(err.status).send({ error: err.code, message: err.message });
}

/** The format of a request, or undefined when its content type is not one Zipkin's route takes. */
function formatOf(req: FastifyRequest, version: 'v1' | 'v2'): ZipkinFormat | undefined {
  const type = mediaType(req.headers['content-type']);
  if (type === '' || type === 'application/json') return version === 'v1' ? 'v1-json' : 'v2-json';
  if (type === 'application/x-protobuf' && version === 'v2') return 'v2-protobuf';
  return undefined;
}

/**
 * Registers the Zipkin routes on `app` in their own encapsulated scope (raw-body parser, error mapping). Await it
 * (or the app's `ready()`) before serving.
 */
export async function registerZipkinReceiver(app: FastifyInstance, options: ZipkinReceiverOptions): Promise<void> {
  const { consumer, log } = options;
  const counters: Record<ZipkinFormat, TraceCounters> = {
    'v2-json': traceCounters(options.registry, 'zipkin-v2-json'),
    'v2-protobuf': traceCounters(options.registry, 'zipkin-v2-protobuf'),
    'v1-json': traceCounters(options.registry, 'zipkin-v1-json'),
  };
  const retryAfter = String(Math.max(1, Math.ceil(options.retryAfterMs / 1000)));

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    acceptRawBodies(scope, '*');
    scope.setErrorHandler((err: Error & { code?: string }, req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        const format = formatOf(req, req.url.startsWith('/api/v1/') ? 'v1' : 'v2');
        if (format) counters[format].decodeErrors.inc();
        return refuse(reply, 'SW_PAYLOAD_TOO_LARGE', `body over ${options.maxBodyBytes} bytes (COLLECTOR_ZIPKIN_MAX_BODY)`);
      }
      throw err; // not ours to word: the app's own handler answers it
    });

    for (const version of ['v1', 'v2'] as const) {
      scope.post(`/api/${version}/spans`, {
        bodyLimit: options.maxBodyBytes,
        onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
          if (formatOf(req, version) === undefined) {
            const type = mediaType(req.headers['content-type']);
            const takes = version === 'v2' ? 'application/json or application/x-protobuf' : 'application/json';
            return refuse(reply, 'SW_UNSUPPORTED_MEDIA_TYPE', `"${type.slice(0, 100)}": POST /api/${version}/spans takes ${takes}`);
          }
          return undefined;
        },
      }, async (req, reply) => {
        const format = formatOf(req, version)!;
        const c = counters[format];
        c.requests.inc();
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const body = await decodeContentEncoding(raw, req.headers['content-encoding'], options.maxBodyBytes);
        if (!body.ok) {
          c.decodeErrors.inc();
          return refuse(reply, STATUS_CODE[body.status]!, body.message);
        }
        const decoded = decodeZipkin(body.body, format, options.maxSpansPerRequest);
        if (!decoded.ok) {
          c.decodeErrors.inc();
          const limit = decoded.status === 413 ? ' (COLLECTOR_ZIPKIN_MAX_SPANS)' : '';
          return refuse(reply, STATUS_CODE[decoded.status]!, decoded.message + limit);
        }
        const spans = decoded.spans;
        const outcome = await handOverSpansDurably(consumer, spans, c, log, 'a Zipkin request');
        if (outcome === 'failed') return refuse(reply, 'SW_STORE_FAILED', 'spans could not be handed to span storage');
        if (outcome === 'busy') {
          void reply.header('retry-after', retryAfter);
          return refuse(reply, 'SW_BUSY', `${spans.length} spans refused, retry later`);
        }
        return reply.status(202).send();
      });
    }
  });
}

export type ZipkinReceiver = RunningHttpServer;

/** A server of its own on `listen` (Zipkin's 9411). */
export async function startZipkinReceiver(options: ZipkinReceiverOptions & { listen: { host: string; port: number } }): Promise<ZipkinReceiver> {
  return startHttpServer(
    { log: options.log, bodyLimitBytes: options.maxBodyBytes, listen: options.listen, access: ingestAccess(options.authToken) },
    (app) => registerZipkinReceiver(app, options),
  );
}
