/**
 * An ExportLogsServiceRequest (the OTLP/JSON shape, or what otlp-logs-protobuf.ts decodes into it) → log records
 * (model/log-record.ts), the same records the pilot writes, so they go to the same outputs and the log API finds
 * them (the README's "OTLP logs"):
 *
 *   {"@timestamp":"…","message":"…","source":"otlp","target":"…","host":"…",<resource attributes>,"otel.scope.name":"…",
 *    "otel.scope.version":"…",<scope attributes>,"severity_text":"INFO","severity_number":9,"trace_id":"…","span_id":"…",
 *    <record attributes>}
 *
 * - `@timestamp`: the record's time, else its observed time, else the receive time (ms, UTC).
 * - `message`: the body: a string as it is; a number or boolean as its text; a key/value list or an array as its JSON
 *   text (`message` stays a string for every index); bytes as base64; absent, ''.
 * - Attributes keep their keys and types (arrays and key/value lists as JSON arrays and objects, bytes base64, an
 *   int64 past 2^53 as its decimal text). A key the record already has keeps the first value and the later one goes to
 *   `original_<key>` (the pilot's rule for a line's fields, README "Records"): nothing is dropped.
 * - `trace_id` / `span_id`: lowercase hex, left out when absent or all zeros; the log API and the UI link on them.
 * - The record's `service` (the embedded store's column, the log API's `service=`) is the resource's `service.name`.
 *
 * The request is refused whole (`malformed`) when its shape is wrong: not the object OTLP describes, an id that is
 * not 16 or 8 bytes of hex, a time that is not a uint64, a value that is not an AnyValue (as the OpenTelemetry
 * Collector's decoder refuses them). Nothing of such a request is written. Pure; never throws.
 */
import { randomBytes } from 'node:crypto';
import type { LogEvent } from '../../model/log-record.js';
import { normalizeSpanId, normalizeTraceId } from '../../model/trace-ids.js';
import { toBytes, toDouble, toInt64 } from '../traces/codecs/otlp/otlp-any-value.js';
import { readNanos } from '../traces/codecs/otlp/otlp-time.js';
import { readHexId } from '../traces/codecs/otlp/otlp-translate.js';

export interface OtlpLogRecordOptions {
  /** `target` of every record (COLLECTOR_OTLP_LOGS_TARGET). */
  target: string;
  /** `host`: the collector's host name. */
  hostName: string;
}

export type OtlpLogsResult = { ok: true; events: LogEvent[]; bytes: number } | { ok: false; malformed: string };

type Obj = Record<string, unknown>;

/** Fields the record owns; an attribute of the same name moves to `original_<name>`. */
const OWN_FIELDS = ['@timestamp', 'message', 'source', 'target', 'host', 'severity_text', 'severity_number', 'trace_id', 'span_id', 'trace_flags', 'event_name', 'otel.scope.name', 'otel.scope.version'];
/** Elasticsearch dates need a four-digit year (as the pilot's records). */
const MAX_TIME_MS = 253402300799999;
const MAX_DEPTH = 64;

const SEVERITY_NAMES: Record<string, number> = {};
for (const [i, name] of ['TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'].entries()) {
  SEVERITY_NAMES[`SEVERITY_NUMBER_${name}`] = i + 1;
}
SEVERITY_NAMES.SEVERITY_NUMBER_UNSPECIFIED = 0;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
/** `obj[camel]`, else `obj[snake]` (the OpenTelemetry Collector's JSON reader takes both). */
const field = (obj: Obj, camel: string, snake: string): unknown => (obj[camel] !== undefined ? obj[camel] : obj[snake]);
const absent = (v: unknown): boolean => v === undefined || v === null;

class Malformed {
  constructor(readonly reason: string) {}
}

/** An AnyValue → its JSON value; Malformed when it is not one. */
function jsonOf(value: unknown, where: string, depth: number): unknown {
  if (absent(value)) return null;
  if (!isObj(value)) return new Malformed(`${where} is not an AnyValue object`);
  if (depth > MAX_DEPTH) return new Malformed(`${where} is nested too deeply`);
  if (value.stringValue !== undefined) return typeof value.stringValue === 'string' ? value.stringValue : new Malformed(`${where}.stringValue is not a string`);
  if (value.boolValue !== undefined) return typeof value.boolValue === 'boolean' ? value.boolValue : new Malformed(`${where}.boolValue is not a boolean`);
  if (value.intValue !== undefined) {
    const n = toInt64(value.intValue);
    if (n === undefined) return new Malformed(`${where}.intValue is not an int64`);
    return typeof n === 'bigint' ? n.toString() : n;
  }
  if (value.doubleValue !== undefined) {
    const d = toDouble(value.doubleValue);
    if (d === undefined) return new Malformed(`${where}.doubleValue is not a double`);
    return Number.isFinite(d) ? d : String(d);
  }
  const bytesValue = field(value, 'bytesValue', 'bytes_value');
  if (bytesValue !== undefined) {
    const b = toBytes(bytesValue);
    return b === undefined ? new Malformed(`${where}.bytesValue is not base64`) : Buffer.from(b).toString('base64');
  }
  const arrayValue = field(value, 'arrayValue', 'array_value');
  if (arrayValue !== undefined) {
    const values = isObj(arrayValue) ? arrayValue.values ?? [] : undefined;
    if (!Array.isArray(values)) return new Malformed(`${where}.arrayValue.values is not an array`);
    const out: unknown[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = jsonOf(values[i], `${where}.arrayValue.values[${i}]`, depth + 1);
      if (v instanceof Malformed) return v;
      out.push(v);
    }
    return out;
  }
  const kvlistValue = field(value, 'kvlistValue', 'kvlist_value');
  if (kvlistValue !== undefined) {
    const values = isObj(kvlistValue) ? kvlistValue.values ?? [] : undefined;
    if (!Array.isArray(values)) return new Malformed(`${where}.kvlistValue.values is not an array`);
    const out: Obj = {};
    for (let i = 0; i < values.length; i++) {
      const kv = values[i] as unknown;
      if (!isObj(kv) || typeof kv.key !== 'string') return new Malformed(`${where}.kvlistValue.values[${i}] is not a KeyValue`);
      const v = jsonOf(kv.value, `${where}.kvlistValue.values[${i}].value`, depth + 1);
      if (v instanceof Malformed) return v;
      out[kv.key] = v;
    }
    return out;
  }
  return null;
}

/**
 * A list of attributes → `,"key":value…` for the record, each key not yet `taken` (else `original_<key>`, then
 * `original_original_<key>`…), marking the keys it writes.
 */
function attributeFields(list: unknown, where: string, taken: Set<string>): string | Malformed {
  if (absent(list)) return '';
  if (!Array.isArray(list)) return new Malformed(`${where} is not an array`);
  let out = '';
  for (let i = 0; i < list.length; i++) {
    const kv = list[i] as unknown;
    if (!isObj(kv) || typeof kv.key !== 'string') return new Malformed(`${where}[${i}] is not a KeyValue`);
    const v = jsonOf(kv.value, `${where}[${i}].value`, 0);
    if (v instanceof Malformed) return v;
    let key = kv.key;
    while (taken.has(key)) key = `original_${key}`;
    taken.add(key);
    out += `,${JSON.stringify(key)}:${JSON.stringify(v)}`;
  }
  return out;
}

function serviceNameOf(resource: Obj | undefined): string {
  const attrs = resource?.attributes;
  if (!Array.isArray(attrs)) return '';
  for (const kv of attrs as unknown[]) {
    if (isObj(kv) && kv.key === 'service.name' && isObj(kv.value) && typeof kv.value.stringValue === 'string') return kv.value.stringValue;
  }
  return '';
}

/** A uint64 nanosecond time → ms, 0 when absent or zero; Malformed when it is not a uint64. */
function timeMsOf(v: unknown, where: string): number | Malformed {
  const split = readNanos(v as Parameters<typeof readNanos>[0]);
  if (split === undefined) return new Malformed(`${where} is not a uint64 of nanoseconds`);
  return Math.floor(split.micros / 1000);
}

function severityOf(v: unknown, where: string): number | Malformed {
  if (absent(v)) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 24) return v;
  if (typeof v === 'string' && v in SEVERITY_NAMES) return SEVERITY_NAMES[v]!;
  return new Malformed(`${where} is not a SeverityNumber`);
}

function messageOf(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === null) return '';
  return JSON.stringify(body);
}

export class OtlpLogRecordEncoder {
  private readonly fragment: string;
  private readonly idPrefix = randomBytes(16).toString('base64url') + '-';
  private sequence = 0;

  constructor(private readonly opts: OtlpLogRecordOptions) {
    this.fragment = `,"source":"otlp","target":${JSON.stringify(opts.target)},"host":${JSON.stringify(opts.hostName)}`;
  }

  /** The records of a request, or why the whole request is refused. `nowMs` is the fallback time. */
  encode(request: unknown, nowMs: number): OtlpLogsResult {
    const r = this.records(request, nowMs);
    return r instanceof Malformed ? { ok: false, malformed: r.reason } : { ok: true, events: r, bytes: r.reduce((n, e) => n + e.json.length, 0) };
  }

  private records(request: unknown, nowMs: number): LogEvent[] | Malformed {
    if (!isObj(request)) return new Malformed('the body is not an ExportLogsServiceRequest object');
    const resourceLogs = field(request, 'resourceLogs', 'resource_logs');
    if (absent(resourceLogs)) return [];
    if (!Array.isArray(resourceLogs)) return new Malformed('resourceLogs is not an array');
    const events: LogEvent[] = [];
    for (let ri = 0; ri < resourceLogs.length; ri++) {
      const rl = resourceLogs[ri] as unknown;
      if (absent(rl)) continue;
      const rw = `resourceLogs[${ri}]`;
      if (!isObj(rl)) return new Malformed(`${rw} is not an object`);
      let scopeLogs = field(rl, 'scopeLogs', 'scope_logs');
      if (absent(scopeLogs)) scopeLogs = field(rl, 'instrumentationLibraryLogs', 'instrumentation_library_logs');
      if (absent(scopeLogs)) continue;
      if (!Array.isArray(scopeLogs)) return new Malformed(`${rw}.scopeLogs is not an array`);
      const resource = rl.resource;
      if (!absent(resource) && !isObj(resource)) return new Malformed(`${rw}.resource is not an object`);
      // Resource and scope fields are serialised once and joined onto each of their records (as the pilot's
      // constant fragment of a container).
      const resourceTaken = new Set(OWN_FIELDS);
      const resourceFields = attributeFields(isObj(resource) ? resource.attributes : undefined, `${rw}.resource.attributes`, resourceTaken);
      if (resourceFields instanceof Malformed) return resourceFields;
      const service = serviceNameOf(isObj(resource) ? resource : undefined);
      for (let si = 0; si < scopeLogs.length; si++) {
        const sl = scopeLogs[si] as unknown;
        if (absent(sl)) continue;
        const sw = `${rw}.scopeLogs[${si}]`;
        if (!isObj(sl)) return new Malformed(`${sw} is not an object`);
        const scopeTaken = new Set(resourceTaken);
        let scopeFields = '';
        let scope = sl.scope;
        if (absent(scope)) scope = field(sl, 'instrumentationLibrary', 'instrumentation_library');
        if (!absent(scope)) {
          if (!isObj(scope)) return new Malformed(`${sw}.scope is not an object`);
          if (typeof scope.name === 'string' && scope.name !== '') scopeFields += `,"otel.scope.name":${JSON.stringify(scope.name)}`;
          if (typeof scope.version === 'string' && scope.version !== '') scopeFields += `,"otel.scope.version":${JSON.stringify(scope.version)}`;
          const attrs = attributeFields(scope.attributes, `${sw}.scope.attributes`, scopeTaken);
          if (attrs instanceof Malformed) return attrs;
          scopeFields += attrs;
        }
        const shared = this.fragment + resourceFields + scopeFields;
        const logRecords = field(sl, 'logRecords', 'log_records');
        if (absent(logRecords)) continue;
        if (!Array.isArray(logRecords)) return new Malformed(`${sw}.logRecords is not an array`);
        for (let li = 0; li < logRecords.length; li++) {
          const event = this.record(logRecords[li], `${sw}.logRecords[${li}]`, shared, scopeTaken, service, nowMs);
          if (event instanceof Malformed) return event;
          if (event !== undefined) events.push(event);
        }
      }
    }
    return events;
  }

  private record(lr: unknown, where: string, shared: string, scopeTaken: ReadonlySet<string>, service: string, nowMs: number): LogEvent | Malformed | undefined {
    if (absent(lr)) return undefined;
    if (!isObj(lr)) return new Malformed(`${where} is not an object`);
    const timeMs = timeMsOf(field(lr, 'timeUnixNano', 'time_unix_nano'), `${where}.timeUnixNano`);
    if (timeMs instanceof Malformed) return timeMs;
    const observedMs = timeMsOf(field(lr, 'observedTimeUnixNano', 'observed_time_unix_nano'), `${where}.observedTimeUnixNano`);
    if (observedMs instanceof Malformed) return observedMs;
    const severityNumber = severityOf(field(lr, 'severityNumber', 'severity_number'), `${where}.severityNumber`);
    if (severityNumber instanceof Malformed) return severityNumber;
    const severityText = field(lr, 'severityText', 'severity_text');
    if (!absent(severityText) && typeof severityText !== 'string') return new Malformed(`${where}.severityText is not a string`);
    const eventName = field(lr, 'eventName', 'event_name');
    if (!absent(eventName) && typeof eventName !== 'string') return new Malformed(`${where}.eventName is not a string`);
    const rawTrace = readHexId(field(lr, 'traceId', 'trace_id'), 32);
    if (rawTrace === undefined) return new Malformed(`${where}.traceId is not 16 bytes of hex`);
    const rawSpan = readHexId(field(lr, 'spanId', 'span_id'), 16);
    if (rawSpan === undefined) return new Malformed(`${where}.spanId is not 8 bytes of hex`);
    const flags = lr.flags;
    if (!absent(flags) && (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0xffffffff)) return new Malformed(`${where}.flags is not a fixed32`);
    const body = jsonOf(lr.body, `${where}.body`, 0);
    if (body instanceof Malformed) return body;
    const taken = new Set(scopeTaken);
    const attrs = attributeFields(lr.attributes, `${where}.attributes`, taken);
    if (attrs instanceof Malformed) return attrs;

    let ms = timeMs > 0 ? timeMs : observedMs > 0 ? observedMs : nowMs;
    if (ms > MAX_TIME_MS) ms = nowMs;
    const message = messageOf(body);
    const traceId = normalizeTraceId(rawTrace);
    const spanId = normalizeSpanId(rawSpan);
    const before = `{"@timestamp":"${new Date(ms).toISOString()}","message":${JSON.stringify(message)}`;
    let own = '';
    if (typeof severityText === 'string' && severityText !== '') own += `,"severity_text":${JSON.stringify(severityText)}`;
    if (severityNumber > 0) own += `,"severity_number":${severityNumber}`;
    if (traceId !== undefined) own += `,"trace_id":"${traceId}"`;
    if (spanId !== undefined) own += `,"span_id":"${spanId}"`;
    if (typeof flags === 'number' && flags !== 0) own += `,"trace_flags":${flags & 0xff}`;
    if (typeof eventName === 'string' && eventName !== '') own += `,"event_name":${JSON.stringify(eventName)}`;
    const after = own + attrs + '}';
    return {
      json: before + shared + after,
      target: this.opts.target,
      timestampMs: ms,
      id: this.idPrefix + (++this.sequence),
      containerId: '',
      containerName: '',
      app: '',
      service,
      text: message,
      ...(traceId !== undefined ? { traceId } : {}),
      ...(spanId !== undefined ? { spanId } : {}),
      beforeShared: before,
      shared,
      afterShared: after,
    };
  }
}
