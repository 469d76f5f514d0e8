/**
 * OTLP nanosecond timestamps (`fixed64` on the wire, a decimal string or number in JSON) split exactly into
 * microseconds — the span model's unit — and the leftover nanoseconds, without a bigint on the hot path.
 */

/** The protobuf decoder's exact split of a fixed64 (see `otlp-protobuf.ts`). */
export interface NanoSplit {
  micros: number;
  nanos: number;
}

/** A uint64 nanosecond time as it reaches the translator. */
export type NanoTime = string | number | bigint | NanoSplit;

const ZERO: NanoSplit = { micros: 0, nanos: 0 };
const UINT64_MAX = '18446744073709551615';

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return s.length > 0;
}

/** Splits a nanosecond time into (micros, nanos 0..999); undefined when it is not a uint64. Absent is 0. */
export function readNanos(v: NanoTime | undefined | null): NanoSplit | undefined {
  if (v === undefined || v === null) return ZERO;
  if (typeof v === 'string') {
    if (!isDigits(v) || v.length > 20 || (v.length === 20 && v > UINT64_MAX)) return undefined;
    if (v.length <= 15) {
      const n = Number(v);
      const micros = Math.floor(n / 1000);
      return { micros, nanos: n - micros * 1000 };
    }
    return { micros: Number(v.slice(0, -3)), nanos: Number(v.slice(-3)) };
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) return undefined;
    const micros = Math.floor(v / 1000);
    return { micros, nanos: v - micros * 1000 };
  }
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffffffffffffffffn) return undefined;
    return { micros: Number(v / 1000n), nanos: Number(v % 1000n) };
  }
  if (typeof v === 'object' && typeof v.micros === 'number' && typeof v.nanos === 'number') return v;
  return undefined;
}

/** Go's `time.Time.String()` of a UTC instant: `2017-01-26 16:46:31.639875 +0000 UTC` (fraction trimmed). */
export function formatGoTime(micros: number, nanos: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // 2017-01-26T16:46:31.639Z
  const fracNanos = (micros - Math.floor(micros / 1e6) * 1e6) * 1000 + nanos;
  let frac = '';
  if (fracNanos > 0) frac = '.' + String(fracNanos).padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} +0000 UTC`;
}
