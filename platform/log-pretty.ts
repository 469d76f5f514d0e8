/**
 * The program's own logs as a person reads them at a terminal (LOG_FORMAT=pretty, or auto on a terminal), one line
 * per event, as pino-pretty's single-line mode and Vector's console do:
 *
 *   14:03:07.215 WARN  [engine] no container engine at unix:///var/run/docker.sock: … retryInMs=250
 *
 * local time, the level (coloured), the `component` binding in brackets, the message, then every other binding and
 * field as key=value. The `program` binding is left out: the start banner names the program(s) once.
 *
 * Text that reaches the terminal is escaped (control characters, ANSI sequences included, are written as \n, \u001b,
 * …), so a logged value never moves the cursor or repaints the screen, and every event stays on one line.
 */
import type { Level } from './log.js';

/** SGR sequences; empty strings when colour is off, so the line is built the same way either way. */
export interface Palette {
  dim: string;
  bold: string;
  reset: string;
  key: string;
  level: Record<Level, string>;
}

const COLOURS: Palette = {
  dim: '\x1b[2m',
  bold: '\x1b[1m',
  reset: '\x1b[0m',
  key: '\x1b[36m',
  level: { fatal: '\x1b[1;35m', error: '\x1b[1;31m', warn: '\x1b[1;33m', info: '\x1b[32m', debug: '\x1b[34m', trace: '\x1b[90m' },
};
const PLAIN: Palette = { dim: '', bold: '', reset: '', key: '', level: { fatal: '', error: '', warn: '', info: '', debug: '', trace: '' } };

export function palette(colour: boolean): Palette {
  return colour ? COLOURS : PLAIN;
}

// Every C0 control character and DEL; the escape character among them, so no ANSI sequence gets through.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** A message as one terminal-safe line. */
export function escapeText(text: string): string {
  return text.replace(CONTROL, (c) => JSON.stringify(c).slice(1, -1));
}

/** A value of a key=value pair: bare when it reads unambiguously, else quoted (JSON string rules). */
export function formatValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value !== '' && !/[\s"=\\\u0000-\u001f\u007f]/.test(value) ? value : JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
      return 'undefined';
    default:
      break;
  }
  if (value === null) return 'null';
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return JSON.stringify(code === undefined ? value.message : `${String(code)}: ${value.message}`);
  }
  try {
    return escapeText(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? v.message : v)) ?? String(value));
  } catch {
    return '"[unserialisable]"';
  }
}

/** `key=value key=value`, with a leading space, '' for none; fields whose value is undefined are left out (as JSON does). */
export function formatFields(fields: Record<string, unknown> | undefined, p: Palette): string {
  if (!fields) return '';
  let out = '';
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    out += ` ${p.key}${escapeText(key)}${p.reset}=${formatValue(value)}`;
  }
  return out;
}

function twoDigits(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** HH:MM:SS.mmm, local time. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  const millis = d.getMilliseconds();
  return `${twoDigits(d.getHours())}:${twoDigits(d.getMinutes())}:${twoDigits(d.getSeconds())}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}`;
}

/**
 * Builds the writer of one level: the parts that never change for this logger (level label, component, bindings)
 * are formatted once, as the JSON writer's prefix is.
 */
export function prettyLine(level: Level, bindings: Record<string, unknown>, colour: boolean): (msg: string, fields?: Record<string, unknown>) => string {
  const p = palette(colour);
  const { program: _program, component, ...rest } = bindings;
  const label = `${p.level[level]}${level.toUpperCase().padEnd(5)}${p.reset}`;
  const where = component === undefined ? '' : `${p.dim}[${escapeText(String(component))}]${p.reset} `;
  const bound = formatFields(rest, p);
  const message = level === 'fatal' || level === 'error' || level === 'warn' ? (m: string) => `${p.bold}${escapeText(m)}${p.reset}` : escapeText;
  return (msg, fields) => `${p.dim}${clockTime(Date.now())}${p.reset} ${label} ${where}${message(msg)}${bound}${formatFields(fields, p)}\n`;
}
