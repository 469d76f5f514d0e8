/**
 * Each program's admin port: `/health` (200, or 503 with the reasons of the checks that fail) and `/metrics`
 * (the program's registry in Prometheus text format). Programs add their own routes through `configure`.
 */
import type { FastifyInstance } from 'fastify';
import { createHttpServer, listen } from './http-server.js';
import type { Logger } from './log.js';
import type { Registry } from './self-metrics.js';

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

export async function startAdminServer(options: {
  listen: { host: string; port: number };
  registry: Registry;
  health: HealthCheck[];
  log: Logger;
  configure?: (app: FastifyInstance) => void | Promise<void>;
}): Promise<AdminServer> {
  const app = buildAdminApp(options);
  if (options.configure) await options.configure(app);
  const port = await listen(app, options.listen);
  let closed: Promise<void> | undefined;
  return { app, port, close: () => (closed ??= app.close()) };
}

export function buildAdminApp(options: { registry: Registry; health: HealthCheck[]; log: Logger }): FastifyInstance {
  const app = createHttpServer({ log: options.log });
  app.get('/health', async (_req, reply) => {
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
