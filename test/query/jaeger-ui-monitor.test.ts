/**
 * The real Jaeger UI's Monitor tab on Shipwatch, in headless chromium: the query program serves the UI's build
 * (QUERY_JAEGER_UI_DIR) over the embedded store and over Elasticsearch, holding spans of the last half hour with
 * errors and varied durations, and the tab's three charts (latency, error rate, request rate) and its operations
 * table must show those spans.
 *
 * Optional: needs a Jaeger UI build in SHIPWATCH_TEST_JAEGER_UI_DIR (the README's Development section says how to
 * build one from the UI's source; the test runner does not set it) and chromium in SHIPWATCH_TEST_CHROMIUM_BIN;
 * without them the tests are skipped, saying which is missing. The Elasticsearch part needs SHIPWATCH_TEST_ES_URL. A
 * screenshot of each tab is kept under `.test-data/ui-screenshots/`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KeyValue, Span } from '../../model/span.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { loadPage, startQueryServer, type QueryServer } from '../helpers/headless-chromium.js';
import { createSpanWriters } from '../../storage/span-storage-factory.js';
import { esClient, esTestUrl } from '../helpers/elasticsearch.js';

const SCREENSHOTS = fileURLToPath(new URL('../../.test-data/ui-screenshots/', import.meta.url));
const UI_DIR = process.env.SHIPWATCH_TEST_JAEGER_UI_DIR;
const CHROMIUM = process.env.SHIPWATCH_TEST_CHROMIUM_BIN;
const skip = !UI_DIR
  ? 'SHIPWATCH_TEST_JAEGER_UI_DIR is not set: this optional test needs a Jaeger UI build (README, Development, says how to make one)'
  : !CHROMIUM
    ? 'SHIPWATCH_TEST_CHROMIUM_BIN is not set (test/services/chromium.sh installs chromium)'
    : false;

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-ui-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SERVICE = 'checkout';
const ERROR: KeyValue = { key: 'error', type: 'bool', value: true };
const NOW_MS = Date.now();

/**
 * Server spans of `checkout` over the last 30 minutes, one every 20 s: `GET /cart` (10–90 ms, every fifth failed)
 * and `POST /pay` (200–650 ms, every third failed by its OpenTelemetry status); client spans the tab does not count
 * by default; a span of another service.
 */
function sampleSpans(): Span[] {
  const spans: Span[] = [];
  let n = 0;
  const span = (service: string, operation: string, kind: string, msAgo: number, durationMs: number, tags: KeyValue[]): Span => {
    n++;
    return {
      traceId: (0xb000 + n).toString(16).padStart(32, '0'), spanId: n.toString(16).padStart(16, '0'), operationName: operation, references: [], flags: 1,
      startTimeMicros: (NOW_MS - msAgo) * 1000, durationMicros: durationMs * 1000,
      tags: [{ key: 'span.kind', type: 'string', value: kind }, ...tags], logs: [], process: { serviceName: service, tags: [] },
    };
  };
  for (let i = 0; i < 90; i++) {
    const msAgo = 30_000 + i * 20_000;
    spans.push(span(SERVICE, 'GET /cart', 'server', msAgo, 10 + (i % 9) * 10, i % 5 === 0 ? [ERROR] : []));
    if (i % 2 === 0) {
      spans.push(span(SERVICE, 'POST /pay', 'server', msAgo + 5_000, 200 + (i % 10) * 50, i % 3 === 0 ? [{ key: 'otel.status_code', type: 'string', value: 'ERROR' }] : []));
    }
    if (i % 3 === 0) spans.push(span(SERVICE, 'SELECT carts', 'client', msAgo + 1_000, 3, []));
  }
  spans.push(span('stock', 'GET /stock', 'server', 60_000, 7, []));
  return spans;
}

/** The query program (QUERY_JAEGER_UI_DIR set) over the storage `env` names, after the spans were written to it. */
async function startQuery(name: string, env: Record<string, string>, afterWrite: () => Promise<void> = async () => {}): Promise<QueryServer> {
  const config = loadConfig(
    { SHIPWATCH_DATA_DIR: join(dir, name), QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0', QUERY_JAEGER_UI_DIR: UI_DIR!, ...env },
    'query',
  );
  const runtime = { config, log: silentLogger, shared: new SharedResources() };
  for (const writer of await createSpanWriters(runtime)) {
    const result = await writer.writeSpans(sampleSpans());
    assert.ok(result === undefined || result.failed === 0, `spans refused: ${JSON.stringify(result)}`);
  }
  await afterWrite();
  return startQueryServer(runtime);
}

/** The page at `url` in headless chromium: the rendered DOM, and a screenshot to `png`. */
async function chromium(url: string, png: string, t: TestContext): Promise<string> {
  const load = { bin: CHROMIUM!, dir, virtualTimeMs: 20_000, windowSize: '1400,1100', t };
  const dom = await loadPage(url, { ...load, output: 'dom' });
  await loadPage(url, { ...load, output: { png } });
  return dom;
}

/** The markup of the chart titled `title`: its graph container, up to the next one. */
function chart(dom: string, title: string): string {
  const at = dom.indexOf(`>${title}</h3>`);
  assert.ok(at >= 0, `no chart titled ${title}`);
  const from = dom.lastIndexOf('class="graph-container', at);
  const next = dom.indexOf('class="graph-container', at);
  assert.ok(from >= 0, `the chart titled ${title} has no container`);
  // The last chart ends where the operations table (its sparklines are charts too) begins.
  return dom.slice(from, next < 0 ? dom.indexOf('Operations metrics under', at) : next);
}

/** The area lines a chart draws, each with its vertices. */
function curves(markup: string): string[][] {
  return [...markup.matchAll(/<path[^>]*class="recharts-curve recharts-area-curve"[^>]*>/g)].map((m) => {
    const d = /\sd="([^"]*)"/.exec(m[0])?.[1] ?? '';
    return d.split(/[ML]/).filter((p) => p.trim() !== '');
  });
}

function textOf(markup: string): string {
  return markup.replace(/<[^>]*>/g, ' ').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
}

async function assertMonitorTab(server: QueryServer, name: string, t: TestContext): Promise<void> {
  const png = join(SCREENSHOTS, `jaeger-ui-monitor-${name}.png`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  rmSync(png, { force: true });
  const dom = await chromium(`${server.url}/monitor`, png, t);
  const text = textOf(dom);
  assert.ok(!text.includes('Get started with Service Performance Monitoring'), 'the get-started page (a 501) instead of the tab');
  assert.ok(!text.includes('No data yet'), 'the "No data yet" banner');
  assert.ok(!text.includes('Could not fetch data'), 'a chart could not fetch its data');
  assert.match(text, new RegExp(`Operations metrics under ${SERVICE}`));

  const latency = chart(dom, 'Latency (ms)');
  const latencyCurves = curves(latency);
  assert.equal(latencyCurves.length, 3, 'p50, p75 and p95 lines');
  for (const c of latencyCurves) assert.ok(c.length >= 20, `a latency line of ${c.length} vertices`);
  assert.match(textOf(latency), /50th.*75th.*95th/);
  for (const title of ['Error rate (%)', 'Request rate (req/s)']) {
    const markup = chart(dom, title);
    assert.ok(!textOf(markup).includes('No Data'), `${title}: No Data`);
    const lines = curves(markup);
    assert.equal(lines.length, 1, title);
    assert.ok(lines[0]!.length >= 20, `${title}: ${lines[0]!.length} vertices`);
    // The line is drawn over the whole hour, at 0 before the spans begin: the half-hour of spans must lift it off
    // that baseline (SVG's y grows downwards), a point a minute.
    const ys = lines[0]!.map((vertex) => Number(vertex.split(',')[1]));
    const baseline = Math.max(...ys);
    const lifted = ys.filter((y) => y < baseline - 1).length;
    assert.ok(lifted >= 20, `${title}: ${lifted} of ${ys.length} points above 0`);
  }
  // The operations table: both server operations with their figures (p95 latency, request rate, error rate averaged
  // over the hour's points), not the client one.
  const rows = new Map(
    [...dom.matchAll(/<tr[^>]*data-row-key[^>]*>([\s\S]*?)<\/tr>/g)].map((m) => {
      const row = textOf(m[1]!).trim();
      return [row.replace(/ [\d.]+ms.*$/, ''), row] as const;
    }),
  );
  assert.deepEqual([...rows.keys()].sort(), ['GET /cart', 'POST /pay'], 'the server operations');
  const figures = (op: string): { p95: number; errorPct: number } => {
    const m = /([\d.]+)ms &lt; 0\.1 req\/s ([\d.]+)%/.exec(rows.get(op)!);
    assert.ok(m, `${op}: ${rows.get(op)}`);
    return { p95: Number(m[1]), errorPct: Number(m[2]) };
  };
  // GET /cart: 10–90 ms, one in five failed; POST /pay: 200–650 ms, one in three failed.
  const cart = figures('GET /cart');
  const pay = figures('POST /pay');
  assert.ok(cart.p95 > 70 && cart.p95 < 100, `GET /cart p95 ${cart.p95} ms`);
  assert.ok(pay.p95 > 500 && pay.p95 < 700, `POST /pay p95 ${pay.p95} ms`);
  assert.ok(cart.errorPct > 12 && cart.errorPct < 28, `GET /cart errors ${cart.errorPct}%`);
  assert.ok(pay.errorPct > 22 && pay.errorPct < 45, `POST /pay errors ${pay.errorPct}%`);

  const bytes = readFileSync(png);
  assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
  assert.ok(bytes.length > 30_000, `${bytes.length} bytes is too small for the rendered tab`);
}

describe('the Jaeger UI\'s Monitor tab in chromium', { skip }, () => {
  test('on the embedded store: latency, error rate and request rate charts and the operations table', async (t) => {
    const server = await startQuery('store', {});
    t.after(() => server.close());
    await assertMonitorTab(server, 'store', t);
  });

  test('on Elasticsearch: the same', async (t) => {
    if (!process.env.SHIPWATCH_TEST_ES_URL) return t.skip('SHIPWATCH_TEST_ES_URL is not set');
    const esUrl = await esTestUrl();
    const prefix = `sw-jaeger-ui-${process.pid}`;
    const env = { SPAN_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: esUrl, ES_INDEX_PREFIX: prefix, ES_NUM_SHARDS: '1', ES_NUM_REPLICAS: '0' };
    const client = esClient();
    const index = `${prefix}-jaeger-*`;
    t.after(async () => {
      await client.indices.delete({ index, ignore_unavailable: true, allow_no_indices: true });
      await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] });
      await client.close();
    });
    const server = await startQuery('es', env, async () => {
      await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
    });
    t.after(() => server.close());
    await assertMonitorTab(server, 'elasticsearch', t);
  });
});
