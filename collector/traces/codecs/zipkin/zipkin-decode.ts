/**
 * A Zipkin request body (already un-gzipped) → spans: v2 JSON, v2 proto3 or v1 JSON, through OTLP to the span
 * model as Jaeger v2 does it. Zipkin has no partial success, so any span that cannot be mapped refuses the request.
 * Pure and synchronous; the receiver and the benchmark both go through here.
 */
import type { Span } from '../../../../model/span.js';
import { otlpJsonToSpans } from '../otlp/otlp-translate.js';
import type { ZipkinSpan } from './zipkin-model.js';
import { decodeZipkinListOfSpans } from './zipkin-proto.js';
import { zipkinToOtlp } from './zipkin-translate.js';
import { zipkinV1ToOtlp } from './zipkin-v1-json.js';
import { readZipkinV2Json } from './zipkin-v2-json.js';

export type ZipkinFormat = 'v2-json' | 'v2-protobuf' | 'v1-json';

export type ZipkinDecodeResult = { ok: true; spans: Span[] } | { ok: false; status: 400 | 413; message: string };

function parseJson(body: Buffer): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(body.toString('utf8')) };
  } catch (err) {
    return { error: `malformed JSON: ${(err as Error).message}` };
  }
}

export function decodeZipkin(body: Buffer, format: ZipkinFormat, maxSpans: number): ZipkinDecodeResult {
  let request: { resourceSpans: unknown[] };
  let count: number;
  if (format === 'v1-json') {
    const json = parseJson(body);
    if ('error' in json) return { ok: false, status: 400, message: json.error };
    if (Array.isArray(json.value) && json.value.length > maxSpans) return tooMany(json.value.length, maxSpans);
    const v1 = zipkinV1ToOtlp(json.value);
    if ('error' in v1) return { ok: false, status: 400, message: v1.error };
    request = v1.request;
    count = json.value === null ? 0 : (json.value as unknown[]).length;
  } else {
    let zspans: ZipkinSpan[];
    if (format === 'v2-json') {
      const json = parseJson(body);
      if ('error' in json) return { ok: false, status: 400, message: json.error };
      if (Array.isArray(json.value) && json.value.length > maxSpans) return tooMany(json.value.length, maxSpans);
      const v2 = readZipkinV2Json(json.value);
      if ('error' in v2) return { ok: false, status: 400, message: v2.error };
      zspans = v2.spans;
    } else {
      const proto = decodeZipkinListOfSpans(body);
      if ('error' in proto) return { ok: false, status: 400, message: proto.error };
      zspans = proto.spans;
    }
    count = zspans.length;
    if (count > maxSpans) return tooMany(count, maxSpans);
    const otlp = zipkinToOtlp(zspans);
    if (typeof otlp === 'string') return { ok: false, status: 400, message: otlp };
    request = otlp;
  }
  const t = otlpJsonToSpans(request);
  if (t.malformed !== undefined) return { ok: false, status: 400, message: t.malformed };
  if (t.rejected > 0) return { ok: false, status: 400, message: `${t.rejected} of ${count} spans cannot be stored: ${t.errors.join('; ')}` };
  return { ok: true, spans: t.spans };
}

function tooMany(count: number, maxSpans: number): ZipkinDecodeResult {
  return { ok: false, status: 413, message: `${count} spans in one request, at most ${maxSpans} are taken` };
}
