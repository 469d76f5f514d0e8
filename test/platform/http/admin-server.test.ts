import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { buildAdminApp } from '../../../platform/http/admin-server.js';
import { silentLogger } from '../../../platform/log.js';
import { counter, createRegistry } from '../../../platform/self-metrics.js';
import { rawRequest } from '../../helpers/raw-http.js';

const ADMIN = 'adm1n';
const INGEST = 'p0sh';

/** An admin app as a program builds it, plus a route of its own and an ingest route, listening on a free port. */
async function adminApp(tokens: { admin?: string; ingest?: string }): Promise<{ app: FastifyInstance; port: number }> {
  const registry = createRegistry('pilot', false);
  counter(registry, { name: 'shipwatch_test_total', help: 'A counter to find in /metrics.' }).inc();
  const app = buildAdminApp({ registry, health: [{ name: 'engine', check: () => undefined }], log: silentLogger, tokens });
  app.get('/debug/state', async () => ({ secret: 'internal state' }));
  app.post('/push', { config: { access: 'ingest' } }, async (_req, reply) => reply.status(204).send());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as AddressInfo).port };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('admin ports with ADMIN_AUTH_TOKEN', () => {
  let secured: { app: FastifyInstance; port: number };
  let open: { app: FastifyInstance; port: number };
  before(async () => {
    secured = await adminApp({ admin: ADMIN, ingest: INGEST });
    open = await adminApp({});
  });
  after(async () => {
    await secured.app.close();
    await open.app.close();
  });

  test('/metrics and every other route, one added later included, answer 401 without the token under any spelling', async () => {
    for (const path of ['/metrics', '/debug/state']) {
      for (const target of [path, `/%${path.charCodeAt(1).toString(16)}${path.slice(2)}`, `//${path.slice(1)}`, `http://h${path}`, `/health/..${path}`, `/health/%2e%2e${path}`, `${path}/`]) {
        for (const method of ['GET', 'HEAD']) {
          const res = await rawRequest(secured.port, method, target);
          assert.equal(res.status, 401, `${method} ${target}`);
          assert.equal(res.headers['www-authenticate'], 'Bearer');
          if (method === 'GET') {
            assert.equal(JSON.parse(res.body).error, 'SW_UNAUTHORIZED');
            assert.match(JSON.parse(res.body).message, /^unauthorized: .*ADMIN_AUTH_TOKEN/);
            assert.doesNotMatch(res.body, /shipwatch_test_total|internal state|adm1n/);
          }
          assert.equal((await rawRequest(secured.port, method, target, bearer('wrong'))).status, 401, `${method} ${target} wrong token`);
          assert.equal((await rawRequest(secured.port, method, target, bearer(INGEST))).status, 401, `${method} ${target} with the ingest token`);
          assert.equal((await rawRequest(secured.port, method, target, bearer(ADMIN))).status, 200, `${method} ${target} with the token`);
        }
      }
    }
    const metrics = await rawRequest(secured.port, 'GET', '/metrics', bearer(ADMIN));
    assert.match(metrics.body, /shipwatch_test_total\{program="pilot"\} 1/);
  });

  test('/health stays open, for probes and for the status page of another program', async () => {
    for (const target of ['/health', '//health', '/%68ealth', 'http://h/health/', '/metrics/../health']) {
      const res = await rawRequest(secured.port, 'GET', target);
      assert.equal(res.status, 200, target);
      assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
      assert.equal((await rawRequest(secured.port, 'HEAD', target)).status, 200, `HEAD ${target}`);
    }
  });

  test('a path naming no route, or another method, is 401 without the token and 404 with it', async () => {
    for (const [method, target] of [['GET', '/nope'], ['POST', '/metrics'], ['OPTIONS', '/metrics'], ['GET', '/health/x'], ['DELETE', '/']]) {
      assert.equal((await rawRequest(secured.port, method!, target!)).status, 401, `${method} ${target}`);
      assert.equal((await rawRequest(secured.port, method!, target!, bearer(ADMIN))).status, 404, `${method} ${target} with the token`);
    }
  });

  test('an ingest route takes the ingest token, not the admin one', async () => {
    assert.equal((await rawRequest(secured.port, 'POST', '/push')).status, 401);
    assert.equal((await rawRequest(secured.port, 'POST', '/push', bearer(ADMIN))).status, 401);
    assert.equal((await rawRequest(secured.port, 'POST', '//%70ush/', bearer(INGEST))).status, 204);
  });

  test('without tokens every route is open, as before', async () => {
    for (const [method, target, status] of [['GET', '/metrics', 200], ['GET', '/debug/state', 200], ['GET', '/health', 200], ['POST', '/push', 204], ['GET', '/nope', 404]] as const) {
      assert.equal((await rawRequest(open.port, method, target)).status, status, `${method} ${target}`);
    }
  });
});

describe('/health', () => {
  const registry = createRegistry('collector', false);
  const state = { engine: undefined as string | undefined, output: undefined as string | undefined };
  const app = buildAdminApp({
    registry, log: silentLogger,
    health: [
      { name: 'engine', check: () => state.engine },
      { name: 'outputs', impact: 'degraded', check: () => state.output },
      { name: 'broken', impact: 'degraded', check: () => (state.output === 'throw' ? Promise.reject(new Error('check failed')) : undefined) },
    ],
  });
  after(() => app.close());
  const ask = async (): Promise<{ code: number; body: Record<string, unknown> }> => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    return { code: res.statusCode, body: res.json() as Record<string, unknown> };
  };

  test('an output out of reach is named with 200 and status degraded: the program still accepts everything', async () => {
    state.output = 'elasticsearch: unreachable';
    assert.deepEqual(await ask(), { code: 200, body: { status: 'degraded', problems: { outputs: 'elasticsearch: unreachable' } } });
  });

  test('a failure that stops the program is 503 and names the degraded parts beside it', async () => {
    state.engine = 'no engine';
    state.output = 'elasticsearch: unreachable';
    assert.deepEqual(await ask(), { code: 503, body: { status: 'unavailable', failures: { engine: 'no engine' }, problems: { outputs: 'elasticsearch: unreachable' } } });
    state.engine = undefined;
    state.output = undefined;
    assert.deepEqual(await ask(), { code: 200, body: { status: 'ok' } });
  });

  test('a check that throws is reported with its message under its impact', async () => {
    state.output = 'throw';
    const { code, body } = await ask();
    assert.equal(code, 200);
    assert.equal((body['problems'] as Record<string, string>)['broken'], 'check failed');
    state.output = undefined;
  });
});
