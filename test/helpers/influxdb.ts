/**
 * InfluxDB 1.x for metric tests: the shared server test/services/influxdb.sh starts (SHIPWATCH_TEST_INFLUXDB_URL),
 * InfluxQL reads of what was written, and, for tests that must stop and start their target, an influxd of their own
 * on ports they choose (a fresh data folder, deleted when the test ends), so the shared one is never stopped under
 * other tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** The shared InfluxDB 1.x, or undefined when the test runner did not start it (tests then skip). */
export function influxDbUrl(): string | undefined {
  return process.env.SHIPWATCH_TEST_INFLUXDB_URL || undefined;
}

export const NO_INFLUXDB = 'SHIPWATCH_TEST_INFLUXDB_URL not set: run through the test runner (test/run.ts starts test/services/influxdb.sh)';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** One InfluxQL statement; its series (none when nothing matched). Throws on an InfluxQL error. */
export async function influxQuery(url: string, q: string, db?: string): Promise<InfluxSeries[]> {
  const write = /^\s*(create|drop|alter|delete)\b/i.test(q);
  // Reads give times as epoch milliseconds.
  const params = new URLSearchParams({ q, ...(db === undefined ? {} : { db }), ...(write ? {} : { epoch: 'ms' }) });
  const res = write
    ? await fetch(`${url}/query`, { method: 'POST', body: params })
    : await fetch(`${url}/query?${params}`);
  const text = await res.text();
  if (!res.ok) throw new Error(`${q}: ${res.status} ${text}`);
  const json = JSON.parse(text) as { results?: Array<{ series?: InfluxSeries[]; error?: string }>; error?: string };
  const result = json.results?.[0];
  if (json.error !== undefined || result?.error !== undefined) throw new Error(`${q}: ${json.error ?? result?.error}`);
  return (result?.series ?? []).map((s) => ({ ...s, values: s.values ?? [] }));
}

/** Rows of a SELECT as objects keyed by column (tags of a GROUP BY are merged in). */
export async function influxRows(url: string, db: string, q: string): Promise<Array<Record<string, unknown>>> {
  return (await influxQuery(url, q, db)).flatMap((s) => s.values.map((row) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, row[i]])) })));
}

export async function databases(url: string): Promise<string[]> {
  return (await influxQuery(url, 'SHOW DATABASES')).flatMap((s) => s.values.map(([name]) => String(name)));
}

/** A database name unique to this test process, dropped when the test ends. */
export function scratchDatabase(t: Cleanup, url: string, label: string): string {
  const name = `sw_${label}_${process.pid}_${Date.now()}`;
  t.after(() => influxQuery(url, `DROP DATABASE "${name}"`));
  return name;
}

/** InfluxDB's own counter of points its HTTP API wrote (`SHOW STATS`, module httpd), since the process started. */
export async function pointsWrittenOk(url: string): Promise<number> {
  const [httpd] = await influxQuery(url, "SHOW STATS FOR 'httpd'");
  if (!httpd) throw new Error('SHOW STATS has no httpd module');
  return Number(httpd.values[0]![httpd.columns.indexOf('pointsWrittenOK')]);
}

export interface OwnInfluxDb {
  readonly url: string;
  start(): Promise<void>;
  /** Stops the process (SIGTERM, then SIGKILL after 10 s); idempotent. The data folder stays for the next start. */
  stop(): Promise<void>;
}

/** An influxd (from PATH, Debian's package) on free loopback ports, not started yet, with the shared one's settings. */
export async function ownInfluxDb(cleanup: Cleanup): Promise<OwnInfluxDb> {
  const dir = await mkdtemp(join(tmpdir(), 'sw-influxdb-'));
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${httpPort}`;
  const config = join(dir, 'influxdb.conf');
  await writeFile(config, [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '[meta]', `  dir = "${join(dir, 'meta')}"`,
    '[data]', `  dir = "${join(dir, 'data')}"`, `  wal-dir = "${join(dir, 'wal')}"`, '  query-log-enabled = false',
    '[http]', `  bind-address = "127.0.0.1:${httpPort}"`, '  auth-enabled = false', '  log-enabled = false',
    '[monitor]', '  store-enabled = false',
    '',
  ].join('\n'));
  let child: ChildProcess | undefined;
  const output: string[] = [];
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  cleanup.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url,
    stop,
    async start() {
      if (child) return;
      const c = spawn('influxd', ['run', '-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
      c.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
      await waitFor(async () => c.exitCode === null && (await fetch(`${url}/ping`)).status === 204, {
        timeoutMs: 30_000, what: `influxd on ${url} (output: ${output.join('').slice(-500)})`,
      });
    },
  };
}
