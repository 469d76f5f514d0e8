/**
 * Zipkin v1 JSON (`POST /api/v1/spans`) → OTLP trace data in the OTLP/JSON shape, as opentelemetry-collector-contrib's
 * `zipkinv1` translator does it (the path Jaeger v2 takes):
 *
 * - the first core annotation (cs/cr → CLIENT, sr/ss → SERVER, ms → PRODUCER, mr → CONSUMER) gives the kind, the
 *   first one with a named endpoint gives the service; other annotations become events
 * - start/end: the span's timestamp and duration, else the earliest and latest annotation
 * - binary annotations → string attributes (`lc` becomes `component`); census / `otel.status_*` / `error` tags set
 *   the status and are dropped; `http.status_code` sets it when nothing else does (≥400 or <100 is ERROR)
 * - spans grouped into resources by endpoint (`service.name`, and `ipv4`, `ipv6`, `port` as strings)
 *
 * One deliberate leniency: a binary annotation value that is not a string (v1's `"sa": true`) is taken as its
 * JSON text instead of refusing the request. Pure; never throws; one bad span refuses the request.
 */
import type { NanoSplit } from '../otlp/otlp-time.js';
import { readEndpoint } from './zipkin-v2-json.js';
import type { ZipkinEndpoint } from './zipkin-model.js';

type Obj = Record<string, unknown>;
type Attr = { key: string; value: { stringValue: string } | { boolValue: boolean } };

const UNKNOWN_SERVICE = 'unknown-service';
const CORE = new Set(['cs', 'cr', 'ms', 'mr', 'ss', 'sr']);
const KIND_OF: Record<string, number> = { cs: 3, cr: 3, ms: 4, mr: 5, ss: 2, sr: 2 };

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown): number | undefined {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

const nanos = (us: number): NanoSplit => ({ micros: us <= 0 ? 0 : us, nanos: 0 });

function hexId(v: unknown, lengths: number[], what: string): string {
  if (typeof v !== 'string' || !lengths.includes(v.length) || !/^[0-9a-fA-F]+$/.test(v)) {
    throw new RangeError(`${what} is not ${lengths.join(' or ')} hex digits`);
  }
  if (/^0+$/.test(v)) throw new RangeError(`${what} is zero`);
  return v.toLowerCase().padStart(lengths[lengths.length - 1]!, '0');
}

function endpointOf(v: unknown): ZipkinEndpoint | undefined {
  const e = readEndpoint(v);
  if (typeof e === 'string') throw new RangeError(`endpoint ${e}`);
  return e;
}

/** census.status_code / otel.status_code / http.status_code values: int32 written as a decimal string. */
function int32(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

interface Converted {
  span: Record<string, unknown>;
  endpoint: ZipkinEndpoint;
}

function convert(raw: unknown): Converted {
  if (!isObj(raw)) throw new RangeError('a span is not an object');
  const traceId = hexId(raw.traceId, [16, 32], 'traceId');
  const spanId = hexId(raw.id, [16], 'id');
  const parentId = raw.parentId === undefined || raw.parentId === null || raw.parentId === '' ? undefined : hexId(raw.parentId, [16], 'parentId');
  const timestamp = int(raw.timestamp);
  const duration = int(raw.duration);
  if (timestamp === undefined || duration === undefined) throw new RangeError('timestamp or duration is not a whole number');
  if (raw.name !== undefined && raw.name !== null && typeof raw.name !== 'string') throw new RangeError('name is not a string');

  let kind = 0;
  let endpoint: ZipkinEndpoint | undefined;
  let start = 0;
  let end = 0;
  let early = Infinity;
  let late = -Infinity;
  const events: unknown[] = [];
  const annotations = raw.annotations ?? [];
  if (!Array.isArray(annotations)) throw new RangeError('annotations is not an array');
  for (const a of annotations as unknown[]) {
    if (a === null) continue;
    if (!isObj(a)) throw new RangeError('an annotation is not an object');
    const value = a.value ?? '';
    if (typeof value !== 'string') throw new RangeError('an annotation value is not a string');
    const ts = int(a.timestamp);
    if (ts === undefined) throw new RangeError('an annotation timestamp is not a whole number');
    const ep = endpointOf(a.endpoint);
    if (value === '') continue;
    const core = CORE.has(value);
    if (endpoint === undefined && core && ep && ep.serviceName !== '') endpoint = ep;
    if (kind === 0 && core) kind = KIND_OF[value]!;
    if (ts < early) {
      early = ts;
      start = ts;
    }
    if (ts > late) {
      late = ts;
      end = ts;
    }
    if (!core) events.push({ timeUnixNano: nanos(ts), name: value });
  }
  endpoint ??= { serviceName: UNKNOWN_SERVICE, ipv4: '', ipv6: '', port: 0 };

  const attrs: Attr[] = [];
  const put = (key: string, value: string) => {
    const at = attrs.findIndex((x) => x.key === key);
    if (at >= 0) attrs[at] = { key, value: { stringValue: value } };
    else attrs.push({ key, value: { stringValue: value } });
  };
  let fallbackService = '';
  let localComponent = '';
  const st = { census: undefined as number | undefined, censusMsg: '', otel: undefined as number | undefined, otelMsg: '', error: false, http: undefined as number | undefined, httpMsg: '' };
  const binary = raw.binaryAnnotations ?? [];
  if (!Array.isArray(binary)) throw new RangeError('binaryAnnotations is not an array');
  for (const b of binary as unknown[]) {
    if (b === null) continue;
    if (!isObj(b) || typeof b.key !== 'string') throw new RangeError('a binary annotation has no string key');
    const value = typeof b.value === 'string' ? b.value : b.value === undefined || b.value === null ? '' : JSON.stringify(b.value);
    const ep = endpointOf(b.endpoint);
    if (ep && ep.serviceName !== '') fallbackService = ep.serviceName;
    let key = b.key;
    if (key === 'lc') {
      key = 'component';
      localComponent = value;
    }
    switch (key) {
      case 'census.status_code': {
        const c = int32(value);
        if (c !== undefined) st.census = c === 0 ? 1 : 2;
        continue;
      }
      case 'census.status_description': case 'opencensus.status_description': st.censusMsg = value; continue;
      case 'otel.status_code': {
        const c = int32(value);
        if (c !== undefined) st.otel = c;
        continue;
      }
      case 'otel.status_description': st.otelMsg = value; continue;
      case 'error': st.error = true; continue;
      case 'http.status_code': {
        const c = int32(value);
        if (c !== undefined) st.http = c >= 100 && c < 400 ? 0 : 2;
        break;
      }
      case 'http.status_message': st.httpMsg = value; break;
    }
    put(key, value);
  }
  if (fallbackService === '') fallbackService = localComponent;
  if (endpoint.serviceName === UNKNOWN_SERVICE && fallbackService !== '') endpoint = { ...endpoint, serviceName: fallbackService };

  let status: { code: number; message: string } | undefined;
  if (st.census !== undefined) status = { code: st.census, message: st.censusMsg };
  else if (st.otel !== undefined) status = { code: st.otel, message: st.otelMsg };
  else if (st.error) status = { code: 2, message: st.censusMsg !== '' ? st.censusMsg : st.otelMsg };
  else if (st.http !== undefined) status = { code: st.http, message: st.httpMsg };

  if (timestamp !== 0) {
    start = timestamp;
    end = timestamp + duration;
  }
  const attributes: unknown[] = attrs;
  if (start <= 0) {
    // The translator starts a span without any time "now" and says so.
    start = Date.now() * 1000;
    end = start;
    attributes.push({ key: 'otel.zipkin.absentField.startTime', value: { boolValue: true } });
  }
  const span: Record<string, unknown> = {
    traceId, spanId, name: raw.name ?? '', kind, attributes, events,
    startTimeUnixNano: nanos(start), endTimeUnixNano: nanos(end),
  };
  if (parentId !== undefined) span.parentSpanId = parentId;
  if (status !== undefined) span.status = status;
  return { span, endpoint };
}

/** Decodes an already-parsed v1 JSON body into an ExportTraceServiceRequest shape, or says why not. */
export function zipkinV1ToOtlp(body: unknown): { request: { resourceSpans: unknown[] } } | { error: string } {
  if (!Array.isArray(body)) return { error: 'a Zipkin v1 body is a JSON array of spans' };
  const byEndpoint = new Map<string, unknown[]>();
  const resourceSpans: unknown[] = [];
  for (let i = 0; i < body.length; i++) {
    let converted: Converted;
    try {
      converted = convert(body[i]);
    } catch (err) {
      // convert() signals a bad span by throwing RangeError; it is turned into the answer here, never escapes.
      if (!(err instanceof RangeError)) throw err;
      return { error: `zipkinV1 span ${i}: ${err.message}` };
    }
    const e = converted.endpoint;
    const key = `${e.serviceName}-${e.ipv4}-${e.ipv6}-${e.port}`;
    let spans = byEndpoint.get(key);
    if (spans === undefined) {
      spans = [];
      byEndpoint.set(key, spans);
      const attributes: Attr[] = [{ key: 'service.name', value: { stringValue: e.serviceName } }];
      if (e.ipv4 !== '') attributes.push({ key: 'ipv4', value: { stringValue: e.ipv4 } });
      if (e.ipv6 !== '') attributes.push({ key: 'ipv6', value: { stringValue: e.ipv6 } });
      if (e.port !== 0) attributes.push({ key: 'port', value: { stringValue: String(e.port) } });
      resourceSpans.push({ resource: { attributes }, scopeSpans: [{ spans }] });
    }
    spans.push(converted.span);
  }
  return { request: { resourceSpans } };
}
