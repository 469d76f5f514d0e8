/**
 * A decoded Jaeger Thrift span and process as Jaeger 2.x shows them. Jaeger 2.x takes Thrift through OpenTelemetry:
 * opentelemetry-collector-contrib's `pkg/translator/jaeger` (`ThriftToTraces`) makes OTLP of it, Jaeger's storage
 * sanitizers (`internal/jptrace/sanitizer`) clean that, and its v1 API makes the Jaeger model of the OTLP again
 * (`ProtoFromTraces`, then the `@jaeger@warnings` attribute moved to the span's warnings). The round trip is what
 * its users see; this is that round trip, rule for rule:
 *
 * - tags, process tags and log fields are a map: a repeated key keeps its first place and its last value; removing a
 *   key moves the map's last entry into its place (pcommon.Map.Remove), which is why orders change below
 * - process: no `service.name` when the service is "" → `missing-service-name`; a `service.name` tag overrides the
 *   service (not a string → `service-name-wrong-type`, "" → `empty-service-name`); `hostname` → `host.name` (unless
 *   that exists), `jaeger.version` → `opencensus.exporterversion` = "Jaeger-" + its text (unless that exists)
 * - parent: `parentSpanId`, else the first CHILD_OF reference into the same trace, else the first FOLLOWS_FROM one;
 *   references: the parent first (CHILD_OF), then every reference but CHILD_OF ones naming the parent's span id, a
 *   reference to the parent span itself retyping the first; an unknown reference type is FOLLOWS_FROM
 * - `span.kind` → the span's kind (server/client/producer/consumer/internal, anything else none): the tag goes and
 *   comes back after the other tags; `error=true` (bool) → status ERROR (the tag goes), else `otel.status_code`
 *   (OK / ERROR, any case; always removed), else `http.status_code` (int or decimal string: 100–398 unset, 4xx unset
 *   on a server and ERROR on a client, anything else ERROR); the message from `otel.status_description` (removed),
 *   or `http.status_message`; then after the tags: `span.kind`, `otel.status_code`, `error=true`,
 *   `otel.status_description`
 * - an operation name that is not UTF-8 → `invalid-span-name`, its bytes in a binary tag of that name; a span or
 *   process tag value that is not UTF-8 → a binary tag; a key that is not → `invalid-tag-key-N` holding "key:value"
 * - a duration not above zero → 0, with Jaeger's warning naming the end it had and the one it got (start + 1 ns)
 * - a tag `@jaeger@warnings` → the span's warnings (its text), the tag removed; for API v3 the tag as sent, which
 *   Jaeger keeps as the span's attribute (`span.otlp.warningsTag`)
 * - flags are not carried (0); a log's `event` field → the event's name, written first again when not empty
 * - a span with every field zero and no lists is dropped
 * - for API v3, where a span is its OTLP form: links are every reference but CHILD_OF ones naming the parent, each
 *   with its `opentracing.ref_type`, and a sanitized span ends 1 ns after its start (`span.otlp`)
 */
import type { KeyValue, OtlpLink, Process, Span, SpanLog, SpanOtlp, SpanRef } from '../span.js';
import { formatGoTime } from '../../collector/traces/codecs/otlp/otlp-time.js';

/** A reference as Thrift sends it: refType 0 CHILD_OF, 1 FOLLOWS_FROM, anything else taken as FOLLOWS_FROM. */
export interface ThriftRef {
  refType: number;
  traceId: string;
  spanId: string;
}

/** A tag whose key was not UTF-8: its bytes. */
export type BadKeys = Map<KeyValue, Uint8Array>;

export interface ThriftSpanFields {
  traceId: string;
  spanId: string;
  /** 16 hex digits; all zeros when none. */
  parentId: string;
  refs: ThriftRef[];
  operationName: string;
  /** The operation name's bytes when they are not UTF-8. */
  badName: Uint8Array | undefined;
  startTimeMicros: number;
  durationMicros: number;
  tags: KeyValue[];
  badKeys: BadKeys | undefined;
  logs: SpanLog[];
  /** Every field zero / empty and no list sent: Go's `DeepEqual` with a blank span. */
  blank: boolean;
}

const ZERO_ID = '0000000000000000';
const KINDS = new Set(['client', 'server', 'producer', 'consumer', 'internal']);

/** pcommon.Map.Put: in place when the key is there, else appended. */
export function putTag(map: KeyValue[], tag: KeyValue): void {
  for (let i = 0; i < map.length; i++) {
    if (map[i]!.key === tag.key) {
      map[i] = tag;
      return;
    }
  }
  map.push(tag);
}

/** pcommon.Map.Remove: the last entry takes the removed one's place. */
function removeTag(map: KeyValue[], key: string): KeyValue | undefined {
  for (let i = 0; i < map.length; i++) {
    const kv = map[i]!;
    if (kv.key === key) {
      map[i] = map[map.length - 1]!;
      map.pop();
      return kv;
    }
  }
  return undefined;
}

function findTag(map: KeyValue[], key: string): KeyValue | undefined {
  for (const kv of map) if (kv.key === key) return kv;
  return undefined;
}

/** A list read into a map: repeated keys collapse. Returns the list itself when no key repeats. */
export function asMap(tags: KeyValue[]): KeyValue[] {
  for (let i = 1; i < tags.length; i++) {
    const key = tags[i]!.key;
    for (let j = 0; j < i; j++) {
      if (tags[j]!.key === key) {
        const map: KeyValue[] = [];
        for (const t of tags) putTag(map, t);
        return map;
      }
    }
  }
  return tags;
}

/** pcommon.Value.Str(): the string, '' for any other type. */
function str(kv: KeyValue): string {
  return kv.type === 'string' ? kv.value : '';
}

/** pcommon.Value.AsString() of a Thrift-typed value. */
export function asString(kv: KeyValue): string {
  switch (kv.type) {
    case 'string': return kv.value;
    case 'bool': return kv.value ? 'true' : 'false';
    case 'int64': return String(kv.value);
    case 'float64': return goFloat(kv.value);
    case 'binary': return Buffer.from(kv.value).toString('base64');
  }
}

/** strconv.FormatFloat(v, 'g'-like shortest, as pcommon writes a double: 'f' format below 1e21, else exponent). */
function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const s = String(v);
  if (!s.includes('e')) return s;
  const [m, e] = s.split('e') as [string, string];
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** Go's time.String() of a UTC time; beyond JavaScript's dates (±275,000 years), the µs since the epoch. */
function goTime(micros: number, nanos: number): string {
  return Math.abs(micros) < 8.64e18 ? formatGoTime(micros, nanos) : `${micros}µs`;
}

/** The process as Jaeger 2.x shows it. */
export function translateThriftProcess(serviceName: string, tags: KeyValue[], badKeys: BadKeys | undefined, serviceBytes: Uint8Array | undefined): Process {
  const attrs: KeyValue[] = [];
  if (serviceName !== '') attrs.push({ key: 'service.name', type: 'string', value: serviceName });
  for (const t of tags) putTag(attrs, t);
  const hostname = findTag(attrs, 'hostname');
  if (hostname !== undefined && findTag(attrs, 'host.name') === undefined) {
    attrs.push({ ...hostname, key: 'host.name' } as KeyValue);
    removeTag(attrs, 'hostname');
  }
  const version = findTag(attrs, 'jaeger.version');
  if (version !== undefined && findTag(attrs, 'opencensus.exporterversion') === undefined) {
    attrs.push({ key: 'opencensus.exporterversion', type: 'string', value: `Jaeger-${str(version)}` });
    removeTag(attrs, 'jaeger.version');
  }
  // The empty service name sanitizer, then the UTF-8 one.
  const service = findTag(attrs, 'service.name');
  if (service === undefined) attrs.push({ key: 'service.name', type: 'string', value: 'missing-service-name' });
  else if (service.type !== 'string') putTag(attrs, { key: 'service.name', type: 'string', value: 'service-name-wrong-type' });
  else if (service.value === '') putTag(attrs, { key: 'service.name', type: 'string', value: 'empty-service-name' });
  else if (serviceBytes !== undefined && service.value === serviceName) putTag(attrs, { key: 'service.name', type: 'binary', value: serviceBytes });
  if (badKeys !== undefined) sanitizeKeys(attrs, badKeys);
  const out: KeyValue[] = [];
  let name = '';
  for (const kv of attrs) {
    if (kv.key === 'service.name') name = str(kv);
    else out.push(kv);
  }
  return { serviceName: name, tags: out };
}

/** The UTF-8 sanitizer's keys: each bad one → `invalid-tag-key-N` = the bytes of "key:value", appended. */
function sanitizeKeys(attrs: KeyValue[], badKeys: BadKeys): void {
  let n = 1;
  for (const kv of attrs.slice()) {
    const keyBytes = badKeys.get(kv);
    if (keyBytes === undefined) continue;
    const value = kv.type === 'binary' ? kv.value : Buffer.from(asString(kv), 'utf8');
    putTag(attrs, { key: `invalid-tag-key-${n++}`, type: 'binary', value: new Uint8Array(Buffer.concat([keyBytes, Buffer.from(':'), value])) });
    removeTag(attrs, kv.key);
  }
}

function statusFromHttp(code: KeyValue, kind: string): 'unset' | 'error' | undefined {
  let n: number;
  if (code.type === 'int64') n = Number(code.value);
  else if (code.type === 'string') {
    if (!/^[+-]?\d+$/.test(code.value)) return undefined;
    n = Number(code.value);
    if (Math.abs(n) > 2 ** 63) return undefined;
  } else return undefined;
  if (n >= 400 && n < 500) {
    if (kind === 'client') return 'error';
    if (kind === 'server') return 'unset';
  }
  return n >= 100 && n < 399 ? 'unset' : 'error';
}

/** The span as Jaeger 2.x shows it, or undefined when Jaeger drops it (a blank span). */
export function translateThriftSpan(f: ThriftSpanFields, process: Process): Span | undefined {
  if (f.blank) return undefined;
  const { traceId } = f;

  // Parent and references.
  let parent = f.parentId;
  if (parent === ZERO_ID) {
    let follows: string | undefined;
    for (const ref of f.refs) {
      if (ref.traceId !== traceId) continue;
      if (ref.refType === 0) {
        parent = ref.spanId;
        break;
      }
      if (follows === undefined && ref.refType === 1) follows = ref.spanId;
    }
    if (parent === ZERO_ID && follows !== undefined) parent = follows;
  }
  const references: SpanRef[] = [];
  const hasParent = parent !== ZERO_ID;
  if (hasParent) references.push({ refType: 'CHILD_OF', traceId, spanId: parent });
  // The OTLP links Jaeger 2.x holds (and API v3 returns): every reference but CHILD_OF ones naming the parent.
  let links: OtlpLink[] | undefined;
  for (const ref of f.refs) {
    if (ref.refType === 0 && ref.spanId === parent) continue;
    const refType = ref.refType === 0 ? 'CHILD_OF' : 'FOLLOWS_FROM';
    (links ??= []).push({ traceId: ref.traceId, spanId: ref.spanId, attributes: [{ key: 'opentracing.ref_type', type: 'string', value: refType === 'CHILD_OF' ? 'child_of' : 'follows_from' }] });
    if (hasParent && ref.traceId === traceId && ref.spanId === parent) references[0]!.refType = refType;
    else references.push({ refType, traceId: ref.traceId, spanId: ref.spanId });
  }

  // Attributes, kind and status.
  const attrs = asMap(f.tags).slice();
  let kind = '';
  const kindTag = findTag(attrs, 'span.kind');
  if (kindTag !== undefined) {
    const k = str(kindTag);
    if (KINDS.has(k)) kind = k;
    removeTag(attrs, 'span.kind');
  }
  let status: 'unset' | 'ok' | 'error' | undefined;
  let message = '';
  const error = findTag(attrs, 'error');
  if (error !== undefined && error.type === 'bool' && error.value) {
    status = 'error';
    removeTag(attrs, 'error');
    const desc = removeTag(attrs, 'otel.status_description');
    if (desc !== undefined) message = str(desc);
    else {
      const msg = findTag(attrs, 'http.status_message');
      if (msg !== undefined) message = str(msg);
    }
  }
  const code = findTag(attrs, 'otel.status_code');
  if (code !== undefined) {
    if (status === undefined) {
      const upper = str(code).toUpperCase();
      status = upper === 'OK' ? 'ok' : upper === 'ERROR' ? 'error' : 'unset';
      const desc = removeTag(attrs, 'otel.status_description');
      if (desc !== undefined) message = str(desc);
    }
    removeTag(attrs, 'otel.status_code');
  } else if (status === undefined) {
    const http = findTag(attrs, 'http.status_code');
    if (http !== undefined && statusFromHttp(http, kind) === 'error') {
      status = 'error';
      const msg = findTag(attrs, 'http.status_message');
      if (msg !== undefined) message = str(msg);
    }
  }

  // The UTF-8 sanitizer (string values were made binary by the decoder already).
  let operationName = f.operationName;
  if (f.badName !== undefined) {
    putTag(attrs, { key: 'invalid-span-name', type: 'binary', value: f.badName });
    operationName = 'invalid-span-name';
  }
  if (f.badKeys !== undefined) sanitizeKeys(attrs, f.badKeys);

  // The negative duration sanitizer.
  let durationMicros = f.durationMicros;
  let warnings: string[] | undefined;
  if (durationMicros <= 0) {
    const start = f.startTimeMicros;
    warnings = [
      `Negative duration detected, sanitizing end timestamp. Original end timestamp: ${goTime(start + durationMicros, 0)}, adjusted to: ${goTime(start, 1)}`,
    ];
    durationMicros = 0;
  }
  const sent = findTag(attrs, '@jaeger@warnings');
  if (sent !== undefined) {
    // Jaeger's own warnings are added to the same attribute; a tag sent as text holds one warning.
    warnings = [asString(sent), ...(warnings ?? [])];
    for (let i = attrs.length - 1; i >= 0; i--) if (attrs[i]!.key === '@jaeger@warnings') attrs.splice(i, 1);
  }

  const tags = appendKindAndStatus(attrs, kind, status, message);

  const logs: SpanLog[] = f.logs.length === 0 ? f.logs : f.logs.map(translateLog);
  const span: Span = {
    traceId, spanId: f.spanId, operationName, references, flags: 0, startTimeMicros: f.startTimeMicros, durationMicros,
    tags, logs, process,
  };
  if (warnings !== undefined) span.warnings = warnings;
  // What the references cannot say for API v3 (the parent and links as Jaeger holds them, the 1 ns a sanitized
  // duration has): only when there is something; a span without keeps reading as its references say.
  if (links !== undefined || f.durationMicros <= 0 || sent !== undefined) {
    const otlp: SpanOtlp = {};
    if (hasParent) otlp.parentSpanId = parent;
    if (links !== undefined) otlp.links = links;
    if (f.durationMicros <= 0) otlp.durationNanos = 1;
    if (sent !== undefined) otlp.warningsTag = sent;
    span.otlp = otlp;
  }
  return span;
}

/** A log → an OTLP event → a log: `event` is the name, written first when it is not empty. */
function translateLog(log: SpanLog): SpanLog {
  const fields = log.fields;
  let hasEvent = false;
  for (const kv of fields) if (kv.key === 'event') hasEvent = true;
  if (!hasEvent) return fields.length > 1 ? { timestampMicros: log.timestampMicros, fields: asMap(fields) } : log;
  const attrs = asMap(fields).slice();
  const event = removeTag(attrs, 'event')!;
  const name = str(event);
  return { timestampMicros: log.timestampMicros, fields: name === '' ? attrs : [{ key: 'event', type: 'string', value: name }, ...attrs] };
}

/**
 * The tags Jaeger's way back from OpenTelemetry adds after a span's attributes: `span.kind`, then the status
 * (`otel.status_code`, `error=true` for ERROR, `otel.status_description`). Also used by the Elasticsearch reader,
 * which shows stored documents through the same round trip.
 */
export function appendKindAndStatus(tags: KeyValue[], kind: string, status: 'unset' | 'ok' | 'error' | undefined, message: string): KeyValue[] {
  if (kind !== '') tags.push({ key: 'span.kind', type: 'string', value: kind });
  if (status === 'ok') tags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
  else if (status === 'error') {
    tags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' });
    tags.push({ key: 'error', type: 'bool', value: true });
  }
  if (status !== undefined && message !== '') tags.push({ key: 'otel.status_description', type: 'string', value: message });
  return tags;
}
