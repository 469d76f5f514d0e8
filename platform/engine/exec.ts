/**
 * Runs a command inside a container (Engine API exec) with a deadline: standard output and error are captured
 * (each bounded), the exit code read back, and a command that overruns is stopped together with everything it
 * started.
 *
 * The engine has no "kill exec" call. A command given as a string runs under a small `sh` wrapper that prints its
 * own pid (in the container's pid namespace) on standard error and then `exec`s `sh -c <command>`: the exec's
 * process is a session and process-group leader (the runtime calls setsid for it), so a second exec running
 * `kill -9 -<pid>` stops the command and its children wherever the collector runs — in a container, without the
 * host's pid namespace. A command given as a list runs as it is (no shell needed); it can only be stopped through
 * its host pid, when this process sees the engine's pid namespace and the pid's cgroup names the container (never a
 * guess: a pid that is not provably the container's is not signalled, and `killed` says false).
 *
 * A process that left the group (`setsid`, a daemon's double fork) still carries the run's environment: a wrapped
 * command runs with a variable naming the run (RUN_MARK), and the stop also kills every process in the container
 * whose environment holds it.
 *
 * Processes a stopped command leaves behind are reparented to the container's pid 1; an init that reaps (`--init`,
 * a shell) removes them, a pid 1 that never waits (e.g. `sleep`) keeps their zombie entries (no CPU, no memory).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable, type Duplex, type Readable } from 'node:stream';
import { describe, swError } from '../errors.js';
import type { EngineClient } from './docker-client.js';
import { engineFailure } from './docker-client.js';
import { demuxStream, type ExecState } from './engine-api.js';

export interface ExecOptions {
  timeoutMs: number;
  /** Output kept per stream; the rest is counted and cut. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Stop the command as soon as its standard output passes maxOutputBytes (what is past it would be thrown away). */
  stopOnOverflow?: boolean;
  user?: string;
  env?: string[];
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the command did not finish on its own (timed out, or stopped for its output). */
  exitCode: number | null;
  timedOut: boolean;
  /** Stopped because its standard output passed maxOutputBytes (with stopOnOverflow). */
  overflowed: boolean;
  /** After a stop: whether the command is known to be gone. */
  killed: boolean;
  /** True when an output exceeded maxOutputBytes and was cut. */
  truncated: boolean;
  durationMs: number;
}

/** First line the wrapper writes on standard error; removed from what the caller sees. */
const PID_MARK = '@@shipwatch-exec-pid:';
const WRAPPER = `printf '${PID_MARK}%s\\n' "$$" >&2; exec sh -c "$1"`;
/** The variable naming one run in its environment, inherited by everything it starts. */
const RUN_MARK = 'SHIPWATCH_EXEC_RUN';
/** How long the kill exec and the confirmation that the command is gone may take. */
const STOP_TIMEOUT_MS = 3000;

class Capture extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(
    private readonly limit: number,
    private readonly onOverflow?: () => void,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.keep(chunk);
    done();
  }

  protected keep(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(part);
      this.size += part.length;
    }
    if (chunk.length > room && !this.truncated) {
      this.truncated = true;
      this.onOverflow?.();
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Standard error of a wrapped command: its first line is the wrapper's pid, taken out here. */
class MarkedCapture extends Capture {
  private head: Buffer | undefined = Buffer.alloc(0);
  pid: number | undefined;

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.head === undefined) {
      this.keep(chunk);
      return done();
    }
    const head = Buffer.concat([this.head, chunk]);
    const nl = head.indexOf(0x0a);
    if (nl < 0 && head.length < 64) {
      this.head = head;
      return done();
    }
    this.head = undefined;
    const line = head.subarray(0, nl < 0 ? head.length : nl).toString('latin1');
    const m = line.startsWith(PID_MARK) ? /^(\d+)$/.exec(line.slice(PID_MARK.length)) : null;
    if (m) {
      this.pid = Number(m[1]);
      if (nl + 1 < head.length) this.keep(head.subarray(nl + 1));
    } else this.keep(head);
    done();
  }
}

interface EngineExec {
  inspect(): Promise<ExecState>;
}

/** `command` as a list is run as is; a string is run by `sh -c` (the monitoring label's form). */
export async function execInContainer(client: EngineClient, containerId: string, command: string | string[], options: ExecOptions): Promise<ExecResult> {
  const started = Date.now();
  const wrapped = typeof command === 'string';
  const cmd = wrapped ? ['sh', '-c', WRAPPER, 'sh', command] : command;
  const run = wrapped ? randomBytes(9).toString('hex') : undefined;
  const env = run ? [...(options.env ?? []), `${RUN_MARK}=${run}`] : options.env;
  const limit = options.maxOutputBytes ?? 1024 * 1024;
  let overflow: () => void = () => {};
  const overflowed = new Promise<'overflow'>((resolve) => (overflow = () => resolve('overflow')));
  const out = new Capture(limit, options.stopOnOverflow ? () => overflow() : undefined);
  const err = wrapped ? new MarkedCapture(limit) : new Capture(limit);
  let exec: EngineExec;
  let stream: Readable | Duplex;
  try {
    const id = await client.api.createExec(containerId, {
      Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false,
      ...(options.user ? { User: options.user } : {}), ...(env ? { Env: env } : {}),
    });
    exec = { inspect: () => client.api.inspectExec(id) };
    stream = await client.api.startExec(id);
  } catch (cause) {
    throw swError('SW_ENGINE_UNAVAILABLE', `exec in ${containerId.slice(0, 12)}: ${engineFailure(cause)}`, cause);
  }
  demuxStream(stream, out, err);

  let timer: NodeJS.Timeout | undefined;
  const finished = new Promise<'done'>((resolve) => {
    stream.on('end', () => resolve('done'));
    stream.on('close', () => resolve('done'));
    stream.on('error', () => resolve('done'));
  });
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    timer.unref();
  });
  const outcome = await Promise.race([finished, deadline, overflowed]);
  clearTimeout(timer);

  let exitCode: number | null = null;
  let killed = false;
  if (outcome === 'done') {
    exitCode = await exitCodeOf(exec, containerId);
  } else {
    stream.destroy?.();
    const wrapper = err instanceof MarkedCapture && run ? { pid: err.pid, run } : undefined;
    killed = await stopExec(client, containerId, exec, wrapper, options.user);
  }
  return {
    stdout: out.text(), stderr: err.text(), exitCode, timedOut: outcome === 'timeout', overflowed: outcome === 'overflow', killed,
    truncated: out.truncated || err.truncated, durationMs: Date.now() - started,
  };
}

/** The exit code once the engine has it (it can lag the end of the stream by a moment). */
async function exitCodeOf(exec: EngineExec, containerId: string): Promise<number | null> {
  for (let attempt = 0; ; attempt++) {
    let info;
    try {
      info = await exec.inspect();
    } catch (cause) {
      throw swError('SW_ENGINE_UNAVAILABLE', `exec inspect in ${containerId.slice(0, 12)}: ${engineFailure(cause)}`, cause);
    }
    if (!info.Running || attempt >= 20) return info.Running ? null : info.ExitCode;
    await sleep(10);
  }
}

/** Stops a command still running; true once the engine says it is gone. */
async function stopExec(
  client: EngineClient, containerId: string, exec: EngineExec, wrapper: { pid: number | undefined; run: string } | undefined, user: string | undefined,
): Promise<boolean> {
  let info;
  try {
    info = await exec.inspect();
  } catch {
    return false; // the engine went away: the process went with its container, or we cannot tell
  }
  // Even when the command itself has ended, what it detached may still run: a wrapped run is always swept.
  if (wrapper) await killInContainer(client, containerId, wrapper.pid, wrapper.run, user);
  if (!info.Running) return true;
  if (!wrapper?.pid && !(await killByHostPid(info.Pid, containerId))) return false;
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  for (;;) {
    try {
      if (!(await exec.inspect()).Running) return true;
    } catch {
      return false;
    }
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}

/**
 * A second exec signals the wrapper's process group (its pid inside the container; a plain pid if groups fail),
 * then every process whose environment names the run, twice (one may fork while the first pass runs).
 */
async function killInContainer(client: EngineClient, containerId: string, pid: number | undefined, run: string, user: string | undefined): Promise<void> {
  const group = pid !== undefined && pid > 1 ? `kill -9 -${pid} 2>/dev/null || kill -9 ${pid} 2>/dev/null; ` : '';
  // environ is NUL-separated: one variable per line for grep.
  const sweep = `for d in /proc/[0-9]*; do tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qxF "$1" && kill -9 "\${d#/proc/}" 2>/dev/null; done`;
  const script = `${group}${sweep}; ${sweep}; exit 0`;
  try {
    await execInContainer(client, containerId, ['sh', '-c', script, 'sh', `${RUN_MARK}=${run}`], {
      timeoutMs: STOP_TIMEOUT_MS, maxOutputBytes: 4096, ...(user ? { user } : {}),
    });
  } catch {
    // The engine or the container is gone: the caller's confirmation reads the outcome from the exec's state.
  }
}

/**
 * Signals a process group by the host pid the engine reports, only when this process sees that pid and it is
 * provably the container's (its cgroup names the container id); anything else could be an unrelated process.
 */
async function killByHostPid(pid: number, containerId: string): Promise<boolean> {
  if (!(pid > 0)) return false;
  try {
    const [cgroup, stat] = await Promise.all([readFile(`/proc/${pid}/cgroup`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
    if (!cgroup.includes(containerId)) return false;
    // Field 5 of stat (after the parenthesised command) is the process group.
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    process.kill(pgid === pid ? -pid : pid, 'SIGKILL');
    return true;
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ESRCH') return true; // it ended on its own meanwhile
    if (code === 'ENOENT' || code === 'EPERM' || code === 'EACCES') return false;
    throw swError('SW_ENGINE_UNAVAILABLE', `killing exec pid ${pid}: ${describe(cause)}`, cause);
  }
}
