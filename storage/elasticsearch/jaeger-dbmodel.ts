/**
 * Spans as Jaeger's Elasticsearch storage keeps them (jaegertracing/jaeger `dbmodel`, the v1 `FromDomain` /
 * `ToDomain` pair), so Jaeger's query, Kibana dashboards and Jaeger's index cleaner read what Shipwatch writes.
 *
 * Document shape: `traceID` (Jaeger's `TraceID.String()`: 16 hex digits when the high half is zero, else 32),
 * `spanID` (16), `flags` (omitted when 0), `operationName`, `references` [{refType, traceID, spanID}], `startTime`
 * (µs), `startTimeMillis`, `duration` (µs), `tags` [{key, type, value}], `logs` [{timestamp, fields}], `process`
 * {serviceName, tags}. As in Jaeger 1.x every tag value is written as a string (bool `true`, int64 decimal, binary
 * hex); floats use the shortest text that reads back to the same number (Jaeger's Go writer uses 10 significant
 * digits, which loses precision beyond them).
 *
 * Beyond Jaeger's schema, and only when present: `scope` {tags} (OTLP scope attributes) and a reference's `tags`
 * (OTLP link attributes), in the same key/type/value form, so a trace reads back whole; the span mapping indexes
 * both as nested lists (jaeger-indices.ts) and tag searches match them (jaeger-query.ts), as the embedded store's do.
 *
 * Reading accepts both that form and Jaeger 2's typed values (JSON numbers and booleans), the promoted `tag` /
 * `process.tag` maps, and 16- or 32-digit ids. Pure: no I/O, never throws.
 */
import {
  jaegerTraceIdString,
  normaliseSpanId,
  normaliseTraceId,
  type KeyValue,
  type RefType,
  type Span,
  type SpanLog,
  type SpanRef,
  type TagType,
} from '../../model/span.js';

export interface DbKeyValue {
  key: string;
  type?: string;
  value: unknown;
}

export interface DbSpan {
  traceID: string;
  spanID: string;
  parentSpanID?: string;
  flags?: number;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string; tags?: DbKeyValue[] }> | null;
  startTime: number;
  startTimeMillis: number;
  duration: number;
  tags: DbKeyValue[] | null;
  tag?: Record<string, unknown>;
  logs: Array<{ timestamp: number; fields: DbKeyValue[] | null }> | null;
  process: { serviceName: string; tags: DbKeyValue[] | null; tag?: Record<string, unknown> };
  scope?: { tags: DbKeyValue[] | null };
}

export interface DbService {
  serviceName: string;
  operationName: string;
  /** Shipwatch's addition (Jaeger's service documents have no kind): lets operations be listed by span kind. */
  spanKind?: string;
}

function valueAsString(kv: KeyValue): string {
  switch (kv.type) {
    case 'string':
      return kv.value;
    case 'bool':
      return kv.value ? 'true' : 'false';
    case 'int64':
      return kv.value.toString();
    case 'float64':
      return String(kv.value);
    case 'binary':
      return Buffer.from(kv.value).toString('hex');
  }
}

function toDbKeyValues(kvs: KeyValue[]): DbKeyValue[] {
  return kvs.map((kv) => ({ key: kv.key, type: kv.type, value: valueAsString(kv) }));
}

export function spanToDb(span: Span): DbSpan {
  // Key order as Jaeger's Go struct writes them; flags is omitted when 0 (`omitempty`).
  return {
    traceID: jaegerTraceIdString(span.traceId),
    spanID: span.spanId,
    ...(span.flags !== 0 ? { flags: span.flags } : {}),
    operationName: span.operationName,
    references: span.references.map((r) => {
      const ref = { refType: r.refType, traceID: jaegerTraceIdString(r.traceId), spanID: r.spanId };
      return r.tags && r.tags.length > 0 ? { ...ref, tags: toDbKeyValues(r.tags) } : ref;
    }),
    startTime: span.startTimeMicros,
    startTimeMillis: Math.floor(span.startTimeMicros / 1000),
    duration: span.durationMicros,
    tags: toDbKeyValues(span.tags),
    logs: span.logs.map((l) => ({ timestamp: l.timestampMicros, fields: l.fields.length > 0 ? toDbKeyValues(l.fields) : null })),
    process: { serviceName: span.process.serviceName, tags: toDbKeyValues(span.process.tags) },
    ...(span.scope && span.scope.tags.length > 0 ? { scope: { tags: toDbKeyValues(span.scope.tags) } } : {}),
  };
}

/**
 * `JSON.stringify(spanToDb(span))`, the same text, written directly: the document objects took V8's slow path of
 * JSON.stringify (≈ 9 µs for a 1.4 KB span, most of the CPU of writing spans to Elasticsearch, with their id's
 * hash of the same text); this takes a third of that (docs/design/span-delivery.md).
 */
export function spanDocJson(span: Span): string {
  let out = `{"traceID":${jsonString(jaegerTraceIdString(span.traceId))},"spanID":${jsonString(span.spanId)}`;
  if (span.flags !== 0) out += `,"flags":${jsonNumber(span.flags)}`;
  out += `,"operationName":${jsonString(span.operationName)},"references":[`;
  for (let i = 0; i < span.references.length; i++) {
    const r = span.references[i]!;
    if (i > 0) out += ',';
    out += `{"refType":"${r.refType}","traceID":${jsonString(jaegerTraceIdString(r.traceId))},"spanID":${jsonString(r.spanId)}`;
    if (r.tags && r.tags.length > 0) out += `,"tags":${kvsJson(r.tags)}`;
    out += '}';
  }
  out += `],"startTime":${jsonNumber(span.startTimeMicros)},"startTimeMillis":${jsonNumber(Math.floor(span.startTimeMicros / 1000))},"duration":${jsonNumber(span.durationMicros)},"tags":${kvsJson(span.tags)},"logs":[`;
  for (let i = 0; i < span.logs.length; i++) {
    const l = span.logs[i]!;
    if (i > 0) out += ',';
    out += `{"timestamp":${jsonNumber(l.timestampMicros)},"fields":${l.fields.length > 0 ? kvsJson(l.fields) : 'null'}}`;
  }
  out += `],"process":{"serviceName":${jsonString(span.process.serviceName)},"tags":${kvsJson(span.process.tags)}}`;
  if (span.scope && span.scope.tags.length > 0) out += `,"scope":{"tags":${kvsJson(span.scope.tags)}}`;
  return out + '}';
}

function kvsJson(kvs: KeyValue[]): string {
  let out = '[';
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    if (i > 0) out += ',';
    out += `{"key":${jsonString(kv.key)},"type":"${kv.type}","value":${jsonString(valueAsString(kv))}}`;
  }
  return out + ']';
}

/** Printable ASCII but `"` and `\`: such a string is its own JSON text between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** As JSON.stringify writes a number (null for NaN and the infinities). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

// ---- reading ----

export type Decoded<T> = { ok: T } | { problem: string };

const TAG_TYPES = new Set<TagType>(['string', 'bool', 'int64', 'float64', 'binary']);

function fromDbKeyValue(kv: DbKeyValue): KeyValue | string {
  const type = (kv.type ?? 'string') as TagType;
  if (!TAG_TYPES.has(type)) return `unknown tag type ${String(kv.type)} of ${kv.key}`;
  const v = kv.value;
  if (v === null || v === undefined) return `tag ${kv.key} has no value`;
  switch (type) {
    case 'string':
      return { key: kv.key, type, value: typeof v === 'string' ? v : JSON.stringify(v) };
    case 'bool':
      if (typeof v === 'boolean') return { key: kv.key, type, value: v };
      if (v === 'true' || v === 'false') return { key: kv.key, type, value: v === 'true' };
      return `tag ${kv.key}: ${String(v)} is not a bool`;
    case 'int64': {
      const text = typeof v === 'number' ? (Number.isSafeInteger(v) ? String(v) : '') : String(v);
      if (!/^-?\d+$/.test(text)) return `tag ${kv.key}: ${String(v)} is not an int64`;
      const n = Number(text);
      return { key: kv.key, type, value: Number.isSafeInteger(n) ? n : BigInt(text) };
    }
    case 'float64': {
      if (typeof v === 'number') return { key: kv.key, type, value: v };
      const text = String(v).trim();
      const special: Record<string, number> = { NaN: NaN, '+Inf': Infinity, '-Inf': -Infinity, Infinity, '-Infinity': -Infinity };
      const n = text in special ? special[text]! : Number(text);
      if (text === '' || (Number.isNaN(n) && text !== 'NaN')) return `tag ${kv.key}: ${String(v)} is not a float64`;
      return { key: kv.key, type, value: n };
    }
    case 'binary': {
      if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(v)) return `tag ${kv.key}: binary value is not hex`;
      return { key: kv.key, type, value: new Uint8Array(Buffer.from(v, 'hex')) };
    }
  }
}

/** Jaeger's `tag` map (tags promoted to fields, dots replaced by `@`) back to typed tags. */
function fromTagMap(map: Record<string, unknown> | undefined, dotReplacement: string): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [k, v] of Object.entries(map ?? {})) {
    const key = k.split(dotReplacement).join('.');
    if (typeof v === 'boolean') out.push({ key, type: 'bool', value: v });
    else if (typeof v === 'number') out.push(Number.isInteger(v) ? { key, type: 'int64', value: v } : { key, type: 'float64', value: v });
    else out.push({ key, type: 'string', value: typeof v === 'string' ? v : JSON.stringify(v) });
  }
  return out;
}

function keyValues(list: DbKeyValue[] | null | undefined, problems: string[]): KeyValue[] {
  const out: KeyValue[] = [];
  for (const kv of list ?? []) {
    const r = fromDbKeyValue(kv);
    if (typeof r === 'string') problems.push(r);
    else out.push(r);
  }
  return out;
}

export function spanFromDb(doc: DbSpan, dotReplacement = '@'): Decoded<Span> {
  const traceId = normaliseTraceId(String(doc.traceID ?? ''));
  const spanId = normaliseSpanId(String(doc.spanID ?? ''));
  if (traceId === undefined || spanId === undefined) return { problem: `bad ids ${String(doc.traceID)}/${String(doc.spanID)}` };
  const problems: string[] = [];
  const references: SpanRef[] = [];
  for (const r of doc.references ?? []) {
    const t = normaliseTraceId(String(r.traceID ?? ''));
    const s = normaliseSpanId(String(r.spanID ?? ''));
    if (t === undefined || s === undefined) {
      problems.push(`bad reference ${String(r.traceID)}/${String(r.spanID)}`);
      continue;
    }
    const ref: SpanRef = { refType: (r.refType === 'FOLLOWS_FROM' ? 'FOLLOWS_FROM' : 'CHILD_OF') as RefType, traceId: t, spanId: s };
    if (Array.isArray(r.tags) && r.tags.length > 0) ref.tags = keyValues(r.tags, problems);
    references.push(ref);
  }
  const logs: SpanLog[] = (doc.logs ?? []).map((l) => ({ timestampMicros: Number(l.timestamp), fields: keyValues(l.fields, problems) }));
  const span: Span = {
    traceId,
    spanId,
    operationName: doc.operationName ?? '',
    references,
    flags: Number(doc.flags ?? 0),
    startTimeMicros: Number(doc.startTime),
    durationMicros: Number(doc.duration),
    tags: [...keyValues(doc.tags, problems), ...fromTagMap(doc.tag, dotReplacement)],
    logs,
    process: {
      serviceName: doc.process?.serviceName ?? '',
      tags: [...keyValues(doc.process?.tags, problems), ...fromTagMap(doc.process?.tag, dotReplacement)],
    },
  };
  if (Array.isArray(doc.scope?.tags) && doc.scope.tags.length > 0) span.scope = { tags: keyValues(doc.scope.tags, problems) };
  if (problems.length > 0) span.warnings = problems;
  return { ok: span };
}
