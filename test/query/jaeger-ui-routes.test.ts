/**
 * Serving a Jaeger UI build (QUERY_JAEGER_UI_DIR), without a browser: a folder shaped as the UI's build writes it
 * (index.html with the lines Jaeger's query replaces, static/), over an in-memory store. The index carries the
 * Monitor tab's configuration and a policy allowing exactly its inline scripts; the UI's own routes answer the index,
 * its files are served by name only, the APIs stay answered, Shipwatch's UI moves to /ui/; a folder that is no UI
 * build stops the start with a message. The Monitor tab's own requests (as the UI's source forms them) get answers
 * of the shape it reads.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { KeyValue, Span } from '../../model/span.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { buildQueryApp } from '../../query/api-app.js';
import { JAEGER_UI_CONFIG } from '../../query/jaeger-ui-routes.js';
import { StoreDatabase } from '../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../storage/sqlite/span-store.js';

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-ui-routes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The parts of the UI build's index.html that matter here, as its template has them. */
const INDEX = `<!doctype html>
<html lang="en">
  <head>
    <base href="/" data-inject-target="BASE_URL" />
    <link rel="shortcut icon" href="./static/favicon-x1.ico">
    <script>
      // JAEGER_CONFIG_JS
      function getJaegerUiConfig() {
        const DEFAULT_CONFIG = null;
        const JAEGER_CONFIG = DEFAULT_CONFIG;
        return JAEGER_CONFIG;
      }
      function getJaegerVersion() {
        const DEFAULT_VERSION = {'gitCommit':'', 'gitVersion':'', 'buildDate':''};
        const JAEGER_VERSION = DEFAULT_VERSION;
        return JAEGER_VERSION;
      }
    </script>
    <script type="module" crossorigin src="./static/index-a1.js"></script>
    <script type="module">window.__vite_is_modern_browser=true</script>
  </head>
  <body><div id="jaeger-ui-root"></div></body>
</html>
`;

function uiBuild(name: string, index = INDEX): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'static'), { recursive: true });
  writeFileSync(join(root, 'index.html'), index);
  writeFileSync(join(root, 'static', 'index-a1.js'), 'console.log("jaeger ui");\n');
  writeFileSync(join(root, 'static', 'index-a1.css'), 'body{}\n');
  writeFileSync(join(root, 'static', 'favicon-x1.ico'), Buffer.from([0, 0, 1, 0]));
  writeFileSync(join(root, '.hidden'), 'secret');
  return root;
}

const NOW_MS = Date.now() - (Date.now() % 60_000);
const ERROR: KeyValue = { key: 'error', type: 'bool', value: true };
let n = 0;
function span(service: string, operation: string, kind: string, msAgo: number, durationMs: number, tags: KeyValue[] = []): Span {
  n++;
  return {
    traceId: (0xc000 + n).toString(16).padStart(32, '0'), spanId: n.toString(16).padStart(16, '0'), operationName: operation, references: [], flags: 1,
    startTimeMicros: (NOW_MS - msAgo) * 1000, durationMicros: durationMs * 1000,
    tags: [{ key: 'span.kind', type: 'string', value: kind }, ...tags], logs: [], process: { serviceName: service, tags: [] },
  };
}

async function app(options: { jaegerUiDir?: string } = {}): Promise<FastifyInstance> {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  after(() => db.close());
  const store = new StoreSpanStorage(db);
  // Six calls of each server operation within the last ten minutes, one of each failed: the tab's rate (calls per second over a
  // 10-minute window, rounded to 2 decimals as Jaeger does) is 0.01, where fewer would round to 0.
  const spans: Span[] = [span('checkout', 'SELECT', 'client', 60_000, 2)];
  for (let i = 0; i < 6; i++) {
    spans.push(span('checkout', 'GET /cart', 'server', 60_000 + i * 20_000, 20 + i * 10, i === 1 ? [ERROR] : []));
    spans.push(span('checkout', 'POST /pay', 'server', 70_000 + i * 20_000, 300 + i * 20, i === 2 ? [{ key: 'otel.status_code', type: 'string', value: 'ERROR' }] : []));
  }
  await store.writeSpans(spans);
  const built = buildQueryApp({ spanReader: store, authToken: '', corsOrigins: [], maxTraces: 10, maxLogs: 10, log: silentLogger, ...options });
  after(() => built.close());
  return built;
}

describe('QUERY_JAEGER_UI_DIR: the Jaeger UI at /', async () => {
  const ui = await app({ jaegerUiDir: uiBuild('ui') });

  test('index.html carries the Monitor tab\'s configuration, Shipwatch\'s version and a policy naming its inline scripts', async () => {
    const res = await ui.inject({ url: '/' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.ok(res.body.includes(`const JAEGER_CONFIG = ${JSON.stringify(JAEGER_UI_CONFIG)};`), 'the configuration');
    assert.deepEqual(JAEGER_UI_CONFIG, {
      monitor: { menuEnabled: true },
      linkPatterns: [{ type: 'traces', url: '/ui/#/logs?traceId=#{traceID}', text: 'Log lines of this trace (Shipwatch)' }],
    });
    assert.match(res.body, /const JAEGER_VERSION = \{"gitCommit":"","gitVersion":"shipwatch \d+\.\d+\.\d+[^"]*","buildDate":""\};/);
    assert.ok(!res.body.includes('= DEFAULT_CONFIG;'));
    const csp = String(res.headers['content-security-policy']);
    const inline = [...res.body.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    assert.equal(inline.length, 2);
    for (const body of inline) assert.ok(csp.includes(`'sha256-${createHash('sha256').update(body).digest('base64')}'`), 'an inline script\'s hash');
    assert.match(csp, /script-src 'self' 'sha256-[^ ;]+' 'sha256-[^ ;]+';/);
    assert.ok(!/script-src[^;]*unsafe/.test(csp), csp);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /object-src 'none'/);
  });

  test('the UI\'s own routes answer the index; its files are served by name; a missing file is a 404', async () => {
    const index = (await ui.inject({ url: '/' })).body;
    for (const url of ['/monitor', '/search?service=checkout&limit=20', '/trace/0000000000000001', '/dependencies', '/index.html']) {
      const res = await ui.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, index, url);
    }
    const js = await ui.inject({ url: '/static/index-a1.js' });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.body, 'console.log("jaeger ui");\n');
    assert.equal((await ui.inject({ url: '/static/index-a1.css' })).headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await ui.inject({ url: '/static/favicon-x1.ico' })).headers['content-type'], 'image/x-icon');
    const again = await ui.inject({ url: '/static/index-a1.js', headers: { 'if-none-match': String(js.headers.etag) } });
    assert.equal(again.statusCode, 304);
    for (const url of ['/static/missing.js', '/static/../index.html', '/static/%2e%2e/%2e%2e/package.json', '/.hidden', '/static/.hidden', '/favicon.ico', '/package.json']) {
      const res = await ui.inject({ url });
      assert.ok(res.statusCode === 404 || res.statusCode === 400 || (res.statusCode === 200 && res.body === index), `${url}: ${res.statusCode}`);
      assert.ok(!res.body.includes('secret') && !res.body.includes('"name": "shipwatch"'), url);
    }
    assert.equal((await ui.inject({ url: '/static/missing.js' })).statusCode, 404);
  });

  test('the APIs are answered as before, and Shipwatch\'s own UI is at /ui/', async () => {
    const services = await ui.inject({ url: '/api/services' });
    assert.equal(services.statusCode, 200);
    assert.deepEqual(services.json().data, ['checkout']);
    const unknown = await ui.inject({ url: '/api/nothing' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().errors[0].msg, '404 page not found');
    const own = await ui.inject({ url: '/ui/' });
    assert.equal(own.statusCode, 200);
    assert.match(own.body, /<script type="module" src="\/ui\/app\.js"><\/script>/);
    assert.equal((await ui.inject({ url: '/ui/app.js' })).statusCode, 200);
  });

  test('the Monitor tab\'s requests, as the UI forms them, get the answers it reads', async () => {
    // The UI's fetchAllServiceMetrics and fetchAggregatedServiceMetrics: query-string's sorted keys after `service=`.
    const endTs = NOW_MS;
    const base = `endTs=${endTs}&lookback=3600000`;
    const tail = 'ratePer=600000&spanKind=server&step=60000';
    const requests: Array<[string, string]> = [
      ['latencies', `service=checkout&${base}&quantile=0.5&${tail}`],
      ['latencies', `service=checkout&${base}&quantile=0.75&${tail}`],
      ['latencies', `service=checkout&${base}&quantile=0.95&${tail}`],
      ['calls', `service=checkout&${base}&quantile=0.95&${tail}`],
      ['errors', `service=checkout&${base}&quantile=0.95&${tail}`],
      ['latencies', `service=checkout&endTs=${endTs}&groupByOperation=true&lookback=3600000&quantile=0.95&${tail}`],
      ['calls', `service=checkout&endTs=${endTs}&groupByOperation=true&lookback=3600000&quantile=0.95&${tail}`],
      ['errors', `service=checkout&endTs=${endTs}&groupByOperation=true&lookback=3600000&quantile=0.95&${tail}`],
    ];
    for (const [kind, query] of requests) {
      const res = await ui.inject({ url: `/api/metrics/${kind}?${query}` });
      assert.equal(res.statusCode, 200, `${kind}?${query}: ${res.body}`);
      const body = res.json() as { name: string; metrics: Array<{ labels: Array<{ name: string; value: string }>; metricPoints: Array<{ gaugeValue: { doubleValue: number | string }; timestamp: string }> }> };
      const grouped = query.includes('groupByOperation=true');
      assert.equal(body.name, `service_${grouped ? 'operation_' : ''}${{ latencies: 'latencies', calls: 'call_rate', errors: 'error_rate' }[kind]}`);
      // The reducer reads the service from labels[0] and each point's doubleValue with toFixed (NaN as a string).
      assert.equal(body.metrics.length, grouped ? 2 : 1, query);
      for (const m of body.metrics) {
        assert.deepEqual(m.labels[0], { name: 'service_name', value: 'checkout' });
        if (grouped) assert.equal(m.labels.find((l) => l.name === 'operation')?.value !== undefined, true);
        assert.equal(m.metricPoints.length, 61);
        for (const p of m.metricPoints) {
          assert.ok(typeof p.gaugeValue.doubleValue === 'number' || p.gaugeValue.doubleValue === 'NaN', JSON.stringify(p));
          assert.ok(Number.isFinite(new Date(p.timestamp).getTime()), p.timestamp);
        }
        assert.ok(m.metricPoints.some((p) => typeof p.gaugeValue.doubleValue === 'number' && p.gaugeValue.doubleValue > 0), `${kind}?${query}: some value`);
      }
      if (grouped) assert.deepEqual(body.metrics.map((m) => m.labels[1]!.value), ['GET /cart', 'POST /pay'], 'server operations only');
    }
    const ops = await ui.inject({ url: '/api/operations?service=checkout&spanKind=server' });
    assert.deepEqual(ops.json().data.map((o: { name: string }) => o.name).sort(), ['GET /cart', 'POST /pay']);
  });
});

describe('without QUERY_JAEGER_UI_DIR', async () => {
  const plain = await app();
  test('Shipwatch\'s UI is at / and the Jaeger UI\'s routes are not found', async () => {
    assert.match((await plain.inject({ url: '/' })).body, /\/ui\/app\.js/);
    assert.equal((await plain.inject({ url: '/monitor' })).statusCode, 404);
    assert.equal((await plain.inject({ url: '/ui/' })).statusCode, 404);
  });
});

describe('a folder that is no Jaeger UI build', () => {
  test('stops the start with a message naming the variable, the folder and what is wrong', () => {
    const noIndex = join(dir, 'empty');
    mkdirSync(noIndex, { recursive: true });
    const notJaeger = uiBuild('not-jaeger', '<!doctype html><title>something else</title>');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const [folder, problem] of [
      [join(dir, 'missing'), /no such folder/],
      [file, /no such folder/],
      [noIndex, /no index\.html in it/],
      [notJaeger, /no "JAEGER_CONFIG = DEFAULT_CONFIG;" line: it is not a Jaeger UI build/],
    ] as const) {
      const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
      try {
        assert.throws(
          () => buildQueryApp({ spanReader: new StoreSpanStorage(db), authToken: '', corsOrigins: [], maxTraces: 10, maxLogs: 10, log: silentLogger, jaegerUiDir: folder }),
          (err: Error) => err.message.startsWith(`QUERY_JAEGER_UI_DIR=${folder}: `) && problem.test(err.message),
        );
      } finally {
        db.close();
      }
    }
  });

  test('the variable is read by the query, empty by default', () => {
    assert.equal(loadConfig({ SHIPWATCH_DATA_DIR: dir }, 'query').query.jaegerUiDir, '');
    assert.equal(loadConfig({ SHIPWATCH_DATA_DIR: dir, QUERY_JAEGER_UI_DIR: '/srv/jaeger-ui' }, 'query').query.jaegerUiDir, '/srv/jaeger-ui');
  });
});
