/**
 * The vocabulary of configuration: a variable's spec and the parsers of its value. Sections (common, pilot,
 * collector, query) are tables of specs; `loadConfig` (./index.ts) is the only reader of the environment.
 *
 * A parser returns the value or a `Problem`; it never throws, so every problem of a configuration is reported at once.
 */

export class Problem {
  constructor(readonly reason: string) {}
}

export type Program = 'pilot' | 'collector' | 'query' | 'all' | 'ingester';

export interface LoadContext {
  program: Program;
}

export interface VarSpec<T> {
  /** The environment variable. */
  name: string;
  /** Older names still read (log-pilot's), first one set wins after `name`. */
  aliases?: readonly string[];
  /** Raw default, or one that depends on the program; undefined = unset (parser sees ''). */
  default?: string | ((ctx: LoadContext) => string);
  /** Shown in --help and the README: the default as words when it is computed. */
  defaultDoc?: string;
  doc: string;
  parse: (raw: string) => T | Problem;
  /** Hidden values (passwords, tokens) are never printed. */
  secret?: boolean;
}

export function v<T>(spec: VarSpec<T>): VarSpec<T> {
  return spec;
}

export type Section = Record<string, VarSpec<unknown>>;
export type Resolved<S extends Section> = {
  readonly [K in keyof S]: S[K] extends VarSpec<infer T> ? T : never;
};

// ---- parsers ----

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `2s`, `1m`, `1h`, `7d`; a bare number is seconds. Returns milliseconds. */
export function parseDurationMs(raw: string): number | Problem {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  if (!m) return new Problem(`"${raw}" is not a duration (write 500ms, 2s, 1m, 1h or 7d; a bare number is seconds)`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** `64MiB`, `512KiB`, `1GB`, `1000` (bytes). Returns bytes. */
export function parseSizeBytes(raw: string): number | Problem {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return new Problem(`"${raw}" is not a size (write 64MiB, 512KiB, 1GiB or a number of bytes)`);
  return Math.round(Number(m[1]) * unit);
}

export function parsePort(raw: string): number | Problem {
  if (!/^\d+$/.test(raw.trim())) return new Problem(`"${raw}" is not a port number (0-65535)`);
  const n = Number(raw);
  return n <= 65535 ? n : new Problem(`"${raw}" is not a port number (0-65535)`);
}

export function parseInteger(min: number, max = Number.MAX_SAFE_INTEGER): (raw: string) => number | Problem {
  return (raw) => {
    const t = raw.trim();
    const n = Number(t);
    if (!/^-?\d+$/.test(t) || n < min || n > max) return new Problem(`"${raw}" is not a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Days of retention: unset (undefined, nothing deleted) or a whole number from 1 to 36500 (0 would delete today's). */
export function parseRetentionDays(raw: string): number | undefined | Problem {
  if (raw.trim() === '') return undefined;
  const n = parseInteger(1, 36_500)(raw);
  return n instanceof Problem ? new Problem(`"${raw}" is not a number of days from 1 to 36500 (unset keeps everything)`) : n;
}

export function parseBool(raw: string): boolean | Problem {
  const t = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(t)) return false;
  return new Problem(`"${raw}" is not a boolean (true or false)`);
}

export function parseString(raw: string): string {
  return raw;
}

export function parseEnum<T extends string>(allowed: readonly T[]): (raw: string) => T | Problem {
  return (raw) => {
    const t = raw.trim().toLowerCase() as T;
    return allowed.includes(t) ? t : new Problem(`"${raw}" is not one of ${allowed.join(', ')}`);
  };
}

/** Comma list, trimmed, empty items removed. */
export function parseList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function parseEnumList<T extends string>(allowed: readonly T[]): (raw: string) => T[] | Problem {
  return (raw) => {
    const items = parseList(raw.toLowerCase());
    const bad = items.filter((i) => !allowed.includes(i as T));
    if (bad.length > 0) return new Problem(`unknown ${bad.map((b) => `"${b}"`).join(', ')} (allowed: ${allowed.join(', ')})`);
    return [...new Set(items)] as T[];
  };
}

export function parseUrl(raw: string): string | Problem {
  if (raw === '') return '';
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return new Problem(`"${raw}" is not an http(s) URL`);
    return raw.replace(/\/+$/, '');
  } catch {
    return new Problem(`"${raw}" is not a URL`);
  }
}

export function parseUrlList(raw: string): string[] | Problem {
  const out: string[] = [];
  for (const item of parseList(raw)) {
    const u = parseUrl(item);
    if (u instanceof Problem) return u;
    out.push(u);
  }
  return out;
}

/** `host:port` or `:port` listen address; returns {host, port}. */
export function parseListen(raw: string): { host: string; port: number } | Problem {
  const m = /^(.*):(\d+)$/.exec(raw.trim());
  if (!m) return new Problem(`"${raw}" is not host:port`);
  const port = parsePort(m[2]!);
  if (port instanceof Problem) return port;
  return { host: m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, ''), port };
}
