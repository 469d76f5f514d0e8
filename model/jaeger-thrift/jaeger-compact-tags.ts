/**
 * The searchable tags of one Jaeger `Span` struct in Thrift compact, read from its bytes: its tags, then its logs'
 * fields — what the embedded store indexes (storage/sqlite/span-write.ts) — each as the decoder would make it
 * (model/jaeger-thrift/jaeger-thrift.ts): the last of a repeated field wins, a value field of the wrong type is skipped, a
 * missing value is its type's zero, an unknown value type is the string `Unknown VType: <n>`.
 *
 * For spans already checked by the walk (jaeger-compact-spans.ts): bad bytes still throw `ThriftError`, never more.
 * The tag being visited is in the walker's fields (`CompactTagFields`, which the walk reads tags with too), read by
 * the callback: nothing is allocated per tag.
 */
import { shortString } from '../short-strings.js';
import { TAG_BINARY, TAG_BOOL, TAG_DOUBLE, TAG_LONG, TAG_STRING } from './jaeger-thrift.js';
import { CompactReader } from './thrift-compact.js';
import { MAX_DEPTH, T_BOOL, T_DOUBLE, T_I32, T_I64, T_LIST, T_STOP, T_STRING, int64Value } from './thrift-reader.js';

/**
 * One `Tag` struct read into fields, as the decoder reads it (the last of a repeated field wins, a value field of the
 * wrong type is skipped): where its key and string or binary value lie in `bytes`, its type and other values.
 * Reused from tag to tag.
 */
export class CompactTagFields {
  /** Where the key lies; -1 when the tag has none. */
  keyStart = -1;
  keyEnd = 0;
  /** Jaeger's `TagType` code as sent (0 string … 4 binary, anything else unknown); -1 when absent. */
  vType = -1;
  /** Where the string (vStr) or binary (vBinary) value lies; empty when absent. */
  strStart = 0;
  strEnd = 0;
  binStart = 0;
  binEnd = 0;
  vDouble = 0;
  vBool = false;
  longHi = 0;
  longLo = 0;
  /** The buffer the offsets are into. */
  bytes: Buffer = Buffer.alloc(0);

  /** Reads the tag struct at the reader's position in `bytes`. */
  read(r: CompactReader, bytes: Buffer): void {
    this.bytes = bytes;
    if (this.readUsual(r, bytes)) return;
    this.keyStart = -1;
    this.keyEnd = 0;
    this.vType = -1;
    this.strStart = this.strEnd = this.binStart = this.binEnd = 0;
    this.vDouble = 0;
    this.vBool = false;
    this.longHi = this.longLo = 0;
    r.readStructBegin();
    for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
      switch (r.fieldId) {
        case 1: if (t === T_STRING) { this.keyStart = r.skipBytes('a string'); this.keyEnd = r.offset; continue; } break;
        case 2: if (t === T_I32) { this.vType = r.readI32(); continue; } break;
        case 3: if (t === T_STRING) { this.strStart = r.skipBytes('a string'); this.strEnd = r.offset; continue; } break;
        case 4: if (t === T_DOUBLE) { this.vDouble = r.readDouble(); continue; } break;
        case 5: if (t === T_BOOL) { this.vBool = r.readBool(); continue; } break;
        case 6: if (t === T_I64) { r.readI64(); this.longHi = r.i64Hi; this.longLo = r.i64Lo; continue; } break;
        case 7: if (t === T_STRING) { this.binStart = r.skipBytes('a binary'); this.binEnd = r.offset; continue; } break;
      }
      r.skip(t);
    }
    r.readStructEnd();
  }

  /**
   * The layout Jaeger clients write — the key (field 1), the type (field 2), one value field of its type, the stop —
   * with lengths under 128 bytes, read straight from the bytes: ≈ 14 tags and log fields per span make the field loop
   * below a third of the datagram walk. Anything else returns false with the reader where it was, and the field loop
   * reads it (and finds what is wrong with it, in its words).
   */
  private readUsual(r: CompactReader, b: Buffer): boolean {
    const start = r.offset;
    const end = b.length;
    // The key: header (delta 1, string), a one-byte length, its bytes; then the type header (delta 1, i32).
    if (start + 2 > end || b[start] !== 0x18 || r.depth >= MAX_DEPTH) return false;
    const keyStart = start + 2;
    const keyEnd = keyStart + b[start + 1]!;
    if (b[start + 1]! >= 0x80 || keyEnd + 3 > end || b[keyEnd] !== 0x15) return false;
    const z = b[keyEnd + 1]!;
    if (z >= 0x80) return false;
    let p = keyEnd + 2;
    let strStart = 0, strEnd = 0, binStart = 0, binEnd = 0, vDouble = 0, vBool = false, longHi = 0, longLo = 0;
    switch (b[p]) {
      case 0x18: // vStr: delta 1, string
      case 0x58: { // vBinary: delta 5, string
        const n = b[p + 1]!;
        if (n >= 0x80 || p + 2 + n >= end) return false;
        if (b[p] === 0x18) strEnd = (strStart = p + 2) + n;
        else binEnd = (binStart = p + 2) + n;
        p += 2 + n;
        break;
      }
      case 0x27: // vDouble: delta 2, double
        if (p + 9 >= end) return false;
        vDouble = b.readDoubleLE(p + 1);
        p += 9;
        break;
      case 0x31: // vBool: delta 3, true / false in the header
      case 0x32:
        vBool = b[p] === 0x31;
        p += 1;
        break;
      case 0x46: // vLong: delta 4, i64
        r.seek(p + 1);
        r.readI64();
        p = r.offset;
        longHi = r.i64Hi;
        longLo = r.i64Lo;
        break;
      case 0x00: // no value
        break;
      default:
        return false;
    }
    if (b[p] !== 0x00) {
      r.seek(start);
      return false;
    }
    this.keyStart = keyStart;
    this.keyEnd = keyEnd;
    this.vType = (z >>> 1) ^ -(z & 1);
    this.strStart = strStart;
    this.strEnd = strEnd;
    this.binStart = binStart;
    this.binEnd = binEnd;
    this.vDouble = vDouble;
    this.vBool = vBool;
    this.longHi = longHi;
    this.longLo = longLo;
    r.seek(p + 1);
    return true;
  }

  /** The key as a string, as the decoder makes it. */
  key(): string {
    return shortString(this.bytes, this.keyStart, this.keyEnd);
  }

  /** The value as text, as the tag index and searches see it (`tagValueString` of the decoded tag). */
  valueText(): string {
    switch (this.vType) {
      case TAG_STRING: return shortString(this.bytes, this.strStart, this.strEnd);
      case TAG_DOUBLE: return String(this.vDouble);
      case TAG_BOOL: return this.vBool ? 'true' : 'false';
      case TAG_LONG: return String(int64Value(this.longHi, this.longLo));
      case TAG_BINARY: return this.bytes.toString('hex', this.binStart, this.binEnd);
      default: return `Unknown VType: ${this.vType}`;
    }
  }
}

export class CompactSpanTags extends CompactTagFields {
  /** Whether the tag is one of the span's own tags (not a log field). */
  spanTag = false;
  private r = new CompactReader(Buffer.alloc(0));
  /** The buffer `r` reads. */
  private reading: Buffer = Buffer.alloc(0);

  /**
   * Calls `onTag` for each tag of a checked span struct, given where the walk found its tags list and logs list
   * (-1: none) and whether a log repeats its fields list (jaeger-compact-spans.ts `places`).
   */
  walk(buf: Buffer, tagsAt: number, logsAt: number, logFieldsRepeated: boolean, onTag: (tag: CompactSpanTags) => void): void {
    if (buf !== this.reading) {
      this.reading = buf;
      this.r = new CompactReader(buf);
    }
    try {
      if (tagsAt >= 0) {
        this.spanTag = true;
        this.r.seek(tagsAt);
        this.tagList(onTag);
      }
      if (logsAt >= 0) {
        this.spanTag = false;
        this.r.seek(logsAt);
        this.logList(logFieldsRepeated, onTag);
      }
    } catch (err) {
      // A reader left mid-struct is not reused.
      this.reading = Buffer.alloc(0);
      throw err;
    }
  }

  /** Reads the one tag struct starting at `tagStart` into the fields (a tag the walk found there). */
  readTag(buf: Buffer, tagStart: number): this {
    if (buf !== this.reading) {
      this.reading = buf;
      this.r = new CompactReader(buf);
    }
    this.r.seek(tagStart);
    try {
      this.read(this.r, this.reading);
    } catch (err) {
      this.reading = Buffer.alloc(0);
      throw err;
    }
    return this;
  }

  private logList(fieldsRepeated: boolean, onTag: (tag: CompactSpanTags) => void): void {
    const r = this.r;
    const n = r.readListBegin();
    for (let i = 0; i < n; i++) {
      r.readStructBegin();
      if (!fieldsRepeated) {
        // The usual log: each fields list visited where it is.
        for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
          if (t === T_LIST && r.fieldId === 2) this.tagList(onTag);
          else r.skip(t);
        }
        r.readStructEnd();
        continue;
      }
      // Some log repeats its fields list: only each log's last one is visited.
      let fieldsAt = -1;
      for (let t = r.readFieldBegin(); t !== T_STOP; t = r.readFieldBegin()) {
        if (t === T_LIST && r.fieldId === 2) fieldsAt = r.offset;
        r.skip(t);
      }
      r.readStructEnd();
      const next = r.offset;
      if (fieldsAt >= 0) {
        r.seek(fieldsAt);
        this.tagList(onTag);
        r.seek(next);
      }
    }
  }

  private tagList(onTag: (tag: CompactSpanTags) => void): void {
    const n = this.r.readListBegin();
    for (let i = 0; i < n; i++) {
      this.read(this.r, this.reading);
      onTag(this);
    }
  }
}
