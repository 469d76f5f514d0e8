/**
 * One way to make an HTTP server: fastify with Shipwatch's error envelope, request targets normalised before
 * routing, raw-body parsers for the binary protocols, and a listen helper that reports the bound port (tests
 * listen on port 0).
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import { ERRORS, ShipwatchError } from '../errors.js';
import { guardRoutes, type AccessTokens, type RouteAccess } from './http-auth.js';
import type { Logger } from '../log.js';

export interface HttpServerOptions {
  /** Largest accepted request body, bytes. */
  bodyLimitBytes?: number;
  log: Logger;
  /**
   * The tokens the server's routes need (platform/http/http-auth.ts): each route's `config.access`, else `defaultAccess`,
   * which also covers requests matching no route. Absent: every route is open.
   */
  access?: { tokens: Partial<AccessTokens>; defaultAccess: RouteAccess };
}

/** Characters whose `%XX` form is decoded: RFC 3986's unreserved ones and the sub-delims the router decodes too. */
const DECODED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!\'()*') DECODED[c.charCodeAt(0)] = 1;

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * The request target as the router will match it, so that a hook reading `req.url` and the router agree on the
 * path (fastify's `rewriteUrl`, run before routing, on every server made here):
 *
 * - absolute-form (`http://host/api/x`, sent by proxies or by hand) becomes origin-form (`/api/x`);
 * - `%XX` of an unreserved character (and of `!'()*`) is decoded, so `/%61pi` is `/api`; `%2F`, `%25`, `%3F` and
 *   the other delimiters stay encoded (decoding them would change the path's segments or decode twice), as do
 *   non-ASCII bytes and controls, which the router decodes inside parameters only;
 * - empty segments go (`//api` is `/api`), `.` and `..` segments are resolved (`/ui/../api`, `/%2e%2e/api`),
 *   never above the root, and a trailing slash goes (`/api/services/` routes as `/api/services`): no route is
 *   registered with one;
 * - the query string (from the first `?` or `#`, where the router ends the path) is kept byte for byte.
 *
 * Every static segment of every route is made of unreserved characters, so what the router decodes after this
 * (inside parameters) cannot move a request to another route. A target this cannot read (`*`, another scheme) is
 * left as it is: the router refuses it. Never throws.
 */
export function normalizeRequestTarget(url: string): string {
  let target = url;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const scheme = /^https?:\/\//i.exec(target);
    if (scheme === null) return target;
    const rest = target.slice(scheme[0].length);
    const pathStart = rest.search(/[/?#]/);
    if (pathStart === -1) return '/';
    target = rest[pathStart] === '/' ? rest.slice(pathStart) : `/${rest.slice(pathStart)}`;
  }
  let pathEnd = target.length;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) {
      pathEnd = i;
      break;
    }
  }
  const path = target.slice(0, pathEnd);
  // The common case (nothing encoded, no empty or dot segment, no trailing slash) is returned as it came.
  if (path.indexOf('%') === -1 && path.indexOf('//') === -1 && path.indexOf('/.') === -1 && (path.length === 1 || !path.endsWith('/'))) {
    return target;
  }
  let decoded = '';
  let from = 0;
  for (let i = path.indexOf('%'); i !== -1 && i + 2 < path.length; i = path.indexOf('%', i + 1)) {
    const high = hexValue(path.charCodeAt(i + 1));
    const low = hexValue(path.charCodeAt(i + 2));
    if (high < 0 || low < 0) continue;
    const code = high * 16 + low;
    if (code >= 128 || DECODED[code] !== 1) continue;
    decoded += path.slice(from, i) + String.fromCharCode(code);
    from = i + 3;
    i += 2;
  }
  decoded += path.slice(from);
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}${target.slice(pathEnd)}`;
}

export function createHttpServer(options: HttpServerOptions, extra: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes ?? 16 * 1024 * 1024,
    rewriteUrl: (req) => normalizeRequestTarget(req.url ?? '/'),
    ...extra,
  });
  if (options.access) guardRoutes(app, options.access.tokens, options.access.defaultAccess);
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

/** A server taking pushed data: every request, a path naming no route included, needs `token` ('' leaves it open). */
export function ingestAccess(token: string | undefined): HttpServerOptions['access'] {
  return { tokens: { ingest: token ?? '' }, defaultAccess: 'ingest' };
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
