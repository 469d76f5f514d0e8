/**
 * OTLP trace data → the span model, mapped as Jaeger v2 stores OTLP spans: its sanitizers first
 * (`internal/jptrace/sanitizer`: missing / wrong-type / empty `service.name`, end not after start),
 * then opentelemetry-collector-contrib `pkg/translator/jaeger` (`ProtoFromTraces`):
 *
 * - resource attributes → process tags; `service.name` → `process.serviceName`
 * - scope name / version → `otel.scope.name` / `otel.scope.version` span tags (first); scope attributes → `span.scope`
 *   (beyond Jaeger v1's model, as Jaeger v2 keeps them)
 * - span attributes, then `span.kind` (client/server/producer/consumer/internal; none when unspecified),
 *   `otel.status_code` (OK / ERROR), `error=true` on ERROR, `otel.status_description`, `w3c.tracestate`
 * - parentSpanId → the first reference, CHILD_OF; each link → a reference whose type is CHILD_OF when its
 *   `opentracing.ref_type` attribute is "child_of", else FOLLOWS_FROM (a link to the parent retypes the parent
 *   reference instead); its other attributes → the reference's `tags`; dropped counts are not kept
 * - events → logs: `event` = the name (unless an attribute named `event` exists), then the attributes
 * - flags: none (Jaeger's translator sets no v1 flags); times truncated to microseconds
 * - what the v1 model has no place for goes to `span.otlp`, for API v3 to return the span as sent: the flags, the
 *   parent and the links as sent, the nanoseconds of the times, the dropped counts (the span's, its resource's, its
 *   scope's, its events' and links'); array and map values, and a value with no variant set (`{}`), keep their OTLP
 *   form beside their JSON text (`any`)
 *
 * Input: an ExportTraceServiceRequest in the OTLP/JSON shape (hex ids, int64 as strings or numbers, AnyValue
 * objects; snake_case keys and the pre-1.0 `instrumentationLibrarySpans` are read too), or what
 * `otlp-protobuf.ts` decodes into the same shape. Pure and synchronous; never throws. A span that cannot be
 * mapped (bad ids, bad times, bad attribute values) is rejected and counted; a request whose structure is not an
 * ExportTraceServiceRequest at all is `malformed`.
 */
import { DROPPED_EVENTS, DROPPED_RESOURCE, DROPPED_SCOPE, droppedCounts, type Dropped, type KeyValue, type OtlpLink, type Process, type Span, type SpanLog, type SpanOtlp, type SpanRef, type SpanScope } from '../../../../model/span.js';
import { attributeToTag } from './otlp-any-value.js';
import { formatGoTime, readNanos, type NanoTime } from './otlp-time.js';

export interface OtlpTranslation {
  spans: Span[];
  /** Spans that could not be mapped (OTLP partial success `rejectedSpans`). */
  rejected: number;
  /** Why, one line per problem, at most MAX_ERRORS of them. */
  errors: string[];
  /** Set when the body is not an ExportTraceServiceRequest at all (answer 400). */
  malformed?: string;
}

export type { NanoTime };

const MAX_ERRORS = 10;
const SPAN_KINDS = ['', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5,
};
const STATUS_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `obj[camel]`, else `obj[snake]` (the Go collector's JSON reader takes both). */
function field(obj: Obj, camel: string, snake: string): unknown {
  const v = obj[camel];
  return v !== undefined ? v : obj[snake];
}

/** Lowercase hex of exactly `len` digits, '' for absent/empty, undefined when not hex of that length. */
export function readHexId(v: unknown, len: number): string | undefined {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || v.length !== len) return undefined;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = v.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) continue;
    if (c >= 65 && c <= 70) {
      upper = true;
      continue;
    }
    return undefined;
  }
  return upper ? v.toLowerCase() : v;
}

class Translation {
  readonly spans: Span[] = [];
  rejected = 0;
  readonly errors: string[] = [];

  reject(where: () => string, why: string): void {
    this.rejected++;
    if (this.errors.length < MAX_ERRORS) this.errors.push(`${where()}: ${why}`);
  }
}

/** Translates an ExportTraceServiceRequest (OTLP/JSON shape) into spans. */
export function otlpJsonToSpans(body: unknown): OtlpTranslation {
  if (!isObj(body)) return { spans: [], rejected: 0, errors: [], malformed: 'the body is not an ExportTraceServiceRequest object' };
  const resourceSpans = field(body, 'resourceSpans', 'resource_spans');
  if (resourceSpans === undefined || resourceSpans === null) return { spans: [], rejected: 0, errors: [] };
  if (!Array.isArray(resourceSpans)) return { spans: [], rejected: 0, errors: [], malformed: 'resourceSpans is not an array' };
  const t = new Translation();
  for (let r = 0; r < resourceSpans.length; r++) {
    const malformed = translateResource(resourceSpans[r], r, t);
    if (malformed !== undefined) return { spans: [], rejected: 0, errors: [], malformed };
  }
  return { spans: t.spans, rejected: t.rejected, errors: t.errors };
}

function translateResource(rs: unknown, r: number, t: Translation): string | undefined {
  if (rs === null || rs === undefined) return undefined;
  if (!isObj(rs)) return `resourceSpans[${r}] is not an object`;
  let scopeSpans = field(rs, 'scopeSpans', 'scope_spans');
  if (scopeSpans === undefined || scopeSpans === null) scopeSpans = field(rs, 'instrumentationLibrarySpans', 'instrumentation_library_spans');
  if (scopeSpans === undefined || scopeSpans === null) return undefined;
  if (!Array.isArray(scopeSpans)) return `resourceSpans[${r}].scopeSpans is not an array`;

  let process: Process | string | undefined; // built when the first span needs it; a string is why it cannot be
  let resourceDropped = 0;
  for (let s = 0; s < scopeSpans.length; s++) {
    const ss = scopeSpans[s];
    if (ss === null || ss === undefined) continue;
    if (!isObj(ss)) return `resourceSpans[${r}].scopeSpans[${s}] is not an object`;
    const spans = ss.spans;
    if (spans === undefined || spans === null) continue;
    if (!Array.isArray(spans)) return `resourceSpans[${r}].scopeSpans[${s}].spans is not an array`;
    if (spans.length === 0) continue;
    if (process === undefined) {
      process = buildProcess(rs.resource);
      resourceDropped = isObj(rs.resource) ? readCount(field(rs.resource, 'droppedAttributesCount', 'dropped_attributes_count')) : 0;
    }
    let scope = ss.scope;
    if (scope === undefined || scope === null) scope = field(ss, 'instrumentationLibrary', 'instrumentation_library');
    const scopeTags = buildScope(scope);
    const scopeDropped = isObj(scope) ? readCount(field(scope, 'droppedAttributesCount', 'dropped_attributes_count')) : 0;
    for (let i = 0; i < spans.length; i++) {
      const where = () => `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`;
      if (typeof process === 'string') {
        t.reject(where, process);
        continue;
      }
      if (typeof scopeTags === 'string') {
        t.reject(where, scopeTags);
        continue;
      }
      const out = translateSpan(spans[i], process, scopeTags.tags, scopeTags.scope, resourceDropped, scopeDropped);
      if (typeof out === 'string') t.reject(where, out);
      else t.spans.push(out);
    }
  }
  return undefined;
}

/** The resource's process, after Jaeger's service-name sanitizer; shared by every span of the resource. */
function buildProcess(resource: unknown): Process | string {
  const attrs = isObj(resource) ? resource.attributes : undefined;
  if (attrs !== undefined && attrs !== null && !Array.isArray(attrs)) return 'resource.attributes is not an array';
  let serviceName: string | undefined;
  const tags: KeyValue[] = [];
  for (const kv of (attrs as unknown[] | undefined) ?? []) {
    if (!isObj(kv) || typeof kv.key !== 'string') return 'a resource attribute has no string key';
    if (kv.key === 'service.name') {
      if (serviceName === undefined) {
        const sv = isObj(kv.value) ? kv.value.stringValue : undefined;
        serviceName = typeof sv !== 'string' ? 'service-name-wrong-type' : sv === '' ? 'empty-service-name' : sv;
      }
      continue;
    }
    const tag = attributeToTag(kv.key, kv.value);
    if (typeof tag === 'string') return `resource ${tag}`;
    tags.push(tag);
  }
  return { serviceName: serviceName ?? 'missing-service-name', tags };
}

/** The scope's name / version span tags and, when it has attributes, the `SpanScope` its spans share. */
function buildScope(scope: unknown): { tags: KeyValue[]; scope?: SpanScope } | string {
  if (scope === undefined || scope === null) return { tags: [] };
  if (!isObj(scope)) return 'scope is not an object';
  const tags: KeyValue[] = [];
  const { name, version } = scope;
  if (name !== undefined && name !== null && typeof name !== 'string') return 'scope.name is not a string';
  if (version !== undefined && version !== null && typeof version !== 'string') return 'scope.version is not a string';
  if (name) tags.push({ key: 'otel.scope.name', type: 'string', value: name });
  if (version) tags.push({ key: 'otel.scope.version', type: 'string', value: version });
  const attributes: KeyValue[] = [];
  const problem = appendAttributes(attributes, scope.attributes, 'scope.attributes');
  if (problem !== undefined) return problem;
  return attributes.length > 0 ? { tags, scope: { tags: attributes } } : { tags };
}

function readEnum(v: unknown, names: Record<string, number>): number | undefined {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'string') return names[v];
  return undefined;
}

function appendAttributes(dest: KeyValue[], attrs: unknown, what: string): string | undefined {
  if (attrs === undefined || attrs === null) return undefined;
  if (!Array.isArray(attrs)) return `${what} is not an array`;
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i] as unknown;
    if (!isObj(kv) || typeof kv.key !== 'string') return `${what}[${i}] has no string key`;
    const tag = attributeToTag(kv.key, kv.value);
    if (typeof tag === 'string') return tag;
    dest.push(tag);
  }
  return undefined;
}

function translateSpan(
  raw: unknown, process: Process, scopeTags: KeyValue[], scope: SpanScope | undefined, resourceDropped: number, scopeDropped: number,
): Span | string {
  if (!isObj(raw)) return 'the span is not an object';
  const traceId = readHexId(field(raw, 'traceId', 'trace_id'), 32);
  if (traceId === undefined) return 'traceId is not 32 hex digits';
  if (traceId === '' || traceId === ZERO_TRACE) return 'traceId is missing or all zeros';
  const spanId = readHexId(field(raw, 'spanId', 'span_id'), 16);
  if (spanId === undefined) return 'spanId is not 16 hex digits';
  if (spanId === '' || spanId === ZERO_SPAN) return 'spanId is missing or all zeros';
  const parent = readHexId(field(raw, 'parentSpanId', 'parent_span_id'), 16);
  if (parent === undefined) return 'parentSpanId is not 16 hex digits';

  const start = readNanos(field(raw, 'startTimeUnixNano', 'start_time_unix_nano') as NanoTime | undefined);
  if (start === undefined) return 'startTimeUnixNano is not a uint64';
  const startMicros = start.micros;
  const startRem = start.nanos;
  const end = readNanos(field(raw, 'endTimeUnixNano', 'end_time_unix_nano') as NanoTime | undefined);
  if (end === undefined) return 'endTimeUnixNano is not a uint64';

  let warnings: string[] | undefined;
  let durationMicros = 0;
  let durationNanos = 1; // the sanitized end below is start + 1ns
  const microsDiff = end.micros - startMicros;
  const nanosDiff = end.nanos - startRem;
  if (microsDiff > 0 || (microsDiff === 0 && nanosDiff > 0)) {
    // Go truncates the nanosecond duration toward zero: exact from the (micros, nanos) split at any size.
    durationMicros = nanosDiff >= 0 ? microsDiff : microsDiff - 1;
    durationNanos = nanosDiff >= 0 ? nanosDiff : nanosDiff + 1000;
  } else {
    // Jaeger's negative-duration sanitizer: the end becomes start + 1ns, which is 0µs.
    const adjusted = startRem === 999 ? { micros: startMicros + 1, nanos: 0 } : { micros: startMicros, nanos: startRem + 1 };
    warnings = [
      `Negative duration detected, sanitizing end timestamp. Original end timestamp: ${formatGoTime(end.micros, end.nanos)}, adjusted to: ${formatGoTime(adjusted.micros, adjusted.nanos)}`,
    ];
  }

  const name = raw.name;
  if (name !== undefined && name !== null && typeof name !== 'string') return 'name is not a string';

  // Tags in Jaeger's order: scope, attributes, kind, status code, error, status description, trace state.
  const tags: KeyValue[] = scopeTags.length > 0 ? scopeTags.slice() : [];
  const attrProblem = appendAttributes(tags, raw.attributes, 'attributes');
  if (attrProblem !== undefined) return attrProblem;
  const kind = readEnum(raw.kind, SPAN_KIND_NAMES);
  if (kind === undefined) return 'kind is not a SpanKind';
  if (kind >= 1 && kind <= 5) tags.push({ key: 'span.kind', type: 'string', value: SPAN_KINDS[kind]! });
  const status = raw.status;
  if (status !== undefined && status !== null) {
    if (!isObj(status)) return 'status is not an object';
    const code = readEnum(status.code, STATUS_NAMES);
    if (code === undefined) return 'status.code is not a StatusCode';
    if (code === 1) tags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
    else if (code === 2) {
      tags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' });
      tags.push({ key: 'error', type: 'bool', value: true });
    }
    const message = status.message;
    if (message !== undefined && message !== null && typeof message !== 'string') return 'status.message is not a string';
    if (message) tags.push({ key: 'otel.status_description', type: 'string', value: message });
  }
  const traceState = field(raw, 'traceState', 'trace_state');
  if (traceState !== undefined && traceState !== null && typeof traceState !== 'string') return 'traceState is not a string';
  if (traceState) tags.push({ key: 'w3c.tracestate', type: 'string', value: traceState });

  const references: SpanRef[] = [];
  const hasParent = parent !== '' && parent !== ZERO_SPAN;
  if (hasParent) references.push({ refType: 'CHILD_OF', traceId, spanId: parent });
  const otlp: SpanOtlp = {};
  const linkProblem = appendLinks(references, otlp, raw.links, traceId, hasParent ? parent : undefined);
  if (linkProblem !== undefined) return linkProblem;
  if (hasParent) otlp.parentSpanId = parent;

  const logs: SpanLog[] = [];
  const eventProblem = appendEvents(logs, otlp, raw.events);
  if (eventProblem !== undefined) return eventProblem;

  const flags = raw.flags;
  if (flags !== undefined && flags !== null && typeof flags !== 'number') return 'flags is not a uint32';
  if (typeof flags === 'number' && flags !== 0) otlp.flags = flags >>> 0;
  if (startRem !== 0) otlp.startNanos = startRem;
  if (durationNanos !== 0) otlp.durationNanos = durationNanos;
  const droppedAttributes = readCount(field(raw, 'droppedAttributesCount', 'dropped_attributes_count'));
  const droppedEvents = readCount(field(raw, 'droppedEventsCount', 'dropped_events_count'));
  const droppedLinks = readCount(field(raw, 'droppedLinksCount', 'dropped_links_count'));
  if (otlp.dropped !== undefined || droppedAttributes !== 0 || droppedEvents !== 0 || droppedLinks !== 0 || resourceDropped !== 0 || scopeDropped !== 0) {
    // (appendEvents made the array when an event's count is not 0)
    const counts = otlp.dropped ?? [0, 0, 0, 0, 0];
    counts[0] = droppedAttributes;
    counts[1] = droppedEvents;
    counts[2] = droppedLinks;
    counts[DROPPED_RESOURCE] = resourceDropped;
    counts[DROPPED_SCOPE] = scopeDropped;
    const dropped = droppedCounts(counts);
    if (dropped !== undefined) otlp.dropped = dropped;
    else delete otlp.dropped;
  }

  const span: Span = {
    traceId,
    spanId,
    operationName: name ?? '', // Jaeger 2.x keeps an OTLP span's empty name (its sanitizers rename none)
    references,
    flags: 0, // Jaeger's translator gives the v1 model no flags: its v1 API shows none (the flags sent: otlp.flags)
    startTimeMicros: startMicros,
    durationMicros,
    tags,
    logs,
    process,
  };
  if (scope !== undefined) span.scope = scope;
  if (warnings !== undefined) span.warnings = warnings;
  span.otlp = otlp;
  return span;
}

/** A uint32 count (JSON number or decimal string); 0 when absent or not one. */
function readCount(v: unknown): number {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v >>> 0 : 0;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v) >>> 0;
  return 0;
}

function appendLinks(refs: SpanRef[], otlp: SpanOtlp, links: unknown, traceId: string, parent: string | undefined): string | undefined {
  if (links === undefined || links === null) return undefined;
  if (!Array.isArray(links)) return 'links is not an array';
  const sent: OtlpLink[] = [];
  if (links.length > 0) otlp.links = sent;
  for (let i = 0; i < links.length; i++) {
    const link = links[i] as unknown;
    if (!isObj(link)) return `links[${i}] is not an object`;
    const linkTrace = readHexId(field(link, 'traceId', 'trace_id'), 32);
    if (linkTrace === undefined) return `links[${i}].traceId is not 32 hex digits`;
    const linkSpan = readHexId(field(link, 'spanId', 'span_id'), 16);
    if (linkSpan === undefined) return `links[${i}].spanId is not 16 hex digits`;
    let refType: SpanRef['refType'] = 'FOLLOWS_FROM';
    let refTypeSeen = false;
    const tags: KeyValue[] = [];
    const attributes: KeyValue[] = [];
    const attrs = link.attributes;
    if (attrs !== undefined && attrs !== null && !Array.isArray(attrs)) return `links[${i}].attributes is not an array`;
    for (const kv of (attrs as unknown[] | undefined | null) ?? []) {
      if (!isObj(kv) || typeof kv.key !== 'string') return `links[${i}].attributes has an attribute without a string key`;
      const tag = attributeToTag(kv.key, kv.value);
      if (typeof tag === 'string') return `links[${i}] ${tag}`;
      attributes.push(tag);
      if (kv.key === 'opentracing.ref_type' && !refTypeSeen) {
        refTypeSeen = true;
        if (isObj(kv.value) && kv.value.stringValue === 'child_of') refType = 'CHILD_OF';
        continue;
      }
      tags.push(tag);
    }
    const t = linkTrace === '' ? ZERO_TRACE : linkTrace;
    const s = linkSpan === '' ? ZERO_SPAN : linkSpan;
    const sentLink: OtlpLink = { traceId: t, spanId: s, attributes };
    const linkState = field(link, 'traceState', 'trace_state');
    if (typeof linkState === 'string' && linkState !== '') sentLink.traceState = linkState;
    const linkFlags = link.flags;
    if (typeof linkFlags === 'number' && linkFlags !== 0) sentLink.flags = linkFlags >>> 0;
    const linkDropped = readCount(field(link, 'droppedAttributesCount', 'dropped_attributes_count'));
    if (linkDropped !== 0) sentLink.droppedAttributesCount = linkDropped;
    sent.push(sentLink);
    if (parent !== undefined && t === traceId && s === parent) {
      refs[0]!.refType = refType; // the link names the parent: it retypes the parent reference
      if (tags.length > 0) refs[0]!.tags = tags;
      continue;
    }
    refs.push(tags.length > 0 ? { refType, traceId: t, spanId: s, tags } : { refType, traceId: t, spanId: s });
  }
  return undefined;
}

function appendEvents(logs: SpanLog[], otlp: SpanOtlp, events: unknown): string | undefined {
  if (events === undefined || events === null) return undefined;
  if (!Array.isArray(events)) return 'events is not an array';
  for (let i = 0; i < events.length; i++) {
    const ev = events[i] as unknown;
    if (!isObj(ev)) return `events[${i}] is not an object`;
    const time = readNanos(field(ev, 'timeUnixNano', 'time_unix_nano') as NanoTime | undefined);
    if (time === undefined) return `events[${i}].timeUnixNano is not a uint64`;
    const name = ev.name;
    if (name !== undefined && name !== null && typeof name !== 'string') return `events[${i}].name is not a string`;
    const fields: KeyValue[] = [];
    const attrs = ev.attributes;
    if (name && !hasKey(attrs, 'event')) fields.push({ key: 'event', type: 'string', value: name });
    else if (name) {
      if (otlp.eventNames === undefined) otlp.eventNames = new Array<string>(events.length).fill('');
      otlp.eventNames[i] = name;
    }
    const problem = appendAttributes(fields, attrs, `events[${i}].attributes`);
    if (problem !== undefined) return problem;
    logs.push({ timestampMicros: time.micros, fields });
    const dropped = readCount(field(ev, 'droppedAttributesCount', 'dropped_attributes_count'));
    if (dropped !== 0) {
      if (otlp.dropped === undefined) otlp.dropped = new Array<number>(DROPPED_EVENTS + events.length).fill(0) as Dropped;
      otlp.dropped[DROPPED_EVENTS + i] = dropped;
    }
    if (time.nanos !== 0) {
      if (otlp.eventNanos === undefined) otlp.eventNanos = new Array<number>(events.length).fill(0);
      otlp.eventNanos[i] = time.nanos;
    }
  }
  return undefined;
}

function hasKey(attrs: unknown, key: string): boolean {
  if (!Array.isArray(attrs)) return false;
  for (const kv of attrs as unknown[]) if (isObj(kv) && kv.key === key) return true;
  return false;
}
