/**
 * Zipkin proto3 (`zipkin.proto3.ListOfSpans`, `application/x-protobuf` on `POST /api/v2/spans`) → `ZipkinSpan[]`:
 * Span { trace_id 1, parent_id 2, id 3, kind 4, name 5, timestamp 6 (fixed64 µs), duration 7, local_endpoint 8,
 * remote_endpoint 9, annotations 10, tags 11 (map), debug 12, shared 13 }; Endpoint { service_name 1, ipv4 2,
 * ipv6 3, port 4 }; Annotation { timestamp 1, value 2 }. Ids are 8-byte (span) and 8- or 16-byte (trace) big-endian.
 * Never throws; one bad span refuses the request, as in zipkin-go.
 */
import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../otlp/protobuf-reader.js';
import { emptyEndpoint, isZeroSpanId, type ZipkinEndpoint, type ZipkinKind, type ZipkinSpan } from './zipkin-model.js';

const KINDS: ZipkinKind[] = ['', 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];
const halves = { lo: 0, hi: 0 };

function fixed64Number(r: ProtoReader): number {
  r.fixed64Halves(halves);
  return halves.hi * 4294967296 + halves.lo;
}

/** Go's net.IP.String() of 4 or 16 raw bytes; '' for none; undefined for another length. */
function ipString(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return '';
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) return undefined;
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.subarray(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function readEndpoint(r: ProtoReader): ZipkinEndpoint | undefined {
  const e: ZipkinEndpoint = { serviceName: '', ipv4: '', ipv6: '', port: 0 };
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) e.serviceName = r.string();
    else if (key === (2 << 3 | WIRE_LEN) || key === (3 << 3 | WIRE_LEN)) {
      const ip = ipString(r.bytes());
      if (ip === undefined) r.fail('an endpoint address is neither 4 nor 16 bytes');
      else if (key >>> 3 === 2) e.ipv4 = ip;
      else e.ipv6 = ip;
    } else if (key === (4 << 3 | WIRE_VARINT)) e.port = r.varint32() & 0xffff;
    else if (key !== 0) r.skip(key & 7);
  }
  return emptyEndpoint(e) ? undefined : e;
}

function readSpan(r: ProtoReader): ZipkinSpan | string {
  let traceId = '';
  let id = '';
  let parentId = '';
  const span: ZipkinSpan = {
    traceId: '', id: '', parentId: undefined, name: '', kind: '', timestampMicros: 0, durationMicros: 0,
    shared: false, localEndpoint: undefined, remoteEndpoint: undefined, annotations: [], tags: [],
  };
  while (!r.done()) {
    const key = r.tag();
    switch (key) {
      case 1 << 3 | WIRE_LEN: traceId = r.hex(); break;
      case 2 << 3 | WIRE_LEN: parentId = r.hex(); break;
      case 3 << 3 | WIRE_LEN: id = r.hex(); break;
      case 4 << 3 | WIRE_VARINT: span.kind = KINDS[r.varint32()] ?? ''; break;
      case 5 << 3 | WIRE_LEN: span.name = r.string(); break;
      case 6 << 3 | WIRE_FIXED64: span.timestampMicros = fixed64Number(r); break;
      case 7 << 3 | WIRE_VARINT: {
        const d = r.int64();
        span.durationMicros = typeof d === 'bigint' || d < 0 ? Number(BigInt.asUintN(64, BigInt(d))) : d;
        break;
      }
      case 8 << 3 | WIRE_LEN: case 9 << 3 | WIRE_LEN: {
        const outer = r.enter();
        if (outer < 0) break;
        const e = readEndpoint(r);
        r.leave(outer);
        if (key >>> 3 === 8) span.localEndpoint = e;
        else span.remoteEndpoint = e;
        break;
      }
      case 10 << 3 | WIRE_LEN: {
        const outer = r.enter();
        if (outer < 0) break;
        let ts = 0;
        let value = '';
        while (!r.done()) {
          const k = r.tag();
          if (k === (1 << 3 | WIRE_FIXED64)) ts = fixed64Number(r);
          else if (k === (2 << 3 | WIRE_LEN)) value = r.string();
          else if (k !== 0) r.skip(k & 7);
        }
        r.leave(outer);
        span.annotations.push({ timestampMicros: ts, value });
        break;
      }
      case 11 << 3 | WIRE_LEN: {
        const outer = r.enter();
        if (outer < 0) break;
        let k = '';
        let v = '';
        while (!r.done()) {
          const t = r.tag();
          if (t === (1 << 3 | WIRE_LEN)) k = r.string();
          else if (t === (2 << 3 | WIRE_LEN)) v = r.string();
          else if (t !== 0) r.skip(t & 7);
        }
        r.leave(outer);
        const at = span.tags.findIndex(([key2]) => key2 === k);
        if (at >= 0) span.tags[at] = [k, v]; // a map: the last entry of a key wins
        else span.tags.push([k, v]);
        break;
      }
      case 12 << 3 | WIRE_VARINT: r.varint32(); break;
      case 13 << 3 | WIRE_VARINT: span.shared = r.varint32() !== 0; break;
      default:
        if (key !== 0) {
          if ((key >>> 3) <= 13) r.fail(`Span field ${key >>> 3} has wire type ${key & 7}`);
          else r.skip(key & 7);
        }
    }
  }
  if (r.error !== undefined) return r.error;
  if (traceId.length !== 16 && traceId.length !== 32) return `trace_id has ${traceId.length / 2} bytes, 8 or 16 wanted`;
  if (id.length !== 16) return `id has ${id.length / 2} bytes, 8 wanted`;
  if (isZeroSpanId(id)) return 'a valid span id is required';
  if (parentId !== '' && parentId.length !== 16) return `parent_id has ${parentId.length / 2} bytes, 8 wanted`;
  span.traceId = traceId.padStart(32, '0');
  span.id = id;
  span.parentId = parentId === '' || isZeroSpanId(parentId) ? undefined : parentId;
  return span;
}

export function decodeZipkinListOfSpans(buf: Uint8Array): { spans: ZipkinSpan[] } | { error: string } {
  const r = new ProtoReader(buf);
  const spans: ZipkinSpan[] = [];
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      const s = readSpan(r);
      r.leave(outer);
      if (typeof s === 'string') return { error: `invalid Zipkin protobuf: span ${spans.length}: ${s}` };
      spans.push(s);
    } else if (key !== 0) r.skip(key & 7);
  }
  return r.error !== undefined ? { error: `invalid Zipkin protobuf: ${r.error}` } : { spans };
}
