import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { queryAppWithFixtures, type QueryFixture } from '../helpers/query-fixtures.js';
import { findUiDir } from '../../query/ui-routes.js';

const UI_DIR = fileURLToPath(new URL('../../query/ui/', import.meta.url));

let f: QueryFixture;
let secured: QueryFixture;
before(async () => {
  f = await queryAppWithFixtures();
  secured = await queryAppWithFixtures({ authToken: 's3cret' });
});
after(async () => {
  await f.close();
  await secured.close();
});

/** Every `/ui/...` URL the page names (link href, script src, img src). */
function linkedFrom(html: string): string[] {
  return [...html.matchAll(/(?:href|src)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
}

/** Every relative module a UI script imports. */
function importsOf(js: string): string[] {
  return [...js.matchAll(/\bfrom\s+'(\.\/[^']+)'/g)].map((m) => m[1]!.slice(2));
}

describe('the web UI', () => {
  test('the UI folder is found beside the query program', () => {
    assert.equal(findUiDir(), UI_DIR);
  });

  test('/ answers the page as HTML with a content security policy, revalidated by its ETag', async () => {
    const res = await f.app.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'; style-src 'self';/);
    assert.doesNotMatch(String(res.headers['content-security-policy']), /unsafe/);
    assert.equal(res.body, readFileSync(`${UI_DIR}index.html`, 'utf8'));
    const again = await f.app.inject({ url: '/', headers: { 'if-none-match': String(res.headers.etag) } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('every file the page links is served with its content type', async () => {
    const html = (await f.app.inject({ url: '/' })).body;
    const links = linkedFrom(html);
    assert.deepEqual(links.sort(), ['/ui/app.css', '/ui/app.js', '/ui/favicon.svg', '/ui/favicon.svg'].sort());
    const types: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml' };
    for (const url of links) {
      const res = await f.app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.headers['content-type'], types[url.split('.').pop()!], url);
      assert.equal(res.headers['cache-control'], 'no-cache', url);
      assert.equal(res.headers['content-security-policy'], undefined, 'only the page carries the policy');
    }
  });

  test('every module the scripts import is served, and every script in the folder is reachable from app.js', async () => {
    const reached = new Set<string>();
    const queue = ['app.js'];
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (reached.has(name)) continue;
      reached.add(name);
      const res = await f.app.inject({ url: `/ui/${name}` });
      assert.equal(res.statusCode, 200, name);
      assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
      queue.push(...importsOf(res.body));
    }
    const onDisk = readdirSync(UI_DIR).filter((n) => n.endsWith('.js')).sort();
    assert.deepEqual([...reached].sort(), onDisk);
  });

  test('HEAD answers the headers without the body', async () => {
    const res = await f.app.inject({ method: 'HEAD', url: '/ui/app.css' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(res.body, '');
  });

  test('paths that leave the UI folder or name no UI file are refused', async () => {
    const packageJson = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    for (const url of [
      '/ui/../package.json', '/ui/..%2f..%2fpackage.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/..%5c..%5cpackage.json',
      '/ui//etc/passwd', '/ui/%2fetc%2fpasswd', '/ui/../ui-routes.ts', '/ui/ui-routes.ts', '/ui/', '/ui', '/ui/missing.js',
      '/ui/app.js%00.css', '/ui/APP.JS', '/../package.json', '/package.json',
    ]) {
      const res = await f.app.inject({ url });
      assert.ok(res.statusCode === 404 || res.statusCode === 400, `${url}: ${res.statusCode}`);
      assert.ok(!res.body.includes('"name": "shipwatch"') && res.body !== packageJson && !res.body.includes('root:'), url);
    }
  });

  test('/index.html redirects to /', async () => {
    const res = await f.app.inject({ url: '/index.html' });
    assert.equal(res.statusCode, 301);
    assert.equal(res.headers.location, '/');
  });

  test('with a token the files stay public while the API, status included, needs it', async () => {
    assert.equal((await secured.app.inject({ url: '/' })).statusCode, 200);
    assert.equal((await secured.app.inject({ url: '/ui/app.js' })).statusCode, 200);
    const refused = await secured.app.inject({ url: '/api/status' });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers['www-authenticate'], 'Bearer');
    const ok = await secured.app.inject({ url: '/api/status', headers: { authorization: 'Bearer s3cret' } });
    assert.equal(ok.statusCode, 200);
  });

  test('an installation missing the UI files still serves the API, and / says what is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'shipwatch-no-ui-'));
    const partial = await queryAppWithFixtures({ uiDir: empty });
    try {
      const res = await partial.app.inject({ url: '/' });
      assert.equal(res.statusCode, 503);
      assert.match(res.body, /web UI's files are missing: no index.html in .*shipwatch-no-ui-/);
      assert.equal((await partial.app.inject({ url: '/api/services' })).statusCode, 200);
    } finally {
      await partial.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('the app can be built without the UI', async () => {
    const bare = await queryAppWithFixtures({ uiDir: false });
    try {
      assert.equal((await bare.app.inject({ url: '/' })).statusCode, 404);
      assert.equal((await bare.app.inject({ url: '/api/services' })).statusCode, 200);
    } finally {
      await bare.close();
    }
  });
});
