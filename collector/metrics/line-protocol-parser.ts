/**
 * InfluxDB line protocol → metric points, exactly to the specification (influxdata/line-protocol's grammar and
 * reference decoder, checked against its conformance corpus by test/collector/metrics/line-protocol-corpus.test.ts).
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
 * Synchronous, no I/O, never throws. Reading is split by concern: tokens, escapes and failure positions in
 * line-protocol-scanner.ts, series and field shapes in line-protocol-series.ts, field values in
 * line-protocol-field-value.ts and line-protocol-numbers.ts; this file has the body loop.
 *
 * Speed (bench/line-protocol.bench.ts, 1M Telegraf-like lines): what repeats between lines and between bodies —
 * series, field keys, timestamps, usual number forms — is recognised rather than read again, always by an exact
 * compare of the text, so a line that only looks like an earlier one is read in full; native compares (indexOf,
 * slice + ===) are preferred to character loops. Figures and what was tried: docs/design/line-protocol-parser.md.
 */
import { isUtf8 } from 'node:buffer';
import type { FieldData, FieldType, MetricPoint } from '../../model/metric-point.js';
import { readFieldValue } from './line-protocol-field-value.js';
import { readInteger64 } from './line-protocol-numbers.js';
import { floorToUnit, MAX_INT64, MIN_INT64, NANOS_PER_UNIT, type Precision } from './line-protocol-precision.js';
import { DEFAULT_LINE_LIMITS, LineScanner, ScanLimits, type LineFailure, type LineLimits } from './line-protocol-scanner.js';
import { MAX_KEPT_TEXT, readSeries, SeriesCache, type FieldShape, type Series } from './line-protocol-series.js';
import { flat, fromLatin1, KEY_STOP, lineEnd, quote, showChar } from './line-protocol-text.js';
import { nextTurn } from '../../platform/turns.js';

export { DEFAULT_LINE_LIMITS, type LimitName, type LineFailure, type LineLimits } from './line-protocol-scanner.js';

export interface ParseOptions {
  /** Unit of the timestamps written in the body; default `ns`. */
  precision?: Precision;
  /** Time of lines without a timestamp, nanoseconds; default now. Cut down to the precision. */
  defaultTimeNs?: bigint;
  /** A line over one of these is refused as a failure naming the limit; default DEFAULT_LINE_LIMITS. */
  limits?: Readonly<LineLimits>;
}

export interface ParseResult {
  points: MetricPoint[];
  /** One per bad line, in body order. */
  failures: LineFailure[];
}

/**
 * The series and field shapes of the bodies read so far, shared by every UTF-8 body (a part of a body is read whole
 * before any other body's, see parseLineProtocolSliced). Bounded; what it holds is exact text, so a body never sees more than its own lines.
 */
const sharedSeries = new SeriesCache();

/**
 * Bytes are decoded a part of about this size at a time, cut after a line feed. bench/line-protocol.bench.ts: a
 * 900 KiB body decoded whole cost 136 ns a line (a string that large gets fresh pages of its own), in 64 KiB parts
 * 29 ns; the parts' strings are also all a point's string values can hold on to.
 */
const PART_BYTES = 64 * 1024;
/** A part longer than this (one long line) is decoded a piece a step. */
const LONG_PIECE_BYTES = 1024 * 1024;

/** Characters of a bad timestamp, or of what follows one, quoted in the failure. */
const QUOTED_CHARS = 200;

/** Up to this many fields, a repeated key is looked for by comparing the line's keys one by one. */
const LINEAR_KEY_SEARCH = 16;

/** Parses a whole body. Bytes are read as UTF-8; a string is taken as it is. */
export function parseLineProtocol(body: string | Uint8Array, options: ParseOptions = {}): ParseResult {
  const reading = new BodyReading(body, options);
  while (reading.step());
  return reading.result;
}

/**
 * Parses a whole body as parseLineProtocol does, giving the event loop its turn whenever a run of parts has taken
 * `sliceMs`: a body of many megabytes then never holds other requests up for longer than a part (64 KiB, or one
 * line when a line is longer). The series cache is shared with bodies parsed meanwhile; that is safe, as every
 * part is read whole between two turns and what the cache holds is recognised only by an exact compare.
 */
export async function parseLineProtocolSliced(body: string | Uint8Array, options: ParseOptions = {}, sliceMs = 10): Promise<ParseResult> {
  const reading = new BodyReading(body, options);
  let sliceStart = performance.now();
  while (reading.step()) {
    if (performance.now() - sliceStart < sliceMs) continue;
    await nextTurn();
    sliceStart = performance.now();
  }
  return reading.result;
}

/** One body read part by part (`step`), into `result`. */
class BodyReading {
  readonly result: ParseResult = { points: [], failures: [] };
  private readonly parser: Parser;
  private readonly text: string | undefined;
  private readonly buf: Buffer | undefined;
  private readonly latin1: boolean;
  private from = 0;
  private size = PART_BYTES;
  /** A long part being decoded (see decode): its text so far, its bounds and where the next piece starts. */
  private pending: string | undefined;
  private pendingFrom = 0;
  private pendingTo = 0;
  private pendingAt = 0;

  constructor(body: string | Uint8Array, options: ParseOptions) {
    const unitNs = NANOS_PER_UNIT[options.precision ?? 'ns'];
    const defaultTimeNs = floorToUnit(options.defaultTimeNs ?? BigInt(Date.now()) * 1_000_000n, unitNs);
    if (typeof body === 'string') {
      this.text = body;
      this.latin1 = false;
    } else {
      this.buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      // Valid UTF-8 (the normal case) is decoded once. Otherwise every byte becomes one character, so positions and
      // byte order are kept, and each point's strings are checked and decoded on their own (see fromLatin1); such a
      // body's series, whose text means other characters, are kept to itself.
      this.latin1 = !isUtf8(this.buf);
    }
    const limits = new ScanLimits(options.limits ?? DEFAULT_LINE_LIMITS, this.latin1);
    // A series found by its text is not checked again: under limits too small for every series the cache may hold,
    // the body keeps its series to itself, each read and checked once.
    const shared = !this.latin1 && limits.allowsKeptSeries(MAX_KEPT_TEXT);
    this.parser = new Parser(this.latin1, limits, shared ? sharedSeries : new SeriesCache(), unitNs, defaultTimeNs, this.result);
  }

  /** Reads the next part; false once the body is read. */
  step(): boolean {
    if (this.text !== undefined) {
      if (this.from > 0) return false;
      this.from = 1;
      this.parser.read(this.text, false);
      return false;
    }
    const buf = this.buf!;
    if (this.from >= buf.length) return false;
    const from = this.from;
    const lineFeed = from + this.size < buf.length ? buf.indexOf(10, from + this.size) : -1;
    const to = lineFeed < 0 ? buf.length : lineFeed + 1;
    const text = this.decode(buf, from, to);
    if (text === undefined) return true;
    this.parser.startsAt(buf, from);
    const stop = this.parser.read(text, to < buf.length);
    if (stop === text.length) {
      this.from = to;
      this.size = PART_BYTES;
    } else {
      // A string value ran past the part: its line is read again in a part twice as large.
      this.from += this.latin1 ? stop : Buffer.byteLength(text.slice(0, stop), 'utf8');
      this.size *= 2;
    }
    return this.from < buf.length;
  }

  /**
   * The text of a part, or undefined while a long one is still being decoded. A part holds whole lines, so one
   * line of many megabytes is one part: decoding 20 MB at once held the event loop 200 ms to 1.5 s on a loaded
   * 2-core machine, so a long part is decoded in pieces of LONG_PIECE_BYTES, one a step, cut at character
   * boundaries (the body is known valid UTF-8), and joined (V8 copies the pieces once, when the line is read).
   */
  private decode(buf: Buffer, from: number, to: number): string | undefined {
    const encoding = this.latin1 ? 'latin1' : 'utf8';
    if (to - from <= LONG_PIECE_BYTES) return buf.toString(encoding, from, to);
    if (this.pending === undefined || this.pendingFrom !== from || this.pendingTo !== to) {
      this.pending = '';
      this.pendingFrom = from;
      this.pendingTo = to;
      this.pendingAt = from;
    }
    let end = Math.min(to, this.pendingAt + LONG_PIECE_BYTES);
    if (!this.latin1) while (end < to && (buf[end]! & 0xc0) === 0x80) end--;
    this.pending += buf.toString(encoding, this.pendingAt, end);
    this.pendingAt = end;
    if (end < to) return undefined;
    const text = this.pending;
    this.pending = undefined;
    return text;
  }
}

/**
 * Points are made by a constructor rather than an object literal. V8 watches where literals are made, and when the
 * objects of one site are nearly all still alive at a collection of the young generation (early on, the points of a
 * body are), it makes every later one directly in the old generation, for as long as the process lives: in about
 * half the runs of bench/line-protocol.bench.ts, 1.0–1.1M lines per CPU-second instead of 1.5–1.6M. Its prototype
 * is Object.prototype, so a point is still a plain object.
 */
function plainPoint(
  this: MetricPoint,
  measurement: string,
  tagKeys: readonly string[],
  tagValues: readonly string[],
  fieldKeys: readonly string[],
  fieldTypes: Uint8Array,
  fieldValues: readonly FieldData[],
  timeNs: bigint,
): void {
  this.measurement = measurement;
  this.tagKeys = tagKeys;
  this.tagValues = tagValues;
  this.fieldKeys = fieldKeys;
  this.fieldTypes = fieldTypes;
  this.fieldValues = fieldValues;
  this.timeNs = timeNs;
}
plainPoint.prototype = Object.prototype;
const PlainPoint = plainPoint as unknown as new (...fields: Parameters<typeof plainPoint>) => MetricPoint;

/** The body loop: entries (series, fields, timestamp) into points, bad lines into failures. */
class Parser extends LineScanner {
  /** The series of the last line read. */
  private previous: Series | undefined;
  /** The last timestamp read, as a flat string, and its value: the lines of one gather share it. */
  private lastTime = '';
  private lastTimeNs = 0n;
  /** Reused between entries; each point gets an exact-size copy of the values, and a shared shape. */
  private readonly fieldKeys: string[] = [];
  /**
   * The position of each of the first `indexedKeys` keys of the line, for lines with many fields: finding a repeated
   * key by comparing every earlier one made a line of 100,000 fields cost 20 s (n² / 2 compares).
   */
  private readonly keyIndex = new Map<string, number>();
  private indexedKeys = 0;
  private readonly fieldTypes: FieldType[] = [];
  private readonly fieldValues: FieldData[] = [];
  /**
   * The values while they are all numbers (nearly every line): made as a double array, which V8 keeps as such, so
   * a point's values are one flat array instead of an array of boxed numbers.
   */
  private readonly numberValues: number[] = [0.5];
  /** Reading bytes in parts: where the text starts in the body, and the body's line feeds counted so far. */
  private bytes: Buffer | undefined;
  private textStart = 0;
  private countedBytes = 0;
  private countedBytesLine = 1;

  constructor(
    latin1: boolean,
    limits: ScanLimits,
    private readonly cache: SeriesCache,
    private readonly unitNs: bigint,
    private readonly defaultTimeNs: bigint,
    private readonly result: ParseResult,
  ) {
    super(latin1, limits);
  }

  /** The next text is the part of `bytes` from byte `start`. */
  startsAt(bytes: Buffer, start: number): void {
    this.bytes = bytes;
    this.textStart = start;
  }

  /** Counts the line feeds of the body before the part (only for a failure, and each byte once). */
  protected override firstLine(): number {
    const bytes = this.bytes;
    if (bytes === undefined) return 1;
    let line = this.countedBytesLine;
    for (let i = bytes.indexOf(10, this.countedBytes); i >= 0 && i < this.textStart; i = bytes.indexOf(10, i + 1)) line++;
    this.countedBytes = this.textStart;
    this.countedBytesLine = line;
    return line;
  }

  /**
   * Reads the entries of `text` into the result. Returns the length of the text, or, when `more` of the body
   * follows and a string value ran to the end of the text, where that value's line starts.
   */
  read(text: string, more: boolean): number {
    this.begin(text, more);
    const { points, failures } = this.result;
    const s = text;
    const n = text.length;
    for (;;) {
      // Blank lines, leading spaces, comments.
      this.skipSpaces();
      const pos = this.pos;
      if (pos >= n) return n;
      const c = s.charCodeAt(pos);
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
      const point = this.entry();
      if (point === undefined) {
        if (this.incomplete) return pos;
        failures.push(this.describeFailure());
        this.skipLine();
      } else if (this.latin1 && !fromLatin1(point)) {
        this.fail(pos, 'invalid UTF-8 in a name or a value');
        failures.push(this.describeFailure());
      } else {
        points.push(point);
      }
    }
  }

  /** One line: its series (recognised or read), its fields, its timestamp. */
  private entry(): MetricPoint | undefined {
    const s = this.s;
    const start = this.pos;
    // A series seen before: the same text up to the first space, when that space ended its tags, gives the same
    // measurement and tags (a remembered text never holds a line end, so neither does a match).
    const space = this.spaceAfter(start);
    // Only a short text can be a kept series; a longer one is not hashed (a 20 MB tag value would be, whole).
    let series = space > start && space - start <= MAX_KEPT_TEXT ? this.cache.find(s, start, space, this.previous) : undefined;
    if (series !== undefined) {
      this.pos = space + 1;
      this.skipSpaces();
    } else {
      // Only a series that may be kept needs strings of its own.
      const keepable = space > start && space - start <= MAX_KEPT_TEXT;
      series = readSeries(this, keepable);
      if (series === undefined) return undefined;
      if (keepable && series.text.length === space - start) this.cache.remember(series);
    }
    if (this.previous !== undefined) this.cache.follows(this.previous, series);
    this.previous = series;
    return this.fields(series);
  }

  /** The fields of a line of `series`, then its optional timestamp. */
  private fields(series: Series): MetricPoint | undefined {
    const s = this.s;
    const n = this.n;
    const shape = series.fields ?? this.cache.shapeOf(series.measurement);
    const keyEq = shape?.keyEq;
    const fieldKeys = this.fieldKeys;
    const fieldTypes = this.fieldTypes;
    const fieldValues = this.fieldValues;
    const numberValues = this.numberValues;
    let numbers = true;
    let fieldCount = 0;
    // Leading fields whose keys are the shape's, in its order: those keys are unique, so no search for a repeat.
    let shapeKeys = 0;
    let shapeTypes = true;
    const maxFields = this.limits.fields;
    this.indexedKeys = 0;
    for (;;) {
      let pos = this.pos;
      let key: string;
      let fromShape = false;
      // The key the last line of this series had here, when it is written here too. slice + === (native) cost the
      // benchmark's machine 26 ns a key, startsWith 36 ns and a JavaScript loop 38 ns.
      const eq = keyEq !== undefined && fieldCount < keyEq.length ? keyEq[fieldCount] : undefined;
      const keyAt = pos;
      if (eq !== undefined && s.slice(pos, pos + eq.length) === eq) {
        key = shape!.keys[fieldCount]!;
        pos += eq.length;
        fromShape = true;
      } else {
        key = this.token(KEY_STOP, this.limits.keyChars);
        pos = this.pos;
        if (key.length > this.limits.keyQuick && (pos - keyAt >= this.limits.keyChars || this.bytesOf(key) > this.limits.keyBytes)) {
          return this.failLimit(keyAt, 'series_key_bytes', `field key of ${pos - keyAt >= this.limits.keyChars ? 'more than ' : ''}${this.bytesOf(key)} bytes, over the limit of ${this.limits.keyBytes} bytes`);
        }
        if (key.length === 0) {
          return this.fail(keyAt, pos >= n ? 'expected a field key, found the end of the input' : `invalid character ${showChar(s.charCodeAt(pos))} at the start of a field key`);
        }
        if (pos >= n) return this.fail(pos, `expected '=' after field key ${quote(key)}, found the end of the input`);
        if (s.charCodeAt(pos) !== 61) return this.fail(pos, `expected '=' after field key ${quote(key)}, found ${showChar(s.charCodeAt(pos))}`);
        pos++;
      }
      this.pos = pos;
      if (pos >= n) return this.fail(pos, `field ${quote(key)} has no value`);
      const value = readFieldValue(this, key);
      if (value === undefined) return undefined;
      let k = fieldCount;
      if (fromShape && shapeKeys === fieldCount) {
        shapeKeys++;
        if (this.valueType !== shape!.types[k]) shapeTypes = false;
      } else if (fieldCount <= LINEAR_KEY_SEARCH) {
        // A second value for a field key replaces the first in place (InfluxDB keeps the last one).
        k = 0;
        while (k < fieldCount && fieldKeys[k] !== key) k++;
      } else {
        k = this.indexOfKey(key, fieldCount);
      }
      if (k === fieldCount && fieldCount === maxFields) {
        return this.failLimit(keyAt, 'fields_per_line', `more than ${maxFields} fields in one line, over the limit of ${maxFields} fields per line`);
      }
      fieldKeys[k] = key;
      fieldTypes[k] = this.valueType;
      if (numbers && typeof value === 'number') {
        numberValues[k] = value;
      } else {
        if (numbers) {
          for (let i = 0; i < fieldCount; i++) fieldValues[i] = numberValues[i]!;
          numbers = false;
        }
        fieldValues[k] = value;
      }
      if (k === fieldCount) fieldCount++;
      pos = this.pos;
      let lineDone = pos >= n;
      if (!lineDone) {
        const c = s.charCodeAt(pos);
        if (c === 44) {
          this.pos = pos + 1;
          continue;
        }
        if (c !== 32 && c !== 13 && c !== 10) return this.fail(pos, `unexpected character ${showChar(c)} after field ${quote(key)}`);
        this.skipSpaces();
        lineDone = this.endOfLine();
      }
      const timeNs = lineDone ? this.defaultTimeNs : this.timestamp();
      if (timeNs === undefined) return undefined;
      const fits = shape !== undefined && ((shapeTypes && shapeKeys === fieldCount && fieldCount === shape.keys.length) || this.fits(shape, fieldCount));
      return this.point(series, fits ? shape : undefined, fieldCount, numbers ? numberValues : fieldValues, timeNs);
    }
  }

  /** Where `key` is among the first `fieldCount` keys of the line, or `fieldCount`. */
  private indexOfKey(key: string, fieldCount: number): number {
    const index = this.keyIndex;
    if (this.indexedKeys === 0) index.clear();
    for (let i = this.indexedKeys; i < fieldCount; i++) index.set(this.fieldKeys[i]!, i);
    this.indexedKeys = fieldCount;
    return index.get(key) ?? fieldCount;
  }

  /** The point of the entry just read: the series' arrays, its own values, and `shape` (when it fits) or a new one. */
  private point(series: Series, shape: FieldShape | undefined, fieldCount: number, values: readonly FieldData[], timeNs: bigint): MetricPoint {
    if (shape === undefined) shape = this.cache.newShape(series, this.fieldKeys.slice(0, fieldCount), this.fieldTypes.slice(0, fieldCount));
    else series.fields = shape;
    return new PlainPoint(series.measurement, series.tagKeys, series.tagValues, shape.keys, shape.types, values.slice(0, fieldCount), timeNs);
  }

  /** Whether the fields just read have the keys and types of `shape`. */
  private fits(shape: FieldShape, fieldCount: number): boolean {
    const { keys, types } = shape;
    if (keys.length !== fieldCount) return false;
    for (let i = 0; i < fieldCount; i++) if (keys[i] !== this.fieldKeys[i] || types[i] !== this.fieldTypes[i]) return false;
    return true;
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
      s.slice(start, start + length) === this.lastTime
    ) {
      timeNs = this.lastTimeNs;
      pos = start + length;
    } else {
      while (pos < n && ((c = s.charCodeAt(pos)) === 45 || (c >= 48 && c <= 57))) pos++;
      const end = pos;
      if (pos < n && c !== 32 && c !== 13 && c !== 10) {
        this.pos = pos;
        return this.fail(start, `invalid timestamp ${quote(s.slice(start, lineEnd(s, pos, start + QUOTED_CHARS)))}`);
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
    if (!this.endOfLine()) return this.fail(pos, `unexpected text after the timestamp: ${quote(s.slice(pos, lineEnd(s, pos, pos + QUOTED_CHARS)))}`);
    return timeNs;
  }
}
