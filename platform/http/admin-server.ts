/**
 * Each program's admin port: `/health` and `/metrics` (the program's registry in Prometheus text format). Programs
 * add their own routes through `configure`.
 *
 * `/health` answers 503 with the reasons when a check that makes the program unable to do its job fails (no
 * engine, a full queue), and 200 `{"status":"degraded", problems}` when only an output it buffers for is out of
 * reach: the program still accepts everything then, and an orchestrator that restarts or unroutes an unhealthy
 * instance must not do so for a backend outage the buffer rides out.
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
  /** What a failure means: 'unavailable' (default, 503) or 'degraded' (200, named in the answer). */
  impact?: 'unavailable' | 'degraded';
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
    const problems: Record<string, string> = {};
    for (const h of options.health) {
      let reason: string | undefined;
      try {
        reason = await h.check();
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      }
      if (reason !== undefined) (h.impact === 'degraded' ? problems : failures)[h.name] = reason;
    }
    const degraded = Object.keys(problems).length > 0;
    if (Object.keys(failures).length > 0) return reply.status(503).send({ status: 'unavailable', failures, ...(degraded ? { problems } : {}) });
    return reply.send(degraded ? { status: 'degraded', problems } : { status: 'ok' });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await options.registry.metrics();
    return reply.header('content-type', options.registry.contentType).send(body);
  });
  return app;
}
