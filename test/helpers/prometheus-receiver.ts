/**
 * A real Prometheus as a remote write receiver for one test (`--web.enable-remote-write-receiver`, unless told not
 * to), on a free loopback port with a data folder of its own. It can be stopped and started again on the same port
 * and folder (an outage: what it took before comes back from its WAL). Everything is removed when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** The prometheus binary the test runner names, or undefined (tests then skip). */
export function prometheusBin(): string | undefined {
  return process.env.SHIPWATCH_TEST_PROMETHEUS_BIN || undefined;
}

export const NO_PROMETHEUS = 'SHIPWATCH_TEST_PROMETHEUS_BIN not set: run through the test runner (test/run.ts names the prometheus binary)';

export interface InstantSample {
  metric: Record<string, string>;
  value: number;
}

export interface RemoteWriteReceiver {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** `<url>/api/v1/write` */
  readonly writeUrl: string;
  /** An instant query through `/api/v1/query`; throws on a query error. */
  query(expr: string): Promise<InstantSample[]>;
  /** Stops the process (SIGTERM), keeping its data; idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; returns once it is ready. */
  start(): Promise<void>;
}

export async function startRemoteWriteReceiver(cleanup: Cleanup, options: { receiver?: boolean } = {}): Promise<RemoteWriteReceiver> {
  const bin = prometheusBin();
  if (bin === undefined) throw new Error(NO_PROMETHEUS);
  const dir = await mkdtemp(join(tmpdir(), 'sw-prometheus-rw-'));
  const configFile = join(dir, 'prometheus.yml');
  // JSON is YAML: no scrape jobs, only the receiver.
  await writeFile(configFile, JSON.stringify({ global: { scrape_interval: '15s' } }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const output: string[] = [];

  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    timer.unref();
    await exited;
    clearTimeout(timer);
  };

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const c = spawn(bin, [
      `--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
      ...(options.receiver === false ? [] : ['--web.enable-remote-write-receiver']),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (chunk: Buffer): void => {
      output.push(chunk.toString('utf8'));
      if (output.length > 50) output.shift();
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    await waitFor(async () => {
      if (c.exitCode !== null) throw new Error(`prometheus exited: ${output.join('').slice(-2000)}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true;
    }, { timeoutMs: 30_000, intervalMs: 200, what: `prometheus ready on ${url}` });
  };

  cleanup.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  await start();

  return {
    url, port, writeUrl: `${url}/api/v1/write`, stop, start,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (!res.ok || body.status !== 'success') throw new Error(`${expr}: ${res.status} ${body.error ?? ''}`);
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
  };
}
