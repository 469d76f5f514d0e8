/**
 * `jaeger_json`: one Jaeger model.proto Span per Kafka message in the JSON gogo/protobuf's jsonpb writes for it, as
 * Jaeger's Kafka exporter and receiver do: field names in lowerCamelCase (`traceId`, `operationName`, `startTime`,
 * `vType`, …), fields holding their default value left out, ids as the base64 of their bytes (16 and 8: what Jaeger
 * 1.75's exporter was seen to write), times as RFC 3339 text and durations as seconds (`"2.5s"`), enums by name
 * (`"FOLLOWS_FROM"`, `"INT64"`), int64 as decimal text, binary values in base64.
 *
 * Reading, as jsonpb does, takes the proto's own names too (`trace_id`, `v_type`), enums by number and int64 as
 * numbers; an id may also be hex (other Jaeger versions print ids so). A message is read by writing it as the model.proto Span it stands for (./jaeger-proto-encoder.ts's field
 * numbers), so the ingester translates it exactly as a `jaeger_proto` one. Pure: no I/O, never throws.
 */
import type { KeyValue, Span } from '../../model/span.js';
import { PbWriter } from './otlp-proto-encoder.js';

const VALUE_TYPES = ['STRING', 'BOOL', 'INT64', 'FLOAT64', 'BINARY'] as const;
const VALUE_TYPE_OF = { string: 'STRING', bool: 'BOOL', int64: 'INT64', float64: 'FLOAT64', binary: 'BINARY' } as const;

/** An id (hex) as jsonpb writes it: the base64 of its bytes. */
function idText(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** µs (+ ns) → RFC 3339 with as many fractional digits as needed (jsonpb: 0, 3, 6 or 9). */
function timestampText(micros: number, extraNanos = 0): string {
  const seconds = Math.floor(micros / 1e6);
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}${fraction((micros - seconds * 1e6) * 1000 + extraNanos)}Z`;
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  return '.' + (digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits);
}

function durationText(micros: number, extraNanos = 0): string {
  const seconds = Math.floor(micros / 1e6);
  return `${seconds}${fraction((micros - seconds * 1e6) * 1000 + extraNanos)}s`;
}

function keyValueJson(kv: KeyValue): Record<string, unknown> {
  const out: Record<string, unknown> = { key: kv.key };
  if (kv.type !== 'string') out['vType'] = VALUE_TYPE_OF[kv.type];
  switch (kv.type) {
    case 'string': if (kv.value !== '') out['vStr'] = kv.value; break;
    case 'bool': if (kv.value) out['vBool'] = true; break;
    case 'int64': if (BigInt(kv.value) !== 0n) out['vInt64'] = String(kv.value); break;
    case 'float64': if (kv.value !== 0) out['vFloat64'] = Number.isFinite(kv.value) ? kv.value : String(kv.value); break;
    case 'binary': if (kv.value.length > 0) out['vBinary'] = Buffer.from(kv.value).toString('base64'); break;
  }
  return out;
}

export function encodeJaegerJsonSpan(s: Span): Buffer {
  const out: Record<string, unknown> = { traceId: idText(s.traceId), spanId: idText(s.spanId) };
  if (s.operationName !== '') out['operationName'] = s.operationName;
  if (s.references.length > 0) {
    out['references'] = s.references.map((r) => ({
      traceId: idText(r.traceId), spanId: idText(r.spanId), ...(r.refType === 'FOLLOWS_FROM' ? { refType: 'FOLLOWS_FROM' } : {}),
    }));
  }
  if (s.flags !== 0) out['flags'] = s.flags;
  out['startTime'] = timestampText(s.startTimeMicros, s.otlp?.startNanos ?? 0);
  out['duration'] = durationText(s.durationMicros, s.otlp?.durationNanos ?? 0);
  if (s.tags.length > 0) out['tags'] = s.tags.map(keyValueJson);
  if (s.logs.length > 0) out['logs'] = s.logs.map((l) => ({ timestamp: timestampText(l.timestampMicros), ...(l.fields.length > 0 ? { fields: l.fields.map(keyValueJson) } : {}) }));
  out['process'] = { serviceName: s.process.serviceName, ...(s.process.tags.length > 0 ? { tags: s.process.tags.map(keyValueJson) } : {}) };
  if (s.warnings !== undefined && s.warnings.length > 0) out['warnings'] = s.warnings;
  return Buffer.from(JSON.stringify(out), 'utf8');
}

// ---- reading ----

type Obj = Record<string, unknown>;

class Invalid extends Error {}

/** A field by its jsonpb name or its proto name. */
function field(o: Obj, camel: string, snake: string): unknown {
  return o[camel] ?? o[snake];
}

/** An id: the base64 of its bytes (jsonpb), or hex of at most `maxDigits` digits. */
function hexId(v: unknown, what: string, maxDigits: number): Buffer {
  if (v === undefined || v === null) return Buffer.alloc(maxDigits / 2);
  if (typeof v === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length === 4 * Math.ceil(maxDigits / 6)) {
    const bytes = Buffer.from(v, 'base64');
    if (bytes.length === maxDigits / 2) return bytes;
  }
  if (typeof v !== 'string' || !/^[0-9a-fA-F]+$/.test(v) || v.length > maxDigits) throw new Invalid(`${what}: ${JSON.stringify(v)} is neither the base64 of ${maxDigits / 2} bytes nor hex of at most ${maxDigits} digits`);
  return Buffer.from(v.padStart(maxDigits, '0'), 'hex');
}

function int64Of(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if ((typeof v === 'string' && /^-?\d+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v))) return BigInt(v);
  throw new Invalid(`${what}: ${JSON.stringify(v)} is not an int64`);
}

function enumOf(v: unknown, names: readonly string[], what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  const i = typeof v === 'string' ? names.indexOf(v) : -1;
  if (i < 0) throw new Invalid(`${what}: ${JSON.stringify(v)} is not one of ${names.join(', ')}`);
  return i;
}

/** RFC 3339 → seconds and nanos. */
function timestamp(w: PbWriter, v: unknown, what: string): void {
  const m = typeof v === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(v) : null;
  if (m === null) throw new Invalid(`${what}: ${JSON.stringify(v)} is not an RFC 3339 time`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(ms)) throw new Invalid(`${what}: ${JSON.stringify(v)} is not an RFC 3339 time`);
  w.int64(1, Math.floor(ms / 1000));
  w.uint(2, Number((m[2] ?? '').padEnd(9, '0')));
}

/** `"1.5s"` → seconds and nanos. */
function duration(w: PbWriter, v: unknown, what: string): void {
  const m = typeof v === 'string' ? /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
  if (m === null) throw new Invalid(`${what}: ${JSON.stringify(v)} is not a duration ("1.5s")`);
  const sign = m[1] === '-' ? -1n : 1n;
  w.int64(1, sign * BigInt(m[2]!));
  w.int64(2, sign * BigInt((m[3] ?? '').padEnd(9, '0')));
}

function list(v: unknown, what: string): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => x === null || typeof x !== 'object')) throw new Invalid(`${what}: a list of objects was expected`);
  return v as Obj[];
}

function keyValue(w: PbWriter, kv: Obj, what: string): void {
  w.string(1, kv['key']);
  const type = enumOf(field(kv, 'vType', 'v_type'), VALUE_TYPES, `${what}.vType`);
  w.uint(2, type);
  w.string(3, field(kv, 'vStr', 'v_str'));
  if (field(kv, 'vBool', 'v_bool') === true) w.bool(4, true);
  const i = int64Of(field(kv, 'vInt64', 'v_int64'), `${what}.vInt64`);
  if (i !== 0n) w.int64(5, i);
  const f = field(kv, 'vFloat64', 'v_float64');
  if (f !== undefined && f !== null) w.double(6, typeof f === 'string' ? Number(f) : f);
  const b = field(kv, 'vBinary', 'v_binary');
  if (typeof b === 'string' && b !== '') w.bytes(7, Buffer.from(b, 'base64'));
}

function writeSpan(w: PbWriter, o: Obj): void {
  w.bytes(1, hexId(field(o, 'traceId', 'trace_id'), 'traceId', 32));
  w.bytes(2, hexId(field(o, 'spanId', 'span_id'), 'spanId', 16));
  w.string(3, field(o, 'operationName', 'operation_name'));
  for (const [i, r] of list(o['references'], 'references').entries()) {
    w.message(4, (m) => {
      m.bytes(1, hexId(field(r, 'traceId', 'trace_id'), `references[${i}].traceId`, 32));
      m.bytes(2, hexId(field(r, 'spanId', 'span_id'), `references[${i}].spanId`, 16));
      m.uint(3, enumOf(field(r, 'refType', 'ref_type'), ['CHILD_OF', 'FOLLOWS_FROM'], `references[${i}].refType`));
    });
  }
  const flags = o['flags'];
  if (flags !== undefined && flags !== null) {
    if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0) throw new Invalid(`flags: ${JSON.stringify(flags)} is not a uint32`);
    w.uint(5, flags);
  }
  const start = field(o, 'startTime', 'start_time');
  if (start !== undefined && start !== null) w.message(6, (m) => timestamp(m, start, 'startTime'));
  const d = o['duration'];
  if (d !== undefined && d !== null) w.message(7, (m) => duration(m, d, 'duration'));
  for (const [i, t] of list(o['tags'], 'tags').entries()) w.message(8, (m) => keyValue(m, t, `tags[${i}]`));
  for (const [i, l] of list(o['logs'], 'logs').entries()) {
    w.message(9, (m) => {
      if (l['timestamp'] !== undefined) m.message(1, (ts) => timestamp(ts, l['timestamp'], `logs[${i}].timestamp`));
      for (const [k, f] of list(l['fields'], `logs[${i}].fields`).entries()) m.message(2, (kv) => keyValue(kv, f, `logs[${i}].fields[${k}]`));
    });
  }
  const p = o['process'];
  if (p !== undefined && p !== null) {
    if (typeof p !== 'object' || Array.isArray(p)) throw new Invalid('process: an object was expected');
    w.message(10, (m) => {
      m.string(1, field(p as Obj, 'serviceName', 'service_name'));
      for (const [i, t] of list((p as Obj)['tags'], 'process.tags').entries()) m.message(2, (kv) => keyValue(kv, t, `process.tags[${i}]`));
    });
  }
  for (const warning of Array.isArray(o['warnings']) ? o['warnings'] : []) w.string(12, warning);
}

/** A `jaeger_json` message → the model.proto Span bytes it stands for, or why it is not one. */
export function jaegerJsonToProto(value: Buffer): { ok: true; bytes: Buffer } | { ok: false; reason: string } {
  let o: unknown;
  try {
    o = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return { ok: false, reason: 'not a JSON object: a Jaeger Span was expected' };
  try {
    const w = new PbWriter();
    writeSpan(w, o as Obj);
    return { ok: true, bytes: w.finish() };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message };
    return { ok: false, reason: `not a Jaeger Span: ${(err as Error).message}` };
  }
}
