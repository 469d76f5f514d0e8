/**
 * Trace and span ids in the one form logs are indexed and linked by: lowercase hex, a trace id 32 digits (a 64-bit
 * one padded on the left with zeros, as Jaeger 2.x stores it), a span id 16. All-zero ids are invalid (W3C Trace
 * Context), as are other lengths and non-hex text.
 */
const HEX = /^[0-9a-fA-F]+$/;
const ZEROS = /^0+$/;

/** A trace id as 32 lowercase hex digits, or undefined. */
export function normalizeTraceId(value: unknown): string | undefined {
  if (typeof value !== 'string' || (value.length !== 32 && value.length !== 16) || !HEX.test(value) || ZEROS.test(value)) return undefined;
  return value.length === 32 ? value.toLowerCase() : '0000000000000000' + value.toLowerCase();
}

/** A span id as 16 lowercase hex digits, or undefined. */
export function normalizeSpanId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length !== 16 || !HEX.test(value) || ZEROS.test(value)) return undefined;
  return value.toLowerCase();
}
