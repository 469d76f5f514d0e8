/**
 * Zipkin v2 JSON (`POST /api/v2/spans`, a JSON array of spans) → `ZipkinSpan[]`, with zipkin-go's rules: a span
 * needs a trace id and a non-zero id; timestamps and durations are microseconds; tags are strings; an endpoint
 * with nothing in it is dropped (fractional microseconds are truncated, not refused). Like Zipkin, one bad span
 * refuses the whole request. Pure; never throws.
 */
import {
  canonicalIpv4, canonicalIpv6, emptyEndpoint, isZeroSpanId, zipkinSpanId, zipkinTraceId,
  type ZipkinEndpoint, type ZipkinKind, type ZipkinSpan,
} from './zipkin-model.js';

type Obj = Record<string, unknown>;
const KINDS = new Set(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER']);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Microseconds. zipkin-go wants whole numbers, but OpenTelemetry's JavaScript Zipkin exporter writes fractions
 * (hrTimeToMicroseconds is not rounded), so a fraction is truncated rather than refused.
 */
function uint(v: unknown): number | undefined {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}

export function readEndpoint(v: unknown): ZipkinEndpoint | undefined | string {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) return 'is not an object';
  const { serviceName, ipv4, ipv6, port } = v;
  if (serviceName !== undefined && serviceName !== null && typeof serviceName !== 'string') return 'serviceName is not a string';
  const e: ZipkinEndpoint = { serviceName: serviceName ?? '', ipv4: '', ipv6: '', port: 0 };
  if (ipv4 !== undefined && ipv4 !== null && ipv4 !== '') {
    const ip = typeof ipv4 === 'string' ? canonicalIpv4(ipv4) ?? canonicalIpv6(ipv4) : undefined;
    if (ip === undefined) return `ipv4 ${JSON.stringify(ipv4)} is not an IP address`;
    e.ipv4 = ip;
  }
  if (ipv6 !== undefined && ipv6 !== null && ipv6 !== '') {
    const ip = typeof ipv6 === 'string' ? canonicalIpv6(ipv6) ?? canonicalIpv4(ipv6) : undefined;
    if (ip === undefined) return `ipv6 ${JSON.stringify(ipv6)} is not an IP address`;
    e.ipv6 = ip;
  }
  if (port !== undefined && port !== null) {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) return 'port is not a uint16';
    e.port = port;
  }
  return emptyEndpoint(e) ? undefined : e;
}

function readSpan(raw: unknown): ZipkinSpan | string | null {
  if (raw === null) return null; // zipkin-go skips null entries
  if (!isObj(raw)) return 'is not an object';
  if (typeof raw.traceId !== 'string') return 'traceId is missing';
  const traceId = zipkinTraceId(raw.traceId);
  if (traceId === undefined) return `traceId ${JSON.stringify(raw.traceId.slice(0, 40))} is not 1 to 32 hex digits`;
  const id = typeof raw.id === 'string' && raw.id !== '' ? zipkinSpanId(raw.id) : typeof raw.id === 'string' ? '0000000000000000' : undefined;
  if (id === undefined) return 'id is not 1 to 16 hex digits';
  if (isZeroSpanId(id)) return 'a valid span id is required';
  let parentId: string | undefined;
  if (raw.parentId !== undefined && raw.parentId !== null && raw.parentId !== '') {
    parentId = typeof raw.parentId === 'string' ? zipkinSpanId(raw.parentId) : undefined;
    if (parentId === undefined) return 'parentId is not 1 to 16 hex digits';
    if (isZeroSpanId(parentId)) parentId = undefined;
  }
  if (raw.name !== undefined && raw.name !== null && typeof raw.name !== 'string') return 'name is not a string';
  if (raw.kind !== undefined && raw.kind !== null && typeof raw.kind !== 'string') return 'kind is not a string';
  const kind = (typeof raw.kind === 'string' && KINDS.has(raw.kind) ? raw.kind : '') as ZipkinKind;
  const timestamp = uint(raw.timestamp);
  if (timestamp === undefined) return 'timestamp is not a whole number of microseconds';
  const duration = uint(raw.duration);
  if (duration === undefined) return 'duration is not a whole number of microseconds';
  if (raw.shared !== undefined && raw.shared !== null && typeof raw.shared !== 'boolean') return 'shared is not a boolean';
  const local = readEndpoint(raw.localEndpoint);
  if (typeof local === 'string') return `localEndpoint ${local}`;
  const remote = readEndpoint(raw.remoteEndpoint);
  if (typeof remote === 'string') return `remoteEndpoint ${remote}`;

  const annotations: ZipkinSpan['annotations'] = [];
  if (raw.annotations !== undefined && raw.annotations !== null) {
    if (!Array.isArray(raw.annotations)) return 'annotations is not an array';
    for (const a of raw.annotations as unknown[]) {
      if (!isObj(a)) return 'an annotation is not an object';
      const ts = uint(a.timestamp);
      if (ts === undefined || ts < 1) return 'an annotation needs a timestamp';
      if (a.value !== undefined && a.value !== null && typeof a.value !== 'string') return 'an annotation value is not a string';
      annotations.push({ timestampMicros: ts, value: a.value ?? '' });
    }
  }
  const tags: Array<[string, string]> = [];
  if (raw.tags !== undefined && raw.tags !== null) {
    if (!isObj(raw.tags)) return 'tags is not an object';
    for (const [k, v] of Object.entries(raw.tags)) {
      if (typeof v !== 'string') return `tag ${JSON.stringify(k)} is not a string`;
      tags.push([k, v]);
    }
  }
  return {
    traceId, id, parentId, name: raw.name ?? '', kind,
    timestampMicros: timestamp > 0 ? timestamp : undefined,
    durationMicros: duration,
    shared: raw.shared === true,
    localEndpoint: local,
    remoteEndpoint: remote,
    annotations,
    tags,
  };
}

/** Decodes an already-parsed v2 JSON body. */
export function readZipkinV2Json(body: unknown): { spans: ZipkinSpan[] } | { error: string } {
  if (!Array.isArray(body)) return { error: 'a Zipkin v2 body is a JSON array of spans' };
  const spans: ZipkinSpan[] = [];
  for (let i = 0; i < body.length; i++) {
    const s = readSpan(body[i]);
    if (s === null) continue;
    if (typeof s === 'string') return { error: `span ${i}: ${s}` };
    spans.push(s);
  }
  return { spans };
}
