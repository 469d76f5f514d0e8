/**
 * The web UI's trace pages in a real browser (Debian's chromium, driven through test/helpers/browser-page.ts),
 * compared with what Jaeger UI offers: the results' scatter plot and orders, a zero duration with its unit, the
 * search within a trace, the trace graph, the trace's JSON, and the compare view of two traces.
 *
 * The query program runs on its own embedded store holding three traces written through the store's API: the UI
 * sample's checkout (four services, an error on the cache), a longer checkout without the cache and with two
 * inserts and a payment call, and a probe's single span of 0 µs. Screenshots of the search, a trace and the compare
 * view are kept under `.test-data/ui-screenshots/`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { openStoreSpanStorage } from '../../storage/span-storage-factory.js';
import type { Span } from '../../model/span.js';
import { chromiumBin, openBrowser, type UiBrowser, type UiPage } from '../helpers/browser-page.js';
import { startQueryServer, type QueryServer } from '../helpers/headless-chromium.js';
import { SAMPLE_TRACE_ID, sampleTrace } from '../helpers/ui-sample-data.js';

const LONG_TRACE_ID = '7c1e0f9a2b3d4c5e6f708192a3b4c5d6';
const ZERO_TRACE_ID = '9f3c0a1b2c3d4e5f60718293a4b5c6d7';

/** A second checkout, 5 minutes ago: 120 ms, no cache lookup, two inserts and a payment call. */
function longTrace(nowMs: number): Span[] {
  const base = (nowMs - 300_000) * 1000;
  const span = (id: string, service: string, parent: string | undefined, op: string, offsetUs: number, durationUs: number): Span => ({
    traceId: LONG_TRACE_ID, spanId: id, operationName: op, flags: 1,
    references: parent ? [{ refType: 'CHILD_OF', traceId: LONG_TRACE_ID, spanId: parent }] : [],
    startTimeMicros: base + offsetUs, durationMicros: durationUs, tags: [{ key: 'span.kind', type: 'string', value: 'server' }], logs: [],
    process: { serviceName: service, tags: [{ key: 'hostname', type: 'string', value: `${service}-2` }] },
  });
  return [
    span('00000000000000a1', 'frontend', undefined, 'GET /checkout', 0, 120_000),
    span('00000000000000a2', 'api', '00000000000000a1', 'POST /orders', 1_000, 110_000),
    span('00000000000000a3', 'db', '00000000000000a2', 'INSERT orders', 5_000, 20_000),
    span('00000000000000a4', 'db', '00000000000000a2', 'INSERT orders', 30_000, 25_000),
    span('00000000000000a5', 'payment', '00000000000000a2', 'charge', 60_000, 45_000),
  ];
}

/** A health probe a minute ago whose one span took no measurable time. */
function zeroTrace(nowMs: number): Span[] {
  return [{
    traceId: ZERO_TRACE_ID, spanId: '0000000000000b01', operationName: 'GET /health', flags: 1, references: [],
    startTimeMicros: (nowMs - 60_000) * 1000, durationMicros: 0, tags: [], logs: [],
    process: { serviceName: 'probe', tags: [] },
  }];
}

/** A page's own wait on this shared, often busy machine: generous, as a person would wait for a slow page. */
const WAIT_MS = 30_000;

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-ui-traces-'));
let server: QueryServer;
let browser: UiBrowser;

const bin = chromiumBin();
const skip = bin ? false : 'SHIPWATCH_TEST_CHROMIUM_BIN not set (test/services/chromium.sh installs chromium)';

before(async () => {
  if (!bin) return;
  const config = loadConfig({ SHIPWATCH_DATA_DIR: join(dir, 'store'), QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0' }, 'query');
  const runtime = { config, log: silentLogger, shared: new SharedResources() };
  const now = Date.now();
  await openStoreSpanStorage(runtime).writeSpans([...sampleTrace(now), ...longTrace(now), ...zeroTrace(now)]);
  server = await startQueryServer(runtime);
  browser = await openBrowser(bin);
});
after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Evaluated in the page: a string expression keeps the DOM's types out of this Node program. */
async function inPage<T>(ui: UiPage, expression: string): Promise<T> {
  return (await ui.page.evaluate(expression)) as T;
}

const cardIds = (ui: UiPage): Promise<string[]> => inPage(ui, `[...document.querySelectorAll('.trace-card')].map((c) => c.dataset.traceId)`);

/** Clicks `selector` and waits for the download it starts: the file's name and text. */
async function downloadBy(ui: UiPage, selector: string): Promise<{ name: string; text: string }> {
  const downloads = mkdtempSync(join(dir, 'downloads-'));
  const cdp = await ui.page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, eventsEnabled: true });
  let name = '';
  cdp.on('Browser.downloadWillBegin', (e) => (name = e.suggestedFilename));
  const done = new Promise<void>((resolve) => cdp.on('Browser.downloadProgress', (e) => { if (e.state === 'completed') resolve(); }));
  await ui.click(selector);
  await done;
  await cdp.detach();
  return { name, text: readFileSync(join(downloads, name), 'utf8') };
}

async function searchPage(): Promise<UiPage> {
  const ui = await browser.open(`${server.url}/#/traces`);
  await ui.waitForText('.results-bar', /^3 traces/, WAIT_MS);
  return ui;
}

describe('the trace pages in chromium', { skip }, () => {
  test('the results show a scatter point per trace, errors marked, and a click on a point opens its trace', async () => {
    const ui = await searchPage();
    const points = await inPage<{ id: string; error: boolean; href: string }[]>(ui,
      `[...document.querySelectorAll('svg.scatter a.scatter-link')].map((a) => ({ id: a.dataset.traceId, error: a.querySelector('circle').classList.contains('error'), href: a.getAttribute('href') }))`);
    assert.equal(points.length, (await cardIds(ui)).length);
    assert.deepEqual(points.map((p) => p.id).sort(), [SAMPLE_TRACE_ID, LONG_TRACE_ID, ZERO_TRACE_ID].sort());
    assert.deepEqual(points.filter((p) => p.error).map((p) => p.id), [SAMPLE_TRACE_ID], 'only the trace with the cache error is marked');
    for (const p of points) assert.equal(p.href, `#/trace/${p.id}`);
    await ui.screenshot('traces-search');
    await ui.click(`svg.scatter a.scatter-link[data-trace-id="${LONG_TRACE_ID}"] circle`);
    assert.match(await ui.waitForText('.trace-header h2', /GET \/checkout/, WAIT_MS), new RegExp(LONG_TRACE_ID));
    assert.equal(new URL(ui.page.url()).hash, `#/trace/${LONG_TRACE_ID}`);
    ui.assertCleanConsole();
    await ui.close();
  });

  test('the results download as the API answers them', async () => {
    const ui = await searchPage();
    const saved = await downloadBy(ui, 'button.download-results');
    assert.match(saved.name, /^traces-\d{4}-\d\d-\d\dT\d{6}\.json$/);
    const data = (JSON.parse(saved.text) as { data: Array<{ traceID: string }> }).data;
    assert.deepEqual(data.map((t) => t.traceID).sort(), [SAMPLE_TRACE_ID, LONG_TRACE_ID, ZERO_TRACE_ID].sort());
    for (const t of data) assert.deepEqual(t, ((await (await fetch(`${server.url}/api/traces/${t.traceID}`)).json()) as { data: unknown[] }).data[0]);
    ui.assertCleanConsole();
    await ui.close();
  });

  test('the results sort by most recent, longest, shortest and most spans', async () => {
    const ui = await searchPage();
    const orders: Record<string, string[]> = {
      recent: [ZERO_TRACE_ID, SAMPLE_TRACE_ID, LONG_TRACE_ID],
      longest: [LONG_TRACE_ID, SAMPLE_TRACE_ID, ZERO_TRACE_ID],
      shortest: [ZERO_TRACE_ID, SAMPLE_TRACE_ID, LONG_TRACE_ID],
      spans: [LONG_TRACE_ID, SAMPLE_TRACE_ID, ZERO_TRACE_ID],
    };
    assert.deepEqual(await cardIds(ui), orders.recent, 'most recent first by default');
    for (const [sort, ids] of Object.entries(orders)) {
      await ui.page.select('select[name=sort]', sort);
      assert.deepEqual(await cardIds(ui), ids, sort);
    }
    // The order is kept in the address: a reload shows the list the same way.
    await ui.page.select('select[name=sort]', 'longest');
    assert.match(ui.page.url(), /sort=longest/);
    await ui.page.reload();
    await ui.waitForText('.results-bar', /^3 traces/, WAIT_MS);
    assert.deepEqual(await cardIds(ui), orders.longest);
    ui.assertCleanConsole();
    await ui.close();
  });

  test('a zero duration keeps its unit: 0μs on the result, the plot\'s axis, the trace\'s facts and its timeline', async () => {
    const ui = await searchPage();
    const zeroCard = await ui.text(`.trace-card[data-trace-id="${ZERO_TRACE_ID}"] .trace-duration`);
    assert.equal(zeroCard, '0μs');
    assert.equal(await inPage(ui, `document.querySelector('svg.scatter text.axis').textContent`), '0μs', 'the lowest duration on the plot\'s axis');
    await ui.page.goto(`${server.url}/#/trace/${ZERO_TRACE_ID}`);
    await ui.waitForText('.trace-header', /Duration 0μs/i, WAIT_MS);
    assert.deepEqual(await ui.texts('.tl-row .tl-label'), ['0μs']);
    assert.equal((await ui.texts('.tl-ruler .tick'))[0], '0μs');
    ui.assertCleanConsole();
    await ui.close();
  });

  test('the search within a trace highlights the spans found by operation, service, tag key or value, and counts them', async () => {
    const ui = await browser.open(`${server.url}/#/trace/${SAMPLE_TRACE_ID}`);
    await ui.waitForText('.trace-header', /Total spans 4/i, WAIT_MS);
    const cases: [string, string[]][] = [
      ['INSERT', ['INSERT orders']], // an operation
      ['cache', ['GET cart']], // a service
      ['span.kind=server', ['GET /checkout', 'POST /orders']], // a tag key=value
      ['db.statement', ['INSERT orders']], // a tag key
      ['api-1', ['POST /orders']], // a process tag's value
      ['cart orders', ['POST /orders', 'GET cart', 'INSERT orders']], // any of the words
    ];
    for (const [text, ops] of cases) {
      await ui.page.$eval('input.trace-search', (el, v) => {
        const input = el as unknown as { value: string; dispatchEvent(e: unknown): void };
        input.value = v;
        input.dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('input'));
      }, text);
      const count = await ui.text('.trace-search-count');
      assert.equal(count, `${ops.length} match${ops.length === 1 ? '' : 'es'}`, text);
      assert.deepEqual(await ui.texts('.tl-row.match .tl-op'), ops, text);
    }
    // Enter steps through the matches (the last search found three), Shift+Enter back.
    const focused = () => inPage<string>(ui, `document.activeElement.querySelector('.tl-op')?.textContent`);
    await ui.page.focus('input.trace-search');
    await ui.page.keyboard.press('Enter');
    assert.equal(await focused(), 'POST /orders');
    await ui.page.focus('input.trace-search');
    await ui.page.keyboard.press('Enter');
    assert.equal(await focused(), 'GET cart');
    await ui.page.focus('input.trace-search');
    await ui.page.keyboard.down('Shift');
    await ui.page.keyboard.press('Enter');
    await ui.page.keyboard.up('Shift');
    assert.equal(await focused(), 'POST /orders');
    // Typed as a person does, and kept in the address.
    await ui.page.$eval('input.trace-search', (el) => ((el as unknown as { value: string }).value = ''));
    await ui.page.type('input.trace-search', 'db');
    assert.equal(await ui.waitForText('.trace-search-count', /match/, WAIT_MS), '1 match');
    assert.match(ui.page.url(), /q=db/);
    await ui.screenshot('trace-view');
    ui.assertCleanConsole();
    await ui.close();
  });

  test('the trace graph draws the services\' operations as nodes and their calls as edges, with counts', async () => {
    const ui = await browser.open(`${server.url}/#/trace/${LONG_TRACE_ID}`);
    await ui.waitForText('.trace-header', /Total spans 5/i, WAIT_MS);
    await ui.click('.view-switch button[data-view=graph]');
    const graph = await inPage<{ nodes: string[]; facts: string[]; edges: string[] }>(ui, `({
      nodes: [...document.querySelectorAll('svg.trace-graph .graph-node')].map((n) => n.dataset.key.replace('\\t', ': ')),
      facts: [...document.querySelectorAll('svg.trace-graph .graph-node-facts')].map((t) => t.textContent),
      edges: [...document.querySelectorAll('svg.trace-graph .graph-edge')].map((e) => e.dataset.from.replace('\\t', ': ') + ' → ' + e.dataset.to.replace('\\t', ': ') + ' ' + e.textContent),
    })`);
    assert.deepEqual(graph.nodes.sort(), ['api: POST /orders', 'db: INSERT orders', 'frontend: GET /checkout', 'payment: charge']);
    assert.ok(graph.facts.includes('2× · 45ms'), `the two inserts: ${graph.facts.join(', ')}`);
    assert.deepEqual(graph.edges.sort(), [
      'api: POST /orders → db: INSERT orders 2×', 'api: POST /orders → payment: charge 1×', 'frontend: GET /checkout → api: POST /orders 1×',
    ]);
    assert.equal(await inPage(ui, `document.querySelector('.timeline').hidden`), true, 'the timeline gives way to the graph');
    assert.match(ui.page.url(), /view=graph/);
    await ui.screenshot('trace-graph');
    // The search marks the graph's nodes too.
    await ui.page.type('input.trace-search', 'charge');
    await ui.waitForText('.trace-search-count', /1 match/, WAIT_MS);
    assert.deepEqual(await inPage(ui, `[...document.querySelectorAll('.graph-node.match')].map((n) => n.dataset.key)`), ['payment\tcharge']);
    ui.assertCleanConsole();
    await ui.close();
  });

  test('the trace statistics give each service\'s operation its spans, durations and self time', async () => {
    const ui = await browser.open(`${server.url}/#/trace/${LONG_TRACE_ID}?view=statistics`);
    await ui.waitForText('.trace-statistics', /Self time/, WAIT_MS);
    const rows = await inPage<string[][]>(ui, `[...document.querySelectorAll('.trace-statistics tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))`);
    assert.deepEqual(rows, [
      ['frontend', 'GET /checkout', '1', '120ms', '120ms', '120ms', '120ms', '10ms', '8.3%'],
      ['api', 'POST /orders', '1', '110ms', '110ms', '110ms', '110ms', '20ms', '16.7%'],
      ['db', 'INSERT orders', '2', '45ms', '22.5ms', '20ms', '25ms', '45ms', '37.5%'],
      ['payment', 'charge', '1', '45ms', '45ms', '45ms', '45ms', '45ms', '37.5%'],
    ]);
    ui.assertCleanConsole();
    await ui.close();
  });

  test('the JSON view shows the trace as the API answers it, and downloads it', async () => {
    const ui = await browser.open(`${server.url}/#/trace/${SAMPLE_TRACE_ID}?view=json`);
    const shown = `(() => { const pre = document.querySelector('pre.trace-json'); return pre !== null && pre.closest('[hidden]') === null; })()`;
    await ui.page.waitForFunction(shown, { timeout: WAIT_MS }).catch(async (err: Error) => {
      throw new Error(`no JSON view shown; the page reads: ${await inPage<string>(ui, 'document.querySelector("main").innerText')}`, { cause: err });
    });
    const text = await inPage<string>(ui, `document.querySelector('pre.trace-json').textContent`);
    const api = await (await fetch(`${server.url}/api/traces/${SAMPLE_TRACE_ID}`)).json();
    assert.deepEqual(JSON.parse(text), api);
    const saved = await downloadBy(ui, '.trace-json-view button');
    assert.equal(saved.name, `trace-${SAMPLE_TRACE_ID}.json`);
    assert.deepEqual(JSON.parse(saved.text), api);
    ui.assertCleanConsole();
    await ui.close();
  });

  test('two traces picked in the results open side by side, diffed by service and operation', async () => {
    const ui = await searchPage();
    assert.equal(await inPage(ui, `document.querySelector('.compare-pick button').disabled`), true, 'compare waits for two traces');
    await ui.click(`.trace-card[data-trace-id="${SAMPLE_TRACE_ID}"] input.compare-box`);
    await ui.click(`.trace-card[data-trace-id="${LONG_TRACE_ID}"] input.compare-box`);
    await ui.click('.compare-pick button');
    await ui.waitForText('.compare-diff', /Calls A/, WAIT_MS);
    assert.ok(ui.page.url().endsWith(`#/trace/${SAMPLE_TRACE_ID}...${LONG_TRACE_ID}`), ui.page.url());
    assert.deepEqual(await ui.texts('.compare-side a.trace-id'), [SAMPLE_TRACE_ID, LONG_TRACE_ID]);
    const rows = await inPage<string[][]>(ui, `[...document.querySelectorAll('.compare-table tbody tr')].map((r) => [r.className, ...[...r.cells].map((c) => c.textContent)])`);
    assert.deepEqual(rows, [
      ['diff-same', 'frontend', 'GET /checkout', '1', '1', '48ms', '120ms', '+72ms'],
      ['diff-same', 'api', 'POST /orders', '1', '1', '41ms', '110ms', '+69ms'],
      ['diff-only-a', 'cache', 'GET cart', '1', '0', '1.8ms', '—', '−1.8ms'],
      ['diff-more-b', 'db', 'INSERT orders', '1', '2', '30ms', '45ms', '+15ms'],
      ['diff-only-b', 'payment', 'charge', '0', '1', '—', '45ms', '+45ms'],
    ]);
    assert.equal(await inPage(ui, `document.querySelectorAll('svg.trace-graph .graph-node').length`), 5);
    await ui.screenshot('trace-compare');
    ui.assertCleanConsole();
    await ui.close();
  });

  test('a compare address that does not hold two trace ids says what it takes', async () => {
    const ui = await browser.open(`${server.url}/#/trace/${SAMPLE_TRACE_ID}...nothex...${LONG_TRACE_ID}`);
    assert.match(await ui.text('.trace-compare .error'), /two trace ids joined by three dots/);
    await ui.close();
  });
});
