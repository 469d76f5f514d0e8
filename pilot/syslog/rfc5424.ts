/**
 * RFC 5424 after `<PRI>1 `: `TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]`.
 *
 * Each header field is `-` (none) or one word. The TIMESTAMP is RFC 3339 with at most 6 fraction digits. The
 * STRUCTURED-DATA is `-` or `[SD-ID PARAM="value" …]…`, values unescaping `\"`, `\\` and `\]` (any other backslash
 * stays, §6.3.3). Field lengths are not held to the RFC's maxima (Docker's driver writes its whole `tag` as
 * APP-NAME, often past 48 characters); a header that ends early, structured data that does not close, or holds more
 * than MAX_SD_ITEMS parameters fails the message, and the caller keeps it raw.
 */
import { failure, rfc3339Ms, type StructuredData, type SyslogParse } from './syslog-message.js';

const HEADER_FIELDS = ['TIMESTAMP', 'HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID'] as const;

/**
 * SD-IDs and parameters one message may hold (a repeated parameter counted each time): Elasticsearch refuses a
 * document of more than 1000 fields by default, and a 1 MiB message of 100,000 parameter names took about a second
 * to read (each name a new key). Past it the message is kept raw.
 */
export const MAX_SD_ITEMS = 1000;

type SdResult = { data: StructuredData; end: number } | { error: string };

/** SD-NAME characters: printable US-ASCII but `=`, space, `]` and `"` (§6.3.2). */
function isNameChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x3d && c !== 0x5d && c !== 0x22;
}

function readName(text: string, at: number): number {
  let i = at;
  while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
  return i;
}

/** One or more SD-ELEMENTs from `at` (a `[`). */
function readStructuredData(text: string, at: number): SdResult {
  // No prototype: an SD-ID or parameter named __proto__ is a name like any other.
  const data: StructuredData = Object.create(null) as StructuredData;
  let i = at;
  // The next backslash at or after where a value is read; -1 once there is none left. Kept across values, so a
  // message of many parameters is read in one pass, not one search to its end per value.
  let escapeAt = text.indexOf('\\', at);
  let items = 0;
  while (text.charCodeAt(i) === 0x5b) {
    if (++items > MAX_SD_ITEMS) return { error: `more than ${MAX_SD_ITEMS} SD-IDs and parameters` };
    const idEnd = readName(text, i + 1);
    if (idEnd === i + 1) return { error: `an SD-ELEMENT at ${i} has no SD-ID` };
    const id = text.slice(i + 1, idEnd);
    const params = (data[id] ??= Object.create(null) as Record<string, string | string[]>);
    i = idEnd;
    for (;;) {
      if (i >= text.length) return { error: `the structured data ends inside [${id}` };
      const c = text.charCodeAt(i);
      if (c === 0x5d) { i++; break; }
      if (c !== 0x20) return { error: `unexpected ${JSON.stringify(text[i])} in [${id} at ${i}` };
      const nameEnd = readName(text, i + 1);
      if (nameEnd === i + 1) return { error: `a parameter of [${id} has no name` };
      const name = text.slice(i + 1, nameEnd);
      if (++items > MAX_SD_ITEMS) return { error: `more than ${MAX_SD_ITEMS} SD-IDs and parameters` };
      if (text.charCodeAt(nameEnd) !== 0x3d || text.charCodeAt(nameEnd + 1) !== 0x22) {
        return nameEnd >= text.length ? { error: `the structured data ends inside [${id} ${name}` } : { error: `parameter ${name} of [${id} is not name="value"` };
      }
      // The value runs to the first `"` not escaped; the text between escapes is taken in slices.
      let value = '';
      let j = nameEnd + 2;
      for (;;) {
        const quote = text.indexOf('"', j);
        if (quote < 0) return { error: `the structured data ends inside the value of ${name} in [${id}` };
        if (escapeAt >= 0 && escapeAt < j) escapeAt = text.indexOf('\\', j);
        const escape = escapeAt;
        if (escape < 0 || escape > quote) {
          value += text.slice(j, quote);
          j = quote + 1;
          break;
        }
        // A backslash before the closing quote always has a character after it.
        const next = text.charCodeAt(escape + 1);
        value += text.slice(j, escape) + (next === 0x22 || next === 0x5c || next === 0x5d ? text[escape + 1] : text.slice(escape, escape + 2));
        j = escape + 2;
      }
      const prior = params[name];
      if (prior === undefined) params[name] = value;
      else if (Array.isArray(prior)) prior.push(value);
      else params[name] = [prior, value];
      i = j;
    }
  }
  return { data, end: i };
}

export function parseRfc5424(text: string, priority: number, at: number): SyslogParse {
  const values: Array<string | null> = [];
  let i = at;
  for (const name of HEADER_FIELDS) {
    const sp = text.indexOf(' ', i);
    if (sp < 0 || sp === i) {
      return failure('bad_header', `RFC 5424: the header ends ${sp === i ? 'with an empty field' : 'early'} at ${name} (TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA)`, priority);
    }
    const word = text.slice(i, sp);
    values.push(word === '-' ? null : word);
    i = sp + 1;
  }
  const [timestamp, hostname, appName, procId, msgId] = values as [string | null, string | null, string | null, string | null, string | null];
  const timeMs = timestamp === null ? NaN : rfc3339Ms(timestamp, 6);
  if (timestamp !== null && Number.isNaN(timeMs)) {
    return failure('bad_timestamp', `RFC 5424: TIMESTAMP ${JSON.stringify(timestamp.slice(0, 40))} is not an RFC 3339 time (YYYY-MM-DDThh:mm:ss[.ffffff]Z or ±hh:mm)`, priority);
  }

  let structuredData: StructuredData | null = null;
  if (text.charCodeAt(i) === 0x2d) i++;
  else if (text.charCodeAt(i) === 0x5b) {
    const sd = readStructuredData(text, i);
    if ('error' in sd) return failure('bad_structured_data', `RFC 5424 STRUCTURED-DATA: ${sd.error}`, priority);
    structuredData = sd.data;
    i = sd.end;
  } else {
    return failure('bad_structured_data', `RFC 5424 STRUCTURED-DATA is "-" or [SD-ID …], found ${JSON.stringify(text.slice(i, i + 20))}`, priority);
  }
  let message = '';
  if (i < text.length) {
    if (text.charCodeAt(i) !== 0x20) return failure('bad_structured_data', `RFC 5424: a space must follow STRUCTURED-DATA, found ${JSON.stringify(text[i])}`, priority);
    message = text.charCodeAt(i + 1) === 0xfeff ? text.slice(i + 2) : text.slice(i + 1);
  }
  return { ok: true, message: { format: 'rfc5424', priority, timestamp, timeMs, hostname, appName, procId, msgId, structuredData, message } };
}
