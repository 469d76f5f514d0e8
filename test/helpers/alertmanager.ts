/**
 * A real Alertmanager for one test: its own process, configuration and data folder on a free loopback port, clustering
 * off, routing every alert to one webhook receiver with the shortest grouping waits. Stopped and deleted when the
 * test ends. The binary comes from SHIPWATCH_TEST_ALERTMANAGER_BIN (test/services/alertmanager.sh).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface RunningAlertmanager {
  readonly url: string;
  /** `GET /api/v2/alerts`: the alerts it holds now. */
  alerts(): Promise<Array<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; status: { state: string } }>>;
}

export async function startAlertmanager(cleanup: Cleanup, options: { bin: string; webhookUrl: string }): Promise<RunningAlertmanager> {
  const dir = await mkdtemp(join(tmpdir(), 'shipwatch-alertmanager-'));
  cleanup.after(() => rm(dir, { recursive: true, force: true }));
  // Its configuration file is YAML, of which JSON is a subset.
  await writeFile(join(dir, 'alertmanager.yml'), JSON.stringify({
    route: { receiver: 'test', group_by: ['alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
    receivers: [{ name: 'test', webhook_configs: [{ url: options.webhookUrl, send_resolved: true }] }],
  }));
  const port = await freePort();
  const child = spawn(options.bin, [
    `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  cleanup.after(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`alertmanager exited ${child.exitCode}: ${stderr}`);
    return (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) || undefined;
  }, { timeoutMs: 20_000, what: 'Alertmanager ready' });
  return {
    url,
    alerts: async () => (await (await fetch(`${url}/api/v2/alerts`)).json()) as Awaited<ReturnType<RunningAlertmanager['alerts']>>,
  };
}
