/**
 * Optional tokens in front of HTTP routes: the query API's (QUERY_AUTH_TOKEN, checked by the query app itself),
 * the ingest receivers' (COLLECTOR_AUTH_TOKEN) and the admin ports' (ADMIN_AUTH_TOKEN). An empty token leaves what
 * it guards open.
 *
 * A server guarded here decides by the route the request matched, never by a prefix of its URL: each route says
 * its access in its config (`{ access: 'open' | 'ingest' | 'admin' }`), a route saying nothing and a request that
 * matched no route (404) take the server's default. The path the router matched is the normalised one
 * (platform/http/http-server.ts), so no spelling of a URL reaches a route around its check.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ERRORS } from '../errors.js';

export type RouteAccess = 'open' | 'ingest' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which token the route needs; absent: the server's default. */
    access?: RouteAccess;
    /** The route speaks InfluxDB's write API: its clients' ways of sending a credential are accepted too. */
    influxCredentials?: boolean;
  }
}

/** The token of each kind of access; '' leaves it open. */
export interface AccessTokens {
  ingest: string;
  admin: string;
}

/** Where each token is set, named in the 401's message. */
const TOKEN_VARIABLES: Record<Exclude<RouteAccess, 'open'>, string> = { ingest: 'COLLECTOR_AUTH_TOKEN', admin: 'ADMIN_AUTH_TOKEN' };

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Whether `presented` is `token`, in a time that depends on neither: both are hashed to 32 bytes first, so not
 * even the token's length shows through timing. An empty token matches nothing.
 */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined || token === '') return false;
  return timingSafeEqual(digest(presented), digest(token));
}

/**
 * The credential a request presents: `Authorization: Bearer <token>`. With `influx`, also what InfluxDB clients
 * send: `Authorization: Token <token>` (InfluxDB 2 clients, Telegraf's `influxdb_v2` output), Basic auth with the
 * token as password (InfluxDB 1.x clients, Telegraf's `influxdb` output; any user name) and, without an
 * Authorization header, the `p` query parameter (InfluxDB 1.x's `?u=&p=`). Scheme names are case-insensitive.
 */
export function presentedCredential(req: FastifyRequest, influx = false): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) {
    if (!influx) return undefined;
    const p = (req.query as Record<string, unknown> | undefined)?.p;
    return typeof p === 'string' ? p : undefined;
  }
  const m = /^([A-Za-z]+) +(.*)$/.exec(header);
  if (m === null) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer') return m[2]!;
  if (!influx) return undefined;
  if (scheme === 'token') return m[2]!;
  if (scheme !== 'basic') return undefined;
  const userPass = Buffer.from(m[2]!.trim(), 'base64').toString('utf8');
  const colon = userPass.indexOf(':');
  return colon === -1 ? undefined : userPass.slice(colon + 1);
}

/** 401 with SW_UNAUTHORIZED, naming the variable whose token was wanted (never the token). */
export function sendUnauthorized(reply: FastifyReply, access: Exclude<RouteAccess, 'open'>): FastifyReply {
  const detail = `missing or wrong token (${TOKEN_VARIABLES[access]}): send Authorization: Bearer <token>`;
  return reply
    .status(ERRORS.SW_UNAUTHORIZED.status)
    .header('www-authenticate', 'Bearer')
    .send({ error: 'SW_UNAUTHORIZED', message: ERRORS.SW_UNAUTHORIZED.message.replace('%s', detail) });
}

/**
 * Checks every request to `app` (its routes, those of its child scopes, and its 404s) against the token of the
 * matched route's access, `defaultAccess` for a route without one and for no route. Runs on `onRequest`, before
 * a body is read.
 */
export function guardRoutes(app: FastifyInstance, tokens: Partial<AccessTokens>, defaultAccess: RouteAccess): void {
  app.addHook('onRequest', async (req, reply) => {
    const config = req.routeOptions.config;
    const access = config?.access ?? defaultAccess;
    if (access === 'open') return;
    const token = tokens[access] ?? '';
    if (token === '' || tokenMatches(presentedCredential(req, config?.influxCredentials === true), token)) return;
    return sendUnauthorized(reply, access);
  });
}
