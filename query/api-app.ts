/**
 * The query program's API server (port 16686): Jaeger's v1 and v3 APIs and its Monitor tab's metrics, the log and
 * time-series APIs and `/api/status`, behind the optional bearer token and CORS, and the web UI's static files
 * (public; with a Jaeger UI build, that UI at `/` and the web UI at `/ui/`). Built without listening, so tests drive
 * it with `app.inject()`.
 *
 * The token is checked by a hook of the scope every API route is registered in, so it covers each route of that
 * scope, one added later included, whatever the spelling of the URL that reached it (the server normalises it
 * before routing: platform/http/http-server.ts). A path under `/api/` that names no route is answered by the same scope
 * (401 without the token, 404 with it), so the API's shape cannot be probed without it. Outside the scope, the
 * UI's files stay public.
 *
 * Every error on an `/api/` path answers in Jaeger's shape (v1 envelope, or v3's `{error}` under `/api/v3/`):
 * unknown routes 404, malformed requests 400, a missing or wrong token 401; a storage failure 500, logged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ShipwatchError } from '../platform/errors.js';
import { presentedCredential, tokenMatches } from '../platform/http/http-auth.js';
import { createHttpServer } from '../platform/http/http-server.js';
import type { LogReader } from '../storage/log-search.js';
import type { Logger } from '../platform/log.js';
import type { SpanReader } from '../storage/span-storage.js';
import type { MetricReader } from '../storage/sqlite/metric-query.js';
import { sendApiError } from './jaeger/envelope.js';
import { registerJaegerV1Routes } from './jaeger/jaeger-v1-routes.js';
import { registerJaegerV3Routes } from './jaeger/jaeger-v3-routes.js';
import { registerLogRoutes } from './logs/log-routes.js';
import { registerMetricRoutes } from './metrics/metric-routes.js';
import { registerMonitorRoutes } from './monitor/monitor-routes.js';
import { createStatusSource, type StatusSource } from './status.js';
import { registerStatusRoutes } from './status-routes.js';
import { registerSamplingRoutes } from './sampling-routes.js';
import { registerAlarmRoutes } from './alarms/alarm-routes.js';
import type { SamplingStrategyProvider } from '../model/sampling-strategy.js';
import { registerUiRoutes } from './ui-routes.js';
import { registerJaegerUiRoutes } from './jaeger-ui-routes.js';

export interface QueryAppOptions {
  spanReader: SpanReader;
  /** Absent: the log API answers 501. */
  logReader?: LogReader;
  /** The embedded store's metrics; absent: the metric API answers 501. */
  metricReader?: MetricReader;
  authToken: string;
  corsOrigins: string[];
  maxTraces: number;
  maxLogs: number;
  log: Logger;
  now?: () => number;
  tailIntervalMs?: number;
  /** What `/api/status` reports; default: query alone, with what its readers hold. */
  status?: StatusSource;
  /** Jaeger remote sampling's strategies for /api/sampling; absent: no such route. */
  sampling?: SamplingStrategyProvider;
  /** The web UI's folder (default: query/ui), or false for none. */
  uiDir?: string | false;
  /** A Jaeger UI build to serve at `/` (the web UI then at `/ui/`); throws when it is not one. */
  jaegerUiDir?: string;
  /** The data folder where the collector keeps its alarms (/api/alarms); absent: no such routes. */
  alarmsDataDir?: string;
}

export function buildQueryApp(options: QueryAppOptions): FastifyInstance {
  const app = createHttpServer({ log: options.log });
  const anyOrigin = options.corsOrigins.includes('*');
  const origins = new Set(options.corsOrigins);

  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin !== undefined && (anyOrigin || origins.has(origin))) {
      void reply.header('access-control-allow-origin', anyOrigin ? '*' : origin);
      if (!anyOrigin) void reply.header('vary', 'Origin');
      // A preflight carries no credentials and answers no data; any other OPTIONS is routed like a GET would be.
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        return reply
          .status(204)
          .header('access-control-allow-methods', 'GET, OPTIONS')
          .header('access-control-allow-headers', 'Authorization, Content-Type, Last-Event-ID')
          .header('access-control-max-age', '600')
          .send();
      }
    }
  });

  app.setNotFoundHandler((req, reply) => sendApiError(req, reply, 404, '404 page not found'));
  // The API routes live in their own scope so that their errors take Jaeger's shapes.
  void app.register(async (api) => {
    if (options.authToken !== '') {
      const token = options.authToken;
      api.addHook('onRequest', async (req, reply) => {
        if (tokenMatches(presentedCredential(req), token)) return;
        void reply.header('www-authenticate', 'Bearer');
        return sendApiError(req, reply, 401, 'missing or wrong bearer token');
      });
    }
    api.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const status = err instanceof ShipwatchError ? err.status : (err.statusCode ?? 500);
      if (status >= 500) options.log.error('query request failed', { url: req.url, err });
      return sendApiError(req, reply, status, err.message);
    });
    registerJaegerV1Routes(api, { reader: options.spanReader, maxTraces: options.maxTraces, now: options.now });
    registerJaegerV3Routes(api, { reader: options.spanReader, maxTraces: options.maxTraces });
    if (options.logReader) {
      registerLogRoutes(api, { reader: options.logReader, maxLogs: options.maxLogs, log: options.log, tailIntervalMs: options.tailIntervalMs });
    } else {
      api.get('/api/logs*', (req, reply) => sendApiError(req, reply, 501, 'the log API needs the embedded store'));
    }
    if (options.metricReader) {
      registerMetricRoutes(api, { reader: options.metricReader, now: options.now });
    } else {
      const noStore = (req: FastifyRequest, reply: FastifyReply): FastifyReply => sendApiError(req, reply, 501, 'the metric API needs the embedded store');
      api.get('/api/timeseries/*', noStore);
      for (const name of ['measurements', 'tag-values', 'series']) api.get(`/api/metrics/${name}`, noStore);
    }
    registerMonitorRoutes(api, { reader: options.spanReader, now: options.now });
    registerStatusRoutes(
      api,
      options.status ??
        createStatusSource({ command: 'query', programs: [{ name: 'query', self: true }], spanReader: options.spanReader, spanStorage: 'span storage', logReader: options.logReader }),
    );
    if (options.sampling) registerSamplingRoutes(api, options.sampling);
    if (options.alarmsDataDir !== undefined) registerAlarmRoutes(api, { dataDir: options.alarmsDataDir });
    // Any other path and method under /api/: behind the token like the routes above, then 404.
    const unknown = (req: FastifyRequest, reply: FastifyReply): FastifyReply => sendApiError(req, reply, 404, '404 page not found');
    api.all('/api', unknown);
    api.all('/api/*', unknown);
  });
  const jaegerUi = options.jaegerUiDir !== undefined && options.jaegerUiDir !== '';
  if (jaegerUi) registerJaegerUiRoutes(app, { dir: options.jaegerUiDir!, log: options.log });
  if (options.uiDir !== false) registerUiRoutes(app, { dirs: options.uiDir === undefined ? undefined : [options.uiDir], log: options.log, atRoot: !jaegerUi });
  return app;
}
