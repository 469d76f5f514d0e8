/**
 * The web UI's logs and status pages and its layout, driven in headless Chromium (test/helpers/browser-page.ts)
 * against the query program over the UI sample: the histogram above the results and its counts, narrowing by a
 * click on a line's container, service or field, the count during a live tail, the status page's metric storage
 * and hints from the running configuration, and every navigation link inside a 360 px window. Screenshots of the
 * logs and status pages, at a desktop width and at 360 px, are kept under `.test-data/ui-screenshots/`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromiumBin, openBrowser, WAIT_MS, removeScratch, startSampleQuery, type SampleQuery, type UiBrowser, type UiPage } from '../helpers/browser-page.js';
import { sampleLogs } from '../helpers/ui-sample-data.js';

const skip = chromiumBin() ? false : 'SHIPWATCH_TEST_CHROMIUM_BIN not set (test/services/chromium.sh installs chromium)';
const PHONE = { width: 360, height: 740 };

let server: SampleQuery;
let browser: UiBrowser;

before(async () => {
  if (skip) return;
  server = await startSampleQuery('logs-status');
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
  removeScratch();
});

/** A page of the UI; its console must stay clean to the end of `use`. */
async function withPage<T>(route: string, use: (p: UiPage) => Promise<T>, size?: { width: number; height: number }, on: SampleQuery = server): Promise<T> {
  const p = await browser.open(`${on.url}/${route}`, size);
  try {
    const out = await use(p);
    p.assertCleanConsole();
    return out;
  } finally {
    await p.close();
  }
}

/** The number in the summary ("7 records · …"). */
async function total(p: UiPage): Promise<number> {
  return Number(/^(\d+) records?/.exec(await p.waitForText('.summary', /^\d+ records?/))![1]);
}

/** What the histogram's bars count, once drawn. */
async function barCounts(p: UiPage): Promise<number[]> {
  await p.page.waitForSelector('.log-histogram .bar, .log-histogram .histogram-empty', { timeout: WAIT_MS });
  return p.page.$$eval('.log-histogram .bar', (bars) => bars.map((b) => Number(b.getAttribute('data-count'))));
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('the logs page in chromium', { skip }, () => {
  test('a histogram above the results counts the same records as the search, under any filter', async () => {
    for (const [route, least] of [['#/logs', 10], ['#/logs?lookback=1h', 10], ['#/logs?q=order', 1], ['#/logs?container=shop-web-1&lookback=24h', 10]] as const) {
      await withPage(route, async (p) => {
        const n = await total(p);
        const bars = await barCounts(p);
        // Any time: the bars span the matching records (one record, one bar); a lookback spans it to now.
        assert.ok(bars.length >= least, `${route}: ${bars.length} bars`);
        assert.equal(sum(bars), n, `${route}: the bars add up to the total`);
      });
    }
    // A search matching nothing says so instead of drawing empty bars.
    await withPage('#/logs?q=nothing-matches-this', async (p) => {
      assert.equal(await total(p), 0);
      assert.match(await p.text('.log-histogram'), /No records over time/);
    });
  });

  test('a click on a line\'s container, service or field narrows the search to it', async () => {
    await withPage('#/logs', async (p) => {
      assert.equal(await total(p), 7);
      await p.click('.log-row .log-container');
      const n = await total(p);
      assert.equal(n, 4, 'shop-api-1 wrote 4 of the 7 records');
      assert.match(p.page.url(), /container=shop-api-1/);
      const containers = await p.texts('.log-row .log-container');
      assert.deepEqual([...new Set(containers)], ['shop-api-1']);
      assert.equal(sum(await barCounts(p)), n, 'the histogram follows');
    });
    await withPage('#/logs', async (p) => {
      await total(p);
      const web = (await p.page.$$('.log-row .log-service')).length;
      assert.equal(web, 7, 'every line shows its service');
      // The oldest line is web's: click its service.
      await p.page.$$eval('.log-row .log-service', (els) => (els[els.length - 1] as unknown as { click(): void }).click());
      assert.equal(await total(p), 3);
      assert.deepEqual([...new Set(await p.texts('.log-row .log-service'))], ['web']);
    });
    await withPage('#/logs', async (p) => {
      await total(p);
      await p.click('.log-row .chip.level-warn');
      assert.equal(await total(p), 1);
      assert.match(await p.text('.log-row'), /slow query/);
      assert.equal(await p.page.$eval('input[name=q]', (i) => (i as unknown as { value: string }).value), '"warn"');
    });
  });

  test('a container or service has the same colour on every line and every page', async () => {
    const colours = async (route: string): Promise<Record<string, string>> =>
      withPage(route, async (p) => {
        await total(p);
        const pairs = await p.page.$$eval('.log-row .log-container, .log-row .log-service', (els) =>
          els.map((e) => [(e as unknown as { textContent: string }).textContent, (e as unknown as { style: { color: string } }).style.color]));
        const out: Record<string, string> = {};
        for (const [name, colour] of pairs) {
          assert.ok(out[name!] === undefined || out[name!] === colour, `${name}: one colour`);
          out[name!] = colour!;
        }
        return out;
      });
    const all = await colours('#/logs');
    const web = await colours('#/logs?service=web');
    assert.equal(web['shop-web-1'], all['shop-web-1']);
    assert.equal(web.web, all.web);
    assert.notEqual(all['shop-web-1'], all['shop-api-1']);
  });

  test('during a live tail the count goes on counting the records that arrive', async () => {
    await withPage('#/logs?live=1', async (p) => {
      assert.equal(await total(p), 7);
      await p.waitForText('.live-state', /live/);
      const now = Date.now();
      const more = sampleLogs(now).slice(0, 3).map((e, i) => ({ ...e, id: `${e.id}-live-${i}`, json: e.json.replace(/"@timestamp":"[^"]+"/, `"@timestamp":"${new Date(now).toISOString()}"`) }));
      await server.writeLogs(more);
      assert.match(await p.waitForText('.summary', /^10 records/), /3 arrived live/);
      assert.equal((await p.page.$$('.log-row.fresh')).length, 3);
    });
  });

  test('an empty page names where OpenTelemetry logs go: the OTLP/HTTP port configured', async () => {
    // The configuration of `all` (only query is started): its status knows the collector's ports. The engine is one
    // that does not answer, as the status then says.
    const all = await startSampleQuery('all-ports', { COLLECTOR_OTLP_HTTP_LISTEN: '127.0.0.1:14399', COLLECTOR_ADMIN_LISTEN: '127.0.0.1:0', PILOT_ADMIN_LISTEN: '127.0.0.1:0', DOCKER_HOST: 'tcp://127.0.0.1:1' }, 'all');
    try {
      // Its first answer takes seconds (measured ≈ 5 s here: the store's reader threads start), longer than a wait.
      assert.equal((await fetch(`${all.url}/api/logs?limit=1`)).status, 200);
      await withPage('#/logs?lookback=custom&from=86400000&to=90000000', async (p) => {
        assert.equal(await total(p), 0);
        assert.match(await p.waitForText('.hint-otlp', /v1\/logs/), /http:\/\/127\.0\.0\.1:14399\/v1\/logs/);
      }, undefined, all);
      await withPage('#/status', async (p) => {
        const hint = await p.waitForText('.hint-traces', /Traces/);
        assert.match(hint, /127\.0\.0\.1:14399/);
        assert.ok(!/4318/.test(hint), 'not the default port');
        assert.match(await p.text('.hint-metrics'), /line protocol to port 0|line protocol to port a port chosen at start/);
      }, undefined, all);
    } finally {
      await all.close();
    }
  });
});

describe('the status page in chromium', { skip }, () => {
  test('the storage card names the metric storage', async () => {
    await withPage('#/status', async (p) => {
      assert.match(await p.waitForText('.storage-metrics', /\S/), /^embedded store$/);
      // A lone query does not know its collector's ports: the hint says the defaults are defaults.
      assert.match(await p.text('.hint-traces'), /by default .*4318/);
    });
    const influx = await startSampleQuery('influx', { METRIC_STORAGE_TYPE: 'influxdb', INFLUXDB_URL: 'http://user:secret@127.0.0.1:8086', INFLUXDB_BUCKET: 'shipwatch' });
    try {
      await withPage('#/status', async (p) => {
        const text = await p.waitForText('.storage-metrics', /\S/);
        assert.equal(text, 'InfluxDB at 127.0.0.1:8086, database shipwatch');
      }, undefined, influx);
    } finally {
      await influx.close();
    }
  });
});

describe('the layout in chromium', { skip }, () => {
  test('at 360 px every navigation link shows inside the window, on every page', async () => {
    for (const route of ['#/logs', '#/traces', '#/metrics', '#/status']) {
      await withPage(route, async (p) => {
        await p.page.waitForSelector('main .view');
        // Measured once the view has drawn what its API calls answered.
        await p.page.waitForNetworkIdle({ idleTime: 500, timeout: WAIT_MS });
        const boxes = await p.page.$$eval('nav.views a', (links) => links.map((a) => {
          const r = (a as unknown as { getBoundingClientRect(): { left: number; right: number; top: number; bottom: number; width: number } }).getBoundingClientRect();
          return { text: (a as unknown as { textContent: string }).textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width };
        }));
        assert.ok(boxes.length >= 4, `${route}: ${boxes.length} links`);
        for (const b of boxes) {
          assert.ok(b.width > 0 && b.left >= 0 && b.right <= PHONE.width && b.top >= 0 && b.bottom <= PHONE.height, `${route}: ${b.text} at ${JSON.stringify(b)}`);
        }
        const scroll = await p.page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
        assert.ok(scroll <= PHONE.width, `${route}: the page is ${scroll} px wide`);
      }, PHONE);
    }
  });

  test('the logs and status pages in screenshots, at a desktop width and at 360 px', async (t) => {
    // A query of its own: the sample as it is, without the records other tests added.
    const shots = await startSampleQuery('screenshots');
    t.after(() => shots.close());
    for (const [name, route, size] of [
      ['logs-desktop', '#/logs', undefined], ['status-desktop', '#/status', undefined],
      ['logs-360', '#/logs', PHONE], ['status-360', '#/status', PHONE],
    ] as const) {
      await withPage(route, async (p) => {
        await p.page.waitForSelector(route === '#/logs' ? '.log-histogram .bar' : '.storage-metrics', { timeout: WAIT_MS });
        // The fonts and the histogram's bars settle.
        await new Promise((r) => setTimeout(r, 300));
        const png = readFileSync(await p.screenshot(name));
        assert.equal(png.subarray(1, 4).toString(), 'PNG', name);
        assert.equal(png.readUInt32BE(16), size?.width ?? 1400, `${name}: width`);
        assert.ok(png.length > 10_000, `${name}: ${png.length} bytes is too small for a rendered page`);
      }, size, shots);
    }
  });
});
