/**
 * The questions the parity goldens answer, how they are asked, and how an answer is normalised before two are
 * compared: only what Jaeger leaves free is evened out.
 * - times within a day of the base the inputs were sent with become offsets from it ("T+<µs>" in v1, "T+<ns>" in
 *   v3), in warnings' text too ("T+<ns>"); others (a missing start time is 0) stay as they are;
 * - v1 process ids (p1, p2…) and their order: each span carries its process itself, the trace a sorted list;
 * - the order of traces in an answer, of spans in a trace, of tags in a tag list (the UI sorts them), of resources,
 *   scopes and attributes in v3, of services, operations and dependency links in their lists;
 * - in v3, how spans are grouped under equal resources and scopes (Jaeger keeps each request's groups apart, even
 *   empty ones its de-duplication leaves behind): spans under equal resource and scope are one group;
 * - for a search with a limit smaller than its matches, which traces: only how many is compared;
 * - a warning repeated on a span: Jaeger's memory store keeps the warnings its adjusters added each time the trace
 *   was read, so they are a set (sorted, each once).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { traceIds } from './inputs.js';

export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/jaeger-parity/golden/', import.meta.url));

export interface Question {
  id: string;
  /** Path and query, with {startUs} {endUs} {startIso} {endIso} {endMs} {lookbackMs} filled in from the base. */
  path: string;
  /** Only the number of traces is compared (a limit below the number of matches picks freely). */
  countOnly?: boolean;
}

export interface Answer {
  status: number;
  body: unknown;
}

export interface Golden extends Answer {
  id: string;
  path: string;
}

export interface Manifest {
  jaeger: { module: string; version: string; binary: string };
  recordedAt: string;
  config: string;
  command: string;
  /** The inputs' base time, microseconds since the epoch. */
  baseUs: string;
  intake: Array<{ protocol: string; what: string; status: number }>;
  questions: Question[];
}

export const readManifest = (): Manifest => JSON.parse(readFileSync(`${GOLDEN_DIR}manifest.json`, 'utf8')) as Manifest;
export const goldenFile = (id: string): string => `${GOLDEN_DIR}${id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
export const readGolden = (id: string): Golden => JSON.parse(readFileSync(goldenFile(id), 'utf8')) as Golden;

/** The search window: ten minutes either side of the base. */
export function fill(path: string, baseUs: bigint): string {
  const startUs = baseUs - 600_000_000n;
  const endUs = baseUs + 600_000_000n;
  const iso = (us: bigint): string => new Date(Number(us / 1000n)).toISOString();
  const values: Record<string, string> = {
    startUs: String(startUs), endUs: String(endUs), startIso: iso(startUs), endIso: iso(endUs),
    endMs: String(endUs / 1000n), lookbackMs: String(1_200_000),
  };
  return path.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`unknown placeholder {${k}} in ${path}`);
    return encodeURIComponent(values[k]!);
  });
}

export async function ask(base: string, q: Question, baseUs: bigint): Promise<Answer> {
  const res = await fetch(`${base}${fill(q.path, baseUs)}`);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body };
}

const enc = encodeURIComponent;
const WINDOW_V1 = 'start={startUs}&end={endUs}';
const WINDOW_V3 = 'query.start_time_min={startIso}&query.start_time_max={endIso}&query.num_traces=20';
const UNKNOWN_TRACE = '00000000000000000000000000bad001';

/**
 * Every question, given the services Jaeger lists: about each service, each trace sent, searches that filter
 * by operation, tags and duration, dependencies, and the error answers.
 */
export function questions(services: string[]): Question[] {
  const qs: Question[] = [
    { id: 'v1.services', path: '/api/services' },
    { id: 'v3.services', path: '/api/v3/services' },
    { id: 'v1.dependencies', path: '/api/dependencies?endTs={endMs}&lookback={lookbackMs}' },
  ];
  for (const s of [...services].sort()) {
    const n = s === '' ? '(empty)' : s;
    if (s !== '') qs.push({ id: `v1.operations-legacy.${n}`, path: `/api/services/${enc(s)}/operations` });
    qs.push({ id: `v1.operations.${n}`, path: `/api/operations?service=${enc(s)}` });
    for (const kind of ['server', 'client', 'internal']) qs.push({ id: `v1.operations.${n}.${kind}`, path: `/api/operations?service=${enc(s)}&spanKind=${kind}` });
    qs.push({ id: `v3.operations.${n}`, path: `/api/v3/operations?service=${enc(s)}` });
    qs.push({ id: `v3.operations.${n}.server`, path: `/api/v3/operations?service=${enc(s)}&span_kind=server` });
    qs.push({ id: `v1.search.${n}`, path: `/api/traces?service=${enc(s)}&${WINDOW_V1}&limit=20` });
    qs.push({ id: `v3.search.${n}`, path: `/api/v3/traces?query.service_name=${enc(s)}&${WINDOW_V3}` });
  }
  for (const { protocol, traceId } of traceIds()) {
    qs.push({ id: `v1.trace.${protocol}.${traceId}`, path: `/api/traces/${traceId}` });
    qs.push({ id: `v1.trace-raw.${protocol}.${traceId}`, path: `/api/traces/${traceId}?raw=true` });
    qs.push({ id: `v3.trace.${protocol}.${traceId}`, path: `/api/v3/traces/${traceId}` });
    qs.push({ id: `v3.trace-raw.${protocol}.${traceId}`, path: `/api/v3/traces/${traceId}?raw_traces=true` });
  }
  const search = (id: string, params: string, countOnly = false): void => {
    qs.push({ id: `v1.search.${id}`, path: `/api/traces?${params}&${WINDOW_V1}`, ...(countOnly ? { countOnly } : {}) });
  };
  const search3 = (id: string, params: string, countOnly = false): void => {
    qs.push({ id: `v3.search.${id}`, path: `/api/v3/traces?${params}&${WINDOW_V3}`, ...(countOnly ? { countOnly } : {}) });
  };
  for (const p of ['thrift-http', 'thrift-udp'] as const) {
    search(`${p}.operation`, `service=frontend-${p}&operation=${enc('GET /cart')}`);
    search(`${p}.tags-json`, `service=frontend-${p}&tags=${enc('{"http.status_code":"200"}')}`);
    search(`${p}.tag-int64`, `service=frontend-${p}&tags=${enc('{"big":"9223372036854775807"}')}`);
    search(`${p}.tag-kv-error`, `service=backend-${p}&tag=error:true`);
    search(`${p}.tag-log-field`, `service=frontend-${p}&tag=event:${enc('cache miss')}`);
    search(`${p}.tag-process`, `service=frontend-${p}&tag=region:eu-west`);
    search(`${p}.tag-host-name`, `service=backend-${p}&tag=host.name:api-2.example`);
    search(`${p}.min-duration`, `service=frontend-${p}&minDuration=5ms`);
    search(`${p}.max-duration`, `service=batch-${p}&maxDuration=2ms`);
    search(`${p}.empty-operation`, `service=backend-${p}&operation=empty-span-name`);
    search(`${p}.invalid-operation`, `service=backend-${p}&operation=invalid-span-name`);
    search(`${p}.missing-service`, `service=missing-service-name&operation=anonymous`);
  }
  for (const p of ['otlp-json', 'otlp-proto'] as const) {
    search(`${p}.operation`, `service=shop-${p}&operation=${enc('GET /checkout')}`);
    search(`${p}.operation-kind`, `service=shop-${p}&operation=publish&spanKind=producer`);
    search(`${p}.tags-json`, `service=shop-${p}&tags=${enc('{"http.request.method":"GET"}')}`);
    search(`${p}.tag-status`, `service=payments-${p}&tag=error:true`);
    search(`${p}.tag-otel-status`, `service=shop-${p}&tag=otel.status_code:ERROR`);
    search(`${p}.tag-resource`, `service=shop-${p}&tag=host.name:shop-7d9f`);
    search(`${p}.tag-scope`, `service=shop-${p}&tag=otel.scope.name:io.shop.http`);
    search(`${p}.min-duration`, `service=shop-${p}&minDuration=800ms`);
    search(`${p}.repeated`, `service=repeater-${p}`);
    search3(`${p}.operation`, `query.service_name=shop-${p}&query.operation_name=${enc('GET /checkout')}`);
    search3(`${p}.duration`, `query.service_name=shop-${p}&query.duration_min=800ms`);
    search3(`${p}.duration-max`, `query.service_name=shop-${p}&query.duration_max=1ms`);
    search3(`${p}.raw`, `query.service_name=repeater-${p}&query.raw_traces=true`);
  }
  for (const p of ['zipkin-v2-json', 'zipkin-v2-proto', 'zipkin-v1-json'] as const) {
    search(`${p}.tag`, `service=web-${p}&tag=http.method:GET`);
    search(`${p}.remote-service`, `service=web-${p}&tag=peer.service:api-${p}`);
    search(`${p}.operation`, `service=api-${p}&operation=${enc('get /api')}`);
  }
  search('limit-1', 'service=frontend-thrift-http&limit=1', true);
  search('limit-0', 'service=shop-otlp-json&limit=0', true);
  qs.push({ id: 'v3.search.num-traces-1', path: '/api/v3/traces?query.service_name=shop-otlp-json&query.start_time_min={startIso}&query.start_time_max={endIso}&query.num_traces=1', countOnly: true });
  qs.push({ id: 'v3.search.without-num-traces', path: '/api/v3/traces?query.service_name=shop-otlp-json&query.start_time_min={startIso}&query.start_time_max={endIso}' });
  search('by-trace-ids', `traceID=${traceIds()[0]!.traceId}&traceID=${traceIds()[1]!.traceId}&traceID=${UNKNOWN_TRACE}`);
  search('unknown-service', 'service=nobody');
  search3('unknown-service', 'query.service_name=nobody');
  search('without-service', 'limit=20');
  search3('without-service', 'query.service_name=');
  qs.push(
    { id: 'v1.operations-legacy.unknown-service', path: '/api/services/nobody/operations' },
    { id: 'v3.operations.unknown-service', path: '/api/v3/operations?service=nobody' },
    { id: 'v1.dependencies.default-lookback', path: '/api/dependencies?endTs={endMs}' },
    { id: 'error.v1.trace.malformed-id', path: '/api/traces/not-a-trace-id' },
    { id: 'error.v1.trace.too-long-id', path: '/api/traces/0000000000000000000000000000000000000001' },
    { id: 'error.v1.trace.unknown', path: `/api/traces/${UNKNOWN_TRACE}` },
    { id: 'error.v1.trace.raw-not-bool', path: `/api/traces/${UNKNOWN_TRACE}?raw=maybe` },
    { id: 'error.v1.search.bad-start', path: '/api/traces?service=shop-otlp-json&start=yesterday' },
    { id: 'error.v1.search.bad-min-duration', path: `/api/traces?service=shop-otlp-json&minDuration=fast&${WINDOW_V1}` },
    { id: 'error.v1.search.min-over-max', path: `/api/traces?service=shop-otlp-json&minDuration=10ms&maxDuration=1ms&${WINDOW_V1}` },
    { id: 'error.v1.search.bad-limit', path: `/api/traces?service=shop-otlp-json&limit=lots&${WINDOW_V1}` },
    { id: 'error.v1.search.bad-tags-json', path: `/api/traces?service=shop-otlp-json&tags=${enc('{bad')}&${WINDOW_V1}` },
    { id: 'error.v1.search.bad-tag', path: `/api/traces?service=shop-otlp-json&tag=nocolon&${WINDOW_V1}` },
    { id: 'error.v1.search.bad-trace-id', path: `/api/traces?traceID=xyz&${WINDOW_V1}` },
    { id: 'error.v1.operations.no-service', path: '/api/operations' },
    { id: 'error.v1.dependencies.bad-end', path: '/api/dependencies?endTs=soon' },
    { id: 'error.v1.dependencies.bad-lookback', path: '/api/dependencies?endTs={endMs}&lookback=long' },
    { id: 'error.v3.trace.malformed-id', path: '/api/v3/traces/not-a-trace-id' },
    { id: 'error.v3.trace.unknown', path: `/api/v3/traces/${UNKNOWN_TRACE}` },
    { id: 'error.v3.trace.raw-not-bool', path: `/api/v3/traces/${UNKNOWN_TRACE}?raw_traces=maybe` },
    { id: 'error.v3.trace.bad-start-time', path: `/api/v3/traces/${UNKNOWN_TRACE}?start_time=yesterday` },
    { id: 'error.v3.search.no-window', path: '/api/v3/traces?query.service_name=shop-otlp-json' },
    { id: 'error.v3.search.bad-time', path: '/api/v3/traces?query.service_name=shop-otlp-json&query.start_time_min=yesterday&query.start_time_max={endIso}' },
    { id: 'error.v3.search.bad-duration', path: `/api/v3/traces?query.service_name=shop-otlp-json&query.duration_min=fast&${WINDOW_V3}` },
    { id: 'error.v3.search.bad-num-traces', path: `/api/v3/traces?query.service_name=shop-otlp-json&query.num_traces=lots&${WINDOW_V3}` },
    { id: 'error.v3.search.bad-raw', path: `/api/v3/traces?query.service_name=shop-otlp-json&query.raw_traces=maybe&${WINDOW_V3}` },
    { id: 'error.v3.operations.no-service', path: '/api/v3/operations' },
  );
  return qs;
}

// ---- normalising ----

const json = (v: unknown): string => JSON.stringify(v);
const byJson = (a: unknown, b: unknown): number => (json(a) < json(b) ? -1 : json(a) > json(b) ? 1 : 0);
const sortTags = (tags: unknown): unknown => (Array.isArray(tags) ? [...tags].sort(byJson) : tags);

const DAY_US = 86_400_000_000n;

function offsetUs(v: unknown, baseUs: bigint): unknown {
  if (typeof v !== 'number') return v;
  const d = BigInt(v) - baseUs;
  return d > DAY_US || d < -DAY_US ? v : `T${d >= 0n ? '+' : '-'}${d < 0n ? -d : d}`;
}

function offsetNs(v: unknown, baseNs: bigint): unknown {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return v;
  const d = BigInt(v) - baseNs;
  return d > DAY_US * 1000n || d < -DAY_US * 1000n ? v : `T${d >= 0n ? '+' : '-'}${d < 0n ? -d : d}`;
}

/**
 * Go's time.Time text ("2026-12-07 04:05:30.6 +0000 UTC") in a warning, as an offset from the base; a duration of
 * a day or more (from a time of 0 to the base) as such.
 */
function warningTimes(text: unknown, baseUs: bigint): unknown {
  if (typeof text !== 'string') return text;
  return text.replace(/\b(\d+)h\d+m[\d.]+s\b/g, (all, hours: string) => (Number(hours) >= 24 ? '(a day or more)' : all)).replace(/(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d{1,9}))? \+0000 UTC/g, (all, secs: string, frac = '') => {
    const ns = BigInt(Date.parse(`${secs.replace(' ', 'T')}Z`)) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
    const out = offsetNs(String(ns), baseUs * 1000n);
    return typeof out === 'string' && out.startsWith('T') ? out : all;
  });
}

function v1Trace(trace: any, baseUs: bigint): any {
  if (trace === null || typeof trace !== 'object') return trace;
  const processes: Record<string, unknown> = {};
  for (const [id, p] of Object.entries((trace.processes ?? {}) as Record<string, any>)) processes[id] = { ...p, tags: sortTags(p.tags) };
  const spans = (trace.spans ?? []).map((s: any) => {
    const { processID, ...rest } = s;
    return {
      ...rest,
      startTime: offsetUs(s.startTime, baseUs),
      tags: sortTags(s.tags),
      logs: Array.isArray(s.logs) ? s.logs.map((l: any) => ({ ...l, timestamp: offsetUs(l.timestamp, baseUs) })) : s.logs,
      warnings: Array.isArray(s.warnings) ? [...new Set(s.warnings.map((w: unknown) => warningTimes(w, baseUs)))].sort() : s.warnings,
      process: processID === undefined ? undefined : processes[processID] ?? `missing process ${processID}`,
    };
  });
  spans.sort((a: any, b: any) => (a.spanID < b.spanID ? -1 : a.spanID > b.spanID ? 1 : byJson(a, b)));
  const distinct = [...new Map(Object.values(processes).map((p) => [json(p), p])).values()].sort(byJson);
  return { ...trace, spans, processes: distinct };
}

function v3Traces(result: any, baseNs: bigint): any {
  if (result === null || typeof result !== 'object' || !Array.isArray(result.resourceSpans)) return result;
  const times = (o: any): any => {
    const out = { ...o };
    for (const k of ['startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano']) if (k in out) out[k] = offsetNs(out[k], baseNs);
    if (Array.isArray(out.attributes)) {
      out.attributes = sortTags(out.attributes.map((a: any) => (a.key === '@jaeger@warnings' && Array.isArray(a.value?.arrayValue?.values)
        ? { ...a, value: { arrayValue: { values: [...new Set(a.value.arrayValue.values.map((v: any) => warningTimes(v.stringValue, baseNs / 1000n)))].sort().map((w) => ({ stringValue: w })) } } }
        : a)));
    }
    return out;
  };
  // Spans under equal resources and scopes are one group, however the answer splits them.
  const groups = new Map<string, { resource: unknown; schemaUrl: unknown; scopes: Map<string, { scope: unknown; schemaUrl: unknown; spans: any[] }> }>();
  for (const rs of result.resourceSpans) {
    const resource = rs.resource ? times(rs.resource) : rs.resource;
    const rKey = json([resource, rs.schemaUrl]);
    if (!groups.has(rKey)) groups.set(rKey, { resource, schemaUrl: rs.schemaUrl, scopes: new Map() });
    const scopes = groups.get(rKey)!.scopes;
    for (const ss of rs.scopeSpans ?? []) {
      const scope = ss.scope ? times(ss.scope) : ss.scope;
      const sKey = json([scope, ss.schemaUrl]);
      if (!scopes.has(sKey)) scopes.set(sKey, { scope, schemaUrl: ss.schemaUrl, spans: [] });
      scopes.get(sKey)!.spans.push(...(ss.spans ?? []).map((s: any) => ({
        ...times(s),
        ...(s.events ? { events: s.events.map(times) } : {}),
        ...(s.links ? { links: s.links.map(times) } : {}),
      })));
    }
  }
  const resourceSpans = [...groups.values()].map((g) => ({
    resource: g.resource,
    ...(g.schemaUrl === undefined ? {} : { schemaUrl: g.schemaUrl }),
    scopeSpans: [...g.scopes.values()].filter((s) => s.spans.length > 0).map((s) => ({
      scope: s.scope,
      ...(s.schemaUrl === undefined ? {} : { schemaUrl: s.schemaUrl }),
      spans: s.spans.sort((a: any, b: any) => (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : byJson(a, b))),
    })).sort(byJson),
  })).filter((rs) => rs.scopeSpans.length > 0).sort(byJson);
  return { ...result, resourceSpans };
}

/** The answer with what Jaeger leaves free evened out (see the top of this file). */
export function normalise(q: Question, answer: Answer, baseUs: bigint): Answer {
  const path = q.path.split('?')[0]!;
  const body: any = structuredClone(answer.body);
  if (body === null || typeof body !== 'object') return { status: answer.status, body };
  if (path.startsWith('/api/v3/traces')) {
    if (body.result) {
      body.result = v3Traces(body.result, baseUs * 1000n);
      if (q.countOnly) body.result = { traces: new Set(body.result.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans.map((x: any) => x.traceId)))).size };
    }
  } else if (path.startsWith('/api/traces')) {
    // Left free: Jaeger's v1 envelope answers total and limit 0; Shipwatch fills them for paging (README, "Moving from
    // Jaeger"), which its own API tests check (test/query/jaeger/jaeger-v1.test.ts).
    if (typeof body.total === 'number') body.total = 0;
    if (typeof body.limit === 'number') body.limit = 0;
    if (Array.isArray(body.data)) {
      body.data = body.data.map((t: any) => v1Trace(t, baseUs)).sort((a: any, b: any) => (a?.traceID < b?.traceID ? -1 : a?.traceID > b?.traceID ? 1 : byJson(a, b)));
      if (q.countOnly) body.data = { traces: body.data.length };
    }
  } else if (path === '/api/v3/services') {
    if (Array.isArray(body.services)) body.services = [...body.services].sort();
  } else if (path === '/api/v3/operations') {
    if (Array.isArray(body.operations)) body.operations = [...body.operations].sort(byJson);
  } else if (Array.isArray(body.data)) {
    body.data = [...body.data].sort(byJson);
  }
  return { status: answer.status, body };
}
