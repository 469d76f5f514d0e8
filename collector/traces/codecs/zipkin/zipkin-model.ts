/**
 * The Zipkin v2 span as zipkin-go's `model.SpanModel` holds it after decoding (JSON or proto3), the shape both
 * Zipkin decoders produce and `zipkin-translate.ts` maps to OTLP. Also the id and address rules they share.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type ZipkinKind = 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER' | '';

export interface ZipkinEndpoint {
  serviceName: string;
  ipv4: string;
  ipv6: string;
  port: number;
}

export interface ZipkinAnnotation {
  timestampMicros: number;
  value: string;
}

export interface ZipkinSpan {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits, never zero. */
  id: string;
  /** 16 lowercase hex digits, or undefined. */
  parentId: string | undefined;
  name: string;
  kind: ZipkinKind;
  /** undefined when absent (JSON) — the OTel translator then starts the span at the epoch and says so. */
  timestampMicros: number | undefined;
  durationMicros: number;
  shared: boolean;
  localEndpoint: ZipkinEndpoint | undefined;
  remoteEndpoint: ZipkinEndpoint | undefined;
  annotations: ZipkinAnnotation[];
  /** In the order received (Go's map has none; this keeps the sender's). */
  tags: Array<[string, string]>;
}

const HEX = /^[0-9a-fA-F]+$/;
const ZERO16 = '0000000000000000';

/** zipkin-go's `ParseUint(hex, 16, 64)` of an id: 1..16 hex digits → 16 lowercase digits. */
export function zipkinSpanId(hex: string): string | undefined {
  if (hex.length === 0 || hex.length > 16 || !HEX.test(hex)) return undefined;
  return hex.toLowerCase().padStart(16, '0');
}

/** zipkin-go's `TraceIDFromHex`: up to 32 hex digits, the last 16 the low half. */
export function zipkinTraceId(hex: string): string | undefined {
  if (hex.length === 0 || hex.length > 32 || !HEX.test(hex)) return undefined;
  return hex.toLowerCase().padStart(32, '0');
}

export function isZeroSpanId(id: string): boolean {
  return id === ZERO16;
}

/** An IPv6 address as Go's `net.IP.String()` writes it (RFC 5952: lowercase, longest zero run as ::). */
export function canonicalIpv6(ip: string): string | undefined {
  if (!isIPv6(ip)) return undefined;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return undefined; // isIPv6 and the URL parser disagree: treat it as not an address
  }
}

export function canonicalIpv4(ip: string): string | undefined {
  return isIPv4(ip) ? ip : undefined;
}

/** zipkin-go drops an endpoint with nothing in it. */
export function emptyEndpoint(e: ZipkinEndpoint): boolean {
  return e.serviceName === '' && e.port === 0 && e.ipv4 === '' && e.ipv6 === '';
}
