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
 * Processes a stopped command leaves behind are reparented to the container's pid 1; an init that reaps (`--init`,
 * a shell) removes them, a pid 1 that never waits (e.g. `sleep`) keeps their zombie entries (no CPU, no memory).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { describe, swError } from '../errors.js';
import type { EngineClient } from './docker-client.js';
import { engineFailure } from './docker-client.js';

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
  inspect(): Promise<{ Pid: number; Running: boolean; ExitCode: number | null }>;
}

/** `command` as a list is run as is; a string is run by `sh -c` (the monitoring label's form). */
export async function execInContainer(client: EngineClient, containerId: string, command: string | string[], options: ExecOptions): Promise<ExecResult> {
  const started = Date.now();
  const wrapped = typeof command === 'string';
  const cmd = wrapped ? ['sh', '-c', WRAPPER, 'sh', command] : command;
  const limit = options.maxOutputBytes ?? 1024 * 1024;
  let overflow: () => void = () => {};
  const overflowed = new Promise<'overflow'>((resolve) => (overflow = () => resolve('overflow')));
  const out = new Capture(limit, options.stopOnOverflow ? () => overflow() : undefined);
  const err = wrapped ? new MarkedCapture(limit) : new Capture(limit);
  let exec;
  let stream: NodeJS.ReadableStream & { destroy?: () => void };
  try {
    exec = await client.docker.getContainer(containerId).exec({
      Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false,
      ...(options.user ? { User: options.user } : {}), ...(options.env ? { Env: options.env } : {}),
    });
    stream = (await exec.start({ hijack: true, stdin: false })) as typeof stream;
  } catch (cause) {
    throw swError('SW_ENGINE_UNAVAILABLE', `exec in ${containerId.slice(0, 12)}: ${engineFailure(cause)}`, cause);
  }
  client.docker.modem.demuxStream(stream, out, err);

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
    killed = await stopExec(client, containerId, exec, err instanceof MarkedCapture ? err.pid : undefined);
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
async function stopExec(client: EngineClient, containerId: string, exec: EngineExec, containerPid: number | undefined): Promise<boolean> {
  let info;
  try {
    info = await exec.inspect();
  } catch {
    return false; // the engine went away: the process went with its container, or we cannot tell
  }
  if (!info.Running) return true;
  if (containerPid !== undefined && containerPid > 1) await killInContainer(client, containerId, containerPid);
  else if (!(await killByHostPid(info.Pid, containerId))) return false;
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

/** A second exec signals the wrapper's process group (its pid inside the container); a plain pid if groups fail. */
async function killInContainer(client: EngineClient, containerId: string, pid: number): Promise<void> {
  try {
    await execInContainer(client, containerId, ['sh', '-c', `kill -9 -${pid} 2>/dev/null || kill -9 ${pid}`], { timeoutMs: STOP_TIMEOUT_MS, maxOutputBytes: 4096 });
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
