/**
 * The Dockerfile as a user meets it: `docker build` the image (on the local base image test/services/base-image.sh
 * makes, passed as BASE_IMAGE, since no image registry is reachable), then run it: `--version`, `--help`, a bad
 * configuration, and the pilot on the host's engine (`-v /var/run/docker.sock:...`, `-v /:/host`,
 * LOGGING_OUTPUT=console) collecting a labelled busybox container's stdout and a file in its writable layer.
 *
 * The build fetches the npm dependencies from the registry (the build container's default network; set
 * SHIPWATCH_TEST_BUILD_NETWORK=host where the engine's bridge has no way out). The engine's layer cache makes a
 * second run fast; a cold build compiles better-sqlite3 and takes a few minutes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { describeVariables } from '../../platform/config/load-config.js';
import { CleanupList, containerLogs, docker, execIn, removeContainer, runContainer, TEST_LABEL, waitFor } from '../helpers/docker.js';
import { testServices } from '../helpers/services.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASE_IMAGE = process.env.SHIPWATCH_TEST_BASE_IMAGE ?? 'shipwatch-test/node-base:bookworm';
/** Per test process, so concurrent runs of different trees never test each other's image; removed at the end. */
const IMAGE = `shipwatch-test/shipwatch:image-test-${process.pid}`;
const BUILD_TIMEOUT_MS = 330_000;
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the docker command line (the client a user types). */
function dockerCli(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

async function engineAnswers(): Promise<boolean> {
  try {
    await docker().ping();
    return true;
  } catch {
    return false;
  }
}

async function imageId(name: string): Promise<string | undefined> {
  try {
    return (await docker().getImage(name).inspect()).Id;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw new Error(`could not inspect image ${name}`, { cause: err });
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

type LogRecord = Record<string, unknown>;

/** The JSON records on a console-output pilot's standard output. */
function consoleRecords(stdout: string): LogRecord[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogRecord);
}

/** What the engine kept of a container's stdout: `<RFC 3339 nano time> <line>` per line. */
async function engineLines(container: Docker.Container): Promise<Array<{ time: string; line: string }>> {
  const raw = await container.logs({ stdout: true, stderr: false, timestamps: true, follow: false });
  const text = raw.toString('utf8');
  return [...text.matchAll(/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) ([^\n]*)/g)].map((m) => ({ time: m[1]!, line: m[2]! }));
}

/** RFC 3339 with nanoseconds cut to milliseconds, as the records carry it. */
function toMillis(time: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(time);
  assert.ok(m, `not an engine time: ${time}`);
  return `${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

test('the image builds, answers --version, --help and a bad configuration, and its pilot ships a labelled container\'s logs', { timeout: 480_000 }, async (t) => {
  const socket = testServices().dockerSocket;
  if (!(await engineAnswers())) {
    t.skip(`no Docker engine answers on ${socket}: the image cannot be built here`);
    return;
  }
  assert.ok(
    await imageId(BASE_IMAGE),
    `base image ${BASE_IMAGE} is missing: test/services/base-image.sh makes it (npm test runs it)`,
  );
  const cleanup = new CleanupList();
  t.after(() => cleanup.run());

  // 1. Build, as a user would, from the repository's root. The build stage's layers stay in the engine's cache
  //    (they are no parents of the tagged image), so the next run reuses `npm ci` and the native build.
  const buildStart = performance.now();
  const network = process.env.SHIPWATCH_TEST_BUILD_NETWORK;
  const build = await dockerCli(
    ['build', '--force-rm', '--build-arg', `BASE_IMAGE=${BASE_IMAGE}`, ...(network ? ['--network', network] : []), '-t', IMAGE, '.'],
    BUILD_TIMEOUT_MS,
  );
  const buildSeconds = (performance.now() - buildStart) / 1000;
  assert.equal(build.code, 0, `docker build failed (exit ${build.code}):\n${tail(build.stdout, 30)}\n${tail(build.stderr, 30)}`);
  t.diagnostic(`docker build took ${buildSeconds.toFixed(1)} s (${(build.stdout.match(/Using cache/g) ?? []).length} cached steps)`);
  assert.ok(await imageId(IMAGE), `${IMAGE} is not there after a successful build`);
  // Registered first, so it runs after the containers made from it are removed.
  cleanup.after(() => docker().getImage(IMAGE).remove());
  const config = (await docker().getImage(IMAGE).inspect()).Config;
  assert.deepEqual(config.Entrypoint, ['node', '/app/bin/shipwatch.js']);

  // 2. The command line.
  const version = await dockerCli(['run', '--rm', '--label', `${TEST_LABEL}=${process.pid}`, IMAGE, '--version'], 60_000);
  assert.deepEqual(version, { code: 0, stdout: `shipwatch ${PACKAGE.version}\n`, stderr: '' });

  const help = await dockerCli(['run', '--rm', '--label', `${TEST_LABEL}=${process.pid}`, IMAGE, '--help'], 60_000);
  assert.equal(help.code, 0, help.stderr);
  const listed = new Set([...help.stdout.matchAll(/^ {2}([A-Z][A-Z0-9_]+)/gm)].map((m) => m[1]));
  const missing = describeVariables().map((v) => v.name).filter((name) => !listed.has(name));
  assert.deepEqual(missing, [], 'variables the program knows but the image\'s --help does not list');
  for (const command of ['pilot', 'collector', 'query', 'all']) assert.match(help.stdout, new RegExp(`^ {2}${command} `, 'm'));

  const bad = await dockerCli(
    ['run', '--rm', '--label', `${TEST_LABEL}=${process.pid}`, '-e', 'LOGGING_OUTPUT=carrier-pigeon', IMAGE, 'pilot'],
    60_000,
  );
  assert.notEqual(bad.code, 0, 'a bad LOGGING_OUTPUT must stop the pilot');
  assert.match(bad.stderr, /LOGGING_OUTPUT/);

  // 3. The pilot on this host's engine. A container declaring logs runs before the pilot starts (found by the
  //    first inspection); a second one starts after (found through the engine's events).
  const before1 = await runContainer(cleanup, {
    name: 'sw-image-app',
    labels: {
      'aliyun.logs.app': 'stdout',
      'aliyun.logs.app.tags': 'stage=image-test',
      'aliyun.logs.files': '/var/log/app/*.log',
    },
    cmd: ['sh', '-c', 'mkdir -p /var/log/app; for i in 1 2 3; do echo "stdout line $i"; echo "file line $i" >>/var/log/app/app.log; done; exec sleep 3600'],
  });

  const pilotName = `sw-image-pilot-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const pilot = await docker().createContainer({
    name: pilotName,
    Image: IMAGE,
    Cmd: ['pilot'],
    Env: ['LOGGING_OUTPUT=console', 'PILOT_HOST_ROOT=/host', 'LOG_LEVEL=info'],
    Labels: { [TEST_LABEL]: String(process.pid) },
    HostConfig: {
      // The deployment examples add `rslave` to the host root so mounts made later show through; this machine's
      // root is a private mount, on which the engine refuses that, and the test does not need it.
      Binds: [`${socket}:/var/run/docker.sock`, '/:/host:ro'],
      LogConfig: { Type: 'json-file', Config: {} },
    },
  });
  cleanup.after(() => removeContainer(pilot.id));
  await pilot.start();

  const hostName = readFileSync('/etc/hostname', 'utf8').trim();
  const recordsOf = async (id: string): Promise<LogRecord[]> =>
    consoleRecords((await containerLogs(pilot.id)).stdout).filter((r) => r.docker_container_id === id);

  const first = await waitFor(
    async () => {
      const records = await recordsOf(before1.id);
      return records.length >= 6 ? records : undefined;
    },
    { timeoutMs: 20_000, what: 'the first container\'s 3 stdout and 3 file records on the pilot\'s stdout' },
  ).catch(async (err: unknown) => {
    const logs = await containerLogs(pilot.id);
    throw new Error(`${(err as Error).message}\npilot stderr:\n${tail(logs.stderr, 20)}\npilot stdout:\n${tail(logs.stdout, 10)}`, { cause: err });
  });

  const engine = await engineLines(before1.container);
  assert.equal(engine.length, 3);
  const stdoutRecords = first.filter((r) => r.source === 'stdout');
  assert.deepEqual(
    stdoutRecords.map((r) => ({ ...r })),
    engine.map(({ time, line }) => ({
      '@timestamp': toMillis(time),
      message: line,
      stream: 'stdout',
      source: 'stdout',
      target: 'app',
      host: hostName,
      docker_container: before1.name,
      docker_container_id: before1.id,
      stage: 'image-test',
      ...pickPresent(stdoutRecords[0]!, ['docker_app', 'docker_service', 'k8s_pod', 'k8s_pod_namespace', 'k8s_container_name', 'k8s_node_name']),
    })),
  );
  const fileRecords = first.filter((r) => r.source !== 'stdout');
  assert.deepEqual(fileRecords.map((r) => r.message), ['file line 1', 'file line 2', 'file line 3']);
  for (const r of fileRecords) {
    assert.equal(r.source, '/var/log/app/app.log');
    assert.equal(r.target, 'files');
    assert.equal(r.host, hostName);
    assert.equal(r.docker_container, before1.name);
    assert.match(String(r['@timestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }

  const after = await runContainer(cleanup, {
    name: 'sw-image-late',
    labels: { 'aliyun.logs.late': 'stdout' },
    cmd: ['sh', '-c', 'echo "late line"; exec sleep 3600'],
  });
  const late = await waitFor(async () => (await recordsOf(after.id)).find((r) => r.message === 'late line'), {
    timeoutMs: 15_000,
    what: 'a record of the container started after the pilot',
  });
  assert.equal(late.target, 'late');
  assert.equal(late.docker_container, after.name);

  // 4. Operations: /health and /metrics on the admin port, JSON logs on stderr, SIGTERM exits 0.
  const health = await execIn(pilot.id, ['node', '-e', 'fetch("http://127.0.0.1:14271/health").then(async (r) => console.log(r.status, await r.text()))']);
  assert.match(health.stdout, /^200 /, `pilot /health: ${health.stdout}${health.stderr}`);
  const metrics = await execIn(pilot.id, ['node', '-e', 'fetch("http://127.0.0.1:14271/metrics").then(async (r) => console.log(await r.text()))']);
  assert.match(metrics.stdout, /^# (HELP|TYPE) /m, 'pilot /metrics is not Prometheus text');

  await pilot.stop({ t: 20 });
  const exited = await pilot.inspect();
  assert.equal(exited.State.ExitCode, 0, 'the pilot must exit 0 on SIGTERM');
  // Its own logs are JSON lines; the start-up summary's indented lines repeat the `started` entry for people.
  const ownLogs = (await containerLogs(pilot.id)).stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('  '));
  const entries = ownLogs.map((line) => {
    try {
      return JSON.parse(line) as { msg?: unknown };
    } catch (err) {
      throw new Error(`not a JSON log line on the pilot's stderr: ${line}`, { cause: err });
    }
  });
  assert.ok(entries.some((e) => e.msg === 'started'), 'no "started" entry in the pilot\'s own logs');
});

/** The named fields a record carries (those that depend on labels the engine may add, e.g. compose's). */
function pickPresent(record: LogRecord, names: string[]): LogRecord {
  return Object.fromEntries(names.filter((n) => n in record).map((n) => [n, record[n]]));
}
