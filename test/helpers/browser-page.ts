/**
 * Driving the web UI in headless Chromium over the DevTools protocol (puppeteer-core), for tests that click,
 * type and read what a page shows after it: any UI test may use it (logs, status, traces, metrics).
 *
 * - `startSampleQuery(name)`: the query program started in this process on its own embedded store holding the
 *   sample of test/helpers/ui-sample-data.ts (logs, one trace, container CPU), listening on loopback.
 * - `openBrowser()`: the machine's Chromium (SHIPWATCH_TEST_CHROMIUM_BIN) with a fresh profile and the same
 *   closed-network flags as test/helpers/headless-chromium.ts; `browser.open(url, { width, height })` gives a page
 *   whose console is watched from the first request.
 * - On a page: `click(selector)`, `text(selector)`, `texts(selector)`, `waitForText(selector, pattern)`,
 *   `screenshot(name)` (written to `.test-data/ui-screenshots/<name>.png`) and `assertCleanConsole()` (no uncaught
 *   error, failed load, refused request or policy violation since the page opened).
 *
 * Tests using it skip with a message when SHIPWATCH_TEST_CHROMIUM_BIN is unset (`chromiumBin()` is undefined).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { openStoreSpanStorage } from '../../storage/span-storage-factory.js';
import { openStoreLogStorage } from '../../storage/sqlite/log-store.js';
import { openStoreMetricStorage } from '../../storage/sqlite/metric-store.js';
import { startQueryServer, type QueryServer } from './headless-chromium.js';
import { sampleLogs, sampleMetrics, sampleTrace } from './ui-sample-data.js';
import type { LogEvent } from '../../model/log-record.js';

export const SCREENSHOTS = fileURLToPath(new URL('../../.test-data/ui-screenshots/', import.meta.url));

/** What in the page's console means a broken page (as headless-chromium.ts reads Chromium's log). */
const CONSOLE_PROBLEM = /Uncaught|Failed to load|Refused to|Content Security Policy|net::ERR_|SyntaxError/;

/** The Chromium binary the UI tests drive, or undefined when the test set-up has not named one. */
export function chromiumBin(): string | undefined {
  return process.env.SHIPWATCH_TEST_CHROMIUM_BIN || undefined;
}

/** A folder for this process's stores and browser profiles, removed by `removeScratch()`. */
const scratch = mkdtempSync(join(tmpdir(), 'shipwatch-ui-page-'));
export function removeScratch(): void {
  rmSync(scratch, { recursive: true, force: true });
}

export interface SampleQuery extends QueryServer {
  /** Writes more log records to the store the query reads (a live tail sees them). */
  writeLogs(events: LogEvent[]): Promise<void>;
}

/**
 * The query program over a fresh embedded store with the UI sample written through the storages it reads;
 * `env` adds or overrides configuration variables (say `COLLECTOR_OTLP_HTTP_LISTEN`), `program` the command whose
 * configuration it reads (`all`: the status knows the collector's ports; only query is started either way).
 */
export async function startSampleQuery(name: string, env: Record<string, string> = {}, program: 'query' | 'all' = 'query', nowMs = Date.now()): Promise<SampleQuery> {
  const config = loadConfig({ SHIPWATCH_DATA_DIR: join(scratch, name), QUERY_LISTEN: '127.0.0.1:0', QUERY_ADMIN_LISTEN: '127.0.0.1:0', ...env }, program);
  const runtime = { config, log: silentLogger, shared: new SharedResources() };
  const logs = openStoreLogStorage(runtime);
  await logs.write(sampleLogs(nowMs));
  await openStoreSpanStorage(runtime).writeSpans(sampleTrace(nowMs));
  const metrics = openStoreMetricStorage(runtime);
  metrics.write(sampleMetrics(nowMs));
  metrics.flush();
  const server = await startQueryServer(runtime);
  return { ...server, writeLogs: (events) => logs.write(events) };
}

export interface UiPage {
  page: Page;
  /** Clicks the first element matching `selector` (waiting for it to show). */
  click(selector: string): Promise<void>;
  /** The visible text of the first element matching `selector`, whitespace folded. */
  text(selector: string): Promise<string>;
  /** The visible text of every element matching `selector`. */
  texts(selector: string): Promise<string[]>;
  /** Waits until the first element matching `selector` shows text matching `pattern`; returns that text. */
  waitForText(selector: string, pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** A screenshot of the viewport at `.test-data/ui-screenshots/<name>.png`; returns its path. */
  screenshot(name: string): Promise<string>;
  /** Fails with every console problem seen since the page opened. */
  assertCleanConsole(): void;
  close(): Promise<void>;
}

export interface UiBrowser {
  open(url: string, size?: { width: number; height: number }): Promise<UiPage>;
  close(): Promise<void>;
}

/** An element as the page's scripts see it (this file compiles without the DOM's types). */
interface Shown {
  innerText: string;
}

/**
 * How long a wait for the page may take: the views answer in well under a second, but a machine of two cores under
 * a load of 16 has taken a reload past 10 s.
 */
export const WAIT_MS = 30_000;

let profiles = 0;

/** Chromium headless, closed to the network but loopback; one per test file is plenty. */
export async function openBrowser(bin = chromiumBin()): Promise<UiBrowser> {
  assert.ok(bin, 'SHIPWATCH_TEST_CHROMIUM_BIN names the chromium to drive');
  const browser: Browser = await puppeteer.launch({
    executablePath: bin,
    headless: true,
    userDataDir: join(scratch, `profile-${++profiles}`),
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--hide-scrollbars',
    ],
    protocolTimeout: 60_000,
  });
  return {
    async open(url, size = { width: 1400, height: 900 }) {
      const page = await browser.newPage();
      await page.setViewport(size);
      page.setDefaultTimeout(WAIT_MS);
      const problems: string[] = [];
      page.on('console', (m) => {
        if ((m.type() === 'error' || m.type() === 'warn') && CONSOLE_PROBLEM.test(m.text())) problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (err) => problems.push(`uncaught: ${err instanceof Error ? err.message : String(err)}`));
      page.on('requestfailed', (r) => {
        const reason = r.failure()?.errorText ?? '';
        // A stream or fetch the page itself stops (leaving a view, closing the tail) is aborted on purpose.
        if (reason !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${reason}`);
      });
      await page.goto(url, { waitUntil: 'load' });
      const fold = (s: string | null | undefined): string => (s ?? '').replace(/\s+/g, ' ').trim();
      return {
        page,
        async click(selector) {
          await page.waitForSelector(selector, { visible: true, timeout: WAIT_MS });
          await page.click(selector);
        },
        async text(selector) {
          await page.waitForSelector(selector, { timeout: WAIT_MS });
          return fold(await page.$eval(selector, (el) => (el as unknown as Shown).innerText));
        },
        async texts(selector) {
          return (await page.$$eval(selector, (els) => els.map((el) => (el as unknown as Shown).innerText))).map(fold);
        },
        async waitForText(selector, pattern, timeoutMs = WAIT_MS) {
          const handle = await page.waitForFunction(
            (sel: string, src: string, flags: string) => {
              const el = (globalThis as unknown as { document: { querySelector(s: string): Shown | null } }).document.querySelector(sel);
              const t = el?.innerText.replace(/\s+/g, ' ').trim();
              return t !== undefined && new RegExp(src, flags).test(t) ? t : false;
            },
            { timeout: timeoutMs },
            selector, pattern.source, pattern.flags,
          );
          return (await handle.jsonValue()) as string;
        },
        async screenshot(name) {
          mkdirSync(SCREENSHOTS, { recursive: true });
          const path = join(SCREENSHOTS, `${name}.png`);
          await page.screenshot({ path, type: 'png' });
          return path;
        },
        assertCleanConsole() {
          assert.deepEqual(problems, [], `the page's console on ${url}`);
        },
        close: () => page.close(),
      };
    },
    close: () => browser.close(),
  };
}
