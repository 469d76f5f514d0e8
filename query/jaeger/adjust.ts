/**
 * The adjusters the query program applies to a trace before answering, as Jaeger 2.x's query service does unless the
 * client asks for raw traces (`raw=true`, `query.raw_traces=true`). Jaeger runs two lists:
 * - the v1 API (model spans, cmd/query/app/querysvc/adjusters.go): Zipkin span-id uniquifier, tags and log fields
 *   sorted, identical spans deduplicated, clock skew, IP tags, OTel library tags moved to the process, references
 *   with a zero trace id removed, the parent reference first;
 * - API v3 (OTLP, querysvc/v2/adjuster/standard.go): client/server span-id uniquifier, collections sorted, identical
 *   spans deduplicated, clock skew, IP attributes, library attributes moved to the resource, empty links removed.
 * Both work on copies: the spans given are left untouched. Jaeger keeps the spans of a deduplicated trace in a map's
 * order (random); here the first of identical spans stays, in the order read. Sorting API v3's attributes and events
 * is left to the OTLP encoder (otlp-json.ts `sorted`), which sees the attributes as OTLP has them.
 */
import type { KeyValue, OtlpLink, Process, Span, SpanLog, SpanRef } from '../../model/span.js';
import { deduplicateClientServerSpanIds } from '../../model/shared-span-ids.js';

export interface AdjustOptions {
  /**
   * Jaeger's `max_clock_skew_adjust` in µs. 0 (Jaeger's example configuration) adjusts nothing and warns with the
   * delta it would have applied.
   */
  maxClockSkewAdjustMicros?: number;
}

/** Spans whose v3 warnings attribute an adjuster created (it goes after the sorted attributes, as Jaeger appends it). */
export const warningsAddedByAdjusters = new WeakSet<Span>();

/** The v1 API's adjusters (the default list of Jaeger's query service). */
export function adjustTrace(spans: Span[], raw: boolean, options: AdjustOptions = {}): Span[] {
  if (raw) return spans;
  let out = copySpans(deduplicateClientServerSpanIds(spans));
  for (const s of out) sortV1(s);
  out = dedupe(out, false);
  clockSkew(out, options.maxClockSkewAdjustMicros ?? 0, 'v1');
  for (const s of out) {
    ipTags(s.tags);
    ipTags(s.process.tags);
    moveLibraryTagsV1(s);
    s.process.tags.sort(compareKv);
    badReferences(s);
    parentReferenceFirst(s);
  }
  return out;
}

/** API v3's adjusters (Jaeger's v2 query service). */
export function adjustTraceV3(spans: Span[], raw: boolean, options: AdjustOptions = {}): Span[] {
  if (raw) return spans;
  let out = copySpans(deduplicateClientServerSpanIds(spans));
  out = dedupe(out, true);
  const stored = new Set<Span>(out.filter((s) => s.warnings !== undefined && s.warnings.length > 0));
  clockSkew(out, options.maxClockSkewAdjustMicros ?? 0, 'v3');
  for (const s of out) {
    ipTags(s.tags);
    ipTags(s.process.tags);
    moveLibraryTagsV3(s);
    removeEmptyLinks(s);
    if (!stored.has(s) && s.warnings !== undefined && s.warnings.length > 0) warningsAddedByAdjusters.add(s);
  }
  return out;
}

function copySpans(spans: Span[]): Span[] {
  const processes = new Map<Process, Process>();
  return spans.map((s) => {
    let process = processes.get(s.process);
    if (process === undefined) {
      process = { serviceName: s.process.serviceName, tags: s.process.tags.slice() };
      processes.set(s.process, process);
    }
    const copy: Span = {
      ...s,
      references: s.references.slice(),
      tags: s.tags.slice(),
      logs: s.logs.map((l): SpanLog => ({ timestampMicros: l.timestampMicros, fields: l.fields.slice() })),
      process,
    };
    if (s.warnings !== undefined) copy.warnings = s.warnings.slice();
    if (s.otlp !== undefined) copy.otlp = { ...s.otlp };
    return copy;
  });
}

const TYPE_ORDER: Record<KeyValue['type'], number> = { string: 0, bool: 1, int64: 2, float64: 3, binary: 4 };

/** Jaeger's `KeyValue.Compare`: key, then type, then value. */
export function compareKv(a: KeyValue, b: KeyValue): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  if (a.type !== b.type) return TYPE_ORDER[a.type] - TYPE_ORDER[b.type];
  const x = a.value;
  const y = b.value;
  if (x instanceof Uint8Array && y instanceof Uint8Array) return Buffer.compare(x, y);
  if (typeof x === 'boolean') return x === y ? 0 : x ? 1 : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** SortTagsAndLogFields: tags sorted; in each log an `event` string field first (swapped there), the rest sorted. */
function sortV1(s: Span): void {
  s.tags.sort(compareKv);
  s.process.tags.sort(compareKv);
  for (const log of s.logs) {
    let offset = 0;
    const f = log.fields;
    for (let i = 0; i < f.length; i++) {
      if (f[i]!.key === 'event' && f[i]!.type === 'string') {
        if (i > 0) [f[0], f[i]] = [f[i]!, f[0]!];
        offset = 1;
        break;
      }
    }
    if (f.length > 1) {
      const rest = f.slice(offset).sort(compareKv);
      for (let i = 0; i < rest.length; i++) f[offset + i] = rest[i]!;
    }
  }
}

function kvsKey(kvs: KeyValue[] | undefined): unknown[] {
  if (kvs === undefined) return [];
  return kvs.map((kv) => [
    kv.key,
    kv.type,
    typeof kv.value === 'bigint' ? `${kv.value}n` : kv.value instanceof Uint8Array ? Buffer.from(kv.value).toString('base64') : typeof kv.value === 'number' && !Number.isFinite(kv.value) ? String(kv.value) : kv.value,
    kv.type === 'string' && kv.any !== undefined ? kv.any : null,
  ]);
}

/**
 * What Jaeger hashes to find identical spans: the v1 model span with its process (DedupeBySpanHash), or for API v3
 * the OTLP span with its resource and scope attributes (DeduplicateSpans).
 */
function spanKey(s: Span, v3: boolean): string {
  const key: unknown[] = [
    s.traceId, s.spanId, s.operationName, s.flags, s.startTimeMicros, s.durationMicros,
    s.references.map((r) => [r.refType, r.traceId, r.spanId, v3 ? kvsKey(r.tags) : null]),
    kvsKey(s.tags),
    s.logs.map((l) => [l.timestampMicros, kvsKey(l.fields)]),
    s.process.serviceName, kvsKey(s.process.tags),
    s.warnings ?? [],
  ];
  if (v3) key.push(kvsKey(s.scope?.tags), s.otlp === undefined ? null : { ...s.otlp, links: s.otlp.links?.map((l) => ({ ...l, attributes: kvsKey(l.attributes) })) });
  return JSON.stringify(key);
}

function dedupe(spans: Span[], v3: boolean): Span[] {
  const seen = new Set<string>();
  const out: Span[] = [];
  for (const s of spans) {
    const k = spanKey(s, v3);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(s);
  }
  return out;
}

function warn(s: Span, text: string): void {
  (s.warnings ??= []).push(text);
}

/** Jaeger's model `ParentSpanID()`: the first CHILD_OF of the same trace, else the first FOLLOWS_FROM of it. */
function v1Parent(s: Span): string | undefined {
  let follows: string | undefined;
  for (const r of s.references) {
    if (r.traceId !== s.traceId) continue;
    if (r.refType === 'CHILD_OF') return r.spanId;
    if (follows === undefined) follows = r.spanId;
  }
  return follows;
}

/** The parent an OTLP span has in Jaeger v2: as sent for OTLP spans, as translated from the references otherwise. */
function v3Parent(s: Span): string | undefined {
  if (s.otlp !== undefined) return s.otlp.parentSpanId;
  return v1Parent(s);
}

function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function toUint32(kv: KeyValue): number | undefined {
  if (kv.type === 'int64') return Number(BigInt.asUintN(32, BigInt(kv.value)));
  if (kv.type === 'float64') return Number.isFinite(kv.value) ? Number(BigInt.asUintN(32, BigInt(Math.trunc(kv.value)))) : 0;
  return undefined;
}

function v1HostKey(s: Span): string {
  const ip = s.process.tags.find((t) => t.key === 'ip');
  if (ip === undefined) return '';
  if (ip.type === 'string') return ip.value;
  if (ip.type === 'int64') return ipv4(Number(BigInt.asUintN(32, BigInt(ip.value))));
  if (ip.type === 'binary' && ip.value.length === 4) return Array.from(ip.value).join('.');
  if (ip.type === 'binary' && ip.value.length === 16) return ipv6(ip.value);
  return '';
}

function ipv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}

function v3HostKey(s: Span): string {
  const tags = s.process.tags;
  const id = tags.find((t) => t.key === 'host.id');
  if (id !== undefined) return String(id.value);
  const ip = tags.find((t) => t.key === 'host.ip');
  if (ip !== undefined) {
    if (ip.type === 'string' && ip.any === undefined) return ip.value;
    const first = ip.type === 'string' ? ((ip.any?.arrayValue as { values?: Array<Record<string, unknown>> } | undefined)?.values?.[0]) : undefined;
    if (first !== undefined) return String(Object.values(first)[0] ?? '');
  }
  const name = tags.find((t) => t.key === 'host.name');
  return name !== undefined ? String(name.value) : '';
}

interface SkewNode {
  span: Span;
  host: string;
  children: SkewNode[];
}

/**
 * A span's start in ns relative to `base` (µs), exact over any realistic span of a trace. Jaeger 2.x's v1 spans come
 * from its OTLP storage with their nanoseconds too: both lists compute the skew in ns.
 */
function startNs(s: Span, base: number): number {
  return (s.startTimeMicros - base) * 1000 + (s.otlp?.startNanos ?? 0);
}

function durationNs(s: Span): number {
  return s.durationMicros * 1000 + (s.otlp?.durationNanos ?? 0);
}

/** Jaeger's clock skew adjuster (v1 ClockSkew / v2 CorrectClockSkew). */
function clockSkew(spans: Span[], maxDeltaMicros: number, api: 'v1' | 'v3'): void {
  const v3 = api === 'v3';
  const nodes = new Map<string, SkewNode>();
  for (const s of spans) {
    if (nodes.has(s.spanId)) warn(s, 'duplicate span IDs; skipping clock skew adjustment');
    else nodes.set(s.spanId, { span: s, host: v3 ? v3HostKey(s) : v1HostKey(s), children: [] });
  }
  const roots: SkewNode[] = [];
  for (const n of nodes.values()) {
    const parent = v3 ? v3Parent(n.span) : v1Parent(n.span);
    if (parent === undefined || parent === '0000000000000000') {
      roots.push(n);
      continue;
    }
    const p = nodes.get(parent);
    if (p !== undefined) p.children.push(n);
    else {
      warn(n.span, v3
        ? `parent span ID=${parent} is not in the trace; skipping clock skew adjustment`
        : `invalid parent span IDs=${parent}; skipping clock skew adjustment`);
      roots.push(n);
    }
  }
  if (spans.length === 0) return;
  const base = spans[0]!.startTimeMicros;
  const maxDelta = maxDeltaMicros * 1000;
  const adjust = (n: SkewNode, parent: SkewNode | undefined, skewHost: string, delta: number): void => {
    if ((n.host !== skewHost || n.host === '') && parent !== undefined) {
      skewHost = n.host;
      delta = skewOf(n.span, parent.span, base);
    }
    if (delta !== 0) {
      if (Math.abs(delta) > maxDelta) {
        warn(n.span, maxDelta === 0
          ? `clock skew adjustment disabled; not applying calculated delta of ${goDuration(delta)}`
          : `max clock skew adjustment delta of ${goDuration(maxDelta)} exceeded; not applying calculated delta of ${goDuration(delta)}`);
      } else shift(n.span, delta, v3);
    }
    for (const c of n.children) adjust(c, n, skewHost, delta);
  };
  for (const r of roots) adjust(r, undefined, r.host, 0);
}

function skewOf(child: Span, parent: Span, base: number): number {
  const ps = startNs(parent, base);
  const pd = durationNs(parent);
  const cs = startNs(child, base);
  const cd = durationNs(child);
  if (cd > pd) return cs < ps ? ps - cs : 0;
  if (cs >= ps && cs + cd <= ps + pd) return 0;
  const latency = Math.trunc((pd - cd) / 2);
  return ps + latency - cs;
}

/** Moves the span and its logs by `delta` ns (the model keeps µs; API v3's nanoseconds are kept exact). */
function shift(s: Span, delta: number, v3: boolean): void {
  const moveNs = (micros: number, nanos: number): [number, number] => {
    const total = nanos + delta;
    const carry = Math.floor(total / 1000);
    return [micros + carry, total - carry * 1000];
  };
  if (v3 && s.otlp !== undefined) {
    const [m, n] = moveNs(s.startTimeMicros, s.otlp.startNanos ?? 0);
    s.startTimeMicros = m;
    if (n !== 0) s.otlp.startNanos = n;
    else delete s.otlp.startNanos;
    const eventNanos = s.otlp.eventNanos?.slice() ?? new Array<number>(s.logs.length).fill(0);
    s.logs = s.logs.map((l, i) => {
      const [lm, ln] = moveNs(l.timestampMicros, eventNanos[i] ?? 0);
      eventNanos[i] = ln;
      return { timestampMicros: lm, fields: l.fields };
    });
    if (eventNanos.some((n) => n !== 0)) s.otlp.eventNanos = eventNanos;
    else delete s.otlp.eventNanos;
  } else {
    const us = Math.trunc(delta / 1000);
    s.startTimeMicros += us;
    s.logs = s.logs.map((l) => ({ timestampMicros: l.timestampMicros + us, fields: l.fields }));
  }
  warn(s, `This span's timestamps were adjusted by ${goDuration(delta)}`);
}

/** Go's `time.Duration.String()` of a number of nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1000) out = `${u}ns`;
  else if (u < 1e6) out = `${trimFraction(u, 1e3)}µs`;
  else if (u < 1e9) out = `${trimFraction(u, 1e6)}ms`;
  else {
    const totalSec = Math.floor(u / 1e9);
    const fracNs = u - totalSec * 1e9;
    const h = Math.floor(totalSec / 3600);
    const m = Math.floor((totalSec % 3600) / 60);
    const s = totalSec % 60;
    const frac = fracNs > 0 ? '.' + String(fracNs).padStart(9, '0').replace(/0+$/, '') : '';
    out = `${s}${frac}s`;
    if (h > 0) out = `${h}h${m}m${out}`;
    else if (m > 0) out = `${m}m${out}`;
    u = 0;
  }
  return neg ? `-${out}` : out;
}

function trimFraction(u: number, unit: number): string {
  const whole = Math.floor(u / unit);
  const frac = u - whole * unit;
  if (frac === 0) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(frac).padStart(digits, '0').replace(/0+$/, '')}`;
}

const IP_KEYS = new Set(['ip', 'peer.ipv4']);

/** IPTagAdjuster / NormalizeIPAttributes: an `ip` or `peer.ipv4` number becomes a dotted string, in place. */
function ipTags(tags: KeyValue[]): void {
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i]!;
    if (!IP_KEYS.has(t.key)) continue;
    const n = toUint32(t);
    if (n !== undefined) tags[i] = { key: t.key, type: 'string', value: ipv4(n) };
  }
}

const LIBRARY_KEYS = new Set(['telemetry.sdk.language', 'telemetry.sdk.name', 'telemetry.sdk.version', 'telemetry.distro.name', 'telemetry.distro.version']);

/** OTelTagAdjuster: OTel SDK tags move from the span to its process. */
function moveLibraryTagsV1(s: Span): void {
  if (!s.tags.some((t) => LIBRARY_KEYS.has(t.key))) return;
  const moved = s.tags.filter((t) => LIBRARY_KEYS.has(t.key));
  s.tags = s.tags.filter((t) => !LIBRARY_KEYS.has(t.key));
  s.process = { serviceName: s.process.serviceName, tags: [...s.process.tags, ...moved] };
}

/**
 * MoveLibraryAttributes: the same to the resource, unless the resource has another value (a warning then). The
 * resource is shared by its spans (`copySpans` kept the sharing): they all show the moved attribute, as in Jaeger.
 */
function moveLibraryTagsV3(s: Span): void {
  if (!s.tags.some((t) => LIBRARY_KEYS.has(t.key))) return;
  const processTags = s.process.tags;
  const kept: KeyValue[] = [];
  for (const t of s.tags) {
    if (!LIBRARY_KEYS.has(t.key)) {
      kept.push(t);
      continue;
    }
    const at = processTags.findIndex((p) => p.key === t.key);
    if (at >= 0 && (processTags[at]!.type !== t.type || String(processTags[at]!.value) !== String(t.value))) {
      warn(s, `conflicting values between Span and Resource for attribute ${t.key}`);
      kept.push(t);
      continue;
    }
    if (at >= 0) processTags[at] = t;
    else processTags.push(t);
  }
  s.tags = kept;
}

const ZERO_TRACE = '00000000000000000000000000000000';

/** Go's `%+v` of Jaeger's `SpanRef`. */
function goSpanRef(r: SpanRef): string {
  const trace = r.traceId.startsWith('0000000000000000') ? r.traceId.slice(16) : r.traceId;
  return `{TraceID:${trace} SpanID:${r.spanId} RefType:${r.refType} XXX_NoUnkeyedLiteral:{} XXX_unrecognized:[] XXX_sizecache:0}`;
}

/** SpanReferences: references with a zero trace id are removed, each with a warning. */
function badReferences(s: Span): void {
  if (!s.references.some((r) => r.traceId === ZERO_TRACE)) return;
  const kept: SpanRef[] = [];
  for (const r of s.references) {
    if (r.traceId === ZERO_TRACE) warn(s, `Invalid span reference removed ${goSpanRef(r)}`);
    else kept.push(r);
  }
  s.references = kept;
}

/** RemoveEmptySpanLinks: links with a zero trace id are removed, each with a warning. */
function removeEmptyLinks(s: Span): void {
  if (s.otlp !== undefined) {
    const links = s.otlp.links;
    if (links === undefined || !links.some((l) => l.traceId === ZERO_TRACE)) return;
    const kept: OtlpLink[] = [];
    for (const l of links) {
      if (l.traceId === ZERO_TRACE) warn(s, 'Invalid span link removed');
      else kept.push(l);
    }
    s.otlp.links = kept;
    return;
  }
  // Other spans' links are their references but the parent (otlp-json.ts).
  if (!s.references.some((r) => r.traceId === ZERO_TRACE)) return;
  s.references = s.references.filter((r) => {
    if (r.traceId !== ZERO_TRACE) return true;
    warn(s, 'Invalid span link removed');
    return false;
  });
}

/** ParentReference: the first CHILD_OF of the same trace (else its first other reference) moves to the front. */
function parentReferenceFirst(s: Span): void {
  let child = -1;
  let other = -1;
  for (let i = 0; i < s.references.length; i++) {
    const r = s.references[i]!;
    if (r.traceId !== s.traceId) continue;
    if (r.refType === 'CHILD_OF') {
      child = i;
      break;
    }
    if (other === -1) other = i;
  }
  const at = child === -1 ? other : child;
  if (at > 0) {
    const refs = s.references;
    [refs[0], refs[at]] = [refs[at]!, refs[0]!];
  }
}
