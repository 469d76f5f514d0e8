/**
 * The web UI's metrics page in real headless Chromium, used as Grafana Explore is: a counter charted as its rate
 * per second (across a restart of the counter), a second query added beside the first, the chart zoomed by
 * dragging across it, auto-refresh picking up a point written after the page opened, and the y axis labelled at
 * its minimum. Screenshots are kept under `.test-data/ui-screenshots/`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseLineProtocol } from '../../collector/metrics/line-protocol-parser.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { openStoreMetricStorage } from '../../storage/sqlite/metric-store.js';
import { chromiumBin, openBrowser, type UiBrowser } from '../helpers/browser-page.js';
import { startQueryServer, type QueryServer } from '../helpers/headless-chromium.js';
import { sampleMetrics } from '../helpers/ui-sample-data.js';

const skip = chromiumBin() === undefined ? 'SHIPWATCH_TEST_CHROMIUM_BIN is not set' : false;
/** A counter growing by 10 every 15 s: 0.6667 per second, restarted from zero half-way. */
const STEP_MS = 15_000;

function counterAndGauge(nowMs: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    const ns = BigInt(nowMs - (119 - i) * STEP_MS) * 1_000_000n;
    const count = i < 60 ? 1000 + 10 * i : 10 * (i - 59);
    lines.push(`http_requests_total,route=/cart count=${count}i ${ns}`);
    lines.push(`room_temperature,room=lab celsius=${(101.3 + (i % 10) * 0.9).toFixed(1)} ${ns}`);
  }
  return lines;
}

function points(lines: string[]) {
  const parsed = parseLineProtocol(lines.join('\n'));
  assert.equal(parsed.points.length, lines.length);
  return parsed.points;
}

describe('the metrics page in Chromium', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-ui-metrics-'));
  let server: QueryServer;
  let browser: UiBrowser;
  let write: (lines: string[]) => void;
  before(async () => {
    const now = Date.now();
    const config = loadConfig({ SHIPWATCH_DATA_DIR: dir, QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0' }, 'query');
    const runtime = { config, log: silentLogger, shared: new SharedResources() };
    const metrics = openStoreMetricStorage(runtime);
    write = (lines) => {
      metrics.write(points(lines));
      metrics.flush();
    };
    metrics.write(sampleMetrics(now));
    write(counterAndGauge(now));
    server = await startQueryServer(runtime);
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a counter as its rate per second, through a restart of the counter', async () => {
    const ui = await browser.open(`${server.url}/#/metrics?measurement=http_requests_total&field=count&aggregate=rate&lookback=1h`);
    const summary = await ui.waitForText('.summary', /rate per second/);
    assert.match(summary, /http_requests_total · count · rate per second \(last per \d+ s\) · 1 series, \d+ points/);
    // Every point of the chart reads 10 per 15 s, the restart included: no drop below zero, no spike.
    const readouts: string[] = [];
    const box = (await ui.page.$('svg.chart'))!;
    const rect = (await box.boundingBox())!;
    for (const at of [0.65, 0.72, 0.8, 0.9]) {
      await ui.page.mouse.move(rect.x + rect.width * at, rect.y + rect.height / 2);
      readouts.push(await ui.text('.chart-readout'));
    }
    for (const r of readouts) assert.match(r, /route=\/cart: 0\.6667\/s at /, r);
    const labels = await ui.page.$$eval('svg.chart text.axis[text-anchor="end"]', (els) => els.map((el) => (el as unknown as { textContent: string }).textContent));
    assert.ok(labels.every((l) => l.endsWith('/s')), labels.join(' '));
    await ui.screenshot('metrics-rate');
    ui.assertCleanConsole();
    await ui.close();
  });

  test('a second query is charted beside the first, each named by its letter', async () => {
    const ui = await browser.open(`${server.url}/#/metrics?measurement=docker_container_cpu&field=usage_percent&aggregate=avg&lookback=1h`);
    await ui.waitForText('.summary', /2 series/);
    await ui.click('button.add-query');
    const second = '.query-row:nth-of-type(2)';
    await ui.page.waitForSelector(`${second} select[name=measurement]`);
    await ui.page.select(`${second} select[name=measurement]`, 'room_temperature');
    await ui.click('form.toolbar button[type=submit]');
    await ui.page.waitForFunction(() => (globalThis as unknown as { location: { hash: string } }).location.hash.includes('also='));
    const summary = await ui.waitForText('.summary', /room_temperature/);
    assert.match(summary, /A docker_container_cpu · usage_percent · avg per \d+ s · 2 series/);
    assert.match(summary, /B room_temperature · celsius · avg per \d+ s · 1 series/);
    assert.equal((await ui.page.$$('svg.chart path.series')).length, 3);
    const legend = await ui.texts('.legend-item');
    assert.equal(legend.length, 3);
    for (const name of ['A: container_name=shop-api-1', 'A: container_name=shop-web-1']) assert.ok(legend.includes(name), legend.join(' | '));
    assert.ok(legend.some((l) => l.startsWith('B: ')), legend.join(' | '));
    await ui.screenshot('metrics-queries');
    ui.assertCleanConsole();
    await ui.close();
  });

  test('the y axis is labelled at its minimum', async () => {
    const ui = await browser.open(`${server.url}/#/metrics?measurement=room_temperature&field=celsius&aggregate=min&lookback=1h`);
    await ui.waitForText('.summary', /1 series/);
    const labels = await ui.page.$$eval('svg.chart text.axis[text-anchor="end"]', (els) => els.map((el) => (el as unknown as { textContent: string }).textContent));
    // Ticks go up the axis: the first one drawn is the bottom, the lowest value charted.
    assert.equal(labels[0], '101.3', labels.join(' '));
    ui.assertCleanConsole();
    await ui.close();
  });

  test('dragging across the chart zooms to that span; reset zoom goes back', async () => {
    const ui = await browser.open(`${server.url}/#/metrics?measurement=room_temperature&field=celsius&aggregate=avg&lookback=1h`);
    const before = await ui.waitForText('.summary', /1 series, \d+ points/);
    const pointsBefore = Number(/(\d+) points/.exec(before)![1]);
    const rect = (await (await ui.page.$('svg.chart'))!.boundingBox())!;
    await ui.page.mouse.move(rect.x + rect.width * 0.6, rect.y + rect.height / 2);
    await ui.page.mouse.down();
    await ui.page.mouse.move(rect.x + rect.width * 0.8, rect.y + rect.height / 2, { steps: 5 });
    await ui.page.mouse.up();
    const zoomed = await ui.waitForText('.toolbar', /Zoomed:/);
    assert.match(zoomed, /Reset zoom/);
    const after = await ui.waitForText('.summary', /1 series, \d+ points/);
    const pointsAfter = Number(/(\d+) points/.exec(after)![1]);
    assert.ok(pointsAfter > 0 && pointsAfter < pointsBefore / 2, `${pointsAfter} points zoomed, ${pointsBefore} before`);
    const hash = await ui.page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash);
    const from = Number(/zoomFrom=(\d+)/.exec(hash)![1]);
    const to = Number(/zoomTo=(\d+)/.exec(hash)![1]);
    assert.ok(to - from > 5 * 60_000 && to - from < 20 * 60_000, `a fifth of the hour: ${(to - from) / 60_000} min`);
    await ui.screenshot('metrics-zoomed');
    await ui.click('.zoomed button');
    await ui.page.waitForFunction(() => !(globalThis as unknown as { location: { hash: string } }).location.hash.includes('zoomFrom'));
    await ui.waitForText('.summary', new RegExp(`1 series, ${pointsBefore} points`));
    ui.assertCleanConsole();
    await ui.close();
  });

  test('auto-refresh charts a series written after the page opened', async () => {
    const ui = await browser.open(`${server.url}/#/metrics?measurement=room_temperature&field=celsius&aggregate=last&lookback=15m&refresh=5s`);
    await ui.waitForText('.summary', /room_temperature · celsius · last per \d+ s · 1 series/);
    assert.equal(await ui.page.$eval('select[name=refresh]', (el) => (el as unknown as { value: string }).value), '5s');
    write([`room_temperature,room=annex celsius=19.5 ${BigInt(Date.now()) * 1_000_000n}`]);
    const later = await ui.waitForText('.summary', /2 series/, 15_000);
    assert.match(later, /updated \d\d:\d\d:\d\d/);
    assert.ok((await ui.texts('.legend-item')).includes('room=annex'));
    ui.assertCleanConsole();
    await ui.close();
  });
});
