/**
 * A metric point as line protocol defines it: a measurement, sorted tags, typed fields and a time in nanoseconds.
 *
 * Field types are kept exactly (the five of line protocol), since InfluxDB rejects a field whose type changes.
 * `int` and `uint` are bigint so 64-bit values survive; `float` is a number.
 */
export type FieldValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: bigint }
  | { type: 'uint'; value: bigint }
  | { type: 'string'; value: string }
  | { type: 'bool'; value: boolean };

export interface MetricPoint {
  measurement: string;
  /** Tag pairs sorted by key, keys unique. */
  tags: Array<[key: string, value: string]>;
  /** Field pairs in the order given; at least one. */
  fields: Array<[key: string, value: FieldValue]>;
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
}

export const float = (value: number): FieldValue => ({ type: 'float', value });
export const int = (value: bigint | number): FieldValue => ({ type: 'int', value: BigInt(value) });
export const str = (value: string): FieldValue => ({ type: 'string', value });
export const bool = (value: boolean): FieldValue => ({ type: 'bool', value });

/** Adds a tag unless the point already has it, keeping the tags sorted. */
export function addTagIfAbsent(point: MetricPoint, key: string, value: string): void {
  if (value === '') return;
  const tags = point.tags;
  let i = 0;
  while (i < tags.length && tags[i]![0] < key) i++;
  if (i < tags.length && tags[i]![0] === key) return;
  tags.splice(i, 0, [key, value]);
}
