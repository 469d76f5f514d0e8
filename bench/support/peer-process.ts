/**
 * A program under test in a process of its own, as the side-by-side benches (bench/peer-*.bench.ts) run Shipwatch and
 * its peers: started with arguments and environment, its CPU time (every thread, user + system) and peak RSS read
 * from /proc, stopped at the end. Reading /proc rather than asking the process lets a Go or C peer and a Node program
 * be measured the same way, start-up and every thread included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_S = 100;

export interface PeerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** CPU-seconds used so far (user + system, all threads). */
  cpuSeconds(): number;
  /** Peak resident set so far (VmHWM), MiB. */
  peakRssMiB(): number;
  /** Whether the process is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** Starts `command`; its standard output and error go to `logFile` (shown when a run fails). */
export function startPeer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, cwd?: string): PeerProcess {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', out, out] });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const proc = (file: string): string => readFileSync(`/proc/${child.pid}/${file}`, 'utf8');
  return {
    name, child,
    cpuSeconds() {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = proc('stat');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
    },
    peakRssMiB() {
      const m = /VmHWM:\s+(\d+) kB/.exec(proc('status'));
      return m ? Number(m[1]) / 1024 : Number.NaN;
    },
    alive: () => !exited,
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * Polls `check` every `everyMs` until it answers true (a failed check counts as false: the program may not listen
 * yet); throws after `timeoutMs` with `what` in the message, or at once when `peer` has exited.
 */
export async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50, peer?: PeerProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (peer !== undefined && !peer.alive()) throw new Error(`${peer.name} exited while waiting for ${what}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Sum of the samples of `metric` in a Prometheus text page whose labels match every entry of `labels`. */
export function sumSamples(page: string, metric: string, labels: Record<string, string | RegExp> = {}): number {
  let sum = 0;
  for (const line of page.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const have = new Map<string, string>();
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(l[1]!, l[2]!);
    const ok = Object.entries(labels).every(([k, v]) => (typeof v === 'string' ? have.get(k) === v : v.test(have.get(k) ?? '')));
    if (ok) sum += Number(m[3]);
  }
  return sum;
}

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** "median (min–max)" of `xs` formatted by `f`. */
export function spread(xs: number[], f: (x: number) => string): string {
  if (xs.length === 0) return '–';
  if (xs.length === 1) return f(xs[0]!);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

/** A free loopback TCP port (bound, then released for the program to take). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Whether a TCP connection to the loopback `port` is accepted (something listens). */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
