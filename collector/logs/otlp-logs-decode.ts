/**
 * An OTLP logs body (already un-gzipped; a gRPC message is protobuf) → records: JSON.parse or the protobuf decoder,
 * then otlp-log-records.ts. Pure and synchronous; both receivers go through here. A body that does not decode is
 * refused whole with the reason, as a 400 / INVALID_ARGUMENT.
 */
import type { OtlpEncoding } from '../traces/codecs/otlp/otlp-decode.js';
import { decodeExportLogsRequest } from './otlp-logs-protobuf.js';
import type { OtlpLogRecordEncoder, OtlpLogsResult } from './otlp-log-records.js';

export function decodeOtlpLogs(body: Buffer, encoding: OtlpEncoding, encoder: OtlpLogRecordEncoder, nowMs: number): OtlpLogsResult {
  let request: unknown;
  if (encoding === 'json') {
    if (body.length === 0) return { ok: false, malformed: 'empty body: an ExportLogsServiceRequest in JSON was expected' };
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return { ok: false, malformed: `malformed JSON: ${(err as Error).message}` };
    }
  } else {
    const decoded = decodeExportLogsRequest(body);
    if ('error' in decoded) return { ok: false, malformed: decoded.error };
    request = decoded.request;
  }
  return encoder.encode(request, nowMs);
}
