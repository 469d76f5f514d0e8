/**
 * The web UI in a real browser: Debian's chromium (test/services/chromium.sh), headless, against the query program
 * listening on loopback over a store holding a few log records, one trace and container statistics written through
 * the store's APIs.
 * `--dump-dom` gives the page as the modules rendered it; a screenshot of each view is kept under
 * `.test-data/ui-screenshots/` for a person to look at.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { loadPage, startQueryServer, type QueryServer } from '../helpers/headless-chromium.js';
import { deleteIndices, esClient, esTestUrl } from '../helpers/elasticsearch.js';
import { BulkEncoder } from '../../storage/elasticsearch/bulk-encoder.js';
import { openStoreSpanStorage } from '../../storage/span-storage-factory.js';
import { openStoreLogStorage } from '../../storage/sqlite/log-store.js';
import { openStoreMetricStorage } from '../../storage/sqlite/metric-store.js';
import { SAMPLE_LOG_SPAN_ID, SAMPLE_NGINX_LINE, SAMPLE_TRACE_ID, sampleLogs, sampleMetrics, sampleTrace } from '../helpers/ui-sample-data.js';

const SCREENSHOTS = fileURLToPath(new URL('../../.test-data/ui-screenshots/', import.meta.url));

function chromiumBin(): string {
  const bin = process.env.SHIPWATCH_TEST_CHROMIUM_BIN;
  if (!bin) throw new Error('SHIPWATCH_TEST_CHROMIUM_BIN not set: run through `npm test -- test/query/ui-browser.test.ts` (test/services/chromium.sh installs it)');
  return bin;
}

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-ui-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The query program on its own store; the sample is written through the shared storages it reads. */
async function startQuery(name: string, env: Record<string, string> = {}): Promise<QueryServer> {
  const config = loadConfig({ SHIPWATCH_DATA_DIR: join(dir, name), QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0', ...env }, 'query');
  const runtime = { config, log: silentLogger, shared: new SharedResources() };
  const now = Date.now();
  await openStoreLogStorage(runtime).write(sampleLogs(now));
  await openStoreSpanStorage(runtime).writeSpans(sampleTrace(now));
  const metrics = openStoreMetricStorage(runtime);
  metrics.write(sampleMetrics(now));
  metrics.flush();
  return startQueryServer(runtime);
}

/** The page at `url` in headless chromium: its rendered DOM, or a screenshot written to `png`. */
function chromium(url: string, output: { png: string } | 'dom'): Promise<string> {
  return loadPage(url, { bin: chromiumBin(), dir, output, virtualTimeMs: 10_000, windowSize: '1400,900' });
}

/** The page's visible text, roughly: tags dropped, the entities the serialiser writes decoded. */
function textOf(dom: string): string {
  return dom.replace(/<[^>]*>/g, ' ').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
}

let server: QueryServer;
before(async () => {
  server = await startQuery('open');
  mkdirSync(SCREENSHOTS, { recursive: true });
});
after(() => server.close());

describe('the web UI in chromium', () => {
  test('the logs view shows the records, newest first, with their fields and the parse error and truncated markers', async () => {
    const dom = await chromium(`${server.url}/#/logs`, 'dom');
    const text = textOf(dom);
    assert.ok(text.includes(SAMPLE_NGINX_LINE), 'the nginx line');
    assert.match(text, /7 records/);
    assert.match(text, /level ?= ?warn msg ?= ?slow query duration_ms ?= ?1250 table ?= ?orders/, 'a json line as its fields');
    assert.equal((dom.match(/class="badge parse-error"/g) ?? []).length, 1);
    assert.equal((dom.match(/class="badge truncated"/g) ?? []).length, 1);
    assert.ok(text.indexOf('order placed') < text.indexOf('worker process started'), 'newest first');
  });

  test('a text search narrows the logs', async () => {
    const text = textOf(await chromium(`${server.url}/#/logs?q=nginx&lookback=24h`, 'dom'));
    assert.match(text, /1 record\b/);
    assert.ok(text.includes('worker process started'));
    assert.ok(!text.includes(SAMPLE_NGINX_LINE));
  });

  test('the traces view lists the trace with its services and spans', async () => {
    const text = textOf(await chromium(`${server.url}/#/traces`, 'dom'));
    assert.match(text, /1 trace\b/);
    assert.match(text, /frontend : GET \/checkout/);
    assert.match(text, /4 spans/);
    for (const s of ['api (1)', 'cache (1)', 'db (1)', 'frontend (1)']) assert.ok(text.includes(s), s);
  });

  test('the trace view draws every span nested by its references, with durations and the open span details', async () => {
    const dom = await chromium(`${server.url}/#/trace/${SAMPLE_TRACE_ID}?span=00000000000000f2`, 'dom');
    const depths = [...dom.matchAll(/class="tl-row"[^>]*data-depth="(\d)"[^>]*>.*?class="tl-op">([^<]*)</g)].map((m) => [m[2], Number(m[1])]);
    assert.deepEqual(depths, [['GET /checkout', 0], ['POST /orders', 1], ['GET cart', 2], ['INSERT orders', 2]]);
    const text = textOf(dom);
    for (const d of ['48ms', '41ms', '1.8ms', '30ms']) assert.ok(text.includes(d), d);
    assert.match(text, /order validated/, 'the open span shows its log');
    assert.match(text, /hostname api-1/, 'and its process tags');
  });

  test('logs and traces together: a log line links to its trace, the trace lists its log lines, per span too', async () => {
    const logs = await chromium(`${server.url}/#/logs`, 'dom');
    const links = [...logs.matchAll(/<a class="trace-link" href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    assert.deepEqual(links, [`#/trace/${SAMPLE_TRACE_ID}?span=${SAMPLE_LOG_SPAN_ID}`, `#/trace/${SAMPLE_TRACE_ID}?span=${SAMPLE_LOG_SPAN_ID}`], 'the two lines naming the trace link to it');
    // Opened as the link leads: the trace, its span open, and the lines naming it.
    const trace = await chromium(`${server.url}/${links[0]}`, 'dom');
    const text = textOf(trace);
    assert.match(text, /frontend : GET \/checkout/, 'the trace');
    assert.match(text, /Log lines of this trace \(2\)/);
    const section = textOf(trace.slice(trace.indexOf('class="trace-logs"')));
    assert.ok(section.indexOf('slow query') >= 0 && section.indexOf('slow query') < section.indexOf('order placed'), 'oldest first');
    assert.ok(!section.includes('worker process started'), 'only the lines naming the trace');
    const spanLines = textOf(trace.slice(trace.indexOf('class="span-log-lines"'), trace.indexOf('class="trace-logs"')));
    assert.match(spanLines, /slow query/, 'the open span lists its own lines');
    // And back: the section's link opens the log search narrowed to the trace.
    const search = /<a href="(#\/logs\?traceId=[^"]+)"/.exec(trace)?.[1];
    assert.equal(search, `#/logs?traceId=${SAMPLE_TRACE_ID}`);
    assert.match(textOf(await chromium(`${server.url}/${search}`, 'dom')), /2 records/);
  });

  test('the metrics view charts the containers\' CPU, one line per container', async () => {
    const dom = await chromium(`${server.url}/#/metrics`, 'dom');
    const text = textOf(dom);
    assert.match(text, /docker_container_cpu · usage_percent · avg per \d+ s · 2 series, \d+ points/);
    const paths = [...dom.matchAll(/<path d="(M[^"]+)"[^>]*class="series"/g)].map((m) => m[1]!);
    assert.equal(paths.length, 2);
    // 30 minutes of points every 15 s in an hour's chart: each line has many vertices.
    for (const d of paths) assert.ok(d.split('L').length > 20, d.slice(0, 80));
    for (const name of ['container_name=shop-api-1', 'container_name=shop-web-1']) assert.ok(text.includes(name), name);
  });

  test('a tag filter narrows the chart to one series', async () => {
    const dom = await chromium(`${server.url}/#/metrics?measurement=docker_container_cpu&field=usage_percent&aggregate=max&tagKey=container_name&tagValue=shop-web-1`, 'dom');
    assert.match(textOf(dom), /max per \d+ s · 1 series/);
    assert.equal([...dom.matchAll(/class="series"/g)].length, 1);
  });

  test('the status view reports the query program and what the store holds', async () => {
    const text = textOf(await chromium(`${server.url}/#/status`, 'dom'));
    assert.match(text, /Programs \(shipwatch query\)/);
    assert.match(text, /query running/);
    assert.match(text, /store · 7 records/);
  });

  test('each view renders in a screenshot', async () => {
    for (const [name, route] of [
      ['logs', '#/logs'], ['traces', '#/traces'], ['trace', `#/trace/${SAMPLE_TRACE_ID}?span=00000000000000f2`], ['metrics', '#/metrics'], ['status', '#/status'],
    ]) {
      const png = join(SCREENSHOTS, `${name}.png`);
      rmSync(png, { force: true });
      await chromium(`${server.url}/${route}`, { png });
      const bytes = readFileSync(png);
      assert.equal(bytes.subarray(1, 4).toString(), 'PNG', name);
      assert.equal(bytes.readUInt32BE(16), 1400, `${name}: width`);
      assert.ok(bytes.length > 10_000, `${name}: ${bytes.length} bytes is too small for a rendered view`);
    }
  });

  test('logs and traces together with the logs in Elasticsearch: the same links and the trace\'s log lines', async (t) => {
    const prefix = `sw-ui-${process.pid}-${Date.now().toString(36)}`;
    const events = sampleLogs(Date.now()).map((e) => ({ ...e, target: `${prefix}-${e.target}`, json: e.json.replace(/"target":"(\w+)"/, `"target":"${prefix}-$1"`) }));
    const es = esClient();
    t.after(async () => {
      await es.close();
      await deleteIndices(`${prefix}-*`);
    });
    const r = (await es.transport.request({ method: 'POST', path: '/_bulk', querystring: { refresh: 'true' }, bulkBody: new BulkEncoder('daily').encode(events) })) as { errors: boolean };
    assert.equal(r.errors, false);
    const onEs = await startQuery('logs-on-es', { LOG_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: await esTestUrl(), QUERY_LOG_INDICES: `${prefix}-*` });
    t.after(() => onEs.close());
    const logs = await chromium(`${onEs.url}/#/logs`, 'dom');
    const links = [...logs.matchAll(/<a class="trace-link" href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    assert.deepEqual(links, [`#/trace/${SAMPLE_TRACE_ID}?span=${SAMPLE_LOG_SPAN_ID}`, `#/trace/${SAMPLE_TRACE_ID}?span=${SAMPLE_LOG_SPAN_ID}`]);
    const text = textOf(await chromium(`${onEs.url}/${links[0]}`, 'dom'));
    assert.match(text, /frontend : GET \/checkout/);
    assert.match(text, /Log lines of this trace \(2\)/);
    assert.match(text, /slow query/);
  });

  test('with a token the page asks for it instead of showing data', async (t) => {
    const secured = await startQuery('secured', { QUERY_AUTH_TOKEN: 'ui-s3cret' });
    t.after(() => secured.close());
    const dom = await chromium(`${secured.url}/#/logs`, 'dom');
    assert.match(dom, /<dialog id="token-dialog"[^>]*\bopen\b/);
    assert.ok(!textOf(dom).includes(SAMPLE_NGINX_LINE));
  });
});
