/**
 * Metric points → InfluxDB line protocol, byte for byte what the reference encoder (influxdata/line-protocol) writes,
 * checked against its corpus by test/collector/line-protocol-corpus.test.ts:
 *
 *   measurement[,tagKey=tagValue…] fieldKey=value[,…] timestamp
 *
 * - Escapes: `\ ` `\,` in the measurement; `\ ` `\,` `\=` in tag keys, tag values and field keys; `\\` `\"` `\n`
 *   `\r` `\t` in string values.
 * - Floats in Go's shortest `%g` (`1`, `0.25`, `6.632243e+06`, `1e-05`), integers `42i`, unsigned `42u`, booleans
 *   `true`/`false`. The timestamp is always written, in the precision asked (rounded towards zero).
 * - Tags are written in code point order (a copy is sorted when they are not).
 *
 * What line protocol cannot carry is refused with a reason, never written approximately: an empty measurement, key
 * or tag value; a control character in any of them or a trailing backslash (it would escape the separator); a
 * measurement starting with `#` (it would read as a comment); a tag key given twice; no field; a float that is not
 * finite; an integer outside 64 bits; a time outside the signed 64-bit nanosecond range; a lone surrogate.
 */
import { BOOL, FLOAT, INT, STRING, UINT, typeName, type FieldData, type MetricPoint } from '../../model/metric-point.js';
import { compareCodePoints } from './key-order.js';
import { MAX_INT64, MAX_UINT64, MIN_INT64, NANOS_PER_UNIT, type Precision } from './line-protocol-precision.js';

export type SerializeResult = { ok: true; line: string } | { ok: false; reason: string };

/** Control characters cannot be escaped in names; a lone surrogate is not UTF-8. */
const UNWRITABLE = /[\x00-\x1f\x7f]|\p{Cs}/u;
const UNWRITABLE_IN_STRING = /\p{Cs}/u;
const MEASUREMENT_SPECIAL = /[ ,]/g;
const KEY_SPECIAL = /[ ,=]/g;
const STRING_SPECIAL = /[\\"\n\r\t]/g;
const STRING_ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One point as one line, without the line feed. */
export function serializePoint(point: MetricPoint, precision: Precision = 'ns'): SerializeResult {
  const measurement = point.measurement;
  const bad = checkName(measurement, 'measurement');
  if (bad !== undefined) return { ok: false, reason: bad };
  if (measurement.charCodeAt(0) === 35) return { ok: false, reason: 'a measurement starting with "#" would read as a comment' };
  let line = escapeWith(measurement, MEASUREMENT_SPECIAL);

  const { tagKeys, tagValues } = point;
  let order: number[] | undefined;
  for (let i = 1; i < tagKeys.length; i++) {
    if (compareCodePoints(tagKeys[i - 1]!, tagKeys[i]!) >= 0) {
      order = tagKeys.map((_, j) => j).sort((a, b) => compareCodePoints(tagKeys[a]!, tagKeys[b]!));
      break;
    }
  }
  for (let i = 0; i < tagKeys.length; i++) {
    const t = order ? order[i]! : i;
    const key = tagKeys[t]!;
    const value = tagValues[t]!;
    if (i > 0 && key === tagKeys[order ? order[i - 1]! : i - 1]) return { ok: false, reason: `tag key ${JSON.stringify(key)} given twice` };
    const badKey = checkName(key, 'tag key');
    if (badKey !== undefined) return { ok: false, reason: badKey };
    const badValue = checkName(value, `value of tag ${JSON.stringify(key)}`);
    if (badValue !== undefined) return { ok: false, reason: badValue };
    line += ',' + escapeWith(key, KEY_SPECIAL) + '=' + escapeWith(value, KEY_SPECIAL);
  }

  const { fieldKeys, fieldTypes, fieldValues } = point;
  if (fieldKeys.length === 0) return { ok: false, reason: 'a point needs at least one field' };
  let sep = ' ';
  for (let i = 0; i < fieldKeys.length; i++) {
    const key = fieldKeys[i]!;
    const badKey = checkName(key, 'field key');
    if (badKey !== undefined) return { ok: false, reason: badKey };
    const type = fieldTypes[i]!;
    const value = fieldValues[i]!;
    const text = formatValue(type, value);
    if (text === undefined) return { ok: false, reason: `field ${JSON.stringify(key)} cannot be written: ${describeValue(type, value)}` };
    line += sep + escapeWith(key, KEY_SPECIAL) + '=' + text;
    sep = ',';
  }

  const t = point.timeNs;
  if (t < MIN_INT64 || t > MAX_INT64) return { ok: false, reason: `time ${t} ns is outside the signed 64-bit range` };
  const unit = NANOS_PER_UNIT[precision];
  return { ok: true, line: `${line} ${unit === 1n ? t : t / unit}` };
}

export interface SerializedBatch {
  /** The good points, one line each, each ending with a line feed. */
  text: string;
  /** How many lines `text` holds. */
  lines: number;
  /** The points refused, by index, with the reason. */
  failures: Array<{ index: number; reason: string }>;
}

export function serializePoints(points: readonly MetricPoint[], precision: Precision = 'ns'): SerializedBatch {
  const out: string[] = [];
  const failures: Array<{ index: number; reason: string }> = [];
  for (let i = 0; i < points.length; i++) {
    const r = serializePoint(points[i]!, precision);
    if (r.ok) out.push(r.line);
    else failures.push({ index: i, reason: r.reason });
  }
  return { text: out.length === 0 ? '' : out.join('\n') + '\n', lines: out.length, failures };
}

/** A field value of the given type (metric-point.ts) as line protocol writes it; undefined when it cannot be written. */
export function formatValue(type: number, value: FieldData): string | undefined {
  switch (type) {
    case FLOAT:
      return typeof value === 'number' && Number.isFinite(value) ? formatFloat(value) : undefined;
    case INT:
      if (typeof value === 'number') return Number.isSafeInteger(value) ? `${value}i` : undefined;
      return typeof value === 'bigint' && value >= MIN_INT64 && value <= MAX_INT64 ? `${value}i` : undefined;
    case UINT:
      if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? `${value}u` : undefined;
      return typeof value === 'bigint' && value >= 0n && value <= MAX_UINT64 ? `${value}u` : undefined;
    case BOOL:
      return value === true ? 'true' : value === false ? 'false' : undefined;
    case STRING:
      if (typeof value !== 'string' || UNWRITABLE_IN_STRING.test(value)) return undefined;
      return '"' + value.replace(STRING_SPECIAL, (c) => STRING_ESCAPES[c]!) + '"';
    default:
      return undefined;
  }
}

/**
 * Go's `strconv.FormatFloat(x, 'g', -1, 64)`: the shortest digits that read back to `x`, in exponent form when the
 * decimal exponent is below -4 or at least 6 (two exponent digits at least), else in plain decimal.
 */
export function formatFloat(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const e = x.toExponential();
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  if (exp >= -4 && exp < 6) return String(x);
  const abs = exp < 0 ? -exp : exp;
  return `${e.slice(0, at)}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
}

function checkName(name: string, what: string): string | undefined {
  if (name === '') return `empty ${what}`;
  if (UNWRITABLE.test(name)) return `${what} ${JSON.stringify(name)} holds a control character or a lone surrogate`;
  if (name.charCodeAt(name.length - 1) === 92) return `${what} ${JSON.stringify(name)} ends with a backslash`;
  return undefined;
}

function escapeWith(text: string, special: RegExp): string {
  special.lastIndex = 0;
  return special.test(text) ? text.replace(special, '\\$&') : text;
}

function describeValue(type: number, value: FieldData): string {
  return type === FLOAT ? `${String(value)} is not a finite float` : `${typeName(type)} ${String(value)} is out of range, of the wrong kind or not UTF-8`;
}
