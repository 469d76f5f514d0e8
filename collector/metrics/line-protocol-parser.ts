/**
 * InfluxDB line protocol → metric points, exactly to the specification (influxdata/line-protocol's grammar and
 * reference decoder, checked against its conformance corpus by test/collector/line-protocol-corpus.test.ts).
 *
 * - Escapes: in a measurement `\ ` and `\,`; in tag keys, tag values and field keys `\ `, `\,` and `\=`; in string
 *   field values `\\`, `\"`, `\n`, `\r`, `\t`. A backslash before any other character is kept as it is.
 * - Field values: floats (`1`, `-1.5`, `.5`, `1e-3`), integers `1i`, unsigned `1u`, strings `"…"` (which may span
 *   lines), booleans `t T true True TRUE f F false False FALSE`. Floats must be finite; integers fit 64 bits.
 * - Timestamps: an optional signed integer in the given precision; a line without one gets the default time cut to
 *   that precision. The result must fit a signed 64-bit count of nanoseconds.
 * - Lines end with `\n` or `\r\n`; blank lines, leading spaces and `#` comments are skipped. Control characters
 *   are refused everywhere outside string values (a tab is not a separator).
 * - Tags are sorted (code point order); a tag key given twice is an error. A field key given twice keeps its first
 *   position and its last value (what InfluxDB stores).
 *
 * A bad line is reported (line, column, reason, its text) and skipped; the lines after it are still read. Bodies
 * given as bytes must be UTF-8: names and values with invalid UTF-8 are refused, comments are not checked.
 *
 * Synchronous, no I/O, never throws. Speed (bench/line-protocol.bench.ts): one pass with charCodeAt and a class
 * table, substrings only for the tokens themselves, numbers read in place (see line-protocol-numbers.ts).
 */
import { isUtf8 } from 'node:buffer';
import type { FieldValue, MetricPoint } from '../../core/model/metric-point.js';
import { compareCodePoints } from './key-order.js';
import { readFloat, readInteger } from './line-protocol-numbers.js';
import { floorToUnit, MAX_INT64, MAX_UINT64, MIN_INT64, NANOS_PER_UNIT, type Precision } from './line-protocol-precision.js';

export interface ParseOptions {
  /** Unit of the timestamps written in the body; default `ns`. */
  precision?: Precision;
  /** Time of lines without a timestamp, nanoseconds; default now. Cut down to the precision. */
  defaultTimeNs?: bigint;
}

export interface LineFailure {
  /** 1-based line of the body where the problem is. */
  line: number;
  /** 1-based column (characters) of the problem in that line. */
  column: number;
  reason: string;
  /** That line of the body, cut at 200 characters. */
  text: string;
}

export interface ParseResult {
  points: MetricPoint[];
  /** One per bad line, in body order. */
  failures: LineFailure[];
}

const NONPRINT = 1;
const SPACE = 2;
const COMMA = 4;
const EQUALS = 8;
const BACKSLASH = 16;
const CLASS = new Uint8Array(128);
for (let c = 0; c < 32; c++) CLASS[c] = NONPRINT;
CLASS[127] = NONPRINT;
CLASS[32] = SPACE;
CLASS[44] = COMMA;
CLASS[61] = EQUALS;
CLASS[92] = BACKSLASH;

/** What ends a measurement; its escapable characters are those of them that are printable. */
const MEASUREMENT_STOP = NONPRINT | SPACE | COMMA;
/** What ends a tag key, a tag value or a field key. */
const KEY_STOP = NONPRINT | SPACE | COMMA | EQUALS;
const PRINTABLE_STOP = SPACE | COMMA | EQUALS;

const TEXT_LIMIT = 200;

/**
 * Names and tag values repeat through a body (Telegraf writes the same hosts and keys on every line), so tokens are
 * interned per body: a hit costs a compare instead of a new string. bench/line-protocol.bench.ts: with the
 * interning, the reuse of the previous line's timestamp and exact-size arrays, the garbage collector's share fell
 * from about half of the time to a fraction of it.
 */
const INTERN_SLOTS = 1024;
const INTERN_MAX_LENGTH = 64;

const TRUE: FieldValue = Object.freeze({ type: 'bool', value: true });
const FALSE: FieldValue = Object.freeze({ type: 'bool', value: false });

/** Parses a whole body. Bytes are read as UTF-8; a string is taken as it is. */
export function parseLineProtocol(body: string | Uint8Array, options: ParseOptions = {}): ParseResult {
  const unitNs = NANOS_PER_UNIT[options.precision ?? 'ns'];
  const defaultTimeNs = floorToUnit(options.defaultTimeNs ?? BigInt(Date.now()) * 1_000_000n, unitNs);
  let text: string;
  let latin1 = false;
  if (typeof body === 'string') {
    text = body;
  } else {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // Valid UTF-8 (the normal case) is decoded once. Otherwise every byte becomes one character, so positions and
    // byte order are kept, and each point's strings are checked and decoded on their own (see fromLatin1).
    latin1 = !isUtf8(buf);
    text = buf.toString(latin1 ? 'latin1' : 'utf8');
  }
  return new Parser(text, latin1, unitNs, defaultTimeNs).run();
}

class Parser {
  private readonly n: number;
  private pos = 0;
  /** OR of the non-ASCII code units of the last token (0 when it is ASCII). */
  private wide = 0;
  private failure: { at: number; reason: string } | undefined;
  /** Line counting for failures only: the line number at `countedPos`. */
  private countedPos = 0;
  private countedLine = 1;
  private readonly interned: string[] = new Array<string>(INTERN_SLOTS).fill('');
  /** The last timestamp read (its text range and value): lines of one gather share it. */
  private lastTimeStart = 0;
  private lastTimeEnd = 0;
  private lastTimeNs = 0n;
  /** Reused between entries; each point gets an exact-size copy. */
  private readonly tagScratch: Array<[string, string]> = [];
  private readonly fieldScratch: Array<[string, FieldValue]> = [];

  constructor(
    private readonly s: string,
    private readonly latin1: boolean,
    private readonly unitNs: bigint,
    private readonly defaultTimeNs: bigint,
  ) {
    this.n = s.length;
  }

  run(): ParseResult {
    const points: MetricPoint[] = [];
    const failures: LineFailure[] = [];
    const s = this.s;
    const n = this.n;
    for (;;) {
      // Blank lines, leading spaces, comments.
      let pos = this.pos;
      while (pos < n && s.charCodeAt(pos) === 32) pos++;
      if (pos >= n) break;
      const c = s.charCodeAt(pos);
      this.pos = pos;
      if (c === 10) {
        this.pos = pos + 1;
        continue;
      }
      if (c === 13 && (pos + 1 === n || s.charCodeAt(pos + 1) === 10)) {
        this.pos = pos + (pos + 1 === n ? 1 : 2);
        continue;
      }
      if (c === 35 /* # */) {
        if (!this.comment()) {
          failures.push(this.describeFailure());
          this.skipLine();
        }
        continue;
      }
      const start = pos;
      let point = this.entry();
      if (point !== undefined && this.latin1 && !fromLatin1(point)) {
        this.failure = { at: start, reason: 'invalid UTF-8 in a name or a value' };
        point = undefined;
        failures.push(this.describeFailure());
        continue;
      }
      if (point !== undefined) {
        points.push(point);
      } else {
        failures.push(this.describeFailure());
        this.skipLine();
      }
    }
    return { points, failures };
  }

  /** A comment runs to the end of the line and holds no control character (a tab included). */
  private comment(): boolean {
    const s = this.s;
    let pos = this.pos + 1;
    for (; pos < this.n; pos++) {
      const c = s.charCodeAt(pos);
      if (c === 10) {
        this.pos = pos + 1;
        return true;
      }
      if (c < 32 || c === 127) {
        if (c === 13 && (pos + 1 === this.n || s.charCodeAt(pos + 1) === 10)) continue;
        this.pos = pos;
        this.fail(pos, `invalid character ${showChar(c)} in a comment`);
        return false;
      }
    }
    this.pos = pos;
    return true;
  }

  private entry(): MetricPoint | undefined {
    const s = this.s;
    const n = this.n;
    const measurementAt = this.pos;
    const measurement = this.token(MEASUREMENT_STOP);
    if (measurement.length === 0) {
      return this.fail(measurementAt, this.pos >= n ? 'no measurement' : `invalid character ${showChar(s.charCodeAt(this.pos))} at the start of the measurement`);
    }
    // Tags.
    const tagScratch = this.tagScratch;
    let tagCount = 0;
    let ordered = true;
    let high = false;
    if (!this.tagComma()) return undefined;
    for (;;) {
      let pos = this.pos;
      if (pos < n && s.charCodeAt(pos) === 32) {
        while (++pos < n && s.charCodeAt(pos) === 32);
        this.pos = pos;
        break;
      }
      const keyAt = pos;
      const key = this.token(KEY_STOP);
      if (this.wide >= 0xd800) high = true;
      pos = this.pos;
      if (key.length === 0 || pos >= n || s.charCodeAt(pos) !== 61) {
        if (pos >= n) return this.fail(pos, key.length === 0 ? 'expected a tag key or a field, found the end of the input' : `expected '=' after tag key ${quote(key)}, found the end of the input`);
        const c = s.charCodeAt(pos);
        if (key.length > 0) return this.fail(pos, `expected '=' after tag key ${quote(key)}, found ${showChar(c)}`);
        if (c === 61) return this.fail(keyAt, 'empty tag key');
        return this.fail(keyAt, `expected a tag key or a field, found ${showChar(c)}`);
      }
      this.pos = pos + 1;
      const value = this.token(KEY_STOP);
      if (value.length === 0) return this.fail(pos + 1, `tag ${quote(key)} has no value`);
      if (tagCount > 0 && !(key > tagScratch[tagCount - 1]![0])) ordered = false;
      tagScratch[tagCount++] = [key, value];
      if (this.pos >= n) break;
      if (!this.tagComma()) return undefined;
    }
    const tags = tagScratch.slice(0, tagCount);
    if (!ordered || high) {
      tags.sort((a, b) => compareCodePoints(a[0], b[0]));
      for (let i = 1; i < tags.length; i++) {
        if (tags[i]![0] === tags[i - 1]![0]) return this.fail(measurementAt, `tag key ${quote(tags[i]![0])} given twice`);
      }
    }
    // Fields, then the optional timestamp.
    const fieldScratch = this.fieldScratch;
    let fieldCount = 0;
    for (;;) {
      const keyAt = this.pos;
      const key = this.token(KEY_STOP);
      let pos = this.pos;
      if (key.length === 0) {
        return this.fail(keyAt, pos >= n ? 'expected a field key, found the end of the input' : `invalid character ${showChar(s.charCodeAt(pos))} at the start of a field key`);
      }
      if (pos >= n) return this.fail(pos, `expected '=' after field key ${quote(key)}, found the end of the input`);
      if (s.charCodeAt(pos) !== 61) return this.fail(pos, `expected '=' after field key ${quote(key)}, found ${showChar(s.charCodeAt(pos))}`);
      pos++;
      this.pos = pos;
      if (pos >= n) return this.fail(pos, `field ${quote(key)} has no value`);
      const value = this.fieldValue(key);
      if (value === undefined) return undefined;
      // A second value for a field key replaces the first in place (InfluxDB keeps the last one).
      let k = 0;
      while (k < fieldCount && fieldScratch[k]![0] !== key) k++;
      if (k < fieldCount) fieldScratch[k] = [key, value];
      else fieldScratch[fieldCount++] = [key, value];
      pos = this.pos;
      if (pos >= n) return { measurement, tags, fields: fieldScratch.slice(0, fieldCount), timeNs: this.defaultTimeNs };
      const c = s.charCodeAt(pos);
      if (c === 44) {
        this.pos = pos + 1;
        continue;
      }
      if (c !== 32 && c !== 13 && c !== 10) return this.fail(pos, `unexpected character ${showChar(c)} after field ${quote(key)}`);
      while (pos < n && s.charCodeAt(pos) === 32) pos++;
      this.pos = pos;
      if (this.endOfLine()) return { measurement, tags, fields: fieldScratch.slice(0, fieldCount), timeNs: this.defaultTimeNs };
      const timeNs = this.timestamp();
      return timeNs === undefined ? undefined : { measurement, tags, fields: fieldScratch.slice(0, fieldCount), timeNs };
    }
  }

  /** A comma after the measurement or a tag value must be followed by a tag key. */
  private tagComma(): boolean {
    const pos = this.pos;
    if (pos >= this.n || this.s.charCodeAt(pos) !== 44) return true;
    this.pos = pos + 1;
    if (pos + 1 >= this.n) {
      this.fail(pos + 1, 'expected a tag key after the comma, found the end of the input');
      return false;
    }
    const c = this.s.charCodeAt(pos + 1);
    if (c === 32 || c === 13 || c === 10) {
      this.fail(pos + 1, 'expected a tag key after the comma, found white space');
      return false;
    }
    return true;
  }

  /**
   * A measurement, key or tag value up to the first character of `stop` not escaped; unescaped. Sets `wide`.
   */
  private token(stop: number): string {
    const s = this.s;
    const n = this.n;
    const start = this.pos;
    let i = start;
    let wide = 0;
    let escaped = false;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 128) {
        wide |= c;
        i++;
        continue;
      }
      const k = CLASS[c]!;
      if (k === 0) {
        i++;
        continue;
      }
      if ((k & stop) !== 0) break;
      if (k === BACKSLASH && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d < 128 && (CLASS[d]! & stop & PRINTABLE_STOP) !== 0) {
          escaped = true;
          i += 2;
          continue;
        }
      }
      i++;
    }
    this.pos = i;
    this.wide = wide;
    if (escaped) return unescapeToken(s, start, i, stop & PRINTABLE_STOP);
    const length = i - start;
    if (length === 0) return '';
    if (length > INTERN_MAX_LENGTH) return s.slice(start, i);
    // A few sampled characters make the slot: cheaper than hashing every character, and a collision only costs
    // a miss. The quarter points catch the usual numbered names (web-007, cpu3).
    const slot =
      (length * 31 +
        s.charCodeAt(start) +
        s.charCodeAt(i - 1) * 7 +
        s.charCodeAt(start + (length >> 1)) * 13 +
        s.charCodeAt(start + (length >> 2)) * 17 +
        s.charCodeAt(start + ((3 * length) >> 2)) * 19) &
      (INTERN_SLOTS - 1);
    const known = this.interned[slot]!;
    if (known.length === length) {
      let j = 0;
      while (j < length && known.charCodeAt(j) === s.charCodeAt(start + j)) j++;
      if (j === length) return known;
    }
    const token = s.slice(start, i);
    this.interned[slot] = token;
    return token;
  }

  private fieldValue(key: string): FieldValue | undefined {
    const s = this.s;
    const n = this.n;
    const start = this.pos;
    const c = s.charCodeAt(start);
    if (c === 34 /* " */) return this.stringValue(key);
    let end = start;
    while (end < n) {
      const d = s.charCodeAt(end);
      if (d === 44 || d === 32 || d === 10 || d === 13) break;
      end++;
    }
    this.pos = end;
    if (c === 45 || (c >= 48 && c <= 57) || c === 46) {
      const last = s.charCodeAt(end - 1);
      if (last === 105 /* i */ || last === 117 /* u */) {
        const signed = last === 105;
        const v = readInteger(s, start, end - 1, signed);
        if (v === undefined) return this.fail(start, `invalid ${signed ? 'integer' : 'unsigned integer'} ${quote(s.slice(start, end))} for field ${quote(key)}`);
        if (signed ? v < MIN_INT64 || v > MAX_INT64 : v > MAX_UINT64) return this.fail(start, `${signed ? 'integer' : 'unsigned integer'} ${quote(s.slice(start, end))} of field ${quote(key)} is out of range`);
        return signed ? { type: 'int', value: v } : { type: 'uint', value: v };
      }
      const f = readFloat(s, start, end);
      if (Number.isNaN(f)) return this.fail(start, `invalid number ${quote(s.slice(start, end))} for field ${quote(key)}`);
      if (f === Infinity || f === -Infinity) return this.fail(start, `number ${quote(s.slice(start, end))} of field ${quote(key)} is out of range`);
      return { type: 'float', value: f };
    }
    if (c === 116 || c === 84 || c === 102 || c === 70 /* t T f F */) {
      switch (s.slice(start, end)) {
        case 't': case 'T': case 'true': case 'True': case 'TRUE':
          return TRUE;
        case 'f': case 'F': case 'false': case 'False': case 'FALSE':
          return FALSE;
        default:
          return this.fail(start, `invalid boolean ${quote(s.slice(start, end))} for field ${quote(key)}`);
      }
    }
    if (end === start) return this.fail(start, `field ${quote(key)} has no value`);
    return this.fail(start, `the value of field ${quote(key)} (${quote(s.slice(start, end))}) is of no known type`);
  }

  private stringValue(key: string): FieldValue | undefined {
    const s = this.s;
    const n = this.n;
    const open = this.pos;
    let i = open + 1;
    let escaped = false;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c === 92 && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d === 92 || d === 34 || d === 110 || d === 114 || d === 116) {
          escaped = true;
          i++;
        }
      }
    }
    if (i >= n) {
      this.pos = n;
      return this.fail(open, `string field ${quote(key)} has no closing quote`);
    }
    this.pos = i + 1;
    return { type: 'string', value: escaped ? unescapeString(s, open + 1, i) : s.slice(open + 1, i) };
  }

  /** `-?[0-9]+` then spaces and the end of the line. */
  private timestamp(): bigint | undefined {
    const s = this.s;
    const n = this.n;
    const start = this.pos;
    let pos = start;
    let c = 0;
    while (pos < n && ((c = s.charCodeAt(pos)) === 45 || (c >= 48 && c <= 57))) pos++;
    const end = pos;
    if (pos < n && c !== 32 && c !== 13 && c !== 10) {
      this.pos = pos;
      return this.fail(start, `invalid timestamp ${quote(s.slice(start, lineEnd(s, pos)))}`);
    }
    let timeNs = this.defaultTimeNs;
    if (end > start && end - start === this.lastTimeEnd - this.lastTimeStart && sameText(s, start, this.lastTimeStart, end - start)) {
      timeNs = this.lastTimeNs;
      this.pos = end;
    } else if (end > start) {
      const raw = readInteger(s, start, end, true);
      this.pos = end;
      if (raw === undefined) return this.fail(start, `invalid timestamp ${quote(s.slice(start, end))}`);
      timeNs = raw * this.unitNs;
      if (raw < MIN_INT64 || raw > MAX_INT64 || timeNs < MIN_INT64 || timeNs > MAX_INT64) {
        return this.fail(start, `timestamp ${quote(s.slice(start, end))} is out of range`);
      }
      this.lastTimeStart = start;
      this.lastTimeEnd = end;
      this.lastTimeNs = timeNs;
    }
    while (pos < n && s.charCodeAt(pos) === 32) pos++;
    this.pos = pos;
    if (!this.endOfLine()) return this.fail(pos, `unexpected text after the timestamp: ${quote(s.slice(pos, lineEnd(s, pos)))}`);
    return timeNs;
  }

  /** Consumes `\n`, `\r\n`, or `\r` at the end of the input; true at the end of the input. */
  private endOfLine(): boolean {
    const pos = this.pos;
    if (pos >= this.n) return true;
    const c = this.s.charCodeAt(pos);
    if (c === 10) {
      this.pos = pos + 1;
      return true;
    }
    if (c === 13) {
      if (pos + 1 >= this.n) {
        this.pos = pos + 1;
        return true;
      }
      if (this.s.charCodeAt(pos + 1) === 10) {
        this.pos = pos + 2;
        return true;
      }
    }
    return false;
  }

  /** Records the problem of the current entry; returns undefined so callers can `return this.fail(…)`. */
  private fail(at: number, reason: string): undefined {
    this.failure = { at, reason };
    if (this.pos < at) this.pos = at;
    return undefined;
  }

  /** After a bad entry, reading resumes on the next line. */
  private skipLine(): void {
    const nl = this.s.indexOf('\n', this.pos);
    this.pos = nl < 0 ? this.n : nl + 1;
  }

  private describeFailure(): LineFailure {
    const { at, reason } = this.failure!;
    const s = this.s;
    // Failures come in body order, so counting lines from the last one keeps the whole pass linear.
    let line = this.countedLine;
    for (let i = this.countedPos; i < at; i++) if (s.charCodeAt(i) === 10) line++;
    this.countedPos = at;
    this.countedLine = line;
    const start = s.lastIndexOf('\n', at - 1) + 1;
    let text = s.slice(start, Math.min(lineEnd(s, start), start + TEXT_LIMIT));
    if (this.latin1) text = Buffer.from(text, 'latin1').toString('utf8');
    return { line, column: at - start + 1, reason, text };
  }
}

function sameText(s: string, a: number, b: number, length: number): boolean {
  for (let j = 0; j < length; j++) if (s.charCodeAt(a + j) !== s.charCodeAt(b + j)) return false;
  return true;
}

function unescapeToken(s: string, start: number, end: number, escapable: number): string {
  let out = '';
  let from = start;
  for (let i = start; i < end - 1; i++) {
    if (s.charCodeAt(i) !== 92) continue;
    const d = s.charCodeAt(i + 1);
    if (d < 128 && (CLASS[d]! & escapable) !== 0) {
      out += s.slice(from, i);
      from = i + 1;
      i++;
    }
  }
  return out + s.slice(from, end);
}

const STRING_ESCAPES: Record<number, string> = { 92: '\\', 34: '"', 110: '\n', 114: '\r', 116: '\t' };

function unescapeString(s: string, start: number, end: number): string {
  let out = '';
  let from = start;
  for (let i = start; i < end - 1; i++) {
    if (s.charCodeAt(i) !== 92) continue;
    const replacement = STRING_ESCAPES[s.charCodeAt(i + 1)];
    if (replacement !== undefined) {
      out += s.slice(from, i) + replacement;
      from = i + 2;
      i++;
    }
  }
  return out + s.slice(from, end);
}

/**
 * A point read from a body with invalid UTF-8 somewhere: its strings are still one character per byte. Decodes
 * them in place; false when one of them is not UTF-8. Byte order is code point order, so the tag order holds.
 */
function fromLatin1(point: MetricPoint): boolean {
  const decode = (t: string): string | undefined => {
    if (!/[\u0080-\u00ff]/.test(t)) return t;
    const bytes = Buffer.from(t, 'latin1');
    return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
  };
  const m = decode(point.measurement);
  if (m === undefined) return false;
  point.measurement = m;
  for (const tag of point.tags) {
    const k = decode(tag[0]);
    const v = decode(tag[1]);
    if (k === undefined || v === undefined) return false;
    tag[0] = k;
    tag[1] = v;
  }
  for (const field of point.fields) {
    const k = decode(field[0]);
    if (k === undefined) return false;
    field[0] = k;
    if (field[1].type === 'string') {
      const v = decode(field[1].value);
      if (v === undefined) return false;
      field[1] = { type: 'string', value: v };
    }
  }
  return true;
}

function lineEnd(s: string, from: number): number {
  let i = from;
  while (i < s.length && s.charCodeAt(i) !== 10 && s.charCodeAt(i) !== 13) i++;
  return i;
}

function showChar(c: number): string {
  return c < 32 || c === 127 ? `'\\x${c.toString(16).padStart(2, '0')}'` : `'${String.fromCharCode(c)}'`;
}

function quote(t: string): string {
  return JSON.stringify(t.length > 64 ? t.slice(0, 64) + '…' : t);
}
