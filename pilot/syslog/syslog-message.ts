/**
 * One syslog message, parsed: the PRI every format starts with, then RFC 5424 when a version follows it (`<34>1 `),
 * else RFC 3164 (BSD syslog, what Docker's syslog driver sends by default). Pure: never throws, never does I/O;
 * a message that does not parse comes back as a failure with its reason, and the caller keeps the raw frame.
 */
import { isUtf8 } from 'node:buffer';
import { parseRfc3164 } from './rfc3164.js';
import { parseRfc5424 } from './rfc5424.js';

/** RFC 5424 §6.3: SD-ID → its parameters; a parameter given more than once keeps every value, in order. */
export type StructuredData = Record<string, Record<string, string | string[]>>;

export interface SyslogMessage {
  format: 'rfc3164' | 'rfc5424';
  /** PRI: facility × 8 + severity, 0-191. */
  priority: number;
  /** The TIMESTAMP as written, null when the sender gave none (RFC 5424's `-`). */
  timestamp: string | null;
  /** It in ms since the epoch; NaN when there is none. */
  timeMs: number;
  hostname: string | null;
  /** RFC 5424's APP-NAME, RFC 3164's TAG (Docker's syslog driver writes its `tag` log option there). */
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  structuredData: StructuredData | null;
  /** MSG (a leading UTF-8 BOM taken off). */
  message: string;
}

/** Why a frame was kept raw; each is counted apart. */
export type SyslogErrorCode =
  | 'no_pri' | 'bad_pri' | 'bad_version' | 'bad_timestamp' | 'bad_header' | 'bad_structured_data'
  | 'bad_octet_count' | 'half_frame' | 'not_utf8';

export type SyslogParse =
  | { ok: true; message: SyslogMessage }
  /** `priority` is -1 when the PRI itself did not read. */
  | { ok: false; code: SyslogErrorCode; reason: string; priority: number };

export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

/** RFC 5424 Table 1, with the names syslog.h and rsyslog give them. */
export const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'audit',
  'alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] as const;

export function facilityOf(priority: number): string {
  return FACILITIES[priority >> 3]!;
}

export function severityOf(priority: number): string {
  return SEVERITIES[priority & 7]!;
}

export type Failure = Extract<SyslogParse, { ok: false }>;

export function failure(code: SyslogErrorCode, reason: string, priority: number): Failure {
  return { ok: false, code, reason, priority };
}

/**
 * `<PRIVAL>` at the start: its value and where the rest begins, or the failure. PRIVAL is 1 to 3 digits, 0-191
 * (RFC 5424 §6.2.1; RFC 3164 §4.1.1).
 */
function readPri(text: string): { priority: number; rest: number } | Failure {
  if (text.charCodeAt(0) !== 0x3c) return failure('no_pri', 'no PRI: a syslog message starts with <facility*8+severity>', -1);
  let i = 1;
  let value = 0;
  while (i < text.length && i <= 4) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
    i++;
  }
  const digits = i - 1;
  if (digits === 0 || digits > 3 || text.charCodeAt(i) !== 0x3e || value > 191) {
    const shown = text.slice(0, Math.min(text.length, 6));
    return failure('bad_pri', `bad PRI ${JSON.stringify(shown)}: 1 to 3 digits, 0-191, between < and >`, -1);
  }
  return { priority: value, rest: i + 1 };
}

/** The text after the PRI starts with a version (1 to 3 digits, then a space): RFC 5424. */
function versionAt(text: string, at: number): string | undefined {
  let i = at;
  while (i < text.length && i - at < 4) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  const n = i - at;
  if (n === 0 || n > 3) return undefined;
  return text.charCodeAt(i) === 0x20 || i === text.length ? text.slice(at, i) : undefined;
}

/**
 * Parses one message. `nowMs` places an RFC 3164 time, which has no year, in the year that puts it nearest to now.
 */
export function parseSyslogText(text: string, nowMs: number): SyslogParse {
  const pri = readPri(text);
  if ('ok' in pri) return pri;
  const version = versionAt(text, pri.rest);
  if (version !== undefined) {
    if (version !== '1') return failure('bad_version', `RFC 5424 version ${version} is not supported (only 1)`, pri.priority);
    return parseRfc5424(text, pri.priority, pri.rest + version.length + 1);
  }
  return parseRfc3164(text, pri.priority, pri.rest, nowMs);
}

/** A frame's bytes as text; `invalidUtf8` when some were not UTF-8 (they read as U+FFFD). */
export function decodeFrame(bytes: Buffer): { text: string; invalidUtf8: boolean } {
  const text = bytes.toString('utf8');
  // U+FFFD may also have been sent as such: only then is the check of the bytes needed.
  return { text, invalidUtf8: text.includes('\uFFFD') && !isUtf8(bytes) };
}

// ---- pieces both formats use ----

const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A calendar day that exists (29 February in leap years only). */
export function dayExists(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || day > MONTH_DAYS[month - 1]!) return false;
  return month !== 2 || day < 29 || (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time (RFC 5424 §6.2.3: upper-case T and Z, at most 6 fraction digits there) in ms; NaN if it is not one. */
export function rfc3339Ms(text: string, maxFractionDigits: number): number {
  const m = RFC3339.exec(text);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (!dayExists(year, month, day) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return NaN;
  if (frac !== undefined && frac.length - 1 > maxFractionDigits) return NaN;
  let offsetMin = 0;
  if (zone !== 'Z') {
    const oh = Number(zone!.slice(1, 3));
    const om = Number(zone!.slice(4, 6));
    if (oh > 23 || om > 59) return NaN;
    offsetMin = (zone![0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  return Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), ms) - offsetMin * 60_000;
}
