/**
 * The web UI's static files (plain HTML, CSS and ES modules from `query/ui/`, no build step): `/` answers
 * `index.html`, `/ui/<file>` the other files. The files are public; only the API behind them needs the token.
 * When the query serves the Jaeger UI at `/` (./jaeger-ui-routes.ts), this UI's index.html answers at `/ui/`.
 *
 * The folder is listed once at registration and only the names found there are served, so a request path is never
 * joined onto the file system: `..`, encoded slashes and absolute paths simply do not name a listed file (404).
 * Files are read into memory once (the whole UI is a few tens of KiB) with a strong ETag; as their names carry no
 * content hash, every answer says `no-cache`, so a browser revalidates (a 304 when nothing changed) and never runs a
 * stale module after an upgrade.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../platform/log.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/**
 * Scripts, styles and API calls from this origin only: no inline script or style can run even if a log line ever
 * slipped into the page unescaped. (The positions the views compute are set through the style object, which the
 * policy does not restrict.)
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'";

export interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** Where the UI's files may be: beside this module when run from source, `../../query/ui` from the compiled `dist/query/`. */
export function uiDirCandidates(): string[] {
  return [new URL('./ui/', import.meta.url), new URL('../../query/ui/', import.meta.url)].map((u) => fileURLToPath(u));
}

/** The first folder holding index.html, if any. */
export function findUiDir(candidates = uiDirCandidates()): string | undefined {
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

/** The files under `dir` that `keep` takes, as `/`-separated paths relative to it; hidden names left out. */
export function listFiles(dir: string, keep: (name: string) => boolean = () => true, root = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path, keep, root));
    else if (entry.isFile() && keep(entry.name)) out.push(relative(root, path).split(sep).join('/'));
  }
  return out;
}

/** A file to serve, with its strong ETag. */
export function staticFile(body: Buffer, contentType: string): StaticFile {
  return { body, contentType, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

/** The UI's files by URL path (`/` for index.html, `/ui/<relative path>` for the others). */
export function loadUiFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of listFiles(dir, (n) => CONTENT_TYPES[extname(n)] !== undefined)) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    files.set(name === 'index.html' ? '/' : `/ui/${name}`, staticFile(readFileSync(path), CONTENT_TYPES[extname(name)]!));
  }
  return files;
}

function send(req: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  return sendStaticFile(req, reply, file, file.contentType.startsWith('text/html') ? CONTENT_SECURITY_POLICY : undefined);
}

/** A file with revalidation by its ETag (304), never sniffed; a page with its content security policy. */
export function sendStaticFile(req: FastifyRequest, reply: FastifyReply, file: StaticFile, contentSecurityPolicy?: string): FastifyReply {
  void reply
    .header('content-type', file.contentType)
    .header('cache-control', 'no-cache')
    .header('etag', file.etag)
    .header('x-content-type-options', 'nosniff');
  if (contentSecurityPolicy !== undefined) void reply.header('content-security-policy', contentSecurityPolicy);
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === file.etag)) return reply.status(304).send();
  return reply.send(file.body);
}

export interface UiRouteOptions {
  /** Folders that may hold index.html and the modules, the first found is served; default `uiDirCandidates()`. */
  dirs?: string[];
  log: Logger;
  /** Whether `/` answers index.html (else `/ui/` alone: the Jaeger UI has `/`); default true. */
  atRoot?: boolean;
}

/**
 * An installation without the UI's files (an image that left them out) still serves the APIs: `/` then says what
 * is missing (503), and the start-up log says it once.
 */
export function registerUiRoutes(app: FastifyInstance, options: UiRouteOptions): void {
  const candidates = options.dirs ?? uiDirCandidates();
  const atRoot = options.atRoot ?? true;
  const dir = findUiDir(candidates);
  if (dir === undefined) {
    const reason = `the web UI's files are missing: no index.html in ${candidates.join(' or ')}`;
    options.log.warn('web UI not served', { reason });
    // The server drops a trailing slash before routing (platform/http/http-server.ts): `/ui/` arrives as `/ui`.
    app.get(atRoot ? '/' : '/ui', (_req, reply) => reply.status(503).type('text/plain; charset=utf-8').send(`${reason}\nThe APIs are under /api/.\n`));
    return;
  }
  const files = loadUiFiles(dir);
  const index = files.get('/')!;
  const notFound = (reply: FastifyReply): FastifyReply => reply.status(404).type('text/plain; charset=utf-8').send('not found\n');

  if (atRoot) {
    app.get('/', (req, reply) => send(req, reply, index));
    app.get('/index.html', (_req, reply) => reply.redirect('/', 301));
  } else {
    // `/ui/` arrives as `/ui`: the server drops a trailing slash before routing.
    app.get('/ui', (req, reply) => send(req, reply, index));
  }
  app.get('/ui/*', (req, reply) => {
    // The raw path, not the decoded parameter: a name is looked up, never resolved.
    const path = req.url.split('?', 1)[0]!;
    const file = files.get(path);
    return file === undefined ? notFound(reply) : send(req, reply, file);
  });
}
