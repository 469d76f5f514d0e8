/**
 * OTLP/HTTP logs: `POST /v1/logs` on the OTLP/HTTP port (4318, beside `/v1/traces`), `application/json` or
 * `application/x-protobuf`, optionally gzip/deflate-compressed (COLLECTOR_OTLP_MAX_BODY, compressed and once
 * decompressed). Answers in the request's encoding, as the OTLP/HTTP specification asks:
 *
 * - 200 with an (empty) ExportLogsServiceResponse once every log output took the records
 * - 400 with a google.rpc.Status for a body that does not decode or is not an ExportLogsServiceRequest (nothing of it
 *   is written), 413 for a body over the limit, 415 for another content type or encoding, 405 for another method
 * - 503 with Retry-After when the log outputs are behind (COLLECTOR_LOGS_MAX_IN_FLIGHT), 502 when an output failed
 *   the records (both retried by OTLP clients)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { swError, type ErrorCode } from '../../platform/errors.js';
import { acceptRawBodies } from '../../platform/http/http-server.js';
import type { Logger } from '../../platform/log.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import type { OtlpEncoding } from '../traces/codecs/otlp/otlp-decode.js';
import { encodeExportTraceResponse, encodeRpcStatus } from '../traces/codecs/otlp/otlp-protobuf.js';
import { decodeContentEncoding, mediaType } from '../traces/receivers/http-body.js';
import type { LogIntake } from './log-intake.js';
import { decodeOtlpLogs } from './otlp-logs-decode.js';
import type { OtlpLogRecordEncoder } from './otlp-log-records.js';

export interface OtlpLogsHttpOptions {
  intake: LogIntake;
  encoder: OtlpLogRecordEncoder;
  maxBodyBytes: number;
  retryAfterMs: number;
  registry: Registry;
  log: Logger;
}

const CONTENT_TYPES: Record<string, OtlpEncoding> = { 'application/json': 'json', 'application/x-protobuf': 'protobuf' };
/** google.rpc.Code of each answer's status, for the Status body. */
const GRPC_CODE: Record<number, number> = { 400: 3, 405: 12, 413: 8, 415: 3, 500: 13, 502: 14, 503: 14 };

function encodingOf(req: FastifyRequest): OtlpEncoding | undefined {
  return CONTENT_TYPES[mediaType(req.headers['content-type'])];
}

/** An error answer from the registry's code: a google.rpc.Status in the request's encoding (JSON when it has none we speak). */
function refuse(reply: FastifyReply, encoding: OtlpEncoding | undefined, code: ErrorCode, detail: string, httpStatus?: number): FastifyReply {
  const err = swError(code, detail);
  const statusCode = httpStatus ?? err.status;
  void reply.status(statusCode);
  const rpcCode = GRPC_CODE[statusCode] ?? 2;
  if (encoding === 'protobuf') return reply.type('application/x-protobuf').send(Buffer.from(encodeRpcStatus(rpcCode, err.message)));
  return reply.type('application/json').send({ code: rpcCode, message: err.message });
}

/** Registers `POST /v1/logs` on `app` (the OTLP/HTTP receiver's server) in its own encapsulated scope. */
export async function registerOtlpLogsHttp(app: FastifyInstance, options: OtlpLogsHttpOptions): Promise<void> {
  const { intake, encoder } = options;
  const requests = counter(options.registry, { name: 'shipwatch_collector_log_requests_received_total', help: 'OTLP log requests received, well-formed or not.', labelNames: ['protocol'] as const });
  const decodeErrors = counter(options.registry, { name: 'shipwatch_collector_log_decode_errors_total', help: 'OTLP log requests refused whole: malformed, too large, or an unsupported encoding.', labelNames: ['protocol'] as const });
  const protocolOf = (encoding: OtlpEncoding): string => `otlp-${encoding}`;
  const retryAfter = String(Math.max(1, Math.ceil(options.retryAfterMs / 1000)));

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    acceptRawBodies(scope, '*');
    scope.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
      const encoding = encodingOf(req);
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        if (encoding) decodeErrors.inc({ protocol: protocolOf(encoding) });
        return refuse(reply, encoding, 'SW_PAYLOAD_TOO_LARGE', `body over ${options.maxBodyBytes} bytes (COLLECTOR_OTLP_MAX_BODY)`);
      }
      if ((err.statusCode ?? 500) < 500) return refuse(reply, encoding, 'SW_BAD_REQUEST', err.message, err.statusCode ?? 400);
      throw err; // not ours to word: the app's own handler answers it
    });

    scope.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url: '/v1/logs',
      handler: async (req, reply) => refuse(reply.header('allow', 'POST'), encodingOf(req), 'SW_BAD_REQUEST', `${req.method} is not allowed: POST an ExportLogsServiceRequest`, 405),
    });

    scope.post('/v1/logs', {
      bodyLimit: options.maxBodyBytes,
      onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
        if (encodingOf(req) !== undefined) return undefined;
        const type = mediaType(req.headers['content-type']);
        return refuse(reply, undefined, 'SW_UNSUPPORTED_MEDIA_TYPE', `"${type.slice(0, 100)}": POST /v1/logs takes application/json or application/x-protobuf`);
      },
    }, async (req, reply) => {
      const encoding = encodingOf(req)!;
      const protocol = protocolOf(encoding);
      requests.inc({ protocol });
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const body = await decodeContentEncoding(raw, req.headers['content-encoding'], options.maxBodyBytes);
      if (!body.ok) {
        decodeErrors.inc({ protocol });
        const code: ErrorCode = body.status === 413 ? 'SW_PAYLOAD_TOO_LARGE' : body.status === 415 ? 'SW_UNSUPPORTED_MEDIA_TYPE' : 'SW_BAD_REQUEST';
        return refuse(reply, encoding, code, body.message);
      }
      const decoded = decodeOtlpLogs(body.body, encoding, encoder, Date.now());
      if (!decoded.ok) {
        decodeErrors.inc({ protocol });
        return refuse(reply, encoding, 'SW_BAD_REQUEST', `not an ExportLogsServiceRequest: ${decoded.malformed}`);
      }
      const outcome = await intake.hand(decoded.events, decoded.bytes, protocol);
      if (outcome === 'busy') {
        return refuse(reply.header('retry-after', retryAfter), encoding, 'SW_BUSY', `the log outputs are behind (COLLECTOR_LOGS_MAX_IN_FLIGHT): ${decoded.events.length} log records refused, retry later`);
      }
      if (outcome === 'failed') return refuse(reply.header('retry-after', retryAfter), encoding, 'SW_OUTPUT_FAILED', 'a log output did not take the records, retry later');
      void reply.status(200);
      // ExportLogsServiceResponse has ExportTraceServiceResponse's layout: empty when everything was taken.
      if (encoding === 'protobuf') return reply.type('application/x-protobuf').send(Buffer.from(encodeExportTraceResponse(0, '')));
      return reply.type('application/json').send({});
    });
  });
}
