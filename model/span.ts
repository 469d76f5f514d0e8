/**
 * The one span model every trace protocol maps into, faithful to Jaeger's `model.Span`.
 *
 * Ids are lowercase hex: `traceId` always 32 characters (128 bits, zero-padded), `spanId` 16. Jaeger prints a
 * trace id whose high half is zero as 16 characters; `jaegerTraceIdString` does that at the API / ES boundary.
 * Times are microseconds since the epoch, as Jaeger stores them.
 */

export type TagType = 'string' | 'bool' | 'int64' | 'float64' | 'binary';

/**
 * A typed tag. An `int64` value is a `number` while it is a safe integer and a `bigint` beyond 2^53, so values
 * such as 2^63-1 survive exactly without paying for bigint on every small counter.
 */
export type KeyValue =
  | { key: string; type: 'string'; value: string; any?: OtlpAnyValue }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'int64'; value: number | bigint }
  | { key: string; type: 'float64'; value: number }
  | { key: string; type: 'binary'; value: Uint8Array };

/**
 * An OTLP array or map attribute value in the OTLP/JSON form (`{arrayValue: {values: [...]}}`,
 * `{kvlistValue: {values: [{key, value}]}}`, int64 as decimal strings, bytes as base64). Jaeger's v1 model keeps such
 * a value as a string tag holding its JSON (`value`); `any` on that tag is the value as sent, which API v3 returns.
 */
export type OtlpAnyValue = Record<string, unknown>;

export type RefType = 'CHILD_OF' | 'FOLLOWS_FROM';

export interface SpanRef {
  refType: RefType;
  traceId: string;
  spanId: string;
  /**
   * An OTLP link's attributes other than `opentracing.ref_type` (which `refType` holds); absent when there are none.
   * Jaeger's v1 model has no place for them: the v1 JSON leaves them out, API v3 returns them as the link's.
   */
  tags?: KeyValue[];
}

export interface SpanLog {
  timestampMicros: number;
  fields: KeyValue[];
}

export interface Process {
  serviceName: string;
  tags: KeyValue[];
}

/**
 * The OTLP instrumentation scope's attributes. Its name and version are the `otel.scope.name` / `otel.scope.version`
 * span tags, as Jaeger keeps them; the attributes have no place in Jaeger's v1 model (the v1 JSON leaves them out,
 * API v3 returns them). Spans of one scope share the object.
 */
export interface SpanScope {
  tags: KeyValue[];
}

/** An OTLP span link as sent (API v3 returns it so); `attributes` include `opentracing.ref_type` when it was sent. */
export interface OtlpLink {
  traceId: string;
  spanId: string;
  traceState?: string;
  flags?: number;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
}

/**
 * What an OTLP span carried that Jaeger's v1 model (the rest of `Span`) has no place for: API v3 returns the span as
 * sent, the v1 API the model. Present only on spans that came over OTLP.
 */
export interface SpanOtlp {
  /** The span's flags as sent (W3C trace flags and the OTLP bits above them), absent when 0. */
  flags?: number;
  /** `parentSpanId` as sent; absent when none (a child-of link does not make one). */
  parentSpanId?: string;
  /** The links as sent, absent when none. `references` hold them as Jaeger's translator makes them. */
  links?: OtlpLink[];
  /** Nanoseconds past `startTimeMicros` (1..999), absent when 0. */
  startNanos?: number;
  /** Nanoseconds past `durationMicros` (1..999), absent when 0: the end is start + duration exactly. */
  durationNanos?: number;
  /** Per log (event), nanoseconds past its `timestampMicros`; absent when all are 0. */
  eventNanos?: number[];
  /**
   * Per log (event), its name when an attribute named `event` kept it out of the v1 log ('' for the others); absent
   * when none did.
   */
  eventNames?: string[];
  /**
   * Dropped counts, absent when all are 0: the span's attributes, events and links, then (when any is not 0) the
   * resource's attributes, the scope's attributes and each event's attributes, in the events' order; trailing zeros
   * after the first three are left out.
   */
  dropped?: Dropped;
  /**
   * A Thrift span's `@jaeger@warnings` tag as sent (`warnings` holds its text first): Jaeger 2.x keeps it as the OTLP
   * attribute it was, which API v3 returns while `warnings` are the span's only ones.
   */
  warningsTag?: KeyValue;
}

/** `SpanOtlp.dropped`: span attributes, events, links, then resource attributes, scope attributes, each event's. */
export type Dropped = [number, number, number, ...number[]];

/** Where `SpanOtlp.dropped` holds the resource's and scope's dropped attributes count, and the first event's. */
export const DROPPED_RESOURCE = 3;
export const DROPPED_SCOPE = 4;
export const DROPPED_EVENTS = 5;

/** The dropped counts, trailing zeros after the first three left out; undefined when all are 0. */
export function droppedCounts(counts: number[]): Dropped | undefined {
  let n = counts.length;
  while (n > 3 && counts[n - 1] === 0) n--;
  for (let i = 0; i < n; i++) if (counts[i] !== 0) return (n === counts.length ? counts : counts.slice(0, n)) as Dropped;
  return undefined;
}

export interface Span {
  traceId: string;
  spanId: string;
  operationName: string;
  references: SpanRef[];
  flags: number;
  startTimeMicros: number;
  durationMicros: number;
  tags: KeyValue[];
  logs: SpanLog[];
  process: Process;
  /** Absent when the scope has no attributes. */
  scope?: SpanScope;
  warnings?: string[];
  /** Absent for spans that did not come over OTLP. */
  otlp?: SpanOtlp;
}

const ZERO16 = '0000000000000000';

/** Normalises any hex trace id (1..32 digits, any case) to 32 lowercase digits; undefined when it is not hex. */
export function normaliseTraceId(hex: string): string | undefined {
  if (hex.length === 0 || hex.length > 32 || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  return hex.toLowerCase().padStart(32, '0');
}

/** Normalises a hex span id (1..16 digits) to 16 lowercase digits; undefined when it is not hex. */
export function normaliseSpanId(hex: string): string | undefined {
  if (hex.length === 0 || hex.length > 16 || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  return hex.toLowerCase().padStart(16, '0');
}

/** Jaeger's `TraceID.String()`: 16 digits when the high half is zero, else 32. */
export function jaegerTraceIdString(traceId: string): string {
  return traceId.startsWith(ZERO16) ? traceId.slice(16) : traceId;
}

/**
 * The span's parent: the first CHILD_OF reference of the same trace (Jaeger's `ParentSpanID`). An OTLP span's parent
 * is the one it was sent with, none when it had none (a child-of link does not make one): Jaeger 2.x stores OTLP and
 * its memory store's dependencies and API v3 know that parent only.
 */
export function parentSpanId(span: Span): string | undefined {
  if (span.otlp !== undefined) return span.otlp.parentSpanId;
  for (const ref of span.references) {
    if (ref.refType === 'CHILD_OF' && ref.traceId === span.traceId) return ref.spanId;
  }
  return span.references.length > 0 ? span.references[0]!.spanId : undefined;
}

/** The span's `span.kind` tag (server, client, producer, consumer, internal), '' when it has none. */
export function spanKindOf(span: Span): string {
  for (const t of span.tags) if (t.key === 'span.kind' && t.type === 'string') return t.value;
  return '';
}

/**
 * Spans still in the form a receiver got them (Jaeger's agent datagrams in Thrift compact): checked whole on receipt,
 * turned into `Span` objects only by a storage that needs them. The embedded store writes such spans from their
 * bytes, without ever making the objects (model/jaeger-thrift/jaeger-compact-spans.ts, storage/sqlite/span-write.ts).
 */
export interface WireSpans {
  readonly count: number;
  /** The spans in the model; made on the first call and kept. */
  decode(): Span[];
}

/** What a receiver hands over at once: spans in the model, or still on the wire. */
export type SpanChunk = Span[] | WireSpans;

/** The number of spans of a chunk. */
export function chunkSize(chunk: SpanChunk): number {
  return Array.isArray(chunk) ? chunk.length : chunk.count;
}

/** The chunk's spans in the model. */
export function chunkSpans(chunk: SpanChunk): Span[] {
  return Array.isArray(chunk) ? chunk : chunk.decode();
}

/**
 * Where receivers hand decoded spans. 'busy' means the bounded storage queue is full: HTTP receivers answer
 * 429/503 with Retry-After, UDP receivers count a drop. A consumer never blocks the receiver.
 */
export interface SpanConsumer {
  consume(spans: SpanChunk): 'accepted' | 'busy';
  /**
   * Optional: resolves once the spans are kept durably ('accepted'), or 'busy' (the receiver answers 503 with
   * Retry-After) or 'failed' (the disk refused them). HTTP receivers answer behind it.
   */
  consumeDurably?(spans: SpanChunk): Promise<'accepted' | 'busy' | 'failed'>;
}
