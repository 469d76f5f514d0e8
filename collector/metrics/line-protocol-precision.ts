/**
 * Timestamp precisions of line protocol. `ns`, `us`, `ms` and `s` are those of the InfluxDB v2 API; `m` and `h` are
 * also accepted by InfluxDB 1.x's `/write` (with `n` and `u` as short spellings, mapped by the push endpoint).
 */
export type Precision = 'ns' | 'us' | 'ms' | 's' | 'm' | 'h';

/** Nanoseconds in one unit of each precision. */
export const NANOS_PER_UNIT: Readonly<Record<Precision, bigint>> = Object.freeze({
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
});

/** The range of a line protocol timestamp (a signed 64-bit count of nanoseconds). */
export const MIN_INT64 = -(2n ** 63n);
export const MAX_INT64 = 2n ** 63n - 1n;
export const MAX_UINT64 = 2n ** 64n - 1n;

/** `t` rounded down to a whole number of `unitNs` (towards minus infinity, as Go's `time.Truncate` does). */
export function floorToUnit(t: bigint, unitNs: bigint): bigint {
  if (unitNs === 1n) return t;
  const rem = t % unitNs;
  return rem < 0n ? t - rem - unitNs : t - rem;
}
