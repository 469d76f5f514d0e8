/**
 * Runs a command inside a container (Engine API exec) with a deadline: standard output and error are captured
 * (each bounded), the exit code read back, and a command that overruns is killed. The engine has no "kill exec"
 * call, so the process is killed by its host pid (from the exec's inspect), which the engine reports in the host's
 * pid namespace; a program that cannot see that pid reports `killed: false` instead of pretending.
 */
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { describe, swError } from '../errors.js';
import type { EngineClient } from './docker-client.js';
import { engineFailure } from './docker-client.js';

export interface ExecOptions {
  timeoutMs: number;
  /** Output kept per stream; the rest is counted and cut. Default 1 MiB. */
  maxOutputBytes?: number;
  user?: string;
  env?: string[];
  /** Where the host's /proc is visible (a pilot or collector in a container mounts the host root). Default /proc. */
  hostProcDir?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the command did not finish (timed out). */
  exitCode: number | null;
  timedOut: boolean;
  /** After a timeout: whether the process was killed. */
  killed: boolean;
  /** True when an output exceeded maxOutputBytes and was cut. */
  truncated: boolean;
  durationMs: number;
}

class Capture extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const room = this.limit - this.size;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(part);
      this.size += part.length;
    }
    if (chunk.length > room) this.truncated = true;
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** `command` as a list is run as is; a string is run by `sh -c` (the monitoring label's form). */
export async function execInContainer(client: EngineClient, containerId: string, command: string | string[], options: ExecOptions): Promise<ExecResult> {
  const started = Date.now();
  const cmd = typeof command === 'string' ? ['sh', '-c', command] : command;
  const limit = options.maxOutputBytes ?? 1024 * 1024;
  const out = new Capture(limit);
  const err = new Capture(limit);
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
  const outcome = await Promise.race([finished, deadline]);
  clearTimeout(timer);

  let exitCode: number | null = null;
  let killed = false;
  if (outcome === 'timeout') {
    stream.destroy?.();
    killed = await killExec(exec, options.hostProcDir ?? '/proc');
  } else {
    try {
      const info = await exec.inspect();
      exitCode = info.ExitCode;
    } catch (cause) {
      throw swError('SW_ENGINE_UNAVAILABLE', `exec inspect in ${containerId.slice(0, 12)}: ${engineFailure(cause)}`, cause);
    }
  }
  return {
    stdout: out.text(), stderr: err.text(), exitCode, timedOut: outcome === 'timeout', killed,
    truncated: out.truncated || err.truncated, durationMs: Date.now() - started,
  };
}

async function killExec(exec: { inspect(): Promise<{ Pid: number; Running: boolean }> }, hostProcDir: string): Promise<boolean> {
  let pid: number;
  try {
    const info = await exec.inspect();
    if (!info.Running) return true;
    pid = info.Pid;
  } catch {
    return false; // the engine went away: the process went with its container, or we cannot tell
  }
  if (!(pid > 0)) return false;
  try {
    // The pid is the host's: make sure it is visible here before signalling anything.
    await readFile(`${hostProcDir}/${pid}/stat`);
    process.kill(pid, 'SIGKILL');
    return true;
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ESRCH') return true; // it ended on its own meanwhile
    if (code === 'ENOENT' || code === 'EPERM') return false;
    throw swError('SW_ENGINE_UNAVAILABLE', `killing exec pid ${pid}: ${describe(cause)}`, cause);
  }
}
