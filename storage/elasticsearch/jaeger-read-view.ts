/**
 * A span document as Jaeger 2.x shows it. Jaeger's Elasticsearch reader makes OTLP of each document (`FromDBModel`)
 * and its v1 API makes the Jaeger model of that OTLP again, so what it answers is a round trip, and the span model
 * (which holds spans as Jaeger's v1 API shows them) gets the same from a document:
 *
 * - tags are a map: a repeated key keeps its first place and its last value;
 * - `span.kind` becomes the span's kind (server, client, producer, consumer, internal; anything else none), the tag
 *   removed; `error=true` (bool) makes the status ERROR (the tag removed, the message from `otel.status_description`,
 *   removed, or `http.status_message`); else `otel.status_code` (OK / ERROR, any case, always removed) with its
 *   `otel.status_description`; else `http.response.status_code` (the current semantic conventions' key, not the
 *   older `http.status_code` Jaeger's Thrift translation reads; int or decimal text: 100–398 unset, 4xx unset on a
 *   server, anything else ERROR) with `http.status_message`; then after the tags: `span.kind`, `otel.status_code`,
 *   `error=true`, `otel.status_description`. Jaeger writes an ERROR status as `error=true` alone, so a document
 *   shows `otel.status_code=ERROR` again; a span whose `http.response.status_code` is 500 shows an error status
 *   though none was sent, as Jaeger on Elasticsearch shows it;
 * - references: the parent is the first CHILD_OF reference into the same trace, else the first FOLLOWS_FROM one;
 *   it comes first, as CHILD_OF, followed by every other reference but CHILD_OF ones naming the parent's span id; a
 *   reference to the parent span itself retypes the first (a span with a CHILD_OF and a FOLLOWS_FROM reference to
 *   its parent shows only FOLLOWS_FROM).
 *
 * The writer stores what this inverts to (jaeger-dbmodel.ts: `otel.status_code=ERROR` beside `error=true` left out),
 * so a span Shipwatch wrote reads back as it was. Pure.
 */
import { appendKindAndStatus } from '../../model/jaeger-thrift/jaeger-otel-translate.js';
import type { KeyValue, SpanRef } from '../../model/span.js';

const KINDS = new Set(['client', 'server', 'producer', 'consumer', 'internal']);

/** pcommon.Map semantics: a repeated key keeps its first place and its last value. */
function asMap(tags: KeyValue[]): KeyValue[] {
  let seen: Map<string, number> | undefined;
  let out: KeyValue[] | undefined;
  for (let i = 0; i < tags.length; i++) {
    const kv = tags[i]!;
    seen ??= new Map();
    const at = seen.get(kv.key);
    if (at === undefined) {
      seen.set(kv.key, out ? out.length : i);
      out?.push(kv);
    } else {
      out ??= tags.slice(0, i);
      out[at] = kv;
    }
  }
  return out ?? tags;
}

function text(kv: KeyValue): string {
  switch (kv.type) {
    case 'string':
      return kv.value;
    case 'bool':
      return kv.value ? 'true' : 'false';
    case 'int64':
      return kv.value.toString();
    case 'float64':
      return String(kv.value);
    case 'binary':
      return Buffer.from(kv.value).toString('base64');
  }
}

/** The status `http.response.status_code` makes (Jaeger's `getStatusCodeFromHTTPStatusAttr`); undefined when not a number. */
function statusFromHttp(kv: KeyValue, kind: string): 'unset' | 'error' | undefined {
  let n: number;
  if (kv.type === 'int64') n = Number(kv.value);
  else if (kv.type === 'string' && /^[+-]?\d+$/.test(kv.value)) n = Number(kv.value);
  else return undefined;
  if (n >= 400 && n < 500) return kind === 'server' ? 'unset' : 'error';
  return n >= 100 && n < 399 ? 'unset' : 'error';
}

/** The span's tags as Jaeger's round trip shows them. */
export function readViewTags(tags: KeyValue[]): KeyValue[] {
  let attrs = asMap(tags);
  const find = (key: string): KeyValue | undefined => attrs.find((t) => t.key === key);
  const remove = (key: string): KeyValue | undefined => {
    const kv = find(key);
    if (kv !== undefined) attrs = attrs.filter((t) => t !== kv);
    return kv;
  };
  if (find('span.kind') === undefined && find('error') === undefined && find('otel.status_code') === undefined && find('http.response.status_code') === undefined) return attrs;
  attrs = attrs.slice();
  let kind = '';
  const kindTag = remove('span.kind');
  if (kindTag !== undefined && KINDS.has(text(kindTag))) kind = text(kindTag);
  let status: 'unset' | 'ok' | 'error' | undefined;
  let message = '';
  const error = find('error');
  if (error !== undefined && error.type === 'bool' && error.value) {
    status = 'error';
    remove('error');
    const desc = remove('otel.status_description');
    if (desc !== undefined) message = text(desc);
    else {
      const msg = find('http.status_message');
      if (msg !== undefined) message = text(msg);
    }
  }
  const code = find('otel.status_code');
  if (code !== undefined) {
    if (status === undefined) {
      const upper = text(code).toUpperCase();
      status = upper === 'OK' ? 'ok' : upper === 'ERROR' ? 'error' : 'unset';
      const desc = remove('otel.status_description');
      if (desc !== undefined) message = text(desc);
    }
    remove('otel.status_code');
  } else if (status === undefined) {
    const http = find('http.response.status_code');
    if (http !== undefined && statusFromHttp(http, kind) === 'error') {
      status = 'error';
      const msg = find('http.status_message');
      if (msg !== undefined) message = text(msg);
    }
  }
  return appendKindAndStatus(attrs, kind, status, message);
}

/**
 * The parent Jaeger's reader (`FromDBModel`) gives a span: the first CHILD_OF reference into the trace, else the
 * first FOLLOWS_FROM one; a reference into another trace is never the parent.
 */
export function roundTripParent(traceId: string, refs: readonly SpanRef[]): string | undefined {
  let follows: string | undefined;
  for (const r of refs) {
    if (r.traceId !== traceId) continue;
    if (r.refType === 'CHILD_OF') return r.spanId;
    follows ??= r.spanId;
  }
  return follows;
}

/** The span's references as Jaeger's round trip shows them. */
export function readViewReferences(traceId: string, refs: SpanRef[]): SpanRef[] {
  if (refs.length === 0) return refs;
  const parent = roundTripParent(traceId, refs);
  const out: SpanRef[] = parent === undefined ? [] : [{ refType: 'CHILD_OF', traceId, spanId: parent }];
  for (const r of refs) {
    if (r.refType === 'CHILD_OF' && r.spanId === parent) continue;
    if (parent !== undefined && r.traceId === traceId && r.spanId === parent) out[0]!.refType = r.refType;
    else out.push(r);
  }
  return out;
}
