/**
 * SDK spans as the real Zipkin exporter writes them in v2 JSON (tags as strings, resource attributes among the
 * tags), for the trace benchmarks.
 */
import { hrTimeToMicroseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

export const KIND = ['', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

export function zipkinJson(span: ReadableSpan): Record<string, unknown> {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(span.attributes)) tags[k] = String(v);
  if (span.status.code === 2) Object.assign(tags, { 'otel.status_code': 'ERROR', error: span.status.message ?? '' });
  for (const [k, v] of Object.entries(span.resource.attributes)) tags[k] = String(v);
  return {
    traceId: span.spanContext().traceId, id: span.spanContext().spanId, parentId: span.parentSpanContext?.spanId,
    name: span.name, kind: KIND[span.kind] || undefined,
    timestamp: Math.floor(hrTimeToMicroseconds(span.startTime)), duration: Math.floor(hrTimeToMicroseconds(span.duration)),
    localEndpoint: { serviceName: String(span.resource.attributes['service.name']) }, tags,
    annotations: span.events.length > 0 ? span.events.map((e) => ({ timestamp: Math.floor(hrTimeToMicroseconds(e.time)), value: e.name })) : undefined,
  };
}
