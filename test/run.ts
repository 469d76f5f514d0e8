/**
 * `npm test [-- <path>...]`: builds the project, makes sure the services the integration tests talk to are
 * installed and running (test/services/*.sh), and runs every `*.test.ts` under test/ (or those under the given
 * paths) with Node's test runner, one file at a time. The exit code is the test runner's.
 *
 * The services' coordinates reach the tests as environment variables (SERVICE_ENV below), read back by
 * test/helpers/services.ts.
 *
 * Two lanes, both run by `npm test`:
 * - `npm run test:integration [-- <path>...]`: the files that need a service, with the services set up as above.
 * - `npm run test:unit [-- <path>...]`: every other file; builds, but sets up no service and runs with the
 *   SHIPWATCH_TEST_* variables removed, so it passes on a machine with no services.
 * `--list` (e.g. `npm test -- --list test/pilot`) prints each selected file's lane and runs nothing.
 * A file's lane follows from its imports: a test that imports test/helpers/services.ts, directly or through any
 * file under test/ it imports (test/helpers/docker.ts, elasticsearch.ts, prometheus.ts, …), or that reads a
 * SHIPWATCH_TEST_* variable itself, is an integration test. A new test that needs a service therefore gets it from
 * those helpers and lands in the right lane without saying so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVICES_DIR = join(ROOT, 'test', 'services');
/**
 * Every `test/services/*.sh` but the sourced lib.sh: a new service is a new script. They run side by side: they
 * serialise apt themselves, and one that needs another's service waits for it.
 */
function serviceScripts(): string[] {
  return readdirSync(SERVICES_DIR).filter((f) => f.endsWith('.sh') && f !== 'lib.sh').sort();
}

/**
 * A test file that has not finished in this time is cancelled, so one hung file cannot eat CI's whole budget.
 * (In Node 20, --test-timeout bounds each file's process.)
 */
const FILE_TIMEOUT_MS = 15 * 60_000;

/**
 * The runner itself silent this long is stuck, not a test (a test says ok or not ok within FILE_TIMEOUT_MS): it is
 * killed with every test process, and the run fails naming the last test it reported. Node 20's runner once spun
 * in its own process, deaf to SIGTERM, after a failed comparison of two large strings: CI's whole budget went.
 */
const SILENCE_LIMIT_MS = FILE_TIMEOUT_MS + 2 * 60_000;

/** The cluster script's ports: 9211-9213 for 8.x (its default), 9221-9223 for 9.x. */
function clusterUrls(version: string | undefined): string {
  const base = version?.startsWith('9.') ? 9221 : 9211;
  return [0, 1, 2].map((i) => `http://127.0.0.1:${base + i}`).join(',');
}

/** Where the scripts put the services (keep in step with test/services/*.sh). */
const SERVICE_ENV = {
  SHIPWATCH_TEST_ES_URL: 'http://127.0.0.1:9200',
  /** Three nodes of one Elasticsearch cluster (test/services/elasticsearch-cluster.sh): 8.x, or 9.x by ES_CLUSTER_VERSION. */
  SHIPWATCH_TEST_ES_CLUSTER_URLS: clusterUrls(process.env.ES_CLUSTER_VERSION),
  SHIPWATCH_TEST_VM_URL: 'http://127.0.0.1:8428',
  /** InfluxDB 1.x (test/services/influxdb.sh): query's InfluxDB metric reader, the collector's InfluxDB output (/write). */
  SHIPWATCH_TEST_INFLUXDB_URL: 'http://127.0.0.1:8086',
  /** Redis (test/services/redis.sh), for the pilot's Redis output. */
  SHIPWATCH_TEST_REDIS_URL: 'redis://127.0.0.1:6390',
  /** Kafka 4, one KRaft node (test/services/kafka.sh): plaintext, and SASL/PLAIN as shipwatch / shipwatch-test-secret. */
  SHIPWATCH_TEST_KAFKA_BROKERS: '127.0.0.1:19092',
  SHIPWATCH_TEST_KAFKA_SASL_BROKERS: '127.0.0.1:19094',
  SHIPWATCH_TEST_DOCKER_SOCKET: '/var/run/docker.sock',
  SHIPWATCH_TEST_IMAGE: 'shipwatch-test/busybox:latest',
  /** The Dockerfile's BASE_IMAGE in test/deploy/image.test.ts (Debian 12 + this machine's Node.js 20). */
  SHIPWATCH_TEST_BASE_IMAGE: 'shipwatch-test/node-base:bookworm',
  SHIPWATCH_TEST_FIXTURES: join(ROOT, 'test', 'fixtures'),
} as const;

function seconds(sinceMs: number): string {
  return `${((performance.now() - sinceMs) / 1000).toFixed(1)} s`;
}

function fail(message: string): never {
  process.stderr.write(`test/run: ${message}\n`);
  process.exit(1);
}

function build(): void {
  // Under `npm test`, npm exports its configuration as npm_config_*; the project's allow-scripts list would make
  // the nested npx warn that it is ignored. Neither matters to tsc.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'npm_config_allow_scripts'));
  const r = spawnSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'inherit', env });
  if (r.error) fail(`could not run npx tsc: ${r.error.message}`);
  if (r.status !== 0) fail(`npx tsc -p . failed (exit ${r.status ?? r.signal}); fix the errors above`);
}

/** The embedded store is a native module; a broken install must say so before a hundred tests do. */
function checkNativeModules(): void {
  try {
    const require = createRequire(join(ROOT, 'package.json'));
    const Database = require('better-sqlite3') as new (file: string) => { close(): void };
    new Database(':memory:').close();
  } catch (err) {
    fail(`better-sqlite3 does not load (${(err as Error).message}); rerun npm ci and read its build output`);
  }
}

/** Runs one service script, copying its output line by line so parallel scripts do not interleave mid-line. */
function runScript(script: string): Promise<number> {
  return new Promise((done) => {
    const child = spawn('bash', [join(SERVICES_DIR, script)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: child.stdout }).on('line', (line) => process.stdout.write(`${line}\n`));
    createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${line}\n`));
    child.on('error', (err) => {
      process.stderr.write(`test/run: ${script}: ${err.message}\n`);
      done(1);
    });
    child.on('close', (code) => done(code ?? 1));
  });
}

async function startServices(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stdout.write('test/run: not root: the services must already be installed and running (the scripts only check)\n');
  }
  const scripts = serviceScripts();
  const codes = await Promise.all(scripts.map(runScript));
  const failed = scripts.filter((_, i) => codes[i] !== 0);
  if (failed.length > 0) fail(`service set-up failed: ${failed.join(', ')} (see test/services/)`);
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder: try the next
    }
  }
  return undefined;
}

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testFiles(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Every test file, or those that are or lie under one of the filters (paths relative to the current folder). */
function selectTests(filters: string[]): string[] {
  const all = testFiles(join(ROOT, 'test')).sort();
  if (filters.length === 0) return all;
  const wanted = filters.map((f) => resolve(f));
  for (const [i, path] of wanted.entries()) {
    if (!existsSync(path)) fail(`no such test path: ${filters[i]}`);
  }
  const picked = all.filter((file) => wanted.some((w) => file === w || (statSync(w).isDirectory() && file.startsWith(w + sep))));
  if (picked.length === 0) fail(`no *.test.ts under ${filters.join(', ')}`);
  return picked;
}

type Lane = 'unit' | 'integration';

const TEST_DIR = join(ROOT, 'test');
const SERVICES_HELPER = join(TEST_DIR, 'helpers', 'services.ts');
/** Relative imports, static, side-effect and dynamic: `from './x.js'`, `import './x.js'`, `import('./x.js')`. */
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
const needsServicesMemo = new Map<string, boolean>();

/** Whether `file` is, imports (through files under test/) or reads what only the test services provide. */
function needsServices(file: string): boolean {
  const known = needsServicesMemo.get(file);
  if (known !== undefined) return known;
  needsServicesMemo.set(file, false); // an import cycle adds nothing
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false; // an import that names no file under test/ is not ours to follow
  }
  let answer = file === SERVICES_HELPER || text.includes('SHIPWATCH_TEST_');
  for (const match of text.matchAll(RELATIVE_IMPORT)) {
    if (answer) break;
    const target = resolve(dirname(file), match[1]!).replace(/\.js$/, '.ts');
    if (target.startsWith(TEST_DIR + sep)) answer = needsServices(target);
  }
  needsServicesMemo.set(file, answer);
  return answer;
}

function laneOf(file: string): Lane {
  return needsServices(file) ? 'integration' : 'unit';
}

/** `--lane=unit|integration` (the npm scripts' flag), `--list` and the path filters. */
function parseArgs(argv: string[]): { lane: Lane | undefined; list: boolean; filters: string[] } {
  let lane: Lane | undefined;
  let list = false;
  const filters: string[] = [];
  for (const arg of argv) {
    if (arg === '--list') list = true;
    else if (arg.startsWith('--lane=')) {
      const value = arg.slice('--lane='.length);
      if (value !== 'unit' && value !== 'integration') fail(`--lane must be unit or integration, not ${value}`);
      lane = value;
    } else filters.push(arg);
  }
  return { lane, list, filters };
}

/** The environment without the services' coordinates: a unit test that reaches for a service fails here. */
function withoutServiceEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('SHIPWATCH_TEST_')));
}

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // --test-force-exit: a file whose tests are done exits even if a failed test left a handle open (a watcher,
  // a server), instead of hanging the run.
  const args = [
    '--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', `--test-timeout=${FILE_TIMEOUT_MS}`,
    ...files.map((f) => relative(ROOT, f)),
  ];
  // Its own process group, so that a stuck runner is killed with the test processes it started.
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['inherit', 'pipe', 'inherit'], detached: true });
  const failures = new FailureDigest();
  let lastTest = '(none yet)';
  let silence: NodeJS.Timeout | undefined;
  const watch = (): void => {
    clearTimeout(silence);
    silence = setTimeout(() => {
      process.stderr.write(`test/run: no output for ${SILENCE_LIMIT_MS / 60_000} min after ${lastTest}: the test runner is stuck, killing it\n`);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, SILENCE_LIMIT_MS);
  };
  watch();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    failures.read(line);
    const done = /^\s*(?:not )?ok \d+ - (.*)$/.exec(line);
    if (done) lastTest = `"${done[1]}"`;
    watch();
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((done) => {
    child.on('error', (err) => {
      process.stderr.write(`test/run: could not start the test runner: ${err.message}\n`);
      done(1);
    });
    child.on('close', (code, signal) => {
      clearTimeout(silence);
      failures.print();
      done(code ?? (signal ? 128 : 1));
    });
  });
}

/**
 * The failed tests again, after the run: a CI log often keeps only its tail, and a failure hundreds of
 * tests up is otherwise lost there. Reads the runner's TAP: a `not ok` line and its YAML block.
 */
class FailureDigest {
  private readonly entries: string[][] = [];
  private open: { indent: number; lines: string[] } | undefined;

  read(line: string): void {
    const failed = /^(\s*)not ok \d+ - (.*)$/.exec(line);
    if (failed) {
      this.open = { indent: failed[1]!.length, lines: [`not ok - ${failed[2]}`] };
      this.entries.push(this.open.lines);
      return;
    }
    if (!this.open) return;
    const body = line.slice(this.open.indent);
    if (body.startsWith('  ...')) this.open = undefined;
    else if (body.startsWith('  ') && !body.startsWith('  ---') && !/node:|primordials/.test(body) && this.open.lines.length < 24) {
      this.open.lines.push(body);
    }
  }

  print(): void {
    // A parent test fails with its failed subtest; its own block says only "N subtests failed".
    const own = this.entries.filter((lines) => !lines.some((l) => /subtests? failed/.test(l)));
    if (own.length === 0) return;
    process.stdout.write(`test/run: ${own.length} failed test${own.length === 1 ? '' : 's'}, again:\n`);
    for (const lines of own.slice(0, 20)) process.stdout.write(`${lines.map((l) => `  ${l}`).join('\n')}\n`);
  }
}

/**
 * Containers test/helpers/docker.ts made carry `shipwatch-test=<pid>`; those of a test process that is gone
 * (crashed before its clean-up) are removed, and those of live processes (another run) are left alone.
 */
function removeLeftoverContainers(): void {
  const r = spawnSync('docker', ['ps', '-a', '--filter', 'label=shipwatch-test', '--format', '{{.ID}} {{.Label "shipwatch-test"}}'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return;
  const dead = r.stdout
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter(([id, pid]) => id && !isAlive(Number(pid)))
    .map(([id]) => id!);
  if (dead.length === 0) return;
  spawnSync('docker', ['rm', '-f', '-v', ...dead], { stdio: 'ignore' });
  process.stdout.write(`test/run: removed ${dead.length} container(s) left by finished test processes\n`);
}

/** The same for swarm services (the auto scaling tests make them): a service left behind would keep its tasks running. */
function removeLeftoverServices(): void {
  const r = spawnSync('docker', ['service', 'ls', '--filter', 'label=shipwatch-test', '--format', '{{.ID}} {{.Name}}'], { encoding: 'utf8' });
  if (r.status !== 0) return; // not a swarm manager: there are none
  const dead: string[] = [];
  for (const [id] of r.stdout.split('\n').map((line) => line.trim().split(' ')).filter(([id]) => id)) {
    const label = spawnSync('docker', ['service', 'inspect', '--format', '{{index .Spec.Labels "shipwatch-test"}}', id!], { encoding: 'utf8' });
    if (label.status === 0 && !isAlive(Number(label.stdout.trim()))) dead.push(id!);
  }
  if (dead.length === 0) return;
  spawnSync('docker', ['service', 'rm', ...dead], { stdio: 'ignore' });
  process.stdout.write(`test/run: removed ${dead.length} service(s) left by finished test processes\n`);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function main(): Promise<number> {
  const { lane, list, filters } = parseArgs(process.argv.slice(2));
  const files = selectTests(filters).filter((file) => lane === undefined || laneOf(file) === lane);
  if (files.length === 0) fail(`no ${lane} test${filters.length > 0 ? ` under ${filters.join(', ')}` : ''}`);
  if (list) {
    for (const file of files) process.stdout.write(`${laneOf(file)} ${relative(ROOT, file)}\n`);
    return 0;
  }
  const setupStart = performance.now();

  const buildStart = performance.now();
  build();
  checkNativeModules();
  const buildTook = seconds(buildStart);

  if (lane === 'unit') {
    const count = `${files.length} test file${files.length === 1 ? '' : 's'}`;
    process.stdout.write(`test/run: unit lane: build took ${buildTook}, no services; running ${count}\n`);
    const testStart = performance.now();
    const code = await runTests(files, withoutServiceEnv(process.env));
    process.stdout.write(`test/run: tests took ${seconds(testStart)}, exit ${code}\n`);
    return code;
  }

  const servicesStart = performance.now();
  await startServices();
  const prometheusBin = findOnPath('prometheus');
  if (!prometheusBin) fail('prometheus is not on PATH after test/services/prometheus.sh');
  const chromiumBin = findOnPath('chromium');
  if (!chromiumBin) fail('chromium is not on PATH after test/services/chromium.sh');
  const alertmanagerBin = findOnPath('prometheus-alertmanager');
  if (!alertmanagerBin) fail('prometheus-alertmanager is not on PATH after test/services/alertmanager.sh');
  const servicesTook = seconds(servicesStart);

  const env = { ...process.env, ...SERVICE_ENV, SHIPWATCH_TEST_PROMETHEUS_BIN: prometheusBin, SHIPWATCH_TEST_CHROMIUM_BIN: chromiumBin, SHIPWATCH_TEST_ALERTMANAGER_BIN: alertmanagerBin };
  process.stdout.write(`test/run: setup took ${seconds(setupStart)} (build ${buildTook}, services ${servicesTook})\n`);
  for (const [name, value] of Object.entries(env).filter(([k]) => k.startsWith('SHIPWATCH_TEST_'))) {
    process.stdout.write(`test/run:   ${name}=${value}\n`);
  }
  const integration = files.filter((file) => laneOf(file) === 'integration').length;
  const count = `${files.length} test file${files.length === 1 ? '' : 's'}`;
  process.stdout.write(`test/run: running ${count} (${files.length - integration} unit, ${integration} integration)\n`);

  const testStart = performance.now();
  const code = await runTests(files, env);
  removeLeftoverContainers();
  removeLeftoverServices();
  process.stdout.write(`test/run: tests took ${seconds(testStart)}, exit ${code}\n`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)),
);
