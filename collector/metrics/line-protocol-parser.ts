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
 * Synchronous, no I/O, never throws. Speed (bench/line-protocol.bench.ts, 1M Telegraf-like lines): what repeats
 * between the lines of a body is recognised rather than read again, always by an exact compare of the text, so
 * a line that only looks like an earlier one is read in full:
 * - the series (measurement and tags, the text before the first space) is looked up by that text, and its points
 *   share its arrays; the series that followed it last time is compared first (a batch repeats its order), which
 *   saves hashing the text;
 * - the field keys of the last line of the series are compared where the keys are; the points of one shape share
 *   their key and type arrays;
 * - the last timestamp is compared before digits are read; tokens that are read are interned per body;
 * - numbers of the usual forms are read in one pass where they are (readCommonNumber).
 * On the shared 2-CPU benchmark machine, in runs side by side (its load moved from 6 to 20 during them): the
 * previous parser (pair and object per tag and field, BigInt per integer) 176–181k lines per CPU-second; the
 * flat point alone 360–540k; with the series and keys recognised 400–550k and more when the machine was quieter.
 * The figures quoted in the bench's history are from that machine; JavaScript loops cost it about 3 ns a
 * character, which is why native compares (indexOf, startsWith, slice + ===) are preferred where they can do.
 */
import { isUtf8 } from 'node:buffer';
import { BOOL, FLOAT, INT, STRING, UINT, type FieldData, type FieldType, type MetricPoint } from '../../core/model/metric-point.js';
import { readCommonNumber, readFloat, readInteger, readInteger64, type CommonNumber } from './line-protocol-numbers.js';
import { floorToUnit, MAX_INT64, MAX_UINT64, MIN_INT64, NANOS_PER_UNIT, type Precision } from './line-protocol-precision.js';
import {
  BACKSLASH, CLASS, flat, fromLatin1, fullHash, isPlain, KEY_STOP, lineEnd, MEASUREMENT_STOP, PRINTABLE_STOP, quote, sameText, sampleHash,
  showChar, sortTags, unescapeString, unescapeToken,
} from './line-protocol-text.js';

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

const TEXT_LIMIT = 200;

/**
 * Names and tag values repeat through a body (Telegraf writes the same hosts and keys on every line), so tokens are
 * interned per body: a hit costs a compare instead of a new string, and keys compare by reference afterwards.
 */
const INTERN_SLOTS = 1024;
const INTERN_MAX_LENGTH = 64;

/**
 * A measurement with its tags, as the text before the first space of a line gives them. The lines of one series
 * repeat that text exactly, so it is read once per body: later lines find it by the text (one native hash and
 * compare instead of a token per measurement, key and value) and share its arrays.
 */
interface Series {
  /** The text before the first space of its lines. */
  text: string;
  measurement: string;
  tagKeys: readonly string[];
  tagValues: readonly string[];
  /** The field keys and types of the last line of this series. */
  fields: FieldShape | undefined;
  /** The series of the line that followed this one last time: tried first (batches repeat their order). */
  next: Series | undefined;
}

/**
 * Field keys and types, shared by the points that have the same ones (every line of a Telegraf input). The keys are
 * tried first on the next line of the series, each with one native compare (startsWith); a miss falls back to
 * reading the token.
 */
interface FieldShape {
  keys: readonly string[];
  types: Uint8Array;
  /** `key=` as a flat string, for each key written as itself (see isPlain); undefined for the others. */
  keyEq: ReadonlyArray<string | undefined>;
}

/** Series slots: a power of two well above the series of a body; a collision only costs a miss. */
const SERIES_SLOTS = 4096;

/** Largest integer that a number holds exactly. */
const SAFE = 9007199254740991;

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
  /** Where each interned token was read in the body: compared there, a flat string against itself. */
  private readonly internedAt = new Int32Array(INTERN_SLOTS);
  /** The last timestamp read (its text range and value): lines of one gather share it. */
  /** The last timestamp read, as a flat string, and its value. */
  private lastTime = '';
  private lastTimeNs = 0n;
  /** Reused between entries; each point gets an exact-size copy of the values, and a shared shape. */
  private readonly tagKeys: string[] = [];
  private readonly tagValues: string[] = [];
  private readonly fieldKeys: string[] = [];
  private readonly fieldTypes: FieldType[] = [];
  private readonly fieldValues: FieldData[] = [];
  /** Reused for each number read by readCommonNumber. */
  private readonly common: CommonNumber = { value: 0, type: FLOAT, end: 0 };
  /** The type of the last field value read. */
  private valueType: FieldType = FLOAT;
  /** Series by the hash of the text that gave them, and the last field shape of each measurement. */
  private readonly series: Array<Series | undefined> = new Array<Series | undefined>(SERIES_SLOTS).fill(undefined);
  private readonly lastFields = new Map<string, FieldShape>();
  /** The series of the last line read. */
  private previous: Series | undefined;


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
    // A series seen before in this body: the same text up to the first space, when that space ended its tags,
    // gives the same measurement and tags (a stored text never holds a line end, so neither does a match): found
    // with indexOf, a hash, and one string compare (slice + ===, a native memcmp). Measured on the benchmark's
    // machine for an 80-character series text: a JavaScript compare loop 235 ns, slice + === 43 ns, and
    // Map.get(slice) 240 ns a line.
    const start = this.pos;
    const space = s.indexOf(' ', start);
    const length = space - start;
    let slot = -1;
    let series: Series | undefined;
    if (length > 0) {
      series = this.previous?.next;
      if (series === undefined || series.text.length !== length || series.text !== s.slice(start, space)) {
        slot = fullHash(s, start, space) & (SERIES_SLOTS - 1);
        series = this.series[slot];
        if (series !== undefined && (series.text.length !== length || series.text !== s.slice(start, space))) series = undefined;
      }
    }
    if (series !== undefined) {
      let pos = space + 1;
      while (pos < n && s.charCodeAt(pos) === 32) pos++;
      this.pos = pos;
    } else {
      series = this.readSeries();
      if (series === undefined) return undefined;
      if (slot >= 0 && series.text.length === length) this.series[slot] = series;
    }
    if (this.previous !== undefined) this.previous.next = series;
    this.previous = series;
    // Fields, then the optional timestamp.
    const shape = series.fields ?? this.lastFields.get(series.measurement);
    const keyEq = shape?.keyEq;
    const fieldKeys = this.fieldKeys;
    const fieldTypes = this.fieldTypes;
    const fieldValues = this.fieldValues;
    let fieldCount = 0;
    // Leading fields whose keys are the shape's, in its order: those keys are unique, so no search for a repeat.
    let shapeKeys = 0;
    let shapeTypes = true;
    for (;;) {
      let pos = this.pos;
      let key: string;
      let fromShape = false;
      // The key the last line of this series had here, when it is written here too (startsWith: native).
      const eq = keyEq !== undefined && fieldCount < keyEq.length ? keyEq[fieldCount] : undefined;
      const keyAt = pos;
      if (eq !== undefined && s.startsWith(eq, pos)) {
        key = shape!.keys[fieldCount]!;
        pos += eq.length;
        fromShape = true;
      } else {
        key = this.token(KEY_STOP);
        pos = this.pos;
        if (key.length === 0) {
          return this.fail(keyAt, pos >= n ? 'expected a field key, found the end of the input' : `invalid character ${showChar(s.charCodeAt(pos))} at the start of a field key`);
        }
        if (pos >= n) return this.fail(pos, `expected '=' after field key ${quote(key)}, found the end of the input`);
        if (s.charCodeAt(pos) !== 61) return this.fail(pos, `expected '=' after field key ${quote(key)}, found ${showChar(s.charCodeAt(pos))}`);
        pos++;
      }
      this.pos = pos;
      if (pos >= n) return this.fail(pos, `field ${quote(key)} has no value`);
      const value = this.fieldValue(key);
      if (value === undefined) return undefined;
      let k = fieldCount;
      if (fromShape && shapeKeys === fieldCount) {
        shapeKeys++;
        if (this.valueType !== shape!.types[k]) shapeTypes = false;
      } else {
        // A second value for a field key replaces the first in place (InfluxDB keeps the last one).
        k = 0;
        while (k < fieldCount && fieldKeys[k] !== key) k++;
      }
      fieldKeys[k] = key;
      fieldTypes[k] = this.valueType;
      fieldValues[k] = value;
      if (k === fieldCount) fieldCount++;
      pos = this.pos;
      let end = pos >= n;
      if (!end) {
        const c = s.charCodeAt(pos);
        if (c === 44) {
          this.pos = pos + 1;
          continue;
        }
        if (c !== 32 && c !== 13 && c !== 10) return this.fail(pos, `unexpected character ${showChar(c)} after field ${quote(key)}`);
        while (pos < n && s.charCodeAt(pos) === 32) pos++;
        this.pos = pos;
        end = this.endOfLine();
      }
      const timeNs = end ? this.defaultTimeNs : this.timestamp();
      if (timeNs === undefined) return undefined;
      const fits = shape !== undefined && ((shapeTypes && shapeKeys === fieldCount && fieldCount === shape.keys.length) || this.fits(shape, fieldCount));
      return this.point(series, fits ? shape : undefined, fieldCount, timeNs);
    }
  }

  /** The measurement and the tags, read token by token; the series is remembered by its text. */
  private readSeries(): Series | undefined {
    const s = this.s;
    const n = this.n;
    const start = this.pos;
    const measurement = this.token(MEASUREMENT_STOP);
    if (measurement.length === 0) {
      return this.fail(start, this.pos >= n ? 'no measurement' : `invalid character ${showChar(s.charCodeAt(this.pos))} at the start of the measurement`);
    }
    const tagKeys = this.tagKeys;
    const tagValues = this.tagValues;
    let tagCount = 0;
    let ordered = true;
    let high = false;
    let end = n;
    if (!this.tagComma()) return undefined;
    for (;;) {
      let pos = this.pos;
      if (pos < n && s.charCodeAt(pos) === 32) {
        end = pos;
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
      if (tagCount > 0 && !(key > tagKeys[tagCount - 1]!)) ordered = false;
      tagKeys[tagCount] = key;
      tagValues[tagCount++] = value;
      if (this.pos >= n) break;
      if (!this.tagComma()) return undefined;
    }
    if (!ordered || high) {
      const duplicate = sortTags(tagKeys, tagValues, tagCount);
      if (duplicate !== undefined) return this.fail(start, `tag key ${quote(duplicate)} given twice`);
    }
    return { text: end < n ? s.slice(start, end) : '', measurement, tagKeys: tagKeys.slice(0, tagCount), tagValues: tagValues.slice(0, tagCount), fields: undefined, next: undefined };
  }

  /** The point of the entry just read: the series' arrays, its own values, and `shape` (when it fits) or a new one. */
  private point(series: Series, shape: FieldShape | undefined, fieldCount: number, timeNs: bigint): MetricPoint {
    if (shape === undefined) {
      const keys = this.fieldKeys.slice(0, fieldCount);
      shape = { keys, types: Uint8Array.from(this.fieldTypes.slice(0, fieldCount)), keyEq: keys.map((k) => (isPlain(k) ? flat(k + '=') : undefined)) };
      this.lastFields.set(series.measurement, shape);
    }
    series.fields = shape;
    return {
      measurement: series.measurement,
      tagKeys: series.tagKeys,
      tagValues: series.tagValues,
      fieldKeys: shape.keys,
      fieldTypes: shape.types,
      fieldValues: this.fieldValues.slice(0, fieldCount),
      timeNs,
    };
  }

  private fits(shape: FieldShape, fieldCount: number): boolean {
    const { keys, types } = shape;
    if (keys.length !== fieldCount) return false;
    // Predicted and interned keys are mostly the same string objects: mostly one pointer compare each.
    for (let i = 0; i < fieldCount; i++) if (keys[i] !== this.fieldKeys[i] || types[i] !== this.fieldTypes[i]) return false;
    return true;
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
    const slot = sampleHash(s, start, i) & (INTERN_SLOTS - 1);
    const known = this.interned[slot]!;
    if (known.length === length && sameText(s, this.internedAt[slot]!, start, length)) return known;
    const token = s.slice(start, i);
    this.interned[slot] = token;
    this.internedAt[slot] = start;
    return token;
  }

  /** The value of field `key`, its type in `valueType`; undefined on failure. */
  private fieldValue(key: string): FieldData | undefined {
    const s = this.s;
    const n = this.n;
    const start = this.pos;
    const c = s.charCodeAt(start);
    if (c === 34 /* " */) return this.stringValue(key);
    const common = this.common;
    if (readCommonNumber(s, start, n, common)) {
      this.pos = common.end;
      this.valueType = common.type;
      return common.value;
    }
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
        this.valueType = signed ? INT : UINT;
        // Up to 15 digits come as a number, always in range; longer ones as a bigint, kept only beyond 2^53.
        if (typeof v === 'number') return v;
        if (signed ? v < MIN_INT64 || v > MAX_INT64 : v > MAX_UINT64) return this.fail(start, `${signed ? 'integer' : 'unsigned integer'} ${quote(s.slice(start, end))} of field ${quote(key)} is out of range`);
        return v >= -SAFE && v <= SAFE ? Number(v) : v;
      }
      const f = readFloat(s, start, end);
      if (Number.isNaN(f)) return this.fail(start, `invalid number ${quote(s.slice(start, end))} for field ${quote(key)}`);
      if (f === Infinity || f === -Infinity) return this.fail(start, `number ${quote(s.slice(start, end))} of field ${quote(key)} is out of range`);
      this.valueType = FLOAT;
      return f;
    }
    if (c === 116 || c === 84 || c === 102 || c === 70 /* t T f F */) {
      this.valueType = BOOL;
      switch (s.slice(start, end)) {
        case 't': case 'T': case 'true': case 'True': case 'TRUE':
          return true;
        case 'f': case 'F': case 'false': case 'False': case 'FALSE':
          return false;
        default:
          return this.fail(start, `invalid boolean ${quote(s.slice(start, end))} for field ${quote(key)}`);
      }
    }
    if (end === start) return this.fail(start, `field ${quote(key)} has no value`);
    return this.fail(start, `the value of field ${quote(key)} (${quote(s.slice(start, end))}) is of no known type`);
  }

  private stringValue(key: string): string | undefined {
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
    this.valueType = STRING;
    return escaped ? unescapeString(s, open + 1, i) : s.slice(open + 1, i);
  }

  /** `-?[0-9]+` then spaces and the end of the line. */
  private timestamp(): bigint | undefined {
    const s = this.s;
    const n = this.n;
    const start = this.pos;
    let pos = start;
    let timeNs = this.defaultTimeNs;
    const length = this.lastTime.length;
    let c = 0;
    // The lines of one gather share their timestamp: the same digits followed by the end of the timestamp have the
    // same value, found by a native compare instead of reading the number.
    if (
      length > 0 &&
      ((c = s.charCodeAt(start + length)) === 32 || c === 10 || c === 13 || start + length === n) &&
      s.startsWith(this.lastTime, start)
    ) {
      timeNs = this.lastTimeNs;
      pos = start + length;
    } else {
      while (pos < n && ((c = s.charCodeAt(pos)) === 45 || (c >= 48 && c <= 57))) pos++;
      const end = pos;
      if (pos < n && c !== 32 && c !== 13 && c !== 10) {
        this.pos = pos;
        return this.fail(start, `invalid timestamp ${quote(s.slice(start, lineEnd(s, pos)))}`);
      }
      if (end > start) {
        const raw = readInteger64(s, start, end);
        this.pos = end;
        if (raw === undefined) return this.fail(start, `invalid timestamp ${quote(s.slice(start, end))}`);
        timeNs = raw * this.unitNs;
        if (raw < MIN_INT64 || raw > MAX_INT64 || timeNs < MIN_INT64 || timeNs > MAX_INT64) {
          return this.fail(start, `timestamp ${quote(s.slice(start, end))} is out of range`);
        }
        this.lastTime = flat(s.slice(start, end));
        this.lastTimeNs = timeNs;
      }
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

