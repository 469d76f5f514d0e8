/**
 * A real Prometheus for one test: its own process, configuration and data folder, on a free loopback port,
 * scraping what the test names every `scrapeIntervalMs`. Stopped and deleted when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { freePort } from './ports.js';
import { testServices } from './services.js';
import { waitFor } from './wait.js';

export interface ScrapeJob {
  job: string;
  /** `host:port` of each target. */
  targets: string[];
  /** Default `/metrics`. */
  metricsPath?: string;
  /** Target labels added to every series of the job. */
  labels?: Record<string, string>;
}

export interface StartPrometheusOptions {
  jobs: ScrapeJob[];
  /** Default 1000 (the global scrape and evaluation interval). */
  scrapeIntervalMs?: number;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
  timestampMs: number;
}

export interface RunningPrometheus {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** An instant query (`/api/v1/query`); throws on a query error. */
  query(expr: string): Promise<Sample[]>;
  /** Active targets with their scrape health (`up`, `down`, `unknown`) and last error. */
  targets(): Promise<Array<{ job: string; scrapeUrl: string; health: string; lastError: string }>>;
  /** Stops the process and deletes its folder; idempotent. */
  stop(): Promise<void>;
}

/** Prometheus's configuration file accepts JSON, YAML's subset: no YAML writer needed. */
function configJson(options: StartPrometheusOptions): string {
  const intervalS = `${Math.max(1, Math.round((options.scrapeIntervalMs ?? 1000) / 1000))}s`;
  return JSON.stringify({
    global: { scrape_interval: intervalS, evaluation_interval: intervalS, scrape_timeout: intervalS },
    scrape_configs: options.jobs.map((j) => ({
      job_name: j.job,
      metrics_path: j.metricsPath ?? '/metrics',
      static_configs: [{ targets: j.targets, labels: j.labels ?? {} }],
    })),
  });
}

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (!res.ok || body.status !== 'success') throw new Error(`${url}: ${res.status} ${body.error ?? ''}`.trim());
  return body.data;
}

export async function startPrometheus(cleanup: Cleanup, options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'sw-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, configJson(options));

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child: ChildProcess = spawn(
    testServices().prometheusBin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString('utf8'));
    if (output.length > 50) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      timer.unref();
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  cleanup.after(stop);

  try {
    await waitFor(
      async () => {
        if (exitedEarly) throw new Error(`prometheus exited: ${output.join('').slice(-2000)}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `prometheus ready on ${url}` },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    port,
    stop,
    async query(expr) {
      const data = await get<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
        `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]), timestampMs: Math.round(r.value[0] * 1000) }));
    },
    async targets() {
      const data = await get<{ activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }> }>(
        `${url}/api/v1/targets?state=active`,
      );
      return data.activeTargets.map((t) => ({ job: t.labels.job ?? '', scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError }));
    },
  };
}
