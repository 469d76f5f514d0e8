/**
 * Jaeger remote sampling over HTTP: `GET /sampling?service=<name>` on COLLECTOR_SAMPLING_LISTEN (5778), where
 * Jaeger client SDKs ask first. As Jaeger 2.x's `remote_sampling` extension, every path of the port answers (old
 * SDKs ask `/?service=`, Jaeger 1.x's collector was asked `/api/sampling?service=`), in Jaeger 2.x's encoding
 * (./sampling-json.ts), and the port is open: SDKs send no credentials there.
 *
 * `service` must be given exactly once (`?service=` names the service ""): otherwise 400 with Jaeger's words, as
 * plain text.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import { startHttpServer, type RunningHttpServer } from '../http/http-server.js';
import { legacyStrategyJson } from './sampling-json.js';
import type { SamplingStrategy, SamplingStrategyProvider } from '../../model/sampling-strategy.js';

/** Answers a sampling request with `encode`'s JSON of the service's strategy, or Jaeger's 400 and 500. */
export function answerSampling(
  req: FastifyRequest,
  reply: FastifyReply,
  provider: SamplingStrategyProvider,
  encode: (strategy: SamplingStrategy) => string | undefined,
): FastifyReply {
  const queryStart = req.url.indexOf('?');
  const services = queryStart === -1 ? [] : new URLSearchParams(req.url.slice(queryStart + 1)).getAll('service');
  if (services.length !== 1) return plainError(reply, 400, "'service' parameter must be provided once");
  const body = encode(provider.strategyFor(services[0]!));
  if (body === undefined) return plainError(reply, 500, 'cannot marshall to JSON');
  // Bytes, so that the content type stays Jaeger's (fastify adds a charset to a JSON type sent as a string).
  return reply.status(200).header('content-type', 'application/json').send(Buffer.from(body));
}

/** Go's http.Error: the text and a newline, as plain text. */
function plainError(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.status(status).header('content-type', 'text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(`${text}\n`);
}

export function startSamplingHttpServer(options: {
  listen: { host: string; port: number };
  provider: SamplingStrategyProvider;
  log: Logger;
}): Promise<RunningHttpServer> {
  return startHttpServer({ listen: options.listen, log: options.log }, (app) => {
    const handler = (req: FastifyRequest, reply: FastifyReply): FastifyReply => answerSampling(req, reply, options.provider, legacyStrategyJson);
    app.all('/', handler);
    app.all('/*', handler);
  });
}
