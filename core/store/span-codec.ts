/**
 * The compact serialisation of a span in the store's `spans.data` column, and the string form of tag values used by
 * the tag index. The columns already hold trace id, span id, operation, service, start and duration, so `data`
 * carries only the rest. Tags are `[key, type, value]` triples: int64 beyond 2^53 as a decimal string, binary as
 * base64, so every value survives exactly.
 */
import type { KeyValue, Span, SpanLog } from '../model/span.js';

export type EncodedKv = [string, string, unknown];
interface Encoded {
  /** references: [refType (0 CHILD_OF, 1 FOLLOWS_FROM), traceId, spanId] */
  r?: Array<[number, string, string]>;
  f?: number;
  t?: EncodedKv[];
  l?: Array<[number, EncodedKv[]]>;
  w?: string[];
}

const TYPE_CODE = { string: 's', bool: 'b', int64: 'i', float64: 'f', binary: 'x' } as const;

export function encodeKvs(kvs: KeyValue[]): EncodedKv[] {
  return kvs.map((kv): EncodedKv => {
    switch (kv.type) {
      case 'int64':
        return typeof kv.value === 'bigint' ? [kv.key, 'I', kv.value.toString()] : [kv.key, 'i', kv.value];
      case 'binary':
        return [kv.key, 'x', Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('base64')];
      case 'float64':
        // JSON has no NaN/Infinity: keep them as strings.
        return Number.isFinite(kv.value) ? [kv.key, 'f', kv.value] : [kv.key, 'F', String(kv.value)];
      default:
        return [kv.key, TYPE_CODE[kv.type], kv.value];
    }
  });
}

export function decodeKvs(kvs: EncodedKv[] | undefined): KeyValue[] {
  if (!kvs) return [];
  return kvs.map(([key, type, value]): KeyValue => {
    switch (type) {
      case 'b':
        return { key, type: 'bool', value: value as boolean };
      case 'i':
        return { key, type: 'int64', value: value as number };
      case 'I':
        return { key, type: 'int64', value: BigInt(value as string) };
      case 'f':
        return { key, type: 'float64', value: value as number };
      case 'F':
        return { key, type: 'float64', value: Number(value as string) };
      case 'x':
        return { key, type: 'binary', value: new Uint8Array(Buffer.from(value as string, 'base64')) };
      default:
        return { key, type: 'string', value: value as string };
    }
  });
}

/** The process tags column of `processes`. */
export function encodeProcessTags(tags: KeyValue[]): string {
  return JSON.stringify(encodeKvs(tags));
}

/** Span data without the process (stored once in `processes`). */
export function encodeSpanData(span: Span): string {
  const e: Encoded = {};
  if (span.references.length > 0) e.r = span.references.map((r) => [r.refType === 'FOLLOWS_FROM' ? 1 : 0, r.traceId, r.spanId]);
  if (span.flags !== 0) e.f = span.flags;
  if (span.tags.length > 0) e.t = encodeKvs(span.tags);
  if (span.logs.length > 0) e.l = span.logs.map((l) => [l.timestampMicros, encodeKvs(l.fields)]);
  if (span.warnings && span.warnings.length > 0) e.w = span.warnings;
  return JSON.stringify(e);
}

export interface SpanRow {
  trace_id: string;
  span_id: string;
  service: string;
  operation: string;
  start_us: number;
  duration_us: number;
  data: string;
  /** The process's encoded tags (joined from `processes`). */
  ptags: string;
}

export function decodeSpanRow(row: SpanRow): Span {
  const e = JSON.parse(row.data) as Encoded;
  const span: Span = {
    traceId: row.trace_id,
    spanId: row.span_id,
    operationName: row.operation,
    references: (e.r ?? []).map(([t, traceId, spanId]) => ({ refType: t === 1 ? 'FOLLOWS_FROM' : 'CHILD_OF', traceId, spanId })),
    flags: e.f ?? 0,
    startTimeMicros: row.start_us,
    durationMicros: row.duration_us,
    tags: decodeKvs(e.t),
    logs: (e.l ?? []).map(([ts, fields]): SpanLog => ({ timestampMicros: ts, fields: decodeKvs(fields) })),
    process: { serviceName: row.service, tags: decodeKvs(JSON.parse(row.ptags) as EncodedKv[]) },
  };
  if (e.w) span.warnings = e.w;
  return span;
}

/**
 * A tag value as text, as Jaeger's `KeyValue.AsString` writes it: the form tag searches compare with
 * (`error=true`, `http.status_code=200`, binary as hex).
 */
export function tagValueString(kv: KeyValue): string {
  switch (kv.type) {
    case 'string':
      return kv.value;
    case 'binary':
      return Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('hex');
    default:
      return String(kv.value);
  }
}

/** `span.kind` tag value (server, client, producer, consumer, internal) or ''. */
export function spanKindOf(span: Span): string {
  for (const t of span.tags) if (t.key === 'span.kind' && t.type === 'string') return t.value;
  return '';
}

/** The distinct (key, value-as-text) pairs of a span's tags and log fields: its rows in `span_tags`. */
export function spanTagPairs(tags: KeyValue[], logs: SpanLog[]): Array<[string, string]> {
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  const add = (kv: KeyValue): void => {
    const value = tagValueString(kv);
    const id = `${kv.key}\0${value}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push([kv.key, value]);
  };
  for (const kv of tags) add(kv);
  for (const log of logs) for (const kv of log.fields) add(kv);
  return out;
}
