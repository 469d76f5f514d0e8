/**
 * VictoriaMetrics for metric tests: reading back what was written (`/api/v1/export`), and, for tests that must
 * stop and start their target, a VictoriaMetrics of their own on a port they choose (a fresh data folder, deleted
 * when the test ends).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { waitFor } from './wait.js';

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** Makes what was just written searchable (VictoriaMetrics buffers recent samples: a new series
 * otherwise reaches search only after about ten seconds). */
export async function forceFlush(vmUrl: string): Promise<void> {
  const res = await fetch(`${vmUrl}/internal/force_flush`);
  if (!res.ok) throw new Error(`force_flush: ${res.status}`);
}

/** Raw samples of the series matching `match` (a series selector), one object per series. */
export async function exportSeries(vmUrl: string, match: string): Promise<ExportedSeries[]> {
  await forceFlush(vmUrl);
  const res = await fetch(`${vmUrl}/api/v1/export?${new URLSearchParams({ 'match[]': match, start: '0' })}`);
  if (!res.ok) throw new Error(`export ${match}: ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ExportedSeries);
}

export interface OwnVictoriaMetrics {
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}

/** A VictoriaMetrics on 127.0.0.1:`port`, not started yet; `victoria-metrics` from PATH. */
export async function ownVictoriaMetrics(cleanup: Cleanup, port: number): Promise<OwnVictoriaMetrics> {
  const dir = await mkdtemp(join(tmpdir(), 'sw-vm-'));
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const output: string[] = [];
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  cleanup.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url,
    port,
    stop,
    async start() {
      if (child) return;
      const c = spawn('victoria-metrics', [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${join(dir, 'data')}`, '-retentionPeriod=100y', '-loggerLevel=ERROR'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      c.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
      c.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
      await waitFor(async () => c.exitCode === null && (await fetch(`${url}/health`)).ok, {
        timeoutMs: 20_000, what: `victoria-metrics on ${url} (output: ${output.join('').slice(-500)})`,
      });
    },
  };
}
