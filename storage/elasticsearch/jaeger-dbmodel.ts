/**
 * Spans as Jaeger 2.x keeps them in Elasticsearch (jaegertracing/jaeger v1.75.0: the v2 trace writer's `ToDBModel`,
 * then the v1 span writer's tags-as-fields split, then Go's `encoding/json`), so Jaeger's query, Kibana dashboards
 * and Jaeger's index tools read what Shipwatch writes, and the other way round.
 *
 * Document shape, in Jaeger's key order: `traceID` (always 32 hex digits: Jaeger 2 looks a trace up by exactly that
 * term), `spanID` (16), `flags` (omitted when 0), `operationName`, `references` [{refType, traceID, spanID}] (null
 * when there are none), `startTime` (µs), `startTimeMillis`, `duration` (µs), `tags` [{key, type, value}], `tag`
 * {…} (omitted when empty), `logs` [{timestamp, fields}] (null when there are none), `process` {serviceName, tags,
 * tag}. A value is written with its JSON type: int64 a JSON number (exact beyond 2^53: the digits are written, not a
 * double), bool true/false, float64 a JSON number in Go's shortest form (NaN and the infinities, which Go's encoder
 * refuses, as the strings `NaN`, `+Inf`, `-Inf` that Jaeger's reader parses back), binary hex, string as is.
 *
 * An ERROR status is written as Jaeger writes it, `error=true` without `otel.status_code=ERROR`; a document reads as
 * Jaeger's round trip shows it (./jaeger-read-view.ts: kind and status tags after the others, the parent reference
 * first).
 *
 * Tags as fields: Jaeger 2 always promotes `span.kind` and `error` (any type but binary) from the nested `tags` /
 * `process.tags` lists into the `tag` / `process.tag` maps, dots in the key replaced by `@`, keys in byte order (a key
 * given twice: the last value; the earlier ones, which Jaeger drops, stay in the nested list, so a Zipkin span's
 * `error` text beside `error=true` reads back whole). With that split on, an empty tag list is written `[]`, never
 * null.
 *
 * Beyond Jaeger's schema, and only when present: `scope` {tags} (OTLP scope attributes), a reference's `tags`
 * (OTLP link attributes), `otlp` (what an OTLP span carried that Jaeger's model has no place for: flags, parent,
 * links as sent, nanoseconds, dropped counts) and a string tag's `any` (an OTLP array or map value as sent), tags in
 * the same key/type/value form, so a trace reads back whole; Jaeger's reader ignores them all (unknown fields). The span mapping indexes both as nested lists (jaeger-indices.ts) and tag searches match them
 * (jaeger-query.ts), as the embedded store's do.
 *
 * Reading accepts what Jaeger 2 writes, what older Shipwatch versions wrote (16-digit ids of 64-bit trace ids, every
 * value a string) and any `tag` / `process.tag` map; big integers arrive marked by ./exact-json.ts. Pure: no I/O,
 * never throws.
 */
import {
  normaliseSpanId,
  normaliseTraceId,
  type KeyValue,
  type OtlpLink,
  type RefType,
  type Span,
  type SpanLog,
  type SpanOtlp,
  type SpanRef,
  type TagType,
} from '../../model/span.js';
import { asString } from '../../model/jaeger-thrift/jaeger-otel-translate.js';
import { bigIntDigits } from './exact-json.js';
import { readViewReferences, readViewTags, roundTripParent } from './jaeger-read-view.js';

export interface DbKeyValue {
  key: string;
  type?: string;
  value: unknown;
  /** An OTLP array or map value as sent (a string tag's `any`). */
  any?: Record<string, unknown>;
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
  otlp?: DbOtlp;
}

/** `Span.otlp` (what an OTLP span carried beyond Jaeger's model), Shipwatch's field; not indexed. */
export interface DbOtlp {
  flags?: number;
  parentSpanID?: string;
  links?: Array<{ traceID: string; spanID: string; traceState?: string; flags?: number; droppedAttributesCount?: number; tags: DbKeyValue[] | null }>;
  startNanos?: number;
  durationNanos?: number;
  eventNanos?: number[];
  eventNames?: string[];
  dropped?: number[];
}

export interface DbService {
  serviceName: string;
  operationName: string;
  /** Shipwatch's addition (Jaeger's service documents have no kind): lets operations be listed by span kind. */
  spanKind?: string;
}

/** The tags Jaeger 2 always writes as fields (its Elasticsearch factory adds them to `tags.include`). */
export const TAGS_AS_FIELDS: ReadonlySet<string> = new Set(['span.kind', 'error']);

/** Jaeger's default `tags.dot_replacement`. */
export const DOT_REPLACEMENT = '@';

function isField(kv: KeyValue): boolean {
  return kv.type !== 'binary' && TAGS_AS_FIELDS.has(kv.key);
}

/**
 * Whether tag `i` of `kvs`, one Jaeger writes as a field, is overridden there: a later tag of its key takes the field
 * (`error` as text, as Zipkin sends an error, then `error=true` of the ERROR status). Jaeger's writer drops it; here
 * it stays in the nested list, which Jaeger's reader puts before the fields, so Jaeger shows the field's value as
 * from its own document, and Shipwatch shows both (`spanFromDb`).
 */
export function overriddenField(kvs: KeyValue[], i: number): boolean {
  const key = kvs[i]!.key;
  for (let j = i + 1; j < kvs.length; j++) if (kvs[j]!.key === key && kvs[j]!.type !== 'binary') return true;
  return false;
}

/**
 * Whether the span's `otel.status_code=ERROR` is left out: Jaeger writes an ERROR status as `error=true` alone (and
 * its reader shows both again, jaeger-read-view.ts).
 */
export function statusImplied(tags: KeyValue[]): boolean {
  let code = false;
  let error = false;
  for (let i = 0; i < tags.length; i++) {
    const kv = tags[i]!;
    if (kv.key === 'error') error ||= kv.type === 'bool' && kv.value;
    else if (kv.key === 'otel.status_code') code ||= kv.type === 'string' && kv.value === 'ERROR';
  }
  return code && error;
}

export function isImpliedStatus(kv: KeyValue): boolean {
  return kv.key === 'otel.status_code' && kv.type === 'string' && kv.value === 'ERROR';
}

/** Where Jaeger 2.x keeps a span's warnings: a string tag (`jptrace.WarningsAttribute`). */
export const WARNINGS_TAG = '@jaeger@warnings';

/**
 * The span's tags as its document's nested list holds them: its warnings after them as Jaeger 2.x writes them, a tag
 * `@jaeger@warnings`: a Thrift span's tag as it was sent while it holds the span's only warning
 * (`span.otlp.warningsTag`: Jaeger keeps it as the attribute it was), else the JSON text of the list (as Jaeger writes
 * the list its sanitizers make: Go's encoding/json of the OTLP array). Jaeger's v1 API shows the tag's text as one
 * warning (a list as its JSON text); Shipwatch reads the list back (`spanFromDb`).
 */
export function docTags(span: Span): KeyValue[] {
  const w = span.warnings;
  if (w === undefined || w.length === 0) return span.tags;
  const sent = span.otlp?.warningsTag;
  const tag: KeyValue = sent !== undefined && w.length === 1 ? { ...sent, key: WARNINGS_TAG } : { key: WARNINGS_TAG, type: 'string', value: goJsonStrings(w) };
  return [...span.tags, tag];
}

/** Go's encoding/json of a list of strings: as JSON.stringify, and <, >, &, U+2028, U+2029 escaped. */
function goJsonStrings(list: string[]): string {
  return JSON.stringify(list).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The warnings of a `@jaeger@warnings` text that is the JSON text of a list of strings; undefined otherwise. */
function warningList(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The JSON text of a float64 as Go's encoding/json writes it; NaN and the infinities as Go's strconv names them. */
function floatJson(n: number): string {
  if (Number.isFinite(n)) return Object.is(n, -0) ? '-0' : String(n);
  return Number.isNaN(n) ? '"NaN"' : n > 0 ? '"+Inf"' : '"-Inf"';
}

/** A tag's value as a JSON text, with its type. */
export function valueJson(kv: KeyValue): string {
  switch (kv.type) {
    case 'string':
      return jsonString(kv.value);
    case 'bool':
      return kv.value ? 'true' : 'false';
    case 'int64':
      return typeof kv.value === 'bigint' ? kv.value.toString() : String(kv.value);
    case 'float64':
      return floatJson(kv.value);
    case 'binary':
      return `"${Buffer.from(kv.value).toString('hex')}"`;
  }
}

/** A tag's value in the document object (bigint stays bigint; see `docJsonOf`). */
function dbValue(kv: KeyValue): unknown {
  switch (kv.type) {
    case 'float64':
      return Number.isFinite(kv.value) ? kv.value : JSON.parse(floatJson(kv.value));
    case 'binary':
      return Buffer.from(kv.value).toString('hex');
    default:
      return kv.value;
  }
}

function toDbKeyValues(kvs: KeyValue[], split: boolean, dropStatus = false): DbKeyValue[] {
  const out: DbKeyValue[] = [];
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    if (split && isField(kv) && !overriddenField(kvs, i)) continue;
    if (dropStatus && isImpliedStatus(kv)) continue;
    out.push(kv.type === 'string' && kv.any !== undefined ? { key: kv.key, type: kv.type, value: kv.value, any: kv.any } : { key: kv.key, type: kv.type, value: dbValue(kv) });
  }
  return out;
}

/** The promoted tags as Jaeger's `tag` map, keys in byte order; undefined when there are none. */
function toTagMap(kvs: KeyValue[]): Record<string, unknown> | undefined {
  const entries = fieldEntries(kvs);
  if (entries === undefined) return undefined;
  const map: Record<string, unknown> = {};
  for (const [k, kv] of entries) map[k] = dbValue(kv);
  return map;
}

/** [field name, tag] of the promoted tags, the last of a key kept, sorted by name; undefined when none. */
function fieldEntries(kvs: KeyValue[]): Array<[string, KeyValue]> | undefined {
  let byName: Map<string, KeyValue> | undefined;
  for (const kv of kvs) {
    if (!isField(kv)) continue;
    byName ??= new Map();
    byName.set(kv.key.split('.').join(DOT_REPLACEMENT), kv);
  }
  if (byName === undefined) return undefined;
  return [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The span's flags as Jaeger writes them: the OTLP span's (`otlp.flags`); the v1 model's (0 for spans that came through
 * Jaeger's translation, as its v1 API shows none) otherwise.
 */
export function docFlags(span: Span): number {
  return span.otlp?.flags ?? span.flags;
}

/**
 * The document object. Its JSON text is `spanDocJson(span)` (./span-doc-bytes.ts); an int64 beyond 2^53 is a
 * bigint here, which JSON.stringify cannot write: the text is made by the span document writer alone.
 */
export function spanToDb(span: Span): DbSpan {
  const tag = toTagMap(span.tags);
  const processTag = toTagMap(span.process.tags);
  return {
    traceID: span.traceId,
    spanID: span.spanId,
    ...(docFlags(span) !== 0 ? { flags: docFlags(span) } : {}),
    operationName: span.operationName,
    references: span.references.length === 0 ? null : span.references.map((r) => {
      const ref = { refType: r.refType, traceID: r.traceId, spanID: r.spanId };
      return r.tags && r.tags.length > 0 ? { ...ref, tags: toDbKeyValues(r.tags, false) } : ref;
    }),
    startTime: span.startTimeMicros,
    startTimeMillis: Math.floor(span.startTimeMicros / 1000),
    duration: span.durationMicros,
    tags: toDbKeyValues(docTags(span), true, statusImplied(span.tags)),
    ...(tag ? { tag } : {}),
    logs: span.logs.length === 0 ? null : span.logs.map((l) => ({ timestamp: l.timestampMicros, fields: toDbKeyValues(l.fields, false) })),
    process: { serviceName: span.process.serviceName, tags: toDbKeyValues(span.process.tags, true), ...(processTag ? { tag: processTag } : {}) },
    ...(span.scope && span.scope.tags.length > 0 ? { scope: { tags: toDbKeyValues(span.scope.tags, false) } } : {}),
    ...(span.otlp ? { otlp: toDbOtlp(span.otlp) } : {}),
  };
}

function toDbOtlp(o: SpanOtlp): DbOtlp {
  const out: DbOtlp = {};
  if (o.flags) out.flags = o.flags;
  if (o.parentSpanId !== undefined) out.parentSpanID = o.parentSpanId;
  if (o.links !== undefined) {
    out.links = o.links.map((l) => ({
      traceID: l.traceId,
      spanID: l.spanId,
      ...(l.traceState ? { traceState: l.traceState } : {}),
      ...(l.flags ? { flags: l.flags } : {}),
      ...(l.droppedAttributesCount ? { droppedAttributesCount: l.droppedAttributesCount } : {}),
      tags: toDbKeyValues(l.attributes, false),
    }));
  }
  if (o.startNanos) out.startNanos = o.startNanos;
  if (o.durationNanos) out.durationNanos = o.durationNanos;
  if (o.eventNanos !== undefined) out.eventNanos = o.eventNanos;
  if (o.eventNames !== undefined) out.eventNames = o.eventNames;
  if (o.dropped !== undefined) out.dropped = o.dropped;
  return out;
}

/** `toDbOtlp` as JSON text, the same text JSON.stringify makes of it (bigints as digits). */
export function otlpJson(o: SpanOtlp): string {
  const parts: string[] = [];
  if (o.flags) parts.push(`"flags":${jsonNumber(o.flags)}`);
  if (o.parentSpanId !== undefined) parts.push(`"parentSpanID":${jsonString(o.parentSpanId)}`);
  if (o.links !== undefined) {
    const links = o.links.map((l) => {
      let out = `{"traceID":${jsonString(l.traceId)},"spanID":${jsonString(l.spanId)}`;
      if (l.traceState) out += `,"traceState":${jsonString(l.traceState)}`;
      if (l.flags) out += `,"flags":${jsonNumber(l.flags)}`;
      if (l.droppedAttributesCount) out += `,"droppedAttributesCount":${jsonNumber(l.droppedAttributesCount)}`;
      return `${out},"tags":${kvsJson(l.attributes)}}`;
    });
    parts.push(`"links":[${links.join(',')}]`);
  }
  if (o.startNanos) parts.push(`"startNanos":${jsonNumber(o.startNanos)}`);
  if (o.durationNanos) parts.push(`"durationNanos":${jsonNumber(o.durationNanos)}`);
  if (o.eventNanos !== undefined) parts.push(`"eventNanos":${JSON.stringify(o.eventNanos)}`);
  if (o.eventNames !== undefined) parts.push(`"eventNames":${JSON.stringify(o.eventNames)}`);
  if (o.dropped !== undefined) parts.push(`"dropped":${JSON.stringify(o.dropped)}`);
  return `{${parts.join(',')}}`;
}

/** The nested key/type/value list of a link's attributes (the span document's lists: ./span-doc-bytes.ts). */
function kvsJson(kvs: KeyValue[]): string {
  let out = '[';
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    if (i > 0) out += ',';
    out += `{"key":${jsonString(kv.key)},"type":"${kv.type}","value":${valueJson(kv)}`;
    out += kv.type === 'string' && kv.any !== undefined ? `,"any":${JSON.stringify(kv.any)}}` : '}';
  }
  return out + ']';
}

/** `lead` and the `tag` map of the promoted tags, or '' when there are none. */
export function tagMapJson(kvs: KeyValue[], lead: string): string {
  // The promoted keys are `error` and `span.kind` (TAGS_AS_FIELDS), in that byte order as fields; the last of each.
  let error: KeyValue | undefined;
  let kind: KeyValue | undefined;
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    if (kv.type === 'binary') continue;
    if (kv.key === 'span.kind') kind = kv;
    else if (kv.key === 'error') error = kv;
  }
  if (error === undefined && kind === undefined) return '';
  if (error === undefined) return `${lead}{"span${DOT_REPLACEMENT}kind":${valueJson(kind!)}}`;
  if (kind === undefined) return `${lead}{"error":${valueJson(error)}}`;
  return `${lead}{"error":${valueJson(error)},"span${DOT_REPLACEMENT}kind":${valueJson(kind)}}`;
}

/** Printable ASCII but `"` and `\`: such a string is its own JSON text between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** As JSON.stringify writes a number (null for NaN and the infinities). */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

// ---- reading ----

export type Decoded<T> = { ok: T } | { problem: string };

const TAG_TYPES = new Set<TagType>(['string', 'bool', 'int64', 'float64', 'binary']);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseBool. */
const BOOL_TEXT: Record<string, boolean> = { 1: true, t: true, T: true, TRUE: true, true: true, True: true, 0: false, f: false, F: false, FALSE: false, false: false, False: false };

/** An int64 from decimal digits: a number while safe, else a bigint; undefined outside int64. */
function int64Of(digits: string): number | bigint | undefined {
  const n = Number(digits);
  if (Number.isSafeInteger(n)) return n;
  const b = BigInt(digits);
  return b < INT64_MIN || b > INT64_MAX ? undefined : b;
}

function fromDbKeyValue(kv: DbKeyValue): KeyValue | string {
  const type = (kv.type ?? 'string') as TagType;
  if (!TAG_TYPES.has(type)) return `unknown tag type ${String(kv.type)} of ${kv.key}`;
  const v = kv.value;
  if (v === null || v === undefined) return `tag ${kv.key} has no value`;
  const big = bigIntDigits(v);
  switch (type) {
    case 'string': {
      const value = big ?? (typeof v === 'string' ? v : JSON.stringify(v));
      return kv.any !== undefined && kv.any !== null && typeof kv.any === 'object' ? { key: kv.key, type, value, any: kv.any } : { key: kv.key, type, value };
    }
    case 'bool': {
      if (typeof v === 'boolean') return { key: kv.key, type, value: v };
      const b = typeof v === 'string' ? BOOL_TEXT[v] : undefined;
      if (b !== undefined) return { key: kv.key, type, value: b };
      return `tag ${kv.key}: ${String(v)} is not a bool`;
    }
    case 'int64': {
      // Jaeger 2 writes a JSON number (marked when beyond 2^53), older Shipwatch versions decimal text.
      if (typeof v === 'number' && Number.isFinite(v)) return { key: kv.key, type, value: Number.isSafeInteger(v) ? v : Math.trunc(v) };
      const text = big ?? String(v).trim();
      const n = /^[+-]?\d+$/.test(text) ? int64Of(text) : undefined;
      if (n === undefined) return `tag ${kv.key}: ${String(v)} is not an int64`;
      return { key: kv.key, type, value: n };
    }
    case 'float64': {
      if (typeof v === 'number') return { key: kv.key, type, value: v };
      const text = big ?? String(v).trim();
      const special: Record<string, number> = { NaN: NaN, Inf: Infinity, '+Inf': Infinity, '-Inf': -Infinity, Infinity, '+Infinity': Infinity, '-Infinity': -Infinity };
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

/**
 * A `tag` map (tags promoted to fields, dots replaced by `dotReplacement`) back to typed tags, as Jaeger's reader
 * types them: a JSON integer within int64 is an int64, any other number a float64. `span.kind` first, then the rest
 * in the map's order (a span's kind comes before its status tags where Jaeger translates OTLP).
 */
function fromTagMap(map: Record<string, unknown> | undefined, dotReplacement: string): KeyValue[] {
  const out: KeyValue[] = [];
  if (map === undefined || map === null || typeof map !== 'object') return out;
  for (const [k, v] of Object.entries(map)) {
    const key = k.split(dotReplacement).join('.');
    const big = bigIntDigits(v);
    let kv: KeyValue;
    if (big !== undefined) {
      const n = int64Of(big);
      kv = n === undefined ? { key, type: 'float64', value: Number(big) } : { key, type: 'int64', value: n };
    } else if (typeof v === 'boolean') kv = { key, type: 'bool', value: v };
    else if (typeof v === 'number') kv = Number.isInteger(v) ? { key, type: 'int64', value: v } : { key, type: 'float64', value: v };
    else kv = { key, type: 'string', value: typeof v === 'string' ? v : JSON.stringify(v) };
    if (key === 'span.kind') out.unshift(kv);
    else out.push(kv);
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

/**
 * The span's tags from its nested list and its fields, as Jaeger's round trip shows them (`readViewTags`); a nested
 * tag of a key also written as a field is one the field overrode (`overriddenField`): it is kept as it was, in its
 * place, beside the field (Jaeger's reader shows the field alone; its own writer drops such a tag).
 */
function spanTags(nested: KeyValue[], fields: KeyValue[]): KeyValue[] {
  if (fields.length === 0 || !nested.some((kv) => kv.type !== 'binary' && TAGS_AS_FIELDS.has(kv.key) && fields.some((f) => f.key === kv.key))) {
    return readViewTags([...nested, ...fields]);
  }
  const kept: Array<[number, KeyValue]> = [];
  const rest: KeyValue[] = [];
  for (let i = 0; i < nested.length; i++) {
    const kv = nested[i]!;
    if (kv.type !== 'binary' && TAGS_AS_FIELDS.has(kv.key) && fields.some((f) => f.key === kv.key)) kept.push([i, kv]);
    else rest.push(kv);
  }
  const out = readViewTags([...rest, ...fields]).slice();
  for (const [i, kv] of kept) out.splice(Math.min(i, out.length), 0, kv);
  return out;
}

/** The warnings a document's `@jaeger@warnings` tags hold, and the tag a Thrift span sent them in. */
interface StoredWarnings {
  list: string[];
  sent?: KeyValue;
}

/**
 * `tags` without their `@jaeger@warnings` tags, whose warnings go to `into`: the list the JSON text of a list of
 * strings holds, else the tag's text as one warning, the tag kept as sent (`span.otlp.warningsTag`). (Jaeger's own
 * reader shows any such text as one warning: a list its sanitizers wrote shows as its JSON text; Shipwatch shows the
 * warnings, as Jaeger's memory store does.)
 */
function takeWarnings(tags: KeyValue[], into: StoredWarnings): KeyValue[] {
  if (!tags.some((kv) => kv.key === WARNINGS_TAG)) return tags;
  return tags.filter((kv) => {
    if (kv.key !== WARNINGS_TAG) return true;
    const list = kv.type === 'string' ? warningList(kv.value) : undefined;
    if (list !== undefined) into.list.push(...list);
    else {
      into.list.push(asString(kv));
      into.sent = kv;
    }
    return false;
  });
}

export function spanFromDb(doc: DbSpan, dotReplacement = DOT_REPLACEMENT): Decoded<Span> {
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
  // Jaeger 1.x documents may name the parent only in the deprecated `parentSpanID`: Jaeger's reader takes it as the
  // parent when no reference of the same trace names one.
  const parent = doc.parentSpanID ? normaliseSpanId(String(doc.parentSpanID)) : undefined;
  if (parent !== undefined && parent !== '0000000000000000' && !references.some((r) => r.traceId === traceId)) {
    references.unshift({ refType: 'CHILD_OF', traceId, spanId: parent });
  }
  const refs = readViewReferences(traceId, references);
  const warnings: StoredWarnings = { list: [] };
  const logs: SpanLog[] = (doc.logs ?? []).map((l) => ({ timestampMicros: Number(l.timestamp), fields: keyValues(l.fields, problems) }));
  const span: Span = {
    traceId,
    spanId,
    operationName: doc.operationName ?? '',
    references: refs,
    // Jaeger's v1 API shows no flags (they do not survive its translation of OTLP): the document's go to `otlp`.
    flags: 0,
    startTimeMicros: Number(doc.startTime),
    durationMicros: Number(doc.duration),
    tags: spanTags(takeWarnings(keyValues(doc.tags, problems), warnings), takeWarnings(fromTagMap(doc.tag, dotReplacement), warnings)),
    logs,
    process: {
      serviceName: doc.process?.serviceName ?? '',
      tags: [...keyValues(doc.process?.tags, problems), ...fromTagMap(doc.process?.tag, dotReplacement)],
    },
  };
  if (Array.isArray(doc.scope?.tags) && doc.scope.tags.length > 0) span.scope = { tags: keyValues(doc.scope.tags, problems) };
  if (doc.otlp !== undefined && doc.otlp !== null && typeof doc.otlp === 'object') span.otlp = fromDbOtlp(doc.otlp, traceId, problems);
  // Only where the v1 model cannot say it: flags, or references none of which is into the span's trace (the model
  // would take the first as the parent; Jaeger takes none).
  else if (Number(doc.flags ?? 0) !== 0 || (references.length > 0 && !references.some((r) => r.traceId === traceId))) {
    span.otlp = jaegerOtlp(Number(doc.flags ?? 0) >>> 0, traceId, references);
  }
  if (warnings.sent !== undefined && warnings.list.length === 1) {
    span.otlp = { ...(span.otlp ?? jaegerOtlp(Number(doc.flags ?? 0) >>> 0, traceId, references)), warningsTag: warnings.sent };
  }
  if (warnings.list.length + problems.length > 0) span.warnings = [...warnings.list, ...problems];
  return { ok: span };
}

function fromDbOtlp(d: DbOtlp, traceId: string, problems: string[]): SpanOtlp {
  const o: SpanOtlp = {};
  if (typeof d.flags === 'number' && d.flags !== 0) o.flags = d.flags;
  if (typeof d.parentSpanID === 'string') o.parentSpanId = d.parentSpanID;
  if (Array.isArray(d.links)) {
    o.links = d.links.map((l): OtlpLink => {
      const link: OtlpLink = {
        traceId: normaliseTraceId(String(l.traceID ?? '')) ?? traceId,
        spanId: normaliseSpanId(String(l.spanID ?? '')) ?? '0000000000000000',
        attributes: keyValues(l.tags, problems),
      };
      if (l.traceState) link.traceState = String(l.traceState);
      if (l.flags) link.flags = Number(l.flags);
      if (l.droppedAttributesCount) link.droppedAttributesCount = Number(l.droppedAttributesCount);
      return link;
    });
  }
  if (typeof d.startNanos === 'number' && d.startNanos !== 0) o.startNanos = d.startNanos;
  if (typeof d.durationNanos === 'number' && d.durationNanos !== 0) o.durationNanos = d.durationNanos;
  if (Array.isArray(d.eventNanos)) o.eventNanos = d.eventNanos.map(Number);
  if (Array.isArray(d.eventNames)) o.eventNames = d.eventNames.map(String);
  if (Array.isArray(d.dropped) && d.dropped.length >= 3) o.dropped = d.dropped.map(Number) as [number, number, number, ...number[]];
  return o;
}

/**
 * `Span.otlp` of a document without an `otlp` field (Jaeger wrote it, or an older Shipwatch), with flags or with
 * references only into other traces:
 * the OTLP span Jaeger's reader makes of it (`FromDBModel`), which its API v3 returns: the flags, the parent
 * (`roundTripParent`) and every other reference as a link with its `opentracing.ref_type`.
 */
function jaegerOtlp(flags: number, traceId: string, refs: SpanRef[]): SpanOtlp {
  const o: SpanOtlp = flags !== 0 ? { flags } : {};
  const parent = roundTripParent(traceId, refs);
  if (parent !== undefined) o.parentSpanId = parent;
  const links = refs
    .filter((r) => !(r.refType === 'CHILD_OF' && r.spanId === parent))
    .map((r): OtlpLink => ({
      traceId: r.traceId,
      spanId: r.spanId,
      attributes: [{ key: 'opentracing.ref_type', type: 'string', value: r.refType === 'CHILD_OF' ? 'child_of' : 'follows_from' }, ...(r.tags ?? [])],
    }));
  if (links.length > 0) o.links = links;
  return o;
}
