/**
 * The program's own logs on standard error: one JSON object per line (pino's shape: level, time, msg, bindings), or
 * with `format: 'pretty'` one line per event for people (./log-pretty.ts). The format is chosen once, when the
 * logger is built: the JSON writer has no branch for it.
 *
 * As in pino, a child's bindings are serialised once into a JSON fragment, and levels below the threshold are
 * bound to a no-op at construction, so a disabled `debug` costs a call to an empty function and nothing more.
 */
import { prettyLine } from './log-pretty.js';

export type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export type LevelOrSilent = Level | 'silent';

const LEVELS: Record<Level, number> = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10 };

export type LogFn = (msg: string, fields?: Record<string, unknown>) => void;

export interface Logger {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  readonly level: LevelOrSilent;
}

export interface LogSink {
  write(line: string): unknown;
}

const noop: LogFn = () => {};

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) return { type: v.name, message: v.message, code: (v as { code?: unknown }).code };
      return v;
    });
  } catch {
    return '"[unserialisable]"';
  }
}

/** `{"a":1}` → `,"a":1`; '' for none. */
function fragment(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  const json = safeJson(fields);
  return json.length > 2 ? ',' + json.slice(1, -1) : '';
}

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: LevelOrSilent;
  sink?: LogSink;
  bindings?: Record<string, unknown>;
  /** json (default) or pretty. */
  format?: LogFormat;
  /** Pretty lines only: with ANSI colours. */
  colour?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const sink = options.sink ?? process.stderr;
  return build(level, sink, options.bindings ?? {}, options.format === 'pretty' ? { colour: options.colour === true } : undefined);
}

function build(level: LevelOrSilent, sink: LogSink, bindings: Record<string, unknown>, pretty: { colour: boolean } | undefined): Logger {
  // A child's binding replaces its parent's of the same name, so a line never carries a key twice.
  const bound = fragment(bindings);
  const threshold = level === 'silent' ? Infinity : LEVELS[level];
  const make = (name: Level): LogFn => {
    if (LEVELS[name] < threshold) return noop;
    if (pretty) {
      const line = prettyLine(name, bindings, pretty.colour);
      return (msg, fields) => {
        sink.write(line(msg, fields));
      };
    }
    const head = `{"level":"${name}","time":`;
    return (msg, fields) => {
      sink.write(`${head}${Date.now()}${bound},"msg":${safeJson(msg)}${fragment(fields)}}\n`);
    };
  };
  return {
    level,
    fatal: make('fatal'),
    error: make('error'),
    warn: make('warn'),
    info: make('info'),
    debug: make('debug'),
    trace: make('trace'),
    child: (more) => build(level, sink, { ...bindings, ...more }, pretty),
  };
}

/** A logger that writes nothing: for tests and benchmarks. */
export const silentLogger: Logger = createLogger({ level: 'silent' });

/** LOG_FORMAT resolved for a stream: `auto` is pretty at a terminal, JSON otherwise (a file, a pipe, a container log). */
export function chooseLogFormat(choice: 'auto' | LogFormat, isTTY: boolean): LogFormat {
  return choice === 'auto' ? (isTTY ? 'pretty' : 'json') : choice;
}

/** Colour for pretty lines: FORCE_COLOR decides when set, else a terminal without NO_COLOR. */
export function chooseColour(options: { noColor: boolean; forceColor: boolean | undefined }, isTTY: boolean): boolean {
  return options.forceColor ?? (isTTY && !options.noColor);
}
