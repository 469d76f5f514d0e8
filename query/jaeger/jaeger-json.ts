/**
 * Spans → the JSON trace of Jaeger's query API v1 (Jaeger's `uimodel` as `converter/v1/json.FromDomain` fills it):
 * processes deduplicated into `p1`…`pN`, trace ids in Jaeger's short form when the high half is zero, int64 tags
 * beyond 2^53 as strings (JavaScript cannot hold them), binary as base64, `flags` omitted when 0, and `warnings`
 * null when there are none.
 */
import { jaegerTraceIdString, type KeyValue, type Process, type Span } from '../../model/span.js';

export interface UiKeyValue {
  key: string;
  type: string;
  value: unknown;
}

export interface UiSpan {
  traceID: string;
  spanID: string;
  flags?: number;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: UiKeyValue[];
  logs: Array<{ timestamp: number; fields: UiKeyValue[] }>;
  processID: string;
  warnings: string[] | null;
}

export interface UiTrace {
  traceID: string;
  spans: UiSpan[];
  processes: Record<string, { serviceName: string; tags: UiKeyValue[] }>;
  warnings: string[] | null;
}

function uiValue(kv: KeyValue): unknown {
  switch (kv.type) {
    case 'int64':
      if (typeof kv.value === 'bigint') {
        return kv.value > BigInt(Number.MAX_SAFE_INTEGER) || kv.value < BigInt(Number.MIN_SAFE_INTEGER) ? kv.value.toString() : Number(kv.value);
      }
      return Number.isSafeInteger(kv.value) ? kv.value : String(kv.value);
    case 'binary':
      return Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('base64');
    default:
      return kv.value;
  }
}

export function uiKeyValues(kvs: KeyValue[]): UiKeyValue[] {
  return kvs.map((kv) => ({ key: kv.key, type: kv.type, value: uiValue(kv) }));
}

/** A process's identity for deduplication: service name and tags, in order. */
function processKey(p: Process): string {
  return JSON.stringify([p.serviceName, uiKeyValues(p.tags)]);
}

export function toUiTrace(spans: Span[]): UiTrace {
  const processIds = new Map<string, string>();
  const processes: UiTrace['processes'] = {};
  const uiSpans = spans.map((span): UiSpan => {
    const key = processKey(span.process);
    let processID = processIds.get(key);
    if (processID === undefined) {
      processID = `p${processIds.size + 1}`;
      processIds.set(key, processID);
      processes[processID] = { serviceName: span.process.serviceName, tags: uiKeyValues(span.process.tags) };
    }
    const out: UiSpan = {
      traceID: jaegerTraceIdString(span.traceId),
      spanID: span.spanId,
      ...(span.flags !== 0 ? { flags: span.flags } : {}),
      operationName: span.operationName,
      references: span.references.map((r) => ({ refType: r.refType, traceID: jaegerTraceIdString(r.traceId), spanID: r.spanId })),
      startTime: span.startTimeMicros,
      duration: span.durationMicros,
      tags: uiKeyValues(span.tags),
      logs: span.logs.map((l) => ({ timestamp: l.timestampMicros, fields: uiKeyValues(l.fields) })),
      processID,
      warnings: span.warnings && span.warnings.length > 0 ? span.warnings : null,
    };
    return out;
  });
  return {
    traceID: spans.length > 0 ? jaegerTraceIdString(spans[0]!.traceId) : '',
    spans: uiSpans,
    processes,
    warnings: null,
  };
}
