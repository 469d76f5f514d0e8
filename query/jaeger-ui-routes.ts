/**
 * The real Jaeger UI, served from a folder holding its build (`QUERY_JAEGER_UI_DIR`), at `/` as Jaeger's query
 * serves it: the build's files by their paths (`/static/…`, `/favicon.ico`), and `index.html` for `/` and every
 * other path outside `/api/` (the UI routes `/search`, `/trace/<id>`, `/monitor` in the browser), with the UI
 * configuration written into it. Shipwatch's own UI then answers at `/ui/`.
 *
 * Jaeger injects its configuration by replacing `JAEGER_CONFIG = DEFAULT_CONFIG;` in index.html with the JSON of its
 * UI config file (cmd/query/app/static_handler.go); here the configuration is Shipwatch's own: the Monitor tab
 * (`monitor.menuEnabled`), which Shipwatch answers from stored spans without a metrics backend. The version shown
 * in the UI's About menu is Shipwatch's.
 *
 * As for Shipwatch's UI, the folder is listed and read into memory once at start-up and a request path is only
 * looked up among the names found, never joined onto the file system. index.html carries inline scripts (the
 * injected configuration, the build's loader), so its content security policy allows exactly those by their
 * SHA-256 hashes; the UI's style library writes inline styles, which the policy allows.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Logger } from '../platform/log.js';
import { listFiles, sendStaticFile, staticFile, type StaticFile } from './ui-routes.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
  '.wasm': 'application/wasm',
};

/** The line of the build's index.html that Jaeger's query replaces with the UI configuration. */
const CONFIG_PATTERN = /JAEGER_CONFIG *= *DEFAULT_CONFIG;/;
const VERSION_PATTERN = /JAEGER_VERSION *= *DEFAULT_VERSION;/;

/**
 * The UI configuration Shipwatch injects: the Monitor tab on (its API is answered from stored spans), and a trace's
 * link to the log lines naming it in Shipwatch's own UI (a `traces` link pattern: the trace page's header menu).
 */
export const JAEGER_UI_CONFIG = {
  monitor: { menuEnabled: true },
  linkPatterns: [{ type: 'traces', url: '/ui/#/logs?traceId=#{traceID}', text: 'Log lines of this trace (Shipwatch)' }],
} as const;

export interface JaegerUi {
  dir: string;
  /** Files by URL path (`/static/index-abc.js`); index.html is apart. */
  files: Map<string, StaticFile>;
  index: StaticFile;
  /** The policy index.html is answered with. */
  contentSecurityPolicy: string;
}


/** JSON that can stand inside an inline script: no `</script>` or `<!--` can close or open anything. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** index.html with Shipwatch's UI configuration and version in place of the build's defaults. */
export function enrichIndexHtml(html: string, version: string): string {
  if (!CONFIG_PATTERN.test(html)) {
    throw new Error('its index.html has no "JAEGER_CONFIG = DEFAULT_CONFIG;" line: it is not a Jaeger UI build');
  }
  return html
    .replace(CONFIG_PATTERN, () => `JAEGER_CONFIG = ${scriptJson(JAEGER_UI_CONFIG)};`)
    .replace(VERSION_PATTERN, () => `JAEGER_VERSION = ${scriptJson({ gitCommit: '', gitVersion: `shipwatch ${version}`, buildDate: '' })};`);
}

/** The SHA-256 sources of the inline scripts of a page, for its script-src. */
export function inlineScriptHashes(html: string): string[] {
  const hashes = new Set<string>();
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (/\bsrc\s*=/i.test(m[1]!) || m[2]!.length === 0) continue;
    hashes.add(`'sha256-${createHash('sha256').update(m[2]!, 'utf8').digest('base64')}'`);
  }
  return [...hashes];
}

/**
 * Reads a Jaeger UI build (the folder `vite build` wrote: index.html and static/). Throws an error naming the folder
 * and what is wrong with it.
 */
export function loadJaegerUi(dir: string, version: string): JaegerUi {
  const problem = (what: string): Error => new Error(`QUERY_JAEGER_UI_DIR=${dir}: ${what}`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw problem('no such folder');
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) throw problem('no index.html in it: name the folder a Jaeger UI build wrote (packages/jaeger-ui/build)');
  let html: string;
  try {
    html = enrichIndexHtml(readFileSync(indexPath, 'utf8'), version);
  } catch (err) {
    throw problem((err as Error).message);
  }
  const files = new Map<string, StaticFile>();
  for (const name of listFiles(dir)) {
    if (name === 'index.html') continue;
    files.set(`/${name}`, staticFile(readFileSync(join(dir, name)), CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream'));
  }
  const contentSecurityPolicy = [
    "default-src 'self'",
    `script-src 'self' ${inlineScriptHashes(html).join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'self'",
    "form-action 'self'",
  ].join('; ');
  return { dir, files, index: staticFile(Buffer.from(html, 'utf8'), CONTENT_TYPES['.html']!), contentSecurityPolicy };
}

export interface JaegerUiRouteOptions {
  dir: string;
  /** Shown in the UI's About menu; default: the package's version. */
  version?: string;
  log: Logger;
}

/** The package's version: its package.json is above `query/` from source and above `dist/query/` compiled. */
function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'shipwatch' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not at this depth: try the next
    }
  }
  return 'unknown';
}

/** Serves the Jaeger UI at `/`; throws (before anything is served) when the folder is not a Jaeger UI build. */
export function registerJaegerUiRoutes(app: FastifyInstance, options: JaegerUiRouteOptions): JaegerUi {
  const ui = loadJaegerUi(options.dir, options.version ?? packageVersion());
  options.log.info('serving the Jaeger UI', { dir: ui.dir, files: ui.files.size + 1 });
  const send = (req: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply =>
    sendStaticFile(req, reply, file, file === ui.index ? ui.contentSecurityPolicy : undefined);
  const serve = (req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    // The raw path, not a decoded parameter: a name is looked up, never resolved.
    const path = req.url.split('?', 1)[0]!;
    const file = ui.files.get(path);
    if (file !== undefined) return send(req, reply, file);
    // A missing asset is a 404 (a script must not get a page); any other path is one of the UI's own routes.
    if (path.startsWith('/static/') || (extname(path) !== '' && path !== '/index.html')) {
      return reply.status(404).type('text/plain; charset=utf-8').send('not found\n');
    }
    return send(req, reply, ui.index);
  };
  app.get('/', serve);
  app.get('/*', serve);
  return ui;
}
