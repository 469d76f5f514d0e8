/**
 * The pilot as a real process (`shipwatch pilot`, run from source), for tests that restart it, kill it or take
 * the engine away from it. Its file output is read back from FILE_OUTPUT_DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from '../helpers/cleanup.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface PilotRecord {
  [field: string]: unknown;
  '@timestamp': string;
  target: string;
  docker_container_id: string;
}

export class PilotDirs {
  readonly dataDir: string;
  readonly outDir: string;

  constructor(cleanup: Cleanup) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'sw-pilot-'));
    this.outDir = join(this.dataDir, 'out');
    cleanup.after(() => rmSync(this.dataDir, { recursive: true, force: true }));
  }

  /** Every record of the file output (optionally of one container), in file order per target file. */
  records(containerId?: string): PilotRecord[] {
    if (!existsSync(this.outDir)) return [];
    const out: PilotRecord[] = [];
    for (const name of readdirSync(this.outDir).sort()) {
      for (const line of readFileSync(join(this.outDir, name), 'utf8').split('\n')) {
        if (line === '') continue;
        const r = JSON.parse(line) as PilotRecord;
        if (containerId === undefined || r.docker_container_id === containerId) out.push(r);
      }
    }
    return out;
  }

  fileNames(): string[] {
    return existsSync(this.outDir) ? readdirSync(this.outDir).sort() : [];
  }
}

export class PilotProcess {
  readonly stderr: string[] = [];
  /** Standard output lines (the console output). */
  readonly stdout: string[] = [];
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  adminPort = 0;

  private constructor(private readonly child: ChildProcess) {
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        this.stderr.push(l);
        // The start-up summary: a JSON 'started' entry (or a text line on a terminal) naming the admin address.
        const m = /admin http:\/\/[^:"\s]+:(\d+)/.exec(l);
        if (m) this.adminPort = Number(m[1]);
      }
    });
    let outPartial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (outPartial + chunk).split('\n');
      outPartial = lines.pop()!;
      this.stdout.push(...lines);
    });
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts a pilot writing to the file output under `dirs`; resolves once its admin port answers. */
  static async start(cleanup: Cleanup, dirs: PilotDirs, env: Record<string, string> = {}): Promise<PilotProcess> {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(LOGGING_OUTPUT|FLUENTD_OUTPUT|FILEBEAT_OUTPUT|ELASTICSEARCH_|PILOT_|DOCKER_HOST|FILE_OUTPUT_DIR|SHIPWATCH_DATA_DIR)/.test(k)));
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/shipwatch.ts'), 'pilot'], {
      cwd: ROOT,
      env: {
        ...base, LOG_LEVEL: 'info', SHIPWATCH_DATA_DIR: dirs.dataDir, FILE_OUTPUT_DIR: dirs.outDir, LOGGING_OUTPUT: 'file',
        PILOT_ADMIN_LISTEN: '127.0.0.1:0', PILOT_POLL_INTERVAL: '100ms', PILOT_SCAN_INTERVAL: '300ms', PILOT_ROTATED_GRACE: '1s',
        PILOT_POSITIONS_FLUSH_INTERVAL: '200ms', ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pilot = new PilotProcess(child);
    cleanup.after(() => pilot.kill());
    await waitFor(() => pilot.adminPort > 0 || pilot.exited, { timeoutMs: 20_000, what: 'the pilot to listen' });
    if (pilot.exited) throw new Error(`pilot exited at start:\n${pilot.stderr.join('\n')}`);
    return pilot;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async health(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${this.adminPort}/health`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.adminPort}/metrics`)).text();
  }

  /** SIGTERM, and the exit code (the pilot must exit by itself within the time allowed). */
  async terminate(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const r = await this.exit;
    clearTimeout(timer);
    return r;
  }

  async kill(): Promise<void> {
    if (!this.exited) this.child.kill('SIGKILL');
    await this.exit;
  }

  /** The pilot's own log lines (JSON) with this message. */
  logs(msg: string | RegExp): Array<Record<string, unknown>> {
    return this.stderr.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => (typeof msg === 'string' ? o.msg === msg : msg.test(String(o.msg))));
  }
}
