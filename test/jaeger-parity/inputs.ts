/**
 * The parity inputs (test/fixtures/jaeger-parity/inputs/*.json) made into requests of every protocol that can carry
 * them, and sent to a collector: Jaeger's when recording, Shipwatch's when testing. Both get byte-for-byte the same
 * requests, but for the times, which are the base chosen at send time plus the offsets the inputs give (the memory
 * store and the search windows want recent spans).
 *
 * Each protocol gets its own copy of every trace: its protocol number goes into the trace ids (the top byte of their
 * low 64 bits, which every input leaves 00) and its name after every service name, so one protocol's spans never
 * merge with another's and each service's questions are about one protocol.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REF, TAG, encodeBatch, encodeEmitBatch, type TBatch, type TTag } from '../collector/traces/support/thrift-writer.js';

export const INPUTS_DIR = fileURLToPath(new URL('../fixtures/jaeger-parity/inputs/', import.meta.url));

export const PROTOCOLS = ['otlp-json', 'otlp-proto', 'thrift-http', 'thrift-udp', 'zipkin-v2-json', 'zipkin-v2-proto', 'zipkin-v1-json'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Where to send: the collector's HTTP bases and its Thrift compact UDP port. */
export interface Targets {
  otlpHttp: string;
  zipkin: string;
  jaegerHttp: string;
  jaegerCompactUdp: number;
}

/** One request sent, and what the collector answered (UDP has no answer: status 0). */
export interface Sent {
  protocol: Protocol;
  what: string;
  status: number;
}

const tagOf = (p: Protocol): string => (PROTOCOLS.indexOf(p) + 1).toString(16).padStart(2, '0');

/** A trace id of the protocol's copy: 16 or 32 hex digits in, the same length out. */
export function traceIdFor(p: Protocol, id: string): string {
  const full = id.padStart(32, '0');
  if (full.slice(16, 18) !== '00') throw new Error(`input trace id ${id}: the protocol byte (digits 17-18 of 32) must be 00`);
  const tagged = full.slice(0, 16) + tagOf(p) + full.slice(18);
  return id.length <= 16 ? tagged.slice(16) : tagged;
}

export const serviceFor = (p: Protocol, name: string): string => (name === '' ? '' : `${name}-${p}`);

/** Every trace id the inputs hold, 32 hex digits, per protocol that carries it. */
export function traceIds(): Array<{ protocol: Protocol; traceId: string }> {
  const out: Array<{ protocol: Protocol; traceId: string }> = [];
  const collect = (protocols: Protocol[], text: string, field: RegExp): void => {
    const ids = new Set<string>();
    for (const m of text.matchAll(field)) ids.add(m[1]!.padStart(32, '0'));
    for (const p of protocols) for (const id of [...ids].sort()) out.push({ protocol: p, traceId: traceIdFor(p, id) });
  };
  collect(['otlp-json', 'otlp-proto'], readFileSync(`${INPUTS_DIR}otlp.json`, 'utf8'), /"traceId": "([0-9a-f]+)"/g);
  collect(['thrift-http', 'thrift-udp'], readFileSync(`${INPUTS_DIR}jaeger-thrift.json`, 'utf8'), /"traceId": "([0-9a-f]+)"/g);
  collect(['zipkin-v2-json', 'zipkin-v2-proto'], readFileSync(`${INPUTS_DIR}zipkin-v2.json`, 'utf8'), /"traceId": "([0-9a-f]+)"/g);
  collect(['zipkin-v1-json'], readFileSync(`${INPUTS_DIR}zipkin-v1.json`, 'utf8'), /"traceId": "([0-9a-f]+)"/g);
  return out;
}

const readInput = (name: string): any => JSON.parse(readFileSync(`${INPUTS_DIR}${name}`, 'utf8'));

/** "T+<n>" → base + n, in the unit of the field. */
function time(value: unknown, base: bigint): bigint {
  const m = typeof value === 'string' ? /^T([+-]\d+)$/.exec(value) : null;
  if (!m) throw new Error(`time ${JSON.stringify(value)}: inputs give times as "T+<offset>"`);
  return base + BigInt(m[1]!);
}

// ---- OTLP ----

function otlpJson(p: Protocol, body: any, baseNs: bigint): any {
  const copy = structuredClone(body);
  for (const rs of copy.resourceSpans ?? []) {
    for (const a of rs.resource?.attributes ?? []) if (a.key === 'service.name' && typeof a.value?.stringValue === 'string') a.value.stringValue = serviceFor(p, a.value.stringValue);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        s.traceId = traceIdFor(p, s.traceId);
        for (const k of ['startTimeUnixNano', 'endTimeUnixNano']) if (s[k] !== undefined) s[k] = String(time(s[k], baseNs));
        for (const e of s.events ?? []) e.timeUnixNano = String(time(e.timeUnixNano, baseNs));
        for (const l of s.links ?? []) l.traceId = traceIdFor(p, l.traceId);
      }
    }
  }
  return copy;
}

/** A proto3 writer: just what the OTLP and Zipkin messages use. */
class Proto {
  private parts: Buffer[] = [];
  private varint(v: bigint): void {
    const out: number[] = [];
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.parts.push(Buffer.from(out));
  }
  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }
  /** `always`: written even when zero (a oneof member, which proto3 keeps when set). */
  uint(field: number, v: bigint | number | undefined, always = false): this {
    if (v === undefined || (BigInt(v) === 0n && !always)) return this;
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }
  bool(field: number, v: boolean | undefined): this {
    return v ? this.uint(field, 1) : this;
  }
  fixed64(field: number, v: bigint | undefined): this {
    if (v === undefined || v === 0n) return this;
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v));
    this.parts.push(b);
    return this;
  }
  fixed32(field: number, v: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  double(field: number, v: number): this {
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.parts.push(b);
    return this;
  }
  bytes(field: number, v: Uint8Array | undefined, always = false): this {
    if (v === undefined || (v.length === 0 && !always)) return this;
    this.key(field, 2);
    this.varint(BigInt(v.length));
    this.parts.push(Buffer.from(v));
    return this;
  }
  string(field: number, v: string | undefined): this {
    return v === undefined || v === '' ? this : this.bytes(field, Buffer.from(v, 'utf8'));
  }
  message(field: number, m: Proto): this {
    return this.bytes(field, m.done(), true);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const hex = (s: string | undefined): Buffer | undefined => (s ? Buffer.from(s, 'hex') : undefined);

function anyValue(v: any): Proto {
  const w = new Proto();
  if ('stringValue' in v) w.bytes(1, Buffer.from(v.stringValue, 'utf8'), true);
  else if ('boolValue' in v) w.uint(2, v.boolValue ? 1 : 0, true);
  else if ('intValue' in v) w.uint(3, BigInt(v.intValue), true);
  else if ('doubleValue' in v) w.double(4, v.doubleValue);
  else if ('arrayValue' in v) w.message(5, (v.arrayValue.values ?? []).reduce((a: Proto, x: any) => a.message(1, anyValue(x)), new Proto()));
  else if ('kvlistValue' in v) w.message(6, (v.kvlistValue.values ?? []).reduce((a: Proto, x: any) => a.message(1, keyValue(x)), new Proto()));
  else if ('bytesValue' in v) w.bytes(7, Buffer.from(v.bytesValue, 'base64'), true);
  return w;
}

const keyValue = (kv: any): Proto => new Proto().string(1, kv.key).message(2, anyValue(kv.value ?? {}));

const attributes = (w: Proto, field: number, list: any[] | undefined): Proto => (list ?? []).reduce((a: Proto, kv: any) => a.message(field, keyValue(kv)), w);

/** ExportTraceServiceRequest, field numbers from opentelemetry/proto/trace/v1/trace.proto. */
export function otlpProtobuf(request: any): Buffer {
  const req = new Proto();
  for (const rs of request.resourceSpans ?? []) {
    const r = new Proto();
    if (rs.resource) r.message(1, attributes(new Proto(), 1, rs.resource.attributes).uint(2, rs.resource.droppedAttributesCount));
    for (const ss of rs.scopeSpans ?? []) {
      const s = new Proto();
      if (ss.scope) s.message(1, attributes(new Proto().string(1, ss.scope.name).string(2, ss.scope.version), 3, ss.scope.attributes).uint(4, ss.scope.droppedAttributesCount));
      for (const sp of ss.spans ?? []) {
        const w = new Proto().bytes(1, hex(sp.traceId)).bytes(2, hex(sp.spanId)).string(3, sp.traceState).bytes(4, hex(sp.parentSpanId))
          .string(5, sp.name).uint(6, sp.kind).fixed64(7, BigInt(sp.startTimeUnixNano ?? 0)).fixed64(8, BigInt(sp.endTimeUnixNano ?? 0));
        attributes(w, 9, sp.attributes).uint(10, sp.droppedAttributesCount);
        for (const e of sp.events ?? []) w.message(11, attributes(new Proto().fixed64(1, BigInt(e.timeUnixNano)).string(2, e.name), 3, e.attributes).uint(4, e.droppedAttributesCount));
        w.uint(12, sp.droppedEventsCount);
        for (const l of sp.links ?? []) {
          const lw = new Proto().bytes(1, hex(l.traceId)).bytes(2, hex(l.spanId)).string(3, l.traceState);
          attributes(lw, 4, l.attributes).uint(5, l.droppedAttributesCount);
          if (l.flags !== undefined) lw.fixed32(6, l.flags);
          w.message(13, lw);
        }
        w.uint(14, sp.droppedLinksCount);
        if (sp.status) w.message(15, new Proto().string(2, sp.status.message).uint(3, sp.status.code));
        if (sp.flags !== undefined) w.fixed32(16, sp.flags);
        s.message(2, w);
      }
      s.string(3, ss.schemaUrl);
      r.message(2, s);
    }
    r.string(3, rs.schemaUrl);
    req.message(1, r);
  }
  return req.done();
}

// ---- Jaeger Thrift ----

/** The operation name sent as bytes that are not UTF-8, and the marker of the same length it replaces. */
const INVALID_UTF8 = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x20, 0x6f, 0x70, 0xc3]);
const INVALID_MARKER = '\u0001INVALID\u0001';

function thriftTag(t: any): TTag {
  switch (t.type) {
    case 'string': return { key: t.key, vType: TAG.STRING, vStr: t.value };
    case 'double': return { key: t.key, vType: TAG.DOUBLE, vDouble: t.value };
    case 'bool': return { key: t.key, vType: TAG.BOOL, vBool: t.value };
    case 'long': return { key: t.key, vType: TAG.LONG, vLong: BigInt(t.value) };
    case 'binary': return { key: t.key, vType: TAG.BINARY, vBinary: Buffer.from(t.value, 'hex') };
    default: throw new Error(`tag type ${t.type}`);
  }
}

const low = (id: string): bigint => BigInt.asIntN(64, BigInt(`0x${id.padStart(32, '0').slice(16)}`));
const high = (id: string): bigint => BigInt.asIntN(64, BigInt(`0x${id.padStart(32, '0').slice(0, 16)}`));
const int64 = (id: string): bigint => BigInt.asIntN(64, BigInt(`0x${id}`));

function thriftBatch(p: Protocol, b: any, baseUs: bigint): TBatch {
  return {
    process: { serviceName: serviceFor(p, b.process.serviceName), tags: (b.process.tags ?? []).map(thriftTag) },
    spans: b.spans.map((s: any) => {
      const traceId = traceIdFor(p, s.traceId);
      return {
        traceIdLow: low(traceId), traceIdHigh: high(traceId), spanId: int64(s.spanId), parentSpanId: int64(s.parentSpanId),
        operationName: s.operationName === '<invalid-utf8>' ? INVALID_MARKER : s.operationName,
        references: (s.references ?? []).map((r: any) => {
          const id = traceIdFor(p, r.traceId);
          return { refType: r.refType === 'FOLLOWS_FROM' ? REF.FOLLOWS_FROM : REF.CHILD_OF, traceIdLow: low(id), traceIdHigh: high(id), spanId: int64(r.spanId) };
        }),
        flags: s.flags, startTime: time(s.startTime, baseUs), duration: BigInt(s.duration),
        tags: (s.tags ?? []).map(thriftTag),
        logs: (s.logs ?? []).map((l: any) => ({ timestamp: time(l.timestamp, baseUs), fields: l.fields.map(thriftTag) })),
      };
    }),
  };
}

function withInvalidUtf8(encoded: Buffer): Buffer {
  const marker = Buffer.from(INVALID_MARKER, 'utf8');
  for (let at = encoded.indexOf(marker); at >= 0; at = encoded.indexOf(marker, at + 1)) INVALID_UTF8.copy(encoded, at);
  return encoded;
}

// ---- Zipkin ----

function zipkinV2(p: Protocol, spans: any[], baseUs: bigint): any[] {
  return spans.map((s) => {
    const copy = structuredClone(s);
    copy.traceId = traceIdFor(p, s.traceId);
    if (copy.timestamp !== undefined) copy.timestamp = Number(time(copy.timestamp, baseUs));
    for (const a of copy.annotations ?? []) a.timestamp = Number(time(a.timestamp, baseUs));
    for (const k of ['localEndpoint', 'remoteEndpoint']) if (copy[k]?.serviceName !== undefined) copy[k].serviceName = serviceFor(p, copy[k].serviceName);
    return copy;
  });
}

function zipkinV1(p: Protocol, spans: any[], baseUs: bigint): any[] {
  return spans.map((s) => {
    const copy = structuredClone(s);
    copy.traceId = traceIdFor(p, s.traceId);
    if (copy.timestamp !== undefined) copy.timestamp = Number(time(copy.timestamp, baseUs));
    for (const a of copy.annotations ?? []) {
      a.timestamp = Number(time(a.timestamp, baseUs));
      if (a.endpoint?.serviceName !== undefined) a.endpoint.serviceName = serviceFor(p, a.endpoint.serviceName);
    }
    for (const a of copy.binaryAnnotations ?? []) if (a.endpoint?.serviceName !== undefined) a.endpoint.serviceName = serviceFor(p, a.endpoint.serviceName);
    return copy;
  });
}

const KIND = { CLIENT: 1, SERVER: 2, PRODUCER: 3, CONSUMER: 4 } as Record<string, number>;

function endpoint(e: any): Proto {
  const w = new Proto().string(1, e.serviceName);
  if (e.ipv4) w.bytes(2, Buffer.from(e.ipv4.split('.').map(Number)));
  if (e.ipv6) w.bytes(3, ipv6Bytes(e.ipv6));
  return w.uint(4, e.port);
}

function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** ListOfSpans, field numbers from zipkin.proto (proto3). */
export function zipkinProtobuf(spans: any[]): Buffer {
  const list = new Proto();
  for (const s of spans) {
    const w = new Proto().bytes(1, hex(s.traceId)).bytes(2, hex(s.parentId)).bytes(3, hex(s.id)).uint(4, KIND[s.kind ?? ''])
      .string(5, s.name).fixed64(6, s.timestamp === undefined ? undefined : BigInt(s.timestamp)).uint(7, s.duration);
    if (s.localEndpoint) w.message(8, endpoint(s.localEndpoint));
    if (s.remoteEndpoint) w.message(9, endpoint(s.remoteEndpoint));
    for (const a of s.annotations ?? []) w.message(10, new Proto().fixed64(1, BigInt(a.timestamp)).string(2, a.value));
    for (const [k, v] of Object.entries(s.tags ?? {})) w.message(11, new Proto().string(1, k).string(2, v as string));
    w.bool(12, s.debug).bool(13, s.shared);
    list.message(1, w);
  }
  return list.done();
}

// ---- sending ----

async function post(url: string, contentType: string, body: Buffer | string): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  await res.arrayBuffer();
  return res.status;
}

async function udp(port: number, datagram: Buffer): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  } finally {
    socket.close();
  }
}

/**
 * Sends every input over every protocol that can carry it, protocol after protocol, request after request, with
 * times `base` + offset (base in microseconds since the epoch). Resolves with each request's answer.
 */
export async function sendAll(targets: Targets, baseUs: bigint): Promise<Sent[]> {
  const sent: Sent[] = [];
  const otlp = readInput('otlp.json');
  for (const p of ['otlp-json', 'otlp-proto'] as const) {
    for (const [i, r] of (otlp.requests as any[]).entries()) {
      const body = otlpJson(p, r.body, baseUs * 1000n);
      for (let n = 0; n < (r.repeat ?? 1); n++) {
        const status = p === 'otlp-json'
          ? await post(`${targets.otlpHttp}/v1/traces`, 'application/json', JSON.stringify(body))
          : await post(`${targets.otlpHttp}/v1/traces`, 'application/x-protobuf', otlpProtobuf(body));
        sent.push({ protocol: p, what: `request ${i}${n > 0 ? ' again' : ''}`, status });
      }
    }
  }
  const thrift = readInput('jaeger-thrift.json');
  for (const [i, b] of (thrift.batches as any[]).entries()) {
    const status = await post(`${targets.jaegerHttp}/api/traces`, 'application/x-thrift', withInvalidUtf8(encodeBatch(thriftBatch('thrift-http', b, baseUs), 'binary')));
    sent.push({ protocol: 'thrift-http', what: `batch ${i}`, status });
  }
  for (const [i, b] of (thrift.batches as any[]).entries()) {
    await udp(targets.jaegerCompactUdp, withInvalidUtf8(encodeEmitBatch(thriftBatch('thrift-udp', b, baseUs), 'compact', i)));
    sent.push({ protocol: 'thrift-udp', what: `batch ${i}`, status: 0 });
  }
  const v2 = readInput('zipkin-v2.json');
  for (const [i, spans] of (v2.requests as any[][]).entries()) {
    const status = await post(`${targets.zipkin}/api/v2/spans`, 'application/json', JSON.stringify(zipkinV2('zipkin-v2-json', spans, baseUs)));
    sent.push({ protocol: 'zipkin-v2-json', what: `request ${i}`, status });
  }
  for (const [i, spans] of (v2.requests as any[][]).entries()) {
    const status = await post(`${targets.zipkin}/api/v2/spans`, 'application/x-protobuf', zipkinProtobuf(zipkinV2('zipkin-v2-proto', spans, baseUs)));
    sent.push({ protocol: 'zipkin-v2-proto', what: `request ${i}`, status });
  }
  const v1 = readInput('zipkin-v1.json');
  for (const [i, spans] of (v1.requests as any[][]).entries()) {
    const status = await post(`${targets.zipkin}/api/v1/spans`, 'application/json', JSON.stringify(zipkinV1('zipkin-v1-json', spans, baseUs)));
    sent.push({ protocol: 'zipkin-v1-json', what: `request ${i}`, status });
  }
  return sent;
}
