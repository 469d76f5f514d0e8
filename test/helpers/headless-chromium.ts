/**
 * Pages in headless Chromium for the UI tests, and the query program they load from.
 *
 * Chromium runs with a fresh profile and the flags a closed network needs (no background connections), with
 * virtual time: it renders until the page has been idle for the budget, so the views' API calls are answered first.
 * The page's console (Chromium's log on stderr) must report no problem. Chromium fails the requests still waiting
 * for a connection with ERR_NETWORK_CHANGED (-21) when the host's network interfaces change, as they do whenever a
 * container starts or stops on the machine; a load whose network log holds that error says nothing about the page
 * and is made again (at most three loads), noted in the test's output.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { start } from '../../query/query-program.js';
import type { Runtime } from '../../platform/runtime.js';

const run = promisify(execFile);

/** What the page's console says that means a broken page: uncaught errors, refused loads, policy violations. */
const CONSOLE_PROBLEM = /Uncaught|Failed to load|Refused to|Content Security Policy|net::ERR_|SyntaxError/;
const NETWORK_CHANGED = '"net_error":-21';
const ATTEMPTS = 3;

export interface PageLoad {
  /** The chromium binary. */
  bin: string;
  /** A folder for the profiles and network logs. */
  dir: string;
  /** The rendered DOM (`'dom'`) or a screenshot written to `png`. */
  output: 'dom' | { png: string };
  /** How long the page must be idle before it is taken. */
  virtualTimeMs: number;
  windowSize: string;
  /** Told when a load is made again. */
  t?: TestContext;
}

let profile = 0;

/** Loads `url`: the rendered DOM (empty for a screenshot); asserts a clean console. */
export async function loadPage(url: string, o: PageLoad): Promise<string> {
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--virtual-time-budget=${o.virtualTimeMs}`,
    `--window-size=${o.windowSize}`, '--enable-logging=stderr', '--v=0',
    o.output === 'dom' ? '--dump-dom' : `--screenshot=${o.output.png}`,
  ];
  for (let attempt = 1; ; attempt++) {
    const netLog = join(o.dir, `net-${++profile}.json`);
    const { stdout, stderr } = await run(o.bin, [...args, `--user-data-dir=${join(o.dir, `profile-${profile}`)}`, `--log-net-log=${netLog}`, url], {
      timeout: 120_000, maxBuffer: 32 * 1024 * 1024,
    });
    let networkChanged = false;
    try {
      networkChanged = readFileSync(netLog, 'utf8').includes(NETWORK_CHANGED);
    } finally {
      rmSync(netLog, { force: true });
    }
    if (networkChanged && attempt < ATTEMPTS) {
      o.t?.diagnostic(`chromium saw the host's network change while loading ${url} (attempt ${attempt}): loading it again`);
      continue;
    }
    assert.ok(!networkChanged, `the host's network changed during each of ${ATTEMPTS} loads of ${url}`);
    const problems = stderr.split('\n').filter((line) => line.includes(':CONSOLE') && CONSOLE_PROBLEM.test(line));
    assert.deepEqual(problems, [], `the page's console on ${url}`);
    return stdout;
  }
}

export interface QueryServer {
  url: string;
  close(): Promise<void>;
}

/** The query program of `runtime`, listening on the port its config names (0: any); closes with its resources. */
export async function startQueryServer(runtime: Runtime): Promise<QueryServer> {
  const program = await start(runtime);
  const port = /:(\d+)/.exec(program.summary[0]!.split(' on ')[1]!)![1];
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await program.close();
      await runtime.shared.closeAll();
    },
  };
}
