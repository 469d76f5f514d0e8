/**
 * Reading a line protocol body token by token, the base of the parser (line-protocol-parser.ts): the position in
 * the body, measurements, keys and tag values with their escapes undone and repeats interned, line ends, comments,
 * and where a bad entry went wrong. Synchronous, never throws.
 */
import { FLOAT, type FieldType } from '../../model/metric-point.js';
import { type CommonNumber } from './line-protocol-numbers.js';
import { BACKSLASH, CLASS, lineEnd, PRINTABLE_STOP, sameText, sampleHash, showChar, unescapeToken } from './line-protocol-text.js';

export interface LineFailure {
  /** 1-based line of the body where the problem is. */
  line: number;
  /** 1-based column (characters) of the problem in that line. */
  column: number;
  reason: string;
  /** That line of the body, cut at 200 characters. */
  text: string;
  /** Set when the line broke one of the limits (parsed fine, refused for its size), see LineLimits. */
  limit?: LimitName;
}

/**
 * What keeps one line cheap to read and to store. InfluxDB 1.x refuses series keys over 65,535 bytes and string
 * fields over 64 KiB; the others are ours. Sizes are of the UTF-8 text, unescaped for values.
 */
export interface LineLimits {
  /** Distinct fields in one line. */
  maxFieldsPerLine: number;
  /** One tag value. */
  maxTagValueBytes: number;
  /** One string field value. */
  maxStringFieldBytes: number;
  /** The measurement with its tags as written (InfluxDB's series key); also the most a field key may hold. */
  maxSeriesKeyBytes: number;
}

export type LimitName = 'fields_per_line' | 'tag_value_bytes' | 'field_value_bytes' | 'series_key_bytes';

/**
 * The defaults of the collector's COLLECTOR_WRITE_MAX_* variables. 10,000 fields: no Telegraf input comes near
 * (the widest, mysql and nstat, write a few hundred), and a line that wide parses in about 2 ms.
 */
export const DEFAULT_LINE_LIMITS: Readonly<LineLimits> = Object.freeze({
  maxFieldsPerLine: 10_000,
  maxTagValueBytes: 65_535,
  maxStringFieldBytes: 64 * 1024,
  maxSeriesKeyBytes: 65_535,
});

/**
 * The limits as the scanner checks them. A token is scanned no further than `…Chars` code units, twice its limit in
 * bytes and one more: even written with an escape per character it then holds more bytes than allowed, so a 20 MB
 * tag value is refused after reading 128 KiB of it. Only a text longer than `…Quick` code units can be over its
 * limit in bytes (a code unit is at most 3 bytes of UTF-8), so shorter ones are not measured.
 */
export class ScanLimits {
  readonly fields: number;
  readonly tagValueBytes: number;
  readonly tagValueChars: number;
  readonly tagValueQuick: number;
  readonly stringBytes: number;
  readonly stringQuick: number;
  readonly keyBytes: number;
  readonly keyChars: number;
  readonly keyQuick: number;

  constructor(limits: Readonly<LineLimits>, latin1: boolean) {
    const quick = (bytes: number): number => (latin1 ? bytes : Math.floor(bytes / 3));
    this.fields = limits.maxFieldsPerLine;
    this.tagValueBytes = limits.maxTagValueBytes;
    this.tagValueChars = 2 * limits.maxTagValueBytes + 2;
    this.tagValueQuick = quick(limits.maxTagValueBytes);
    this.stringBytes = limits.maxStringFieldBytes;
    this.stringQuick = quick(limits.maxStringFieldBytes);
    this.keyBytes = limits.maxSeriesKeyBytes;
    this.keyChars = 2 * limits.maxSeriesKeyBytes + 2;
    this.keyQuick = quick(limits.maxSeriesKeyBytes);
  }

  /** Whether a series read once may be found again by its text under these limits (see SeriesCache). */
  allowsKeptSeries(keptChars: number): boolean {
    return this.keyBytes >= 3 * keptChars && this.tagValueBytes >= 3 * keptChars;
  }
}

const TEXT_LIMIT = 200;

/**
 * Names and tag values repeat through a body (Telegraf writes the same hosts and keys on every line), so tokens are
 * interned per body: a hit costs a compare instead of a new string, and keys compare by reference afterwards.
 */
const INTERN_SLOTS = 1024;
const INTERN_MAX_LENGTH = 64;

export class LineScanner {
  /** The text being read: the whole body, or a part of it that ends with a line feed (see `more`). */
  s = '';
  n = 0;
  pos = 0;
  /**
   * Whether the body goes on after the text. Only a string value can run past a line feed, so only one can find
   * the end of such a text too soon: it then sets `incomplete`, and its line is read again with more of the body.
   */
  more = false;
  incomplete = false;
  /** OR of the non-ASCII code units of the last token (0 when it is ASCII). */
  wide = 0;
  /** The type of the last field value read (line-protocol-field-value.ts). */
  valueType: FieldType = FLOAT;
  /** Reused for each number read by readCommonNumber. */
  readonly common: CommonNumber = { value: 0, type: FLOAT, end: 0 };

  private failure: { at: number; reason: string; limit: LimitName | undefined } | undefined;
  /** Line counting for failures only: the body's line number at `countedPos` of the text; 0 until counted. */
  private countedPos = 0;
  private countedLine = 0;
  private readonly interned: string[] = new Array<string>(INTERN_SLOTS).fill('');
  /** Where each interned token was read in the text: compared there, a flat string against itself. */
  private readonly internedAt = new Int32Array(INTERN_SLOTS);
  private internedAny = false;
  /** The first space at or after the last place searched from (-1: none in the text; -2: not searched yet). */
  private knownSpace = -2;

  constructor(
    /** Whether the body was not UTF-8 and holds one character per byte (see fromLatin1). */
    readonly latin1: boolean,
    readonly limits: ScanLimits,
  ) {}

  /** UTF-8 bytes of `t`, a token or value read from the text (a latin1 body's characters are its bytes). */
  bytesOf(t: string): number {
    return this.latin1 ? t.length : Buffer.byteLength(t, 'utf8');
  }

  /** Starts on `text`: the whole body, or its next part when `more` of it follows. */
  begin(text: string, more: boolean): void {
    this.s = text;
    this.n = text.length;
    this.pos = 0;
    this.more = more;
    this.incomplete = false;
    this.countedPos = 0;
    this.countedLine = 0;
    // Interned tokens are found by their place in the text they came from.
    if (this.internedAny) this.interned.fill('');
    this.internedAny = false;
    this.knownSpace = -2;
  }

  /**
   * The first space at or after `from` (not before the last `from`), or -1. The answer of the last search stands
   * while it is still ahead: lines without a space (bad ones) would otherwise each search the rest of the text.
   */
  spaceAfter(from: number): number {
    const known = this.knownSpace;
    if (known === -1 || known >= from) return known;
    return (this.knownSpace = this.s.indexOf(' ', from));
  }

  /** The body's line number of the text's first line: 1, unless the text is a later part of the body. */
  protected firstLine(): number {
    return 1;
  }

  /**
   * A measurement, key or tag value up to the first character of `stop` not escaped; unescaped. Sets `wide`. No
   * more than `maxChars` code units are read (see ScanLimits): a longer token comes back cut, over its limit.
   */
  token(stop: number, maxChars: number): string {
    const s = this.s;
    const start = this.pos;
    const n = maxChars < this.n - start ? start + maxChars : this.n;
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
    this.internedAny = true;
    this.interned[slot] = token;
    this.internedAt[slot] = start;
    return token;
  }

  /** A comma after the measurement or a tag value must be followed by a tag key. */
  tagComma(): boolean {
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

  /** Skips spaces. */
  skipSpaces(): void {
    const s = this.s;
    const n = this.n;
    let pos = this.pos;
    while (pos < n && s.charCodeAt(pos) === 32) pos++;
    this.pos = pos;
  }

  /** Consumes `\n`, `\r\n`, or `\r` at the end of the input; true at the end of the input. */
  endOfLine(): boolean {
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

  /** A comment (at `pos`, its `#`) runs to the end of the line and holds no control character (a tab included). */
  comment(): boolean {
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

  /** Records the problem of the current entry; returns undefined so callers can `return this.fail(…)`. */
  fail(at: number, reason: string): undefined {
    this.failure = { at, reason, limit: undefined };
    if (this.pos < at) this.pos = at;
    return undefined;
  }

  /** Records that the current entry broke `limit`. */
  failLimit(at: number, limit: LimitName, reason: string): undefined {
    this.fail(at, reason);
    this.failure!.limit = limit;
    return undefined;
  }

  /** After a bad entry, reading resumes on the next line. */
  skipLine(): void {
    const nl = this.s.indexOf('\n', this.pos);
    this.pos = nl < 0 ? this.n : nl + 1;
  }

  /** The last problem recorded by `fail`, placed in the body. */
  describeFailure(): LineFailure {
    const { at, reason, limit } = this.failure!;
    const s = this.s;
    // Failures come in body order, so counting lines from the last one keeps the whole pass linear.
    let line = this.countedLine === 0 ? this.firstLine() : this.countedLine;
    for (let i = this.countedPos; i < at; i++) if (s.charCodeAt(i) === 10) line++;
    this.countedPos = at;
    this.countedLine = line;
    const start = s.lastIndexOf('\n', at - 1) + 1;
    let text = s.slice(start, lineEnd(s, start, start + TEXT_LIMIT));
    if (this.latin1) text = Buffer.from(text, 'latin1').toString('utf8');
    return limit === undefined ? { line, column: at - start + 1, reason, text } : { line, column: at - start + 1, reason, text, limit };
  }
}
