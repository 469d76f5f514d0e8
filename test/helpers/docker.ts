/**
 * Real containers for integration tests, on the engine and busybox image the test set-up provides. Every container
 * gets a unique name and the label `shipwatch-test=<pid>`, and is removed when the test that made it ends.
 */
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import type { Cleanup } from './cleanup.js';
import { testServices } from './services.js';

export { waitFor, type WaitOptions } from './wait.js';
export { CleanupList, type Cleanup } from './cleanup.js';

/** Label on every container made here; test/run.ts removes leftovers carrying it. */
export const TEST_LABEL = 'shipwatch-test';

let client: Docker | undefined;

/** A dockerode client on the test engine's socket. */
export function docker(): Docker {
  client ??= new Docker({ socketPath: testServices().dockerSocket });
  return client;
}

export interface RunContainerOptions {
  /** Readable part of the name; a unique suffix is added. */
  name?: string;
  labels?: Record<string, string>;
  env?: Record<string, string>;
  /** Default: `sleep 3600` (a container that stays up until removed). */
  cmd?: string[];
  /** `host-path:container-path[:ro]` or `volume-name:container-path`. */
  binds?: string[];
  /** Container paths that get an anonymous volume. */
  volumes?: string[];
  /** json-file driver options, e.g. `{ 'max-size': '1k', 'max-file': '3' }`. */
  logOpts?: Record<string, string>;
  workingDir?: string;
  user?: string;
  /** Default true; false only creates it. */
  start?: boolean;
}

export interface TestContainer {
  readonly id: string;
  /** Without the leading `/`. */
  readonly name: string;
  readonly container: Docker.Container;
  inspect(): Promise<Docker.ContainerInspectInfo>;
}

let sequence = 0;

function uniqueName(base: string): string {
  sequence += 1;
  return `${base}-${process.pid}-${sequence}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Creates (and by default starts) a busybox container, removed (with its volumes) when `cleanup` runs. */
export async function runContainer(cleanup: Cleanup, options: RunContainerOptions = {}): Promise<TestContainer> {
  const name = uniqueName(options.name ?? 'sw-test');
  const created = await docker().createContainer({
    name,
    Image: testServices().image,
    Cmd: options.cmd ?? ['sleep', '3600'],
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { ...options.labels, [TEST_LABEL]: String(process.pid) },
    Volumes: Object.fromEntries((options.volumes ?? []).map((path) => [path, {}])),
    ...(options.workingDir === undefined ? {} : { WorkingDir: options.workingDir }),
    ...(options.user === undefined ? {} : { User: options.user }),
    HostConfig: {
      Binds: options.binds ?? [],
      LogConfig: { Type: 'json-file', Config: options.logOpts ?? {} },
    },
  });
  cleanup.after(() => removeContainer(created.id));
  if (options.start ?? true) await created.start();
  return { id: created.id, name, container: created, inspect: () => created.inspect() };
}

/** Removes a container by id or name, killing it first and dropping its anonymous volumes; gone already is fine. */
export async function removeContainer(idOrName: string): Promise<void> {
  try {
    await docker().getContainer(idOrName).remove({ force: true, v: true });
  } catch (err) {
    // 404: already gone; 409: removal already in progress (the engine finishes it).
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404 || status === 409) return;
    throw new Error(`could not remove container ${idOrName}`, { cause: err });
  }
}

/** Removes every container labelled by this helper (all test processes', or one process's with `pid`). */
export async function removeTestContainers(pid?: number): Promise<number> {
  const label = pid === undefined ? TEST_LABEL : `${TEST_LABEL}=${pid}`;
  const list = await docker().listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(list.map((c) => removeContainer(c.Id)));
  return list.length;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a command inside a running container (Engine API exec) and returns its output and exit code. */
export async function execIn(
  idOrName: string,
  cmd: string[],
  options: { env?: Record<string, string>; user?: string; workingDir?: string } = {},
): Promise<ExecResult> {
  const exec = await docker().getContainer(idOrName).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(options.user === undefined ? {} : { User: options.user }),
    ...(options.workingDir === undefined ? {} : { WorkingDir: options.workingDir }),
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = collect();
  const stderr = collect();
  docker().modem.demuxStream(stream, stdout.sink, stderr.sink);
  await new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, stdout: stdout.text(), stderr: stderr.text() };
}

/** What `docker logs` shows: the container's standard output and error so far. */
export async function containerLogs(idOrName: string): Promise<{ stdout: string; stderr: string }> {
  const raw = await docker().getContainer(idOrName).logs({ stdout: true, stderr: true, follow: false });
  return demuxBuffer(raw);
}

function collect(): { sink: PassThrough; text: () => string } {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { sink, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** The engine's multiplexed stream (no TTY): frames of [stream, 0, 0, 0, size (uint32 BE)] then the payload. */
function demuxBuffer(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const kind = raw[at];
    const size = raw.readUInt32BE(at + 4);
    const payload = raw.subarray(at + 8, at + 8 + size);
    (kind === 2 ? err : out).push(payload);
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** A container's processes as the engine lists them (`docker top`): state (`S`, `R`, `Z` for a zombie…) and command. */
export async function containerProcesses(idOrName: string): Promise<Array<{ stat: string; args: string }>> {
  const top = await docker().getContainer(idOrName).top({ ps_args: '-o pid,stat,args' });
  return (top.Processes as string[][]).map(([, stat, ...args]) => ({ stat: stat ?? '', args: args.join(' ') }));
}
