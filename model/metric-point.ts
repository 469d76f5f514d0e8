/**
 * A metric point as line protocol defines it: a measurement, sorted tags, typed fields and a time in nanoseconds.
 *
 * The point is flat: parallel arrays of keys and values instead of a pair and a value object per tag and per field.
 * bench/line-protocol.bench.ts: with a pair per tag and per field, an object per field value and a BigInt per
 * integer, allocating the points alone capped the parser at about 0.7–1.4M lines per CPU-second, and the whole
 * parse ran at 170–240k; the flat point, whose key and type arrays are shared by every point of the same shape
 * (the parser hands the same arrays to each line of one measurement with the same keys), leaves three objects per
 * line (the point, its tag values, its field values).
 *
 * - Field types are kept exactly (the five of line protocol), since InfluxDB rejects a field whose type changes.
 * - `int` and `uint` values are a number when they are safe integers (|v| ≤ 2^53 − 1), a bigint only beyond: the
 *   value is exact either way, and readers must take both (`BigInt(v)`, `Number(v)`, `${v}` all do).
 * - The arrays of a point may be shared with other points: never mutate them in place, replace them (as
 *   `addTagIfAbsent` does). Sinks never change a point at all.
 */
export const FLOAT = 0;
export const INT = 1;
export const UINT = 2;
export const STRING = 3;
export const BOOL = 4;
export type FieldType = typeof FLOAT | typeof INT | typeof UINT | typeof STRING | typeof BOOL;

/** A field's value as the point holds it; its meaning is given by the field's type. */
export type FieldData = number | bigint | string | boolean;

export interface MetricPoint {
  measurement: string;
  /** Sorted by code point, unique; `tagValues[i]` is the value of `tagKeys[i]`. */
  tagKeys: readonly string[];
  tagValues: readonly string[];
  /** In the order given, unique, at least one; `fieldTypes[i]` and `fieldValues[i]` go with `fieldKeys[i]`. */
  fieldKeys: readonly string[];
  fieldTypes: Readonly<Uint8Array>;
  /** float: number; int, uint: number or bigint (see above); string: string; bool: boolean. */
  fieldValues: readonly FieldData[];
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
}

/**
 * What every metric output is: it takes points and it closes. Sources (the line protocol push endpoint, the
 * monitors, container statistics) hand their points to `write`; each sink decides what it keeps. Here in core
 * because the embedded store's metric table (storage/sqlite/metric-store.ts) is one; the collector's own sinks are in
 * collector/metrics/.
 */
export interface MetricSink {
  /** For logs and the start-up summary. */
  readonly name: string;
  /**
   * Takes the points. Returns at once and never throws: a sink queues, batches and retries on its own, within its
   * own bounds, and counts what it cannot keep. The points may be shared with other sinks: a sink never mutates them.
   */
  write(points: readonly MetricPoint[]): void;
  /**
   * Which of `points` `write` would refuse for a limit of the sink (the embedded store's series per measurement),
   * for a source that answers its client before writing (the line protocol push answers a partial write). Same tick
   * as the `write` that follows; synchronous and cheap for points of series the sink already holds.
   */
  admit?(points: readonly MetricPoint[]): PointRefusal[];
  /**
   * True while the sink is out of room and configured to block: sources hold back (a push answers 503 with
   * Retry-After, monitoring skips its rounds) instead of writing. Absent: never full.
   */
  full?(): boolean;
  /**
   * Resolves once every point written so far is kept (a durable queue's: on disk), false when some could not be;
   * a source awaits it before telling its client the points are taken. Absent: kept once written.
   */
  settled?(): Promise<boolean>;
  /** Delivers what it still holds within its own time bound, then stops. Idempotent. */
  close(): Promise<void>;
}

/** A point a sink refuses: its index in the batch, the self-metric label of the reason, and the reason in words. */
export interface PointRefusal {
  index: number;
  reason: string;
  message: string;
}

/**
 * A typed field value on its own, for code that builds points one field at a time (the monitors) and for readers
 * that want one (`fieldPairs`). Here `int` and `uint` are always bigint.
 */
export type FieldValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: bigint }
  | { type: 'uint'; value: bigint }
  | { type: 'string'; value: string }
  | { type: 'bool'; value: boolean };

export const float = (value: number): FieldValue => ({ type: 'float', value });
export const int = (value: bigint | number): FieldValue => ({ type: 'int', value: BigInt(value) });
export const uint = (value: bigint | number): FieldValue => ({ type: 'uint', value: BigInt(value) });
export const str = (value: string): FieldValue => ({ type: 'string', value });
export const bool = (value: boolean): FieldValue => ({ type: 'bool', value });

const TYPE_CODES: Readonly<Record<FieldValue['type'], FieldType>> = { float: FLOAT, int: INT, uint: UINT, string: STRING, bool: BOOL };
const TYPE_NAMES: readonly FieldValue['type'][] = ['float', 'int', 'uint', 'string', 'bool'];

/** An integer as a point holds it: a number when it is safe, else the bigint. */
export function intData(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/**
 * A point from pairs. Tags with an empty value are left out (line protocol cannot carry them) and the others
 * sorted by key; a later field of the same key replaces the earlier one's value.
 */
export function makePoint(
  measurement: string,
  tags: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
  fields: Iterable<readonly [string, FieldValue]>,
  timeNs: bigint,
): MetricPoint {
  const tagList = (Symbol.iterator in tags ? [...(tags as Iterable<readonly [string, string]>)] : Object.entries(tags))
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const byKey = new Map<string, FieldValue>();
  for (const [k, v] of fields) byKey.set(k, v);
  const fieldTypes = new Uint8Array(byKey.size);
  const fieldValues: FieldData[] = [];
  let i = 0;
  for (const v of byKey.values()) {
    fieldTypes[i++] = TYPE_CODES[v.type];
    fieldValues.push(v.type === 'int' || v.type === 'uint' ? intData(v.value) : v.value);
  }
  return {
    measurement,
    tagKeys: tagList.map(([k]) => k),
    tagValues: tagList.map(([, v]) => v),
    fieldKeys: [...byKey.keys()],
    fieldTypes,
    fieldValues,
    timeNs,
  };
}

/** The name of a field type: 'float', 'int', 'uint', 'string', 'bool'. */
export function typeName(type: number): FieldValue['type'] {
  return TYPE_NAMES[type] ?? 'string';
}

/** Field `i` of the point as a typed value. */
export function fieldValue(point: MetricPoint, i: number): FieldValue {
  const v = point.fieldValues[i]!;
  switch (point.fieldTypes[i]) {
    case FLOAT: return { type: 'float', value: v as number };
    case INT: return { type: 'int', value: BigInt(v as number | bigint) };
    case UINT: return { type: 'uint', value: BigInt(v as number | bigint) };
    case BOOL: return { type: 'bool', value: v as boolean };
    default: return { type: 'string', value: v as string };
  }
}

/** The tags as pairs, in key order. */
export function tagPairs(point: MetricPoint): Array<[string, string]> {
  return point.tagKeys.map((k, i) => [k, point.tagValues[i]!]);
}

/** The fields as pairs of key and typed value, in order. */
export function fieldPairs(point: MetricPoint): Array<[string, FieldValue]> {
  return point.fieldKeys.map((k, i) => [k, fieldValue(point, i)]);
}

/** The value of tag `key`, or undefined. */
export function tagValue(point: MetricPoint, key: string): string | undefined {
  const i = point.tagKeys.indexOf(key);
  return i < 0 ? undefined : point.tagValues[i];
}

/** Field `i` as a double (integers rounded to the nearest double, booleans 1 and 0); undefined for a string. */
export function numericValue(point: MetricPoint, i: number): number | undefined {
  const v = point.fieldValues[i];
  switch (point.fieldTypes[i]) {
    case FLOAT: return v as number;
    case INT:
    case UINT: return typeof v === 'bigint' ? Number(v) : (v as number);
    case BOOL: return v ? 1 : 0;
    default: return undefined;
  }
}

/**
 * Adds a tag unless the point already has it, keeping the tags sorted. The point gets new tag arrays (the old ones
 * may be shared with other points).
 */
export function addTagIfAbsent(point: MetricPoint, key: string, value: string): void {
  if (value === '') return;
  const keys = point.tagKeys;
  let i = 0;
  while (i < keys.length && keys[i]! < key) i++;
  if (i < keys.length && keys[i] === key) return;
  const tagKeys = keys.slice();
  const tagValues = point.tagValues.slice();
  tagKeys.splice(i, 0, key);
  tagValues.splice(i, 0, value);
  point.tagKeys = tagKeys;
  point.tagValues = tagValues;
}

/** `addTagIfAbsent` for each of `tags`, with one copy of the point's tag arrays. */
export function addTagsIfAbsent(point: MetricPoint, tags: Readonly<Record<string, string>>): void {
  let keys: string[] | undefined;
  let values: string[] | undefined;
  for (const key in tags) {
    const value = tags[key]!;
    if (value === '') continue;
    const current = keys ?? point.tagKeys;
    let i = 0;
    while (i < current.length && current[i]! < key) i++;
    if (i < current.length && current[i] === key) continue;
    keys ??= point.tagKeys.slice();
    values ??= point.tagValues.slice();
    keys.splice(i, 0, key);
    values.splice(i, 0, value);
  }
  if (keys !== undefined && values !== undefined) {
    point.tagKeys = keys;
    point.tagValues = values;
  }
}
