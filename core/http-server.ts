/**
 * One way to make an HTTP server: fastify with Shipwatch's error envelope, raw-body parsers for the binary
 * protocols, and a listen helper that reports the bound port (tests listen on port 0).
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import { ERRORS, ShipwatchError } from './errors.js';
import type { Logger } from './log.js';

export interface HttpServerOptions {
  /** Largest accepted request body, bytes. */
  bodyLimitBytes?: number;
  log: Logger;
}

export function createHttpServer(options: HttpServerOptions, extra: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes ?? 16 * 1024 * 1024,
    ...extra,
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof ShipwatchError) {
      void reply.status(err.status).send({ error: err.code, message: err.message });
      return;
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      // Never the user's mistake: logged with its detail, answered without internals.
      options.log.error('request failed', { err });
      void reply.status(status).send({ error: 'SW_INTERNAL', message: ERRORS.SW_INTERNAL.message.replace('%s', 'see the server log') });
      return;
    }
    void reply.status(status).send({ error: err.code ?? 'SW_BAD_REQUEST', message: err.message });
  });
  return app;
}

/** Buffers any content type not otherwise parsed (binary protocols decode the raw bytes themselves). */
export function acceptRawBodies(app: FastifyInstance, contentTypes: string[] | '*'): void {
  app.addContentTypeParser(contentTypes, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}

export async function listen(app: FastifyInstance, where: { host: string; port: number }): Promise<number> {
  await app.listen({ host: where.host, port: where.port });
  return (app.server.address() as AddressInfo).port;
}

export interface RunningHttpServer {
  app: FastifyInstance;
  /** The bound port (the configured one, or the one the system chose for port 0). */
  port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

/** A server of its own on `where`, its routes registered by `register` before it listens. */
export async function startHttpServer(
  options: HttpServerOptions & { listen: { host: string; port: number } },
  register: (app: FastifyInstance) => Promise<void> | void,
): Promise<RunningHttpServer> {
  const app = createHttpServer(options);
  await register(app);
  const port = await listen(app, options.listen);
  let closed: Promise<void> | undefined;
  return { app, port, close: () => (closed ??= app.close()) };
}
