/**
 * An OTLP/HTTP trace body (already un-gzipped) → spans: JSON.parse or the protobuf decoder, the span-count limit,
 * then the shared translation. Pure and synchronous; the receiver and the benchmark both go through here.
 */
import { decodeExportTraceRequest } from './otlp-protobuf.js';
import { otlpJsonToSpans, type OtlpTranslation } from './otlp-translate.js';

export type OtlpEncoding = 'json' | 'protobuf';

export type OtlpDecodeResult =
  | { ok: true; translation: OtlpTranslation }
  | { ok: false; status: 400 | 413; message: string };

/** Spans in a request of the OTLP/JSON shape, without translating it (0 for anything unexpected). */
export function countOtlpSpans(request: unknown): number {
  const rss = (request as { resourceSpans?: unknown; resource_spans?: unknown } | null)?.resourceSpans ?? (request as { resource_spans?: unknown } | null)?.resource_spans;
  if (!Array.isArray(rss)) return 0;
  let n = 0;
  for (const rs of rss as Array<Record<string, unknown> | null>) {
    const sss = rs?.scopeSpans ?? rs?.scope_spans ?? rs?.instrumentationLibrarySpans ?? rs?.instrumentation_library_spans;
    if (!Array.isArray(sss)) continue;
    for (const ss of sss as Array<{ spans?: unknown } | null>) if (Array.isArray(ss?.spans)) n += ss.spans.length;
  }
  return n;
}

export function decodeOtlpTraces(body: Buffer, encoding: OtlpEncoding, maxSpans: number): OtlpDecodeResult {
  let request: unknown;
  if (encoding === 'json') {
    if (body.length === 0) return { ok: false, status: 400, message: 'empty body: an ExportTraceServiceRequest in JSON was expected' };
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return { ok: false, status: 400, message: `malformed JSON: ${(err as Error).message}` };
    }
  } else {
    const decoded = decodeExportTraceRequest(body);
    if ('error' in decoded) return { ok: false, status: 400, message: decoded.error };
    request = decoded.request;
  }
  const count = countOtlpSpans(request);
  if (count > maxSpans) return { ok: false, status: 413, message: `${count} spans in one request, at most ${maxSpans} are taken` };
  const translation = otlpJsonToSpans(request);
  if (translation.malformed !== undefined) return { ok: false, status: 400, message: translation.malformed };
  return { ok: true, translation };
}
