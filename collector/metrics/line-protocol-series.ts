/**
 * Series of line protocol (a measurement with its tags, as the text before the first space of a line gives them)
 * and the field shapes of their lines, remembered so that what repeats is recognised rather than read again
 * (line-protocol-parser.ts). Agents write the same series with the same fields at every gather, in the same order,
 * in one body and in the next, so the cache outlives a body; what it holds never refers to a body's text.
 */
import type { FieldType } from '../../model/metric-point.js';
import type { LineScanner } from './line-protocol-scanner.js';
import { detach, flat, fullHash, isPlain, KEY_STOP, MEASUREMENT_STOP, quote, showChar, sortTags } from './line-protocol-text.js';

/**
 * A measurement with its tags. The lines of one series repeat the text before their first space exactly, so it is
 * read once: later lines find it by the text (one native compare instead of a token per measurement, key and value)
 * and share its arrays.
 */
export interface Series {
  /** The text before the first space of its lines; '' when its tags ran to the end of the body. */
  readonly text: string;
  readonly measurement: string;
  readonly tagKeys: readonly string[];
  readonly tagValues: readonly string[];
  /** The field keys and types of the last line of this series. */
  fields: FieldShape | undefined;
  /**
   * The series of the line that followed this one last time: tried first, as a batch repeats its order. Only a
   * series in the cache has one, so no chain of series outlives the cache.
   */
  next: Series | undefined;
  /** Whether the cache holds this series in its slot. */
  kept: boolean;
}

/**
 * Field keys and types, shared by the points that have the same ones (every line of a Telegraf input). The keys are
 * tried first on the next line of the series, each with one native compare; a miss falls back to reading the token.
 */
export interface FieldShape {
  readonly keys: readonly string[];
  readonly types: Uint8Array;
  /** `key=` as a flat string, for each key written as itself (see isPlain); undefined for the others. */
  readonly keyEq: ReadonlyArray<string | undefined>;
}

/** Series slots: a power of two well above the series of a host's batch; a collision only costs a miss. */
const SERIES_SLOTS = 4096;
/** The measurements whose last field shape is kept; past that the list starts again (a new series then reads its keys). */
const SHAPE_LIMIT = 1024;
/**
 * The longest series text, and the most characters of field keys in a shape, that are kept: with the slots, what
 * the cache holds stays within a few megabytes whatever the bodies.
 */
export const MAX_KEPT_TEXT = 1024;

/** Remembered series, found by their text; bounded. */
export class SeriesCache {
  private readonly slots: Array<Series | undefined> = new Array<Series | undefined>(SERIES_SLOTS).fill(undefined);
  /** The last field shape of each measurement, for the first line of a series. */
  private readonly shapes = new Map<string, FieldShape>();

  /**
   * The series whose text is `s[start, end)`: the one after `previous` when it is that (no hashing), else the one
   * in the text's slot. Exact: always one full compare of the text (slice + ===, a native compare; measured for an
   * 80-character text: a JavaScript loop 235 ns, slice + === 43 ns, Map.get(slice) 240 ns).
   */
  find(s: string, start: number, end: number, previous: Series | undefined): Series | undefined {
    const length = end - start;
    const next = previous?.next;
    if (next !== undefined && next.text.length === length && next.text === s.slice(start, end)) return next;
    const series = this.slots[fullHash(s, start, end) & (SERIES_SLOTS - 1)];
    if (series !== undefined && series.text.length === length && series.text === s.slice(start, end)) return series;
    return undefined;
  }

  /**
   * Keeps `series` (its text not empty, its strings detached) in its slot unless its text is too long; the series it
   * replaces lets go of its successor.
   */
  remember(series: Series): void {
    if (series.text.length > MAX_KEPT_TEXT) return;
    const slot = fullHash(series.text, 0, series.text.length) & (SERIES_SLOTS - 1);
    const old = this.slots[slot];
    // A replaced series may still be some series' successor: cutting its own link keeps what is held bounded (the
    // slots' series and one successor each).
    if (old !== undefined) {
      old.kept = false;
      old.next = undefined;
    }
    series.kept = true;
    this.slots[slot] = series;
  }

  /** Notes that a line of `series` followed a line of `previous`. */
  follows(previous: Series, series: Series): void {
    if (previous.kept && series.kept) previous.next = series;
  }

  /** The last field shape of the measurement, for a series read for the first time. */
  shapeOf(measurement: string): FieldShape | undefined {
    return this.shapes.get(measurement);
  }

  /** A new shape for `series`, also kept for its measurement unless its keys are too long. */
  newShape(series: Series, keys: readonly string[], types: readonly FieldType[]): FieldShape {
    const detached = keys.map(detach);
    const shape: FieldShape = { keys: detached, types: Uint8Array.from(types), keyEq: detached.map((k) => (isPlain(k) ? flat(k + '=') : undefined)) };
    let length = series.measurement.length;
    for (const key of keys) length += key.length;
    if (length <= MAX_KEPT_TEXT) {
      if (this.shapes.size >= SHAPE_LIMIT && !this.shapes.has(series.measurement)) this.shapes.clear();
      this.shapes.set(detach(series.measurement), shape);
      series.fields = shape;
    }
    return shape;
  }
}

/** Reused between series: the tags as read, before they are sorted. */
const tagKeys: string[] = [];
const tagValues: string[] = [];

/**
 * The measurement and the tags at the scanner's position, read token by token, up to the spaces before the fields.
 * With `detached`, its strings are copies that hold nothing of the body, so that the cache may keep it.
 */
export function readSeries(sc: LineScanner, detached: boolean): Series | undefined {
  const s = sc.s;
  const n = sc.n;
  const start = sc.pos;
  const limits = sc.limits;
  const measurement = sc.token(MEASUREMENT_STOP, limits.keyChars);
  if (sc.pos - start >= limits.keyChars) return keyTooLong(sc, start);
  if (measurement.length === 0) {
    return sc.fail(start, sc.pos >= n ? 'no measurement' : `invalid character ${showChar(s.charCodeAt(sc.pos))} at the start of the measurement`);
  }
  let tagCount = 0;
  let ordered = true;
  let high = false;
  let end = n;
  if (!sc.tagComma()) return undefined;
  for (;;) {
    let pos = sc.pos;
    if (pos < n && s.charCodeAt(pos) === 32) {
      end = pos;
      sc.skipSpaces();
      break;
    }
    const keyAt = pos;
    const key = sc.token(KEY_STOP, limits.keyChars);
    if (sc.wide >= 0xd800) high = true;
    pos = sc.pos;
    if (pos - keyAt >= limits.keyChars) return keyTooLong(sc, start);
    if (key.length === 0 || pos >= n || s.charCodeAt(pos) !== 61) {
      if (pos >= n) return sc.fail(pos, key.length === 0 ? 'expected a tag key or a field, found the end of the input' : `expected '=' after tag key ${quote(key)}, found the end of the input`);
      const c = s.charCodeAt(pos);
      if (key.length > 0) return sc.fail(pos, `expected '=' after tag key ${quote(key)}, found ${showChar(c)}`);
      if (c === 61) return sc.fail(keyAt, 'empty tag key');
      return sc.fail(keyAt, `expected a tag key or a field, found ${showChar(c)}`);
    }
    sc.pos = pos + 1;
    const value = sc.token(KEY_STOP, limits.tagValueChars);
    if (value.length === 0) return sc.fail(pos + 1, `tag ${quote(key)} has no value`);
    if (value.length > limits.tagValueQuick) {
      // A value cut at tagValueChars is over the limit whatever it holds; its full size is not measured.
      const cut = sc.pos - pos - 1 >= limits.tagValueChars;
      const bytes = cut ? 0 : sc.bytesOf(value);
      if (cut || bytes > limits.tagValueBytes) {
        const size = cut ? `more than ${limits.tagValueChars} bytes` : `${bytes} bytes`;
        return sc.failLimit(pos + 1, 'tag_value_bytes', `the value of tag ${quote(key)} is ${size}, over the limit of ${limits.tagValueBytes} bytes per tag value`);
      }
    }
    if (tagCount > 0 && !(key > tagKeys[tagCount - 1]!)) ordered = false;
    tagKeys[tagCount] = key;
    tagValues[tagCount++] = value;
    if (sc.pos >= n) break;
    if (!sc.tagComma()) return undefined;
  }
  // InfluxDB's series key is this text (the tags sorted, which keeps its length).
  const keyEnd = end < n ? end : sc.pos;
  if (keyEnd - start > limits.keyQuick) {
    const bytes = sc.latin1 ? keyEnd - start : Buffer.byteLength(s.slice(start, keyEnd), 'utf8');
    if (bytes > limits.keyBytes) return sc.failLimit(start, 'series_key_bytes', `the series key (measurement and tags) is ${bytes} bytes, over the limit of ${limits.keyBytes} bytes`);
  }
  if (!ordered || high) {
    const duplicate = sortTags(tagKeys, tagValues, tagCount);
    if (duplicate !== undefined) return sc.fail(start, `tag key ${quote(duplicate)} given twice`);
  }
  const copy = detached ? detach : (t: string): string => t;
  return {
    text: end < n ? copy(s.slice(start, end)) : '',
    measurement: copy(measurement),
    tagKeys: tagKeys.slice(0, tagCount).map(copy),
    tagValues: tagValues.slice(0, tagCount).map(copy),
    fields: undefined,
    next: undefined,
    kept: false,
  };
}

/** A measurement or tag key cut at keyChars: the series key is over its limit. */
function keyTooLong(sc: LineScanner, start: number): undefined {
  const limits = sc.limits;
  return sc.failLimit(start, 'series_key_bytes', `the series key (measurement and tags) is more than ${limits.keyChars} bytes, over the limit of ${limits.keyBytes} bytes`);
}
