/**
 * RFC 3164 (BSD syslog) after its PRI: `TIMESTAMP SP [HOSTNAME SP] [TAG[PID]: ]MSG`.
 *
 * - TIMESTAMP is `Mmm dd hh:mm:ss` (day padded with a space: `Oct  1`; one space is taken too); it has no year and
 *   no zone, so it is read in the pilot's time zone (TZ) in the year nearest to the receive time. An RFC 3339 time
 *   in its place (rsyslog's `RFC3339` templates, Docker's `rfc3164` with a fraction does not do that) is read too.
 * - HOSTNAME is absent in what Docker's syslog driver sends by default (`<30>Dec  7 15:40:24 web[812]: line`, the
 *   Unix format): the word after the time is taken for the TAG when it ends in `:` or `]`, as rsyslog does.
 * - TAG is what comes before `[PID]` or `:` in one word (Docker's `tag` log option, which may hold `/`, `.` or `:`,
 *   e.g. `busybox:1.36[812]:`). A word with neither is not a tag: the whole rest is the MSG.
 */
import { dayExists, failure, rfc3339Ms, type SyslogParse } from './syslog-message.js';

const MONTHS: Record<string, number> = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };

const BSD_TIME = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?= |$)/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT[^ ]+(?= |$)/;

/** Nearest to `nowMs` of the previous, this and the next year (local time); NaN when the day does not exist then. */
function bsdTimeMs(month: number, day: number, h: number, mi: number, s: number, ms: number, nowMs: number): number {
  const year = new Date(nowMs).getFullYear();
  let best = NaN;
  for (const y of [year - 1, year, year + 1]) {
    if (!dayExists(y, month, day)) continue;
    const t = new Date(y, month - 1, day, h, mi, s, ms).getTime();
    if (Number.isNaN(best) || Math.abs(t - nowMs) < Math.abs(best - nowMs)) best = t;
  }
  return best;
}

/** `TAG[PID]:`, `TAG:`, `TAG[PID]` as one word; undefined when the word is no tag. */
function readTag(word: string): { tag: string; pid: string | null } | undefined {
  const w = word.endsWith(':') ? word.slice(0, -1) : word;
  if (w.endsWith(']')) {
    const open = w.lastIndexOf('[');
    if (open > 0) return { tag: w.slice(0, open), pid: w.slice(open + 1, -1) };
    return undefined;
  }
  return w !== word && w !== '' ? { tag: w, pid: null } : undefined;
}

export function parseRfc3164(text: string, priority: number, at: number, nowMs: number): SyslogParse {
  const rest = text.slice(at);
  let timestamp: string;
  let timeMs: number;
  const bsd = BSD_TIME.exec(rest);
  if (bsd) {
    const [whole, mon, d, h, mi, s, frac] = bsd;
    const month = MONTHS[mon!];
    const hour = Number(h);
    const minute = Number(mi);
    const second = Number(s);
    timestamp = whole;
    timeMs = month === undefined || hour > 23 || minute > 59 || second > 59
      ? NaN
      : bsdTimeMs(month, Number(d), hour, minute, second, frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000), nowMs);
  } else {
    const iso = ISO_TIME.exec(rest);
    timestamp = iso?.[0] ?? '';
    timeMs = iso ? rfc3339Ms(timestamp, 9) : NaN;
  }
  if (Number.isNaN(timeMs)) {
    const shown = rest.slice(0, 24);
    return failure('bad_timestamp', `RFC 3164: no valid TIMESTAMP after the PRI (Mmm dd hh:mm:ss), found ${JSON.stringify(shown)}`, priority);
  }

  let i = timestamp.length;
  if (rest.charCodeAt(i) === 0x20) i++;
  let hostname: string | null = null;
  let appName: string | null = null;
  let procId: string | null = null;
  const word = (from: number): string => {
    const sp = rest.indexOf(' ', from);
    return rest.slice(from, sp < 0 ? rest.length : sp);
  };
  let w = word(i);
  let tag = readTag(w);
  if (!tag && w !== '' && i + w.length < rest.length) {
    // Not a tag, and more follows: the HOSTNAME.
    hostname = w;
    i += w.length + 1;
    w = word(i);
    tag = readTag(w);
  }
  if (tag) {
    appName = tag.tag;
    procId = tag.pid;
    i += w.length;
    if (rest.charCodeAt(i) === 0x20) i++;
  }
  return {
    ok: true,
    message: {
      format: 'rfc3164', priority, timestamp, timeMs, hostname, appName, procId, msgId: null, structuredData: null,
      message: rest.slice(i),
    },
  };
}
