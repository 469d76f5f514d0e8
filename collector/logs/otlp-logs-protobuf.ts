/**
 * OTLP/protobuf log messages (opentelemetry-proto `collector/logs/v1/logs_service.proto`, `logs/v1/logs.proto`)
 * decoded into the OTLP/JSON shape, as the trace decoder does (collector/traces/codecs/otlp/otlp-protobuf.ts, whose
 * resource, scope, attribute, AnyValue and time readers this reuses), so otlp-log-records.ts maps both encodings:
 * ids become lowercase hex, times an exact (micros, nanos) split, int64 a number or bigint, bytes a Uint8Array.
 *
 * Never throws: a malformed message yields `{ error }`. Unknown fields are skipped; a known field with the wrong wire
 * type is an error, as in Go's proto decoder. The answer, ExportLogsServiceResponse, has the layout of
 * ExportTraceServiceResponse (`partial_success` 1: a count 1 and a message 2), so its encoder serves both.
 */
import { ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../traces/codecs/otlp/protobuf-reader.js';
import { nanos, readAnyValue, readKeyValueInto, readResource, readScope, skipOrFail, type KV, type Obj } from '../traces/codecs/otlp/otlp-protobuf.js';

/** Decodes an ExportLogsServiceRequest (or LogsData: same field 1). */
export function decodeExportLogsRequest(buf: Uint8Array): { request: { resourceLogs: Obj[] } } | { error: string } {
  const r = new ProtoReader(buf);
  const resourceLogs: Obj[] = [];
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      resourceLogs.push(readResourceLogs(r));
      r.leave(outer);
    } else if (key !== 0) skipOrFail(r, key, 1, 'ExportLogsServiceRequest.resource_logs');
  }
  return r.error !== undefined ? { error: `invalid protobuf: ${r.error}` } : { request: { resourceLogs } };
}

function readResourceLogs(r: ProtoReader): Obj {
  const scopeLogs: Obj[] = [];
  const out: Obj = { scopeLogs };
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      const resource = (out.resource as Obj | undefined) ?? { attributes: [] };
      out.resource = resource;
      readResource(r, resource);
      r.leave(outer);
    } else if (key === (2 << 3 | WIRE_LEN) || key === (1000 << 3 | WIRE_LEN)) {
      // 1000: the deprecated instrumentation_library_logs, laid out like ScopeLogs.
      const outer = r.enter();
      if (outer < 0) break;
      scopeLogs.push(readScopeLogs(r));
      r.leave(outer);
    } else if (key === (3 << 3 | WIRE_LEN)) r.skip(WIRE_LEN); // schema_url
    else if (key !== 0) skipOrFail(r, key, 3, 'ResourceLogs', (f) => f <= 3 || f === 1000);
  }
  return out;
}

function readScopeLogs(r: ProtoReader): Obj {
  const logRecords: Obj[] = [];
  const out: Obj = { logRecords };
  while (!r.done()) {
    const key = r.tag();
    if (key === (1 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      out.scope = readScope(r, (out.scope as Obj | undefined) ?? {});
      r.leave(outer);
    } else if (key === (2 << 3 | WIRE_LEN)) {
      const outer = r.enter();
      if (outer < 0) break;
      logRecords.push(readLogRecord(r));
      r.leave(outer);
    } else if (key === (3 << 3 | WIRE_LEN)) r.skip(WIRE_LEN); // schema_url
    else if (key !== 0) skipOrFail(r, key, 3, 'ScopeLogs');
  }
  return out;
}

function readLogRecord(r: ProtoReader): Obj {
  const attributes: KV[] = [];
  const record: Obj = { attributes };
  while (!r.done()) {
    const key = r.tag();
    switch (key) {
      case 1 << 3 | WIRE_FIXED64: record.timeUnixNano = nanos(r); break;
      case 11 << 3 | WIRE_FIXED64: record.observedTimeUnixNano = nanos(r); break;
      case 2 << 3 | WIRE_VARINT: record.severityNumber = r.varint32() | 0; break;
      case 3 << 3 | WIRE_LEN: record.severityText = r.string(); break;
      case 5 << 3 | WIRE_LEN: record.body = readAnyValue(r, 0); break;
      case 6 << 3 | WIRE_LEN: readKeyValueInto(r, attributes, 0); break;
      case 7 << 3 | WIRE_VARINT: record.droppedAttributesCount = r.varint32(); break;
      case 8 << 3 | WIRE_FIXED32: record.flags = r.fixed32(); break;
      case 9 << 3 | WIRE_LEN: record.traceId = r.hex(); break;
      case 10 << 3 | WIRE_LEN: record.spanId = r.hex(); break;
      case 12 << 3 | WIRE_LEN: record.eventName = r.string(); break;
      default: if (key !== 0) skipOrFail(r, key, 12, 'LogRecord', (f) => f <= 12 && f !== 4);
    }
  }
  return record;
}
