/**
 * Each program's admin port: `/health` (200, or 503 with the reasons of the checks that fail) and `/metrics`
 * (the program's registry in Prometheus text format). Programs add their own routes through `configure`.
 *
 * With ADMIN_AUTH_TOKEN set, every route but `/health` needs it, a route added through `configure` included
 * (and so does a path naming no route); `/health` stays open for probes. A route that takes pushed data says
 * `config: { access: 'ingest' }` and needs COLLECTOR_AUTH_TOKEN instead.
 */
import type { FastifyInstance } from 'fastify';
import type { AccessTokens } from './http-auth.js';
import { createHttpServer, listen } from './http-server.js';
import type { Logger } from '../log.js';
import type { Registry } from '../self-metrics.js';

export interface HealthCheck {
  name: string;
  /** undefined when healthy, else the reason. */
  check(): Promise<string | undefined> | string | undefined;
}

export interface AdminServer {
  app: FastifyInstance;
  port: number;
  close(): Promise<void>;
}

export interface AdminAppOptions {
  registry: Registry;
  health: HealthCheck[];
  log: Logger;
  /** ADMIN_AUTH_TOKEN, and COLLECTOR_AUTH_TOKEN for the ingest routes; absent or '': open. */
  tokens?: Partial<AccessTokens>;
}

export async function startAdminServer(options: AdminAppOptions & {
  listen: { host: string; port: number };
  configure?: (app: FastifyInstance) => void | Promise<void>;
}): Promise<AdminServer> {
  const app = buildAdminApp(options);
  if (options.configure) await options.configure(app);
  const port = await listen(app, options.listen);
  let closed: Promise<void> | undefined;
  return { app, port, close: () => (closed ??= app.close()) };
}

export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  const app = createHttpServer({ log: options.log, access: { tokens: options.tokens ?? {}, defaultAccess: 'admin' } });
  app.get('/health', { config: { access: 'open' } }, async (_req, reply) => {
    const failures: Record<string, string> = {};
    for (const h of options.health) {
      try {
        const reason = await h.check();
        if (reason !== undefined) failures[h.name] = reason;
      } catch (err) {
        failures[h.name] = err instanceof Error ? err.message : String(err);
      }
    }
    if (Object.keys(failures).length > 0) return reply.status(503).send({ status: 'unavailable', failures });
    return reply.send({ status: 'ok' });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await options.registry.metrics();
    return reply.header('content-type', options.registry.contentType).send(body);
  });
  return app;
}
