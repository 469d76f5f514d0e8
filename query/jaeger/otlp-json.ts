/**
 * Spans → OTLP JSON (`TracesData`), as Jaeger v2's API v3 returns a stored trace: the reverse of the collector's
 * OTLP translation (opentelemetry-collector-contrib `pkg/translator/jaeger` `ProtoToTraces`).
 *
 * - one resourceSpans per distinct process: `service.name`, then the process tags
 * - one scopeSpans per `otel.scope.name` / `otel.scope.version` (or `otel.library.*`) pair and scope attributes
 *   (`span.scope`), tags removed
 * - `span.kind` → kind; `otel.status_code` / `otel.status_description`, or `error=true`, → status;
 *   `w3c.tracestate` → traceState; those tags removed from the attributes
 * - the parent reference → parentSpanId; every other reference → a link with `opentracing.ref_type`, then the
 *   reference's own tags (the link's other attributes); a parent reference with tags is a link as well, as received
 * - logs → events (`event` field → name)
 * - the dropped counts an OTLP span was sent with (`span.otlp.dropped`): the span's, its resource's, scope's, events'
 *   and links'
 *
 * OTLP JSON encoding: hex ids, times and int64 as decimal strings, enums as numbers, bytes as base64.
 */
import { DROPPED_EVENTS, DROPPED_RESOURCE, DROPPED_SCOPE, parentSpanId, type KeyValue, type OtlpLink, type Span } from '../../model/span.js';
import { warningsAddedByAdjusters } from './adjust.js';

type AnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number | string } | { bytesValue: string };
export interface OtlpAttribute {
  key: string;
  value: AnyValue;
}

const KINDS: Record<string, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const MOVED_TAGS = new Set(['span.kind', 'otel.status_code', 'otel.status_description', 'w3c.tracestate',
  'otel.scope.name', 'otel.scope.version', 'otel.library.name', 'otel.library.version']);

function anyValue(kv: KeyValue): AnyValue {
  switch (kv.type) {
    case 'string':
      return kv.any !== undefined ? (kv.any as AnyValue) : { stringValue: kv.value };
    case 'bool':
      return { boolValue: kv.value };
    case 'int64':
      return { intValue: kv.value.toString() };
    case 'float64':
      return { doubleValue: Number.isFinite(kv.value) ? kv.value : String(kv.value) };
    case 'binary':
      return { bytesValue: Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('base64') };
  }
}

export function otlpAttributes(kvs: KeyValue[]): OtlpAttribute[] {
  return kvs.map((kv) => ({ key: kv.key, value: anyValue(kv) }));
}

function microsToNanos(us: number, nanos = 0): string {
  return (BigInt(Math.round(us)) * 1000n + BigInt(nanos)).toString();
}

/** A time field, left out when zero: protobuf's JSON leaves out a field holding its default value. */
function setTime(out: Record<string, unknown>, field: string, nanos: string): void {
  if (nanos !== '0') out[field] = nanos;
}

/** The OTLP links of a span that came over OTLP, as sent. */
function sentLinks(links: OtlpLink[]): unknown[] {
  return links.map((l) => {
    const out: Record<string, unknown> = { traceId: l.traceId, spanId: l.spanId };
    if (l.traceState) out.traceState = l.traceState;
    if (l.attributes.length > 0) out.attributes = otlpAttributes(l.attributes);
    if (l.droppedAttributesCount) out.droppedAttributesCount = l.droppedAttributesCount;
    if (l.flags) out.flags = l.flags;
    return out;
  });
}

/** The span's warnings as Jaeger v2 keeps them on an OTLP span: a string array attribute. */
function warningsAttribute(warnings: string[]): OtlpAttribute {
  return { key: '@jaeger@warnings', value: { arrayValue: { values: warnings.map((w) => ({ stringValue: w })) } } as unknown as AnyValue };
}

/** An OTLP span as sent (with what the query's adjusters changed). */
function encodeSentSpan(span: Span): Record<string, unknown> {
  const otlp = span.otlp!;
  const statusCode = str(span.tags, 'otel.status_code');
  const status: Record<string, unknown> = {};
  let errorAt = -1; // the error tag the translator appended after an ERROR status
  if (statusCode === 'ERROR') {
    status.code = 2;
    for (let i = span.tags.length - 1; i >= 0; i--) {
      const t = span.tags[i]!;
      if (t.key === 'error' && t.type === 'bool' && t.value === true) {
        errorAt = i;
        break;
      }
    }
  } else if (statusCode === 'OK') status.code = 1;
  const description = str(span.tags, 'otel.status_description');
  if (description !== undefined) status.message = description;
  const kept = span.tags.filter((t, i) => i !== errorAt && !MOVED_TAGS.has(t.key));
  const attributes = otlpAttributes(kept);
  const out: Record<string, unknown> = { traceId: span.traceId, spanId: span.spanId };
  const traceState = str(span.tags, 'w3c.tracestate');
  if (traceState) out.traceState = traceState;
  if (otlp.parentSpanId !== undefined) out.parentSpanId = otlp.parentSpanId;
  if (otlp.flags) out.flags = otlp.flags;
  if (span.operationName !== '') out.name = span.operationName;
  const kind = KINDS[str(span.tags, 'span.kind') ?? ''];
  if (kind !== undefined) out.kind = kind;
  const startNanos = otlp.startNanos ?? 0;
  setTime(out, 'startTimeUnixNano', microsToNanos(span.startTimeMicros, startNanos));
  setTime(out, 'endTimeUnixNano', microsToNanos(span.startTimeMicros + span.durationMicros, startNanos + (otlp.durationNanos ?? 0)));
  if (attributes.length > 0) out.attributes = attributes;
  if (otlp.dropped && otlp.dropped[0]) out.droppedAttributesCount = otlp.dropped[0];
  if (span.logs.length > 0) {
    out.events = span.logs.map((log, i) => {
      const sentName = otlp.eventNames?.[i];
      // an event whose `event` attribute kept its name out of the log has it in eventNames, the attribute stays
      const name = sentName ? undefined : log.fields.find((f) => f.key === 'event' && f.type === 'string');
      const ev: Record<string, unknown> = { timeUnixNano: microsToNanos(log.timestampMicros, otlp.eventNanos?.[i] ?? 0) };
      if (sentName) ev.name = sentName;
      else if (name) ev.name = name.value;
      const rest = log.fields.filter((f) => f !== name);
      if (rest.length > 0) ev.attributes = otlpAttributes(rest);
      const dropped = otlp.dropped?.[DROPPED_EVENTS + i];
      if (dropped) ev.droppedAttributesCount = dropped;
      return ev;
    });
  }
  if (otlp.dropped && otlp.dropped[1]) out.droppedEventsCount = otlp.dropped[1];
  if (otlp.links && otlp.links.length > 0) out.links = sentLinks(otlp.links);
  if (otlp.dropped && otlp.dropped[2]) out.droppedLinksCount = otlp.dropped[2];
  out.status = status;
  return out;
}

function str(tags: KeyValue[], key: string): string | undefined {
  const t = tags.find((x) => x.key === key);
  return t === undefined ? undefined : String(t.value);
}

function encodeSpan(span: Span): Record<string, unknown> {
  if (span.otlp !== undefined) return encodeSentSpan(span);
  const parent = parentSpanId(span);
  const statusCode = str(span.tags, 'otel.status_code');
  const errorTag = span.tags.find((t) => t.key === 'error' && t.type === 'bool' && t.value === true);
  const status: Record<string, unknown> = {};
  const dropError = errorTag !== undefined && (statusCode === undefined || statusCode === 'ERROR');
  if (statusCode === 'ERROR' || (statusCode === undefined && errorTag !== undefined)) status.code = 2;
  else if (statusCode === 'OK') status.code = 1;
  const description = str(span.tags, 'otel.status_description');
  if (description !== undefined && status.code === 2) status.message = description;
  const attributes = otlpAttributes(span.tags.filter((t) => !MOVED_TAGS.has(t.key) && !(dropError && t === errorTag)));
  let parentUsed = false;
  const links = span.references
    .filter((r) => {
      if (!parentUsed && parent !== undefined && r.spanId === parent && r.traceId === span.traceId) {
        parentUsed = true;
        return r.tags !== undefined && r.tags.length > 0;
      }
      return true;
    })
    .map((r) => ({
      traceId: r.traceId,
      spanId: r.spanId,
      attributes: [
        { key: 'opentracing.ref_type', value: { stringValue: r.refType === 'FOLLOWS_FROM' ? 'follows_from' : 'child_of' } },
        ...otlpAttributes(r.tags ?? []),
      ],
    }));
  const out: Record<string, unknown> = { traceId: span.traceId, spanId: span.spanId };
  const traceState = str(span.tags, 'w3c.tracestate');
  if (traceState) out.traceState = traceState;
  if (parent !== undefined) out.parentSpanId = parent;
  if (span.flags !== 0) out.flags = span.flags;
  if (span.operationName !== '') out.name = span.operationName;
  const kind = KINDS[str(span.tags, 'span.kind') ?? ''];
  if (kind !== undefined) out.kind = kind;
  setTime(out, 'startTimeUnixNano', microsToNanos(span.startTimeMicros));
  setTime(out, 'endTimeUnixNano', microsToNanos(span.startTimeMicros + span.durationMicros));
  if (attributes.length > 0) out.attributes = attributes;
  if (span.logs.length > 0) {
    out.events = span.logs.map((log) => {
      const name = log.fields.find((f) => f.key === 'event' && f.type === 'string');
      const ev: Record<string, unknown> = { timeUnixNano: microsToNanos(log.timestampMicros) };
      if (name) ev.name = name.value;
      const rest = log.fields.filter((f) => f !== name);
      if (rest.length > 0) ev.attributes = otlpAttributes(rest);
      return ev;
    });
  }
  if (links.length > 0) out.links = links;
  out.status = status;
  return out;
}

function byKey(a: OtlpAttribute, b: OtlpAttribute): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The span's warnings as Jaeger v2 keeps them (`@jaeger@warnings`), and when `sorted` (the query's adjusters ran)
 * its attributes, events (by name) and links' attributes sorted, as Jaeger's SortCollections adjuster leaves them.
 * A warnings attribute made by the adjusters themselves comes after the sorted ones, as Jaeger appends it.
 */
function finishSpan(span: Span, out: Record<string, unknown>, sorted: boolean): Record<string, unknown> {
  let attributes = (out.attributes as OtlpAttribute[] | undefined) ?? [];
  const sent = span.otlp?.warningsTag;
  // A Thrift span's @jaeger@warnings tag is the attribute Jaeger keeps, as sent, while it holds the span's only
  // warning (Jaeger's own would be added to it as to an array).
  const warnings = sent !== undefined && span.warnings?.length === 1
    ? { key: '@jaeger@warnings', value: anyValue(sent) }
    : span.warnings && span.warnings.length > 0 ? warningsAttribute(span.warnings) : undefined;
  const appended = warnings !== undefined && sorted && warningsAddedByAdjusters.has(span);
  if (warnings !== undefined && !appended) attributes.push(warnings);
  if (sorted) {
    attributes.sort(byKey);
    const events = out.events as Array<{ name?: string; attributes?: OtlpAttribute[] }> | undefined;
    if (events !== undefined) {
      events.sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0));
      for (const e of events) e.attributes?.sort(byKey);
    }
    const links = out.links as Array<{ attributes?: OtlpAttribute[] }> | undefined;
    if (links !== undefined) for (const l of links) l.attributes?.sort(byKey);
  }
  if (appended) attributes.push(warnings);
  if (attributes.length > 0 && out.attributes === undefined) {
    // keep the field order of the encoders: attributes before events, links and status
    const rebuilt: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(out)) {
      if (k === 'events' || k === 'droppedAttributesCount' || k === 'links' || k === 'status' || k === 'droppedEventsCount' || k === 'droppedLinksCount') {
        if (!('attributes' in rebuilt)) rebuilt.attributes = attributes;
      }
      rebuilt[k] = v;
    }
    if (!('attributes' in rebuilt)) rebuilt.attributes = attributes;
    return rebuilt;
  }
  return out;
}

/**
 * `{ resourceSpans: [...] }` for the spans (of one or more traces), in their order; `sorted` when the query's
 * adjusters ran (attributes sorted by key, events by name).
 */
export function toOtlpTracesData(spans: Span[], sorted = false): { resourceSpans: unknown[] } {
  const resources = new Map<string, { resource: unknown; scopes: Map<string, { scope: Record<string, unknown>; spans: unknown[] }> }>();
  for (const span of spans) {
    const resourceDropped = span.otlp?.dropped?.[DROPPED_RESOURCE] ?? 0;
    const resourceKey = JSON.stringify([span.process.serviceName, otlpAttributes(span.process.tags), resourceDropped]);
    let res = resources.get(resourceKey);
    if (!res) {
      const attributes = [{ key: 'service.name', value: { stringValue: span.process.serviceName } }, ...otlpAttributes(span.process.tags)];
      if (sorted) attributes.sort(byKey);
      res = { resource: resourceDropped ? { attributes, droppedAttributesCount: resourceDropped } : { attributes }, scopes: new Map() };
      resources.set(resourceKey, res);
    }
    const name = str(span.tags, 'otel.scope.name') ?? str(span.tags, 'otel.library.name');
    const version = str(span.tags, 'otel.scope.version') ?? str(span.tags, 'otel.library.version');
    const scopeAttributes = span.scope && span.scope.tags.length > 0 ? otlpAttributes(span.scope.tags) : undefined;
    const scopeDropped = span.otlp?.dropped?.[DROPPED_SCOPE] ?? 0;
    const scopeKey = `${name ?? ''}\0${version ?? ''}\0${scopeAttributes ? JSON.stringify(scopeAttributes) : ''}\0${scopeDropped}`;
    let scope = res.scopes.get(scopeKey);
    if (!scope) {
      const s: Record<string, unknown> = {};
      if (name) s.name = name;
      if (version) s.version = version;
      if (scopeAttributes) s.attributes = sorted ? scopeAttributes.slice().sort(byKey) : scopeAttributes;
      if (scopeDropped) s.droppedAttributesCount = scopeDropped;
      scope = { scope: s, spans: [] };
      res.scopes.set(scopeKey, scope);
    }
    scope.spans.push(finishSpan(span, encodeSpan(span), sorted));
  }
  return {
    resourceSpans: [...resources.values()].map((r) => ({
      resource: r.resource,
      scopeSpans: [...r.scopes.values()].map((s) => ({ scope: s.scope, spans: s.spans })),
    })),
  };
}
