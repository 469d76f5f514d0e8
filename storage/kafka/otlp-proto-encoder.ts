/**
 * OTLP JSON (`{ resourceSpans }`, as query/jaeger/otlp-json.ts renders spans) → the protobuf bytes of an
 * `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`: what Jaeger 2.x's Kafka exporter writes with
 * `otlp_proto`. Field numbers are those of opentelemetry-proto's trace.proto, common.proto and resource.proto; ids are
 * hex in JSON and bytes here, times and int64 decimal strings in JSON and fixed64 / varint here. A field holding its
 * default value is left out, as protobuf does.
 *
 * Each message is written into its own buffer and then framed by its length: traces of a few hundred spans make
 * shallow trees, so the copies cost little beside kafkajs's own encoding of the record batch.
 */

type Obj = Record<string, unknown>;

export class PbWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;

  private push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }

  private varint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.push(Buffer.from(bytes));
  }

  private smallVarint(value: number): void {
    if (value < 0x80) {
      this.push(Buffer.of(value));
      return;
    }
    this.varint(value);
  }

  private key(field: number, wire: number): void {
    this.smallVarint(field * 8 + wire);
  }

  uint(field: number, value: unknown): void {
    const n = Number(value ?? 0);
    if (!Number.isFinite(n) || n === 0) return;
    this.key(field, 0);
    this.varint(Math.trunc(n));
  }

  int64(field: number, value: unknown, always = false): void {
    const n = BigInt(String(value ?? '0'));
    if (n === 0n && !always) return;
    this.key(field, 0);
    this.varint(n);
  }

  /** A bool, written when false too (a oneof member is present whatever its value). */
  bool(field: number, value: unknown): void {
    this.key(field, 0);
    this.push(Buffer.of(value === true ? 1 : 0));
  }

  double(field: number, value: unknown, always = false): void {
    const n = typeof value === 'number' ? value : Number(value);
    if (n === 0 && !Object.is(n, -0) && !always) return;
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    this.push(b);
  }

  fixed64(field: number, value: unknown): void {
    const n = BigInt(String(value ?? '0'));
    if (n === 0n) return;
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, n));
    this.push(b);
  }

  fixed32(field: number, value: unknown): void {
    const n = Number(value ?? 0);
    if (n === 0) return;
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    this.push(b);
  }

  bytes(field: number, value: Buffer, always = false): void {
    if (value.length === 0 && !always) return;
    this.key(field, 2);
    this.smallVarint(value.length);
    this.push(value);
  }

  string(field: number, value: unknown): void {
    if (typeof value !== 'string' || value === '') return;
    this.bytes(field, Buffer.from(value, 'utf8'));
  }

  hex(field: number, value: unknown): void {
    if (typeof value !== 'string' || value === '') return;
    this.bytes(field, Buffer.from(value, 'hex'));
  }

  /** A sub-message, written even when empty (presence matters for message fields). */
  message(field: number, write: (w: PbWriter) => void): void {
    const inner = new PbWriter();
    write(inner);
    this.bytes(field, inner.finish(), true);
  }

  finish(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
  }
}

const list = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

function anyValue(w: PbWriter, v: Obj): void {
  if ('stringValue' in v) w.bytes(1, Buffer.from(String(v.stringValue), 'utf8'), true);
  else if ('boolValue' in v) w.bool(2, v.boolValue);
  else if ('intValue' in v) w.int64(3, v.intValue, true);
  else if ('doubleValue' in v) w.double(4, v.doubleValue, true);
  else if ('arrayValue' in v) w.message(5, (a) => { for (const x of list((v.arrayValue as Obj | undefined)?.values)) a.message(1, (e) => anyValue(e, x)); });
  else if ('kvlistValue' in v) w.message(6, (a) => { for (const kv of list((v.kvlistValue as Obj | undefined)?.values)) a.message(1, (e) => keyValue(e, kv)); });
  else if ('bytesValue' in v) w.bytes(7, Buffer.from(String(v.bytesValue), 'base64'), true);
}

function keyValue(w: PbWriter, kv: Obj): void {
  w.string(1, kv.key);
  if (kv.value !== undefined && kv.value !== null) w.message(2, (a) => anyValue(a, kv.value as Obj));
}

function attributes(w: PbWriter, field: number, attrs: unknown): void {
  for (const kv of list(attrs)) w.message(field, (e) => keyValue(e, kv));
}

function span(w: PbWriter, s: Obj): void {
  w.hex(1, s.traceId);
  w.hex(2, s.spanId);
  w.string(3, s.traceState);
  w.hex(4, s.parentSpanId);
  w.string(5, s.name);
  w.uint(6, s.kind);
  w.fixed64(7, s.startTimeUnixNano);
  w.fixed64(8, s.endTimeUnixNano);
  attributes(w, 9, s.attributes);
  w.uint(10, s.droppedAttributesCount);
  for (const e of list(s.events)) {
    w.message(11, (m) => {
      m.fixed64(1, e.timeUnixNano);
      m.string(2, e.name);
      attributes(m, 3, e.attributes);
      m.uint(4, e.droppedAttributesCount);
    });
  }
  w.uint(12, s.droppedEventsCount);
  for (const l of list(s.links)) {
    w.message(13, (m) => {
      m.hex(1, l.traceId);
      m.hex(2, l.spanId);
      m.string(3, l.traceState);
      attributes(m, 4, l.attributes);
      m.uint(5, l.droppedAttributesCount);
      m.fixed32(6, l.flags);
    });
  }
  w.uint(14, s.droppedLinksCount);
  const status = s.status as Obj | undefined;
  if (status !== undefined) {
    w.message(15, (m) => {
      m.string(2, status.message);
      m.uint(3, status.code);
    });
  }
  w.fixed32(16, s.flags);
}

/** The protobuf bytes of `{ resourceSpans }` as an ExportTraceServiceRequest. */
export function encodeExportTraceRequestProto(data: { resourceSpans: unknown[] }): Buffer {
  const w = new PbWriter();
  for (const rs of list(data.resourceSpans)) {
    w.message(1, (r) => {
      const resource = rs.resource as Obj | undefined;
      if (resource !== undefined) {
        r.message(1, (m) => {
          attributes(m, 1, resource.attributes);
          m.uint(2, resource.droppedAttributesCount);
        });
      }
      for (const ss of list(rs.scopeSpans)) {
        r.message(2, (m) => {
          const scope = ss.scope as Obj | undefined;
          if (scope !== undefined) {
            m.message(1, (sc) => {
              sc.string(1, scope.name);
              sc.string(2, scope.version);
              attributes(sc, 3, scope.attributes);
              sc.uint(4, scope.droppedAttributesCount);
            });
          }
          for (const s of list(ss.spans)) m.message(2, (sp) => span(sp, s));
          m.string(3, ss.schemaUrl);
        });
      }
      r.string(3, rs.schemaUrl);
    });
  }
  return w.finish();
}
