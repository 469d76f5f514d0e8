/**
 * Jaeger collector's `POST /api/traces` (port 14268): the body is one Thrift binary `Batch` (jaeger-client's
 * HTTPSender, Jaeger's Java/Go HTTP senders), content type `application/x-thrift` or
 * `application/vnd.apache.thrift.binary`. Answers, as Jaeger does, 202 with no body when the spans are taken.
 *
 * Refusals: 415 for another content type (checked before the body is read), 413 for a body over the limit or more
 * spans than allowed, 400 naming the problem for a body that does not decode, 503 with Retry-After when span
 * storage cannot keep up. Each is counted.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { swError, type ErrorCode } from '../../../platform/errors.js';
import { acceptRawBodies, ingestAccess, startHttpServer, type RunningHttpServer } from '../../../platform/http/http-server.js';
import type { Logger } from '../../../platform/log.js';
import type { SpanConsumer } from '../../../model/span.js';
import type { Registry } from '../../../platform/self-metrics.js';
import { decodeJaegerBatch, type JaegerDecodeLimits } from '../../../model/jaeger-thrift/jaeger-thrift.js';
import { handOverSpansDurably, traceCounters } from './trace-receiver-metrics.js';
import { mediaType } from './http-body.js';

export const JAEGER_THRIFT_CONTENT_TYPES: readonly string[] = ['application/x-thrift', 'application/vnd.apache.thrift.binary'];

export interface JaegerHttpReceiverOptions {
  consumer: SpanConsumer;
  registry: Registry;
  log: Logger;
  maxBodyBytes: number;
  maxSpansPerBatch: number;
  /** Sent as Retry-After (whole seconds, at least 1) with a 503. */
  retryAfterMs: number;
  /** COLLECTOR_AUTH_TOKEN: every request to the receiver's server needs it as a bearer token; absent or '': open. */
  authToken?: string;
}


function refuse(reply: FastifyReply, code: ErrorCode, detail: string): FastifyReply {
  const err = swError(code, detail);
  return reply.status(err.status).send({ error: err.code, message: err.message });
}

/**
 * Registers `POST /api/traces` on `app`, in its own encapsulated scope: the raw-body parser and the error mapping
 * it installs do not reach the app's other routes. Await it (or the app's `ready()`) before serving.
 */
export async function registerJaegerHttpReceiver(app: FastifyInstance, options: JaegerHttpReceiverOptions): Promise<void> {
  const { consumer, log } = options;
  const counters = traceCounters(options.registry, 'jaeger-http');
  const limits: JaegerDecodeLimits = { maxSpans: options.maxSpansPerBatch };
  const retryAfter = String(Math.max(1, Math.ceil(options.retryAfterMs / 1000)));
  const accepted = new Set(JAEGER_THRIFT_CONTENT_TYPES);

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    acceptRawBodies(scope, '*');
    scope.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        counters.decodeErrors.inc();
        return refuse(reply, 'SW_PAYLOAD_TOO_LARGE', `body over ${options.maxBodyBytes} bytes (COLLECTOR_JAEGER_MAX_BODY)`);
      }
      // Not ours to word: the app's own handler answers it.
      throw err;
    });

    scope.post('/api/traces', {
      bodyLimit: options.maxBodyBytes,
      onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
        counters.requests.inc();
        const type = mediaType(req.headers['content-type']);
        if (!accepted.has(type)) {
          counters.decodeErrors.inc();
          return refuse(reply, 'SW_UNSUPPORTED_MEDIA_TYPE', `"${type.slice(0, 100)}": POST /api/traces takes ${JAEGER_THRIFT_CONTENT_TYPES.join(' or ')}`);
        }
        return undefined;
      },
    }, async (req, reply) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (body.length === 0) {
        counters.decodeErrors.inc();
        return refuse(reply, 'SW_BAD_REQUEST', 'empty body: a Thrift binary Batch was expected');
      }
      const result = decodeJaegerBatch(body, 'binary', limits);
      if (!result.ok) {
        counters.decodeErrors.inc();
        if (result.reason === 'too_many_spans') return refuse(reply, 'SW_PAYLOAD_TOO_LARGE', `${result.error} (COLLECTOR_JAEGER_MAX_SPANS)`);
        return refuse(reply, 'SW_BAD_REQUEST', `malformed Jaeger Thrift batch: ${result.error}`);
      }
      const spans = result.spans;
      const outcome = await handOverSpansDurably(consumer, spans, counters, log, 'a Jaeger HTTP batch');
      if (outcome === 'failed') return refuse(reply, 'SW_STORE_FAILED', 'spans could not be handed to span storage');
      if (outcome === 'busy') {
        void reply.header('retry-after', retryAfter);
        return refuse(reply, 'SW_BUSY', `${spans.length} spans refused, retry later`);
      }
      return reply.status(202).send();
    });
  });
}

export type JaegerHttpReceiver = RunningHttpServer;

/** A server of its own on `listen` (Jaeger's 14268) serving `POST /api/traces`. */
export async function startJaegerHttpReceiver(options: JaegerHttpReceiverOptions & { listen: { host: string; port: number } }): Promise<JaegerHttpReceiver> {
  return startHttpServer(
    { log: options.log, bodyLimitBytes: options.maxBodyBytes, listen: options.listen, access: ingestAccess(options.authToken) },
    (app) => registerJaegerHttpReceiver(app, options),
  );
}
