import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../platform/log.js';
import { StoreDatabase } from '../../storage/sqlite/database.js';
import { StoreLogStorage } from '../../storage/sqlite/log-store.js';
import { StoreMetricStorage } from '../../storage/sqlite/metric-store.js';
import { StoreSpanStorage } from '../../storage/sqlite/span-store.js';
import { buildQueryApp, type QueryAppOptions } from '../../query/api-app.js';
import { DEP_TRACE, NOW_MS, dependencyTrace } from '../helpers/query-fixtures.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';

const TOKEN = 's3cret';
const WITH_TOKEN = { authorization: `Bearer ${TOKEN}` };
const ORIGIN = 'https://ui.example';

interface Route {
  method: string;
  url: string;
}

interface Served {
  app: FastifyInstance;
  port: number;
  /** Every route the app registered under /api, by method, seen by an onRoute hook as they were added. */
  routes: Route[];
  close(): Promise<void>;
}

/** A query app listening on a free port, with the routes it registered listed as fastify added them. */
async function serve(readers: (db: StoreDatabase) => Partial<QueryAppOptions>): Promise<Served> {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const spans = new StoreSpanStorage(db);
  await spans.writeSpans(dependencyTrace());
  const app = buildQueryApp({
    spanReader: spans, authToken: TOKEN, corsOrigins: [ORIGIN], maxTraces: 100, maxLogs: 100,
    log: silentLogger, now: () => NOW_MS, tailIntervalMs: 20, ...readers(db),
  });
  const routes: Route[] = [];
  // The API's routes are added when the app loads its plugins, so a hook added now sees every one of them.
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (r.url.startsWith('/api')) routes.push({ method, url: r.url });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app, routes, port: (app.server.address() as AddressInfo).port,
    close: async () => {
      await app.close();
      db.close();
    },
  };
}

const PARAMS: Record<string, string> = { service: 'frontend', traceID: DEP_TRACE, trace_id: DEP_TRACE };

/** A request path the route matches: its parameters filled, a wildcard after `/` given a segment. */
function concretePath(url: string): string {
  return url.replace(/:(\w+)/g, (_m, name: string) => PARAMS[name] ?? 'x').replace(/\/\*$/, '/x').replace(/\*$/, '');
}

/** The spellings of `path` (which starts with /api) that must reach the same route. */
function spellings(path: string): string[] {
  const rest = path.slice('/api'.length);
  return [
    path,
    `/%61pi${rest}`,
    `/ap%69${rest}`,
    `/%61p%69${rest}`,
    `http://anything${path}`,
    `HTTP://anything:16686${path}`,
    `//api${rest}`,
    rest === '' ? '/api//' : `/api/${rest}`,
    `/ui/%2e%2e/api${rest}`,
    `/ui/%2E%2E/api${rest}`,
    `/x/../api${rest}`,
    `/api/./x/..${rest}`,
    `${path}/`,
  ];
}

function assertRefused(res: RawResponse | { status: number; headers: Record<string, unknown>; body: string }, method: string, path: string, what: string): void {
  assert.equal(res.status, 401, `${what}: ${res.status} ${res.body.slice(0, 120)}`);
  assert.equal(res.headers['www-authenticate'], 'Bearer', what);
  if (method === 'HEAD') return;
  const body = JSON.parse(res.body) as { data?: unknown; errors?: Array<{ code: number }>; error?: { httpCode: number } };
  // Jaeger's shapes, and nothing of the data behind the route.
  if (path.startsWith('/api/v3/')) assert.deepEqual(body, { error: { httpCode: 401, message: 'missing or wrong bearer token' } }, what);
  else assert.deepEqual(body, { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 401, msg: 'missing or wrong bearer token' }] }, what);
}

describe('the query API behind QUERY_AUTH_TOKEN', () => {
  let full: Served;
  let bare: Served;
  before(async () => {
    full = await serve((db) => ({ logReader: new StoreLogStorage(db), metricReader: new StoreMetricStorage(db, { log: silentLogger }) }));
    // Without the store's log and metric readers, the API answers 501 from routes of its own.
    bare = await serve(() => ({}));
  });
  after(async () => {
    await full?.close();
    await bare?.close();
  });

  test('the routes enumerated are the whole API: Jaeger v1 and v3, logs, metrics, status, and the catch-all', () => {
    const urls = new Set([...full.routes, ...bare.routes].map((r) => r.url));
    for (const url of ['/api/services', '/api/traces/:traceID', '/api/v3/traces/:trace_id', '/api/logs/tail', '/api/timeseries/series', '/api/metrics/series', '/api/metrics/calls', '/api/metrics/minstep', '/api/logs*', '/api/timeseries/*', '/api/status', '/api/*', '/api']) {
      assert.ok(urls.has(url), `${url} not among ${[...urls].join(' ')}`);
    }
    assert.ok(full.routes.some((r) => r.method === 'HEAD'), 'HEAD routes are listed');
  });

  for (const which of ['full', 'bare'] as const) {
    test(`every ${which} API route, however its path is spelled, answers 401 without the token and as the plain path with it`, async () => {
      const s = which === 'full' ? full : bare;
      let checked = 0;
      for (const route of s.routes) {
        const path = concretePath(route.url);
        const expected = await rawRequest(s.port, route.method, path, WITH_TOKEN);
        assert.notEqual(expected.status, 401, `${route.method} ${path} with the token`);
        for (const target of spellings(path)) {
          const what = `${route.method} ${target} (route ${route.url})`;
          assertRefused(await rawRequest(s.port, route.method, target), route.method, path, `${what} without a token`);
          assertRefused(await rawRequest(s.port, route.method, target, { authorization: 'Bearer wrong' }), route.method, path, `${what} with a wrong token`);
          const allowed = await rawRequest(s.port, route.method, target, WITH_TOKEN);
          assert.equal(allowed.status, expected.status, `${what} with the token`);
          checked++;
        }
      }
      assert.ok(checked > (which === 'full' ? 300 : 100), `${checked} requests checked`);
    });
  }

  test('app.inject() with the same spellings is refused too', async () => {
    for (const route of full.routes.filter((r) => r.method === 'GET' || r.method === 'HEAD')) {
      const path = concretePath(route.url);
      for (const url of spellings(path)) {
        const res = await full.app.inject({ method: route.method as 'GET', url });
        assertRefused({ status: res.statusCode, headers: res.headers, body: res.body }, route.method, path, `inject ${route.method} ${url}`);
      }
    }
  });

  test('OPTIONS on an API path needs the token; a CORS preflight from an allowed origin does not', async () => {
    const paths = new Set(full.routes.map((r) => concretePath(r.url)));
    for (const path of paths) {
      for (const target of [path, `/%61pi${path.slice(4)}`, `http://anything${path}`]) {
        assertRefused(await rawRequest(full.port, 'OPTIONS', target), 'OPTIONS', path, `OPTIONS ${target}`);
        assertRefused(await rawRequest(full.port, 'OPTIONS', target, { origin: ORIGIN }), 'OPTIONS', path, `OPTIONS ${target} from the allowed origin, not a preflight`);
        assertRefused(
          await rawRequest(full.port, 'OPTIONS', target, { origin: 'https://evil.example', 'access-control-request-method': 'GET' }),
          'OPTIONS', path, `preflight of ${target} from another origin`,
        );
        assert.notEqual((await rawRequest(full.port, 'OPTIONS', target, WITH_TOKEN)).status, 401, `OPTIONS ${target} with the token`);
        const preflight = await rawRequest(full.port, 'OPTIONS', target, { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' });
        assert.equal(preflight.status, 204, `preflight of ${target}`);
        assert.equal(preflight.headers['access-control-allow-origin'], ORIGIN);
        assert.equal(preflight.body, '');
      }
    }
  });

  test('a path under /api/ that names no route answers 401 without the token and 404 with it', async () => {
    for (const target of ['/api/nope', '/api/v3/nope', '/api', '/api/', '/%61pi/services/frontend/nope', 'http://h/api/nope?x=1', '/api/services/x/y/z']) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const refused = await rawRequest(full.port, method, target);
        assert.equal(refused.status, 401, `${method} ${target}: ${refused.body}`);
        const missing = await rawRequest(full.port, method, target, WITH_TOKEN);
        assert.equal(missing.status, 404, `${method} ${target} with the token`);
      }
    }
    // %2F stays a character of its segment: no route, and nothing under /api/.
    const encodedSlash = await rawRequest(full.port, 'GET', '/api%2Fservices');
    assert.equal(encodedSlash.status, 404);
    assert.match(encodedSlash.body, /404 page not found/);
  });

  test('the token is taken from the Authorization header only, with the Bearer scheme in any case', async () => {
    assert.equal((await rawRequest(full.port, 'GET', '/api/services', { authorization: `bearer ${TOKEN}` })).status, 200);
    assert.equal((await rawRequest(full.port, 'GET', `/api/services?p=${TOKEN}`)).status, 401);
    assert.equal((await rawRequest(full.port, 'GET', '/api/services', { authorization: `Token ${TOKEN}` })).status, 401);
    assert.equal((await rawRequest(full.port, 'GET', '/api/services', { authorization: `Bearer ${TOKEN}x` })).status, 401);
    assert.equal((await rawRequest(full.port, 'GET', '/api/services', { authorization: `Bearer ${TOKEN.slice(0, -1)}` })).status, 401);
  });

  test('the web UI stays open under every spelling, and a dot segment cannot leave it for the API', async () => {
    for (const target of ['/', '/ui/app.js', '/ui/%61pp.js', '//ui//app.js', 'http://h/ui/app.js', '/api/../ui/app.js', '/ui/./app.js']) {
      const res = await rawRequest(full.port, 'GET', target);
      assert.equal(res.status, 200, target);
      assert.match(res.headers['content-type'] ?? '', /^text\/(html|javascript)/, target);
    }
    assert.equal((await rawRequest(full.port, 'GET', '/index.html')).status, 301);
    assert.equal((await rawRequest(full.port, 'GET', '/ui/no-such-file.js')).status, 404);
  });

  test('an API answer with the token under an odd spelling is the same data as under the plain path', async () => {
    const plain = await rawRequest(full.port, 'GET', '/api/services', WITH_TOKEN);
    const odd = await rawRequest(full.port, 'GET', 'http://h//ap%69/./services/', WITH_TOKEN);
    assert.equal(plain.status, 200);
    assert.deepEqual(JSON.parse(odd.body), JSON.parse(plain.body));
    assert.deepEqual(JSON.parse(plain.body).data, ['backend', 'db', 'frontend']);
  });
});
