/**
 * `shipwatch <pilot|collector|query|all|ingester>` (and the one-off `es-init`, `es-clean`: ./es-commands.ts, loaded only for
 * them): loads the configuration (every problem at once, exit 2), starts the
 * program(s), and on SIGTERM/SIGINT closes them in order — pilot (stop reading, flush, save positions), collector,
 * query, then the shared store — within SHIPWATCH_SHUTDOWN_TIMEOUT, exiting 0.
 */
import { readFileSync } from 'node:fs';
import { ShipwatchError } from '../platform/errors.js';
import { ES_COMMANDS, type EsCommand } from './es-command-names.js';
import { describeVariables, loadConfig, type ConfigProblem } from '../platform/config/load-config.js';
import type { Program } from '../platform/config/schema.js';
import { chooseColour, chooseLogFormat, createLogger } from '../platform/log.js';
import { bannerFields, bannerText, buildStartBanner } from '../platform/start-banner.js';
import { SharedResources, type RunningProgram, type StartProgram } from '../platform/runtime.js';

const PROGRAMS = ['pilot', 'collector', 'query'] as const;
/** Started on its own only: `all` is the one-process set-up on the embedded store, with no Kafka between. */
const ALONE = ['ingester'] as const;
/** Long enough for the first engine listing, short enough to read as part of the start. */
const REPORT_DELAY_MS = 2000;
type One = (typeof PROGRAMS)[number] | (typeof ALONE)[number];

const DESCRIPTIONS: Record<Program, string> = {
  pilot: 'collect container logs (one per host)',
  collector: 'custom monitoring, container stats, line protocol, traces',
  query: 'Jaeger query API, log search API and UI',
  all: 'pilot, collector and query in one process on the embedded store',
  ingester: 'spans from Kafka into span storage (after a collector with SPAN_STORAGE_TYPE=kafka)',
};
const DEMO_DESCRIPTION = 'all, with a sample shop sending traces, logs and metrics to it';
/** A request of the demo shop every so often; its counters pushed as line protocol every so often. */
const DEMO_OPTIONS = { intervalMs: 250, metricsIntervalMs: 2000, seed: 20261207 };

export function version(): string {
  // Compiled, this file is dist/cli/main.js; run from source (tests), cli/main.ts: the package file is above either.
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'shipwatch') return pkg.version;
    } catch {
      // not at this depth: try the next
    }
  }
  return 'unknown';
}

export function helpText(): string {
  const lines = [
    'Usage: shipwatch <command>',
    '',
    'Commands:',
    ...(['pilot', 'collector', 'query', 'all', 'ingester'] as const).map((c) => `  ${c.padEnd(10)} ${DESCRIPTIONS[c]}`),
    `  ${'demo'.padEnd(10)} ${DEMO_DESCRIPTION}`,
    ...Object.entries(ES_COMMANDS).map(([c, d]) => `  ${c.padEnd(10)} ${d}`),
    '',
    'Options:',
    '  --help     this text',
    '  --version  the version',
    '',
    'Configuration comes from environment variables. Durations: 500ms, 2s, 1m, 7d (bare number = seconds);',
    'sizes: 64MiB, 512KiB.',
    '',
  ];
  let section = '';
  for (const row of describeVariables()) {
    if (row.section !== section) {
      section = row.section;
      lines.push(`[${section}]`);
    }
    const aliases = row.aliases.length > 0 ? ` (also ${row.aliases.join(', ')})` : '';
    lines.push(`  ${row.name}${aliases}`, `      ${row.doc}${row.default === '' ? '' : ` Default: ${row.default}.`}`);
  }
  return lines.join('\n') + '\n';
}

async function loadProgram(name: One): Promise<StartProgram | undefined> {
  try {
    const mod = (await import(`../${name}/${name}-program.js`)) as { start?: StartProgram };
    return mod.start;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(`${name}/${name}-program.js`)) return undefined;
    throw err;
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => !a.startsWith('-'));
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`shipwatch ${version()}\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h') || args.length === 0) {
    process.stdout.write(helpText());
    return args.length === 0 && !argv.includes('--help') && !argv.includes('-h') ? 2 : 0;
  }
  if (args[0] !== undefined && args[0] in ES_COMMANDS) {
    const { runEsCommand } = await import('./es-commands.js');
    return runEsCommand(args[0] as EsCommand, args.slice(1), process.env);
  }
  const demo = args[0] === 'demo';
  const command = (demo ? 'all' : args[0]) as Program;
  if (!['pilot', 'collector', 'query', 'all', 'ingester'].includes(command) || args.length > 1) {
    process.stderr.write(`shipwatch: unknown command "${args.join(' ')}" (expected pilot, collector, query, all, ingester or demo; see --help)\n`);
    return 2;
  }

  let config;
  try {
    config = loadConfig(process.env, command);
  } catch (err) {
    if (err instanceof ShipwatchError && err.code === 'SW_CONFIG_INVALID') {
      const problems = (err as ShipwatchError & { problems: ConfigProblem[] }).problems;
      process.stderr.write(`shipwatch ${command}: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`);
      for (const p of problems) process.stderr.write(`  ${p.variable}: ${p.reason}\n`);
      return 2;
    }
    throw err;
  }

  const isTTY = process.stderr.isTTY === true;
  const format = chooseLogFormat(config.common.logFormat, isTTY);
  const colour = chooseColour(config.common, isTTY);
  const log = createLogger({ level: config.common.logLevel, bindings: { program: command }, format, colour });
  // First, before any program opens a port or migrates the store: where to look and where to send.
  const banner = buildStartBanner(config, version());
  if (format === 'pretty') {
    // Said at info, as its JSON form is: LOG_LEVEL=warn or above leaves it out.
    if (['info', 'debug', 'trace'].includes(log.level)) process.stderr.write(bannerText(banner, colour));
  } else {
    log.info('starting', bannerFields(banner));
  }
  const shared = new SharedResources();
  const names: One[] = command === 'all' ? [...PROGRAMS] : [command];
  const running: Array<{ name: One; program: RunningProgram }> = [];
  const missing: One[] = [];
  let demoWorkload: { close(): Promise<void> } | undefined;

  const shutdown = async (): Promise<void> => {
    // The demo's SDKs send what they hold while the receivers still listen.
    await demoWorkload?.close();
    for (const { program } of running) await program.close();
    await shared.closeAll();
  };

  try {
    for (const name of names) {
      const start = await loadProgram(name);
      if (!start) {
        missing.push(name);
        continue;
      }
      running.push({ name, program: await start({ config, log: log.child({ component: name }), shared }) });
    }
  } catch (err) {
    log.fatal('start failed', { err, detail: err instanceof Error && err.cause ? String(err.cause) : undefined });
    await shutdown().catch(() => {});
    // A configuration found wrong only at start (a file a variable names) exits as a wrong variable does.
    return err instanceof ShipwatchError && err.code === 'SW_CONFIG_INVALID' ? 2 : 1;
  }
  if (running.length === 0) {
    process.stderr.write(`shipwatch: ${missing.join(', ')} is not built yet\n`);
    return 1;
  }
  for (const name of missing) log.warn(`${name} is not built yet; running without it`);
  if (demo) {
    try {
      const { startDemo } = await import('./demo/demo-workload.js');
      demoWorkload = await startDemo(config, log.child({ component: 'demo' }), DEMO_OPTIONS);
    } catch (err) {
      log.fatal('demo failed to start', { err });
      await shutdown().catch(() => {});
      return 1;
    }
  }
  // Listening for the signals before saying "started": whoever waits for that line may stop the process at once, and
  // a SIGTERM between the line and the listener (a loaded machine runs the reader first) would end it by Node's default.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      const timer = setTimeout(() => {
        log.error('shutdown timed out; exiting', { timeoutMs: config.common.shutdownTimeoutMs });
        resolve(1);
      }, config.common.shutdownTimeoutMs);
      timer.unref();
      shutdown().then(
        () => resolve(0),
        (err: unknown) => {
          log.error('shutdown failed', { err });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
  // What is said once per process, now that every program has started (the store's migration summary).
  shared.started();
  if (format === 'json') {
    log.info('started', { programs: running.map((r) => r.name), summary: running.flatMap((r) => r.program.summary) });
  } else {
    log.info(`started: ${running.map((r) => r.name).join(', ')}`);
    // The banner said where; a port chosen at start (0) is known only now.
    if (banner.endpoints.some((e) => e.chosenAtStart === true)) {
      for (const r of running) for (const line of r.program.summary) log.child({ component: r.name }).info(line);
    }
  }
  // A moment later, once discovery has settled: what was found and where to look.
  const reportTimer = setTimeout(() => {
    for (const r of running) {
      r.program.report?.().then(
        (lines) => {
          if (format === 'json') log.info('found', { program: r.name, report: lines });
          else for (const line of lines) log.child({ component: r.name }).info(line);
        },
        (err: unknown) => log.warn('start-up report failed', { err }),
      );
    }
  }, REPORT_DELAY_MS);
  reportTimer.unref();

  return stopped;
}
