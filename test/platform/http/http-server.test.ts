import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../../platform/log.js';
import { createHttpServer, listen, normalizeRequestTarget } from '../../../platform/http/http-server.js';
import { rawRequest } from '../../helpers/raw-http.js';
import { seededRandom } from '../../helpers/seeded-random.js';

describe('request targets are normalised before routing', () => {
  const cases: Array<[string, string]> = [
    ['/api/services', '/api/services'],
    ['/', '/'],
    ['/%61pi/services', '/api/services'],
    ['/ap%69/services', '/api/services'],
    ['/%41%7e%2D%5f%21%27%28%29%2a', '/A~-_!\'()*'],
    ['http://anything/api/services', '/api/services'],
    ['HTTPS://anything:8443/api/services?limit=1', '/api/services?limit=1'],
    ['http://anything', '/'],
    ['http://anything?x=1', '/?x=1'],
    ['//api//services', '/api/services'],
    ['/api/services/', '/api/services'],
    ['/api/services//', '/api/services'],
    ['/ui/../api/services', '/api/services'],
    ['/ui/%2e%2e/api/services', '/api/services'],
    ['/ui/%2E%2E/api/./services', '/api/services'],
    ['/../../../api', '/api'],
    ['/api/services/..', '/api'],
    ['/api/services/.', '/api/services'],
    ['/a/..b/.c/...', '/a/..b/.c/...'],
    // Delimiters stay encoded: %2F is a character of its segment, %25 is not decoded into a new escape.
    ['/api%2Fservices', '/api%2Fservices'],
    ['/api/%2e%2e%2fservices', '/api/..%2fservices'],
    ['/x/%252e%252e/api', '/x/%252e%252e/api'],
    ['/x/%3F%23%40%3A', '/x/%3F%23%40%3A'],
    // Non-ASCII and controls stay encoded (the router decodes them inside parameters).
    ['/logs/caf%C3%A9/', '/logs/caf%C3%A9'],
    ['/x%00y%20z', '/x%00y%20z'],
    // Malformed escapes are left to the router, which refuses them.
    ['/a%', '/a%'],
    ['/a%6', '/a%6'],
    ['/a%zz', '/a%zz'],
    // The query string is kept byte for byte, from the first ? or # (where the router ends the path).
    ['/api/./traces/?service=a%2Fb&x=../y//z', '/api/traces?service=a%2Fb&x=../y//z'],
    ['/a//b#/../c?d', '/a/b#/../c?d'],
    // Not a path: left for the router to refuse.
    ['*', '*'],
    ['ftp://host/api', 'ftp://host/api'],
  ];
  for (const [raw, normalised] of cases) {
    test(`${JSON.stringify(raw)} becomes ${JSON.stringify(normalised)}`, () => {
      assert.equal(normalizeRequestTarget(raw), normalised);
    });
  }

  test('normalising twice changes nothing more, and no input makes it throw', () => {
    const random = seededRandom(7);
    const alphabet = ['/', '/', '.', '..', '%2e', '%2E', '%2f', '%25', '%61', '%', 'a', 'api', '?', '#', '=', 'http://h', '%C3%A9', '~', ':'];
    for (let n = 0; n < 20_000; n++) {
      let url = '';
      const parts = 1 + Math.floor(random() * 12);
      for (let i = 0; i < parts; i++) url += alphabet[Math.floor(random() * alphabet.length)];
      const once = normalizeRequestTarget(url);
      assert.equal(normalizeRequestTarget(once), once, JSON.stringify(url));
      if (url.startsWith('/') || url.startsWith('http://h/')) {
        const path = once.split(/[?#]/, 1)[0]!;
        assert.ok(!/(^|\/)\.\.?(\/|$)/.test(path) && !path.includes('//') && (path === '/' || !path.endsWith('/')), `${JSON.stringify(url)} → ${once}`);
      }
    }
  });
});

describe('every server made by createHttpServer routes the normalised target', () => {
  let app: FastifyInstance;
  let port: number;
  before(async () => {
    app = createHttpServer({ log: silentLogger });
    app.get('/a/b', async (req) => ({ url: req.url, originalUrl: req.originalUrl, query: req.query }));
    app.get('/p/:name', async (req) => ({ name: (req.params as { name: string }).name }));
    port = await listen(app, { host: '127.0.0.1', port: 0 });
  });
  after(() => app.close());

  test('the handler sees the normalised url; the one sent stays in originalUrl', async () => {
    for (const target of ['/a/b', '/%61/%62', 'http://host/a/b', '//a//b/', '/x/../a/./b', '/x/%2e%2e/a/b']) {
      const res = await rawRequest(port, 'GET', `${target}?q=%2F..`);
      assert.equal(res.status, 200, target);
      assert.deepEqual(JSON.parse(res.body), { url: '/a/b?q=%2F..', originalUrl: `${target}?q=%2F..`, query: { q: '/..' } });
    }
  });

  test('a parameter is still decoded by the router, an encoded slash included, and never twice', async () => {
    for (const [target, name] of [['/p/caf%C3%A9', 'café'], ['/p/a%2Fb', 'a/b'], ['/p/%2561', '%61'], ['/p/a%20b/', 'a b']] as const) {
      const res = await rawRequest(port, 'GET', target);
      assert.equal(res.status, 200, target);
      assert.deepEqual(JSON.parse(res.body), { name }, target);
    }
  });

  test('a target the router cannot read is refused, not routed', async () => {
    assert.equal((await rawRequest(port, 'GET', '/a%zz')).status, 400);
    assert.equal((await rawRequest(port, 'GET', '/a%2Fb')).status, 404);
  });
});
