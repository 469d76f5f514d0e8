/**
 * What `npm start` (the compiled `shipwatch all`) writes on standard error, as a newcomer sees it: at a terminal
 * (a pseudo-terminal from util-linux's `script`) the start banner first, within 2 s, naming every configured port,
 * then one pretty line per event; with standard error to a pipe, or LOG_FORMAT=json, only JSON lines, the first one
 * carrying the endpoints as fields. Either way the store's migrations are one line, and an absent engine is a
 * warning that says what to do, never an error.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.js';

const BIN = fileURLToPath(new URL('../../bin/shipwatch.js', import.meta.url));
const COMPILED = fileURLToPath(new URL('../../dist/cli/shipwatch.js', import.meta.url));
const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const PRETTY_LINE = /^\d\d:\d\d:\d\d\.\d{3} (FATAL|ERROR|WARN |INFO |DEBUG|TRACE) /;

interface Ports {
  query: number; queryAdmin: number; pilotAdmin: number; collectorAdmin: number; otlpHttp: number; otlpGrpc: number;
  jaegerHttp: number; jaegerGrpc: number; jaegerCompact: number; jaegerBinary: number; zipkin: number; sampling: number;
}

async function freePorts(): Promise<Ports> {
  const keys = ['query', 'queryAdmin', 'pilotAdmin', 'collectorAdmin', 'otlpHttp', 'otlpGrpc', 'jaegerHttp', 'jaegerGrpc', 'jaegerCompact', 'jaegerBinary', 'zipkin', 'sampling'] as const;
  const ports = await Promise.all(keys.map(() => freePort()));
  assert.equal(new Set(ports).size, ports.length);
  return Object.fromEntries(keys.map((k, i) => [k, ports[i]!])) as unknown as Ports;
}

/** Every port moved to a free one, the store in a fresh folder, DOCKER_HOST at a socket that does not exist. */
function environment(dataDir: string, p: Ports, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    SHIPWATCH_DATA_DIR: dataDir,
    DOCKER_HOST: `unix://${join(dataDir, 'no-engine.sock')}`,
    QUERY_LISTEN: `127.0.0.1:${p.query}`, QUERY_ADMIN_LISTEN: `127.0.0.1:${p.queryAdmin}`,
    PILOT_ADMIN_LISTEN: `127.0.0.1:${p.pilotAdmin}`, COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${p.collectorAdmin}`,
    COLLECTOR_OTLP_HTTP_LISTEN: `:${p.otlpHttp}`, COLLECTOR_OTLP_GRPC_LISTEN: `127.0.0.1:${p.otlpGrpc}`,
    COLLECTOR_JAEGER_HTTP_LISTEN: `127.0.0.1:${p.jaegerHttp}`, COLLECTOR_JAEGER_GRPC_LISTEN: `127.0.0.1:${p.jaegerGrpc}`,
    // Free TCP port numbers, for UDP: nothing else of this test listens on UDP.
    COLLECTOR_JAEGER_COMPACT_LISTEN: `127.0.0.1:${p.jaegerCompact}`, COLLECTOR_JAEGER_BINARY_LISTEN: `127.0.0.1:${p.jaegerBinary}`,
    COLLECTOR_ZIPKIN_LISTEN: `127.0.0.1:${p.zipkin}`, COLLECTOR_SAMPLING_LISTEN: `127.0.0.1:${p.sampling}`,
    ...extra,
  };
}

interface Run {
  /** What was written, with the time (ms after the spawn) each chunk arrived. */
  chunks: Array<{ atMs: number; text: string }>;
  text(): string;
  /** Resolves once `re` matches what was written; rejects past `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /**
   * SIGTERM to the program (once), then its exit code. Under `script` that is script's status, which was seen to be
   * 143 in about one run in ten with no "stopping" line copied, so the terminal tests only stop the program; the pipe
   * test asserts the exit 0 of a SIGTERM.
   */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}


/**
 * Runs the compiled command with standard error on a terminal (`script` gives the program a pseudo-terminal and
 * copies it to its standard output) or on a pipe. Under `script` the shell prints its pid, then execs the program,
 * so the program keeps that pid and gets SIGTERM itself.
 */
function run(env: Record<string, string>, terminal: boolean): Run {
  const t0 = performance.now();
  const child = terminal
    ? spawn('script', ['-qfec', `echo "pid=$$"; exec "${process.execPath}" "${BIN}" all`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'ignore'] })
    : spawn(process.execPath, [BIN, 'all'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const chunks: Run['chunks'] = [];
  const waiters = new Set<() => void>();
  (terminal ? child.stdout! : child.stderr!).on('data', (d: Buffer) => {
    chunks.push({ atMs: performance.now() - t0, text: d.toString() });
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const text = (): string => chunks.map((c) => c.text).join('');
  const programPid = (): number => (terminal ? Number(/pid=(\d+)/.exec(text())?.[1]) : child.pid!);
  let stopping: Promise<number | null> | undefined;
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    chunks,
    text,
    exited,
    waitFor: (re, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!re.test(text().replace(ANSI, ''))) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${String(re)} within ${timeoutMs} ms; written:\n${text().slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    stop: () => (stopping ??= (async () => {
      const pid = programPid();
      if (pid > 0 && !gone) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      const late = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(late);
      return code;
    })()),
  };
}

function start(t: { after: (fn: () => void) => void }, ports: Ports, terminal: boolean, extra: Record<string, string> = {}): Run {
  assert.ok(existsSync(COMPILED), `${COMPILED} is missing: run the tests through npm test, which builds it`);
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-console-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const r = run(environment(dataDir, ports, extra), terminal);
  t.after(() => void r.stop());
  return r;
}

/** The program's lines, without the `pid=` line of the shell, colours removed, carriage returns of the terminal dropped. */
function linesOf(r: Run): string[] {
  return r.text().replace(ANSI, '').replace(/\r/g, '').split('\n').filter((l) => l !== '' && !/^pid=\d+$/.test(l));
}

test('at a terminal the banner comes first, within 2 s, naming every configured port, then one pretty line per event', { skip: HAS_SCRIPT ? false : 'util-linux script is not installed' }, async (t) => {
  const p = await freePorts();
  const r = start(t, p, true);
  await r.waitFor(/INFO  started: pilot, collector, query/);
  await r.waitFor(/container engine .*set DOCKER_HOST/);

  const lines = linesOf(r);
  assert.match(lines[0]!, /^Shipwatch \d+\.\d+\.\d+ · all: pilot, collector and query$/, lines.join('\n'));
  // The first chunk of the program (after the shell's pid line) is the banner's, within 2 s of the spawn.
  const first = r.chunks.find((c) => c.text.includes('Shipwatch '))!;
  assert.ok(first.atMs < 2000, `the banner came ${Math.round(first.atMs)} ms after the spawn`);
  t.diagnostic(`banner ${Math.round(first.atMs)} ms after the spawn`);
  const bannerEnd = lines.findIndex((l) => l.startsWith('  data in '));
  assert.ok(bannerEnd > 0, lines.join('\n'));
  const banner = lines.slice(0, bannerEnd + 1).join('\n');
  for (const [what, re] of [
    ['UI', new RegExp(`Open http://127\\.0\\.0\\.1:${p.query}/`)],
    ['OTLP/HTTP (wildcard host shown as localhost)', new RegExp(`OTLP/HTTP +http://localhost:${p.otlpHttp}/v1/traces`)],
    ['OTLP/gRPC', new RegExp(`OTLP/gRPC +127\\.0\\.0\\.1:${p.otlpGrpc}\\b`)],
    ['Jaeger Thrift HTTP', new RegExp(`Jaeger Thrift HTTP +http://127\\.0\\.0\\.1:${p.jaegerHttp}/api/traces`)],
    ['Jaeger UDP compact', new RegExp(`Jaeger Thrift UDP compact +127\\.0\\.0\\.1:${p.jaegerCompact}/udp`)],
    ['Jaeger UDP binary', new RegExp(`Jaeger Thrift UDP binary +127\\.0\\.0\\.1:${p.jaegerBinary}/udp`)],
    ['Jaeger gRPC', new RegExp(`Jaeger gRPC +127\\.0\\.0\\.1:${p.jaegerGrpc}\\b`)],
    ['Zipkin', new RegExp(`Zipkin +http://127\\.0\\.0\\.1:${p.zipkin}/api/v2/spans`)],
    ['line protocol', new RegExp(`line protocol push +http://127\\.0\\.0\\.1:${p.collectorAdmin}/api/v2/write`)],
    ['sampling', new RegExp(`Jaeger remote sampling +http://127\\.0\\.0\\.1:${p.sampling}/sampling`)],
    ['pilot health', new RegExp(`pilot +http://127\\.0\\.0\\.1:${p.pilotAdmin}/health`)],
    ['query health', new RegExp(`query +http://127\\.0\\.0\\.1:${p.queryAdmin}/health`)],
  ] as const) assert.match(banner, re, `${what} missing from the banner:\n${banner}`);
  // The banner is said before the engine is probed.
  const engineLine = lines.findIndex((l) => /WARN .*container engine/.test(l));
  assert.ok(engineLine > bannerEnd, lines.join('\n'));

  // After it, every line is one event: time, level, message.
  for (const line of lines.slice(bannerEnd + 1)) assert.match(line, PRETTY_LINE, line);
  assert.ok(!lines.some((l) => / (ERROR|FATAL) /.test(l)), lines.join('\n'));
  assert.match(lines[engineLine]!, /\[engine\] container engine unavailable: unix:\/\/.*no-engine\.sock.*start the engine, mount its socket, or set DOCKER_HOST/);
  assert.equal(lines.filter((l) => /container engine unavailable/.test(l)).length, 1, 'one warning for the engine, not one per program');
  const migrations = lines.filter((l) => /migration/.test(l));
  assert.equal(migrations.length, 1, migrations.join('\n'));
  assert.match(migrations[0]!, /INFO  \[store\] store ready: \d+ migrations applied/);
  // In colour at a terminal (no NO_COLOR).
  assert.match(r.text(), /\x1b\[1mShipwatch/);
  await r.stop();
});

test('with NO_COLOR the terminal gets the same lines without colour', { skip: HAS_SCRIPT ? false : 'util-linux script is not installed' }, async (t) => {
  const r = start(t, await freePorts(), true, { NO_COLOR: '1' });
  await r.waitFor(/INFO  started: /);
  assert.doesNotMatch(r.text(), /\x1b\[/);
  assert.match(linesOf(r)[0]!, /^Shipwatch /);
  await r.stop();
});

test('with standard error to a pipe only JSON lines are written, the first one naming the endpoints as fields', async (t) => {
  const p = await freePorts();
  const r = start(t, p, false);
  await r.waitFor(/"msg":"started"/);
  await r.waitFor(/"code":"SW_ENGINE_UNAVAILABLE"/);
  assert.equal(await r.stop(), 0, `exit code; written:\n${r.text().slice(-1500)}`);
  const entries = linesOf(r).map((l) => {
    assert.doesNotThrow(() => JSON.parse(l), l);
    return JSON.parse(l) as Record<string, unknown>;
  });
  const banner = entries[0]!;
  assert.equal(banner.msg, 'starting');
  assert.equal(banner.level, 'info');
  assert.deepEqual(banner.programs, ['pilot', 'collector', 'query']);
  assert.equal(banner.ui, `http://127.0.0.1:${p.query}/`);
  assert.equal(banner.otlpHttp, `http://localhost:${p.otlpHttp}/v1/traces`);
  assert.equal(banner.otlpGrpc, `127.0.0.1:${p.otlpGrpc}`);
  assert.equal(banner.jaegerHttp, `http://127.0.0.1:${p.jaegerHttp}/api/traces`);
  assert.equal(banner.jaegerCompactUdp, `127.0.0.1:${p.jaegerCompact}/udp`);
  assert.equal(banner.jaegerBinaryUdp, `127.0.0.1:${p.jaegerBinary}/udp`);
  assert.equal(banner.jaegerGrpc, `127.0.0.1:${p.jaegerGrpc}`);
  assert.equal(banner.zipkin, `http://127.0.0.1:${p.zipkin}/api/v2/spans`);
  assert.equal(banner.lineProtocol, `http://127.0.0.1:${p.collectorAdmin}/api/v2/write`);
  assert.equal(banner.sampling, `http://127.0.0.1:${p.sampling}/sampling`);

  assert.deepEqual(entries.filter((e) => e.level === 'error' || e.level === 'fatal'), []);
  const engine = entries.filter((e) => e.code === 'SW_ENGINE_UNAVAILABLE');
  assert.equal(engine.length, 1);
  assert.equal(engine[0]!.level, 'warn');
  assert.match(String(engine[0]!.msg), /set DOCKER_HOST/);
  const migrations = entries.filter((e) => /migration/.test(String(e.msg)));
  assert.equal(migrations.length, 1, JSON.stringify(migrations));
  assert.match(String(migrations[0]!.msg), /^store ready: \d+ migrations applied$/);
  assert.ok(entries.some((e) => e.msg === 'started' && Array.isArray(e.programs)));
});

test('LOG_FORMAT=json at a terminal writes JSON lines too', { skip: HAS_SCRIPT ? false : 'util-linux script is not installed' }, async (t) => {
  const r = start(t, await freePorts(), true, { LOG_FORMAT: 'json' });
  await r.waitFor(/"msg":"started"/);
  await r.stop();
  const lines = linesOf(r);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
  assert.equal((JSON.parse(lines[0]!) as { msg: string }).msg, 'starting');
});

test('a LOG_FORMAT or FORCE_COLOR the program does not know is refused with exit 2, naming the variable', async () => {
  const r = run({ PATH: process.env.PATH ?? '', LOG_FORMAT: 'fancy', FORCE_COLOR: 'sometimes' }, false);
  assert.equal(await r.exited, 2);
  assert.match(r.text(), /LOG_FORMAT: .*"fancy"/);
  assert.match(r.text(), /FORCE_COLOR: "sometimes" is not a colour choice/);
});
