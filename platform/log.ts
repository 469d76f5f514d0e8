/**
 * The program's own logs: one JSON object per line on standard error (pino's shape: level, time, msg, bindings).
 *
 * As in pino, a child's bindings are serialised once into a JSON fragment, and levels below the threshold are
 * bound to a no-op at construction, so a disabled `debug` costs a call to an empty function and nothing more.
 */
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

export function createLogger(options: { level?: LevelOrSilent; sink?: LogSink; bindings?: Record<string, unknown> } = {}): Logger {
  const level = options.level ?? 'info';
  const sink = options.sink ?? process.stderr;
  return build(level, sink, options.bindings ?? {});
}

function build(level: LevelOrSilent, sink: LogSink, bindings: Record<string, unknown>): Logger {
  // A child's binding replaces its parent's of the same name, so a line never carries a key twice.
  const bound = fragment(bindings);
  const threshold = level === 'silent' ? Infinity : LEVELS[level];
  const make = (name: Level): LogFn => {
    if (LEVELS[name] < threshold) return noop;
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
    child: (more) => build(level, sink, { ...bindings, ...more }),
  };
}

/** A logger that writes nothing: for tests and benchmarks. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
