import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OtlpLogRecordEncoder } from '../../../collector/logs/otlp-log-records.js';
import { decodeOtlpLogs } from '../../../collector/logs/otlp-logs-decode.js';

const encoder = new OtlpLogRecordEncoder({ target: 'otlp', hostName: 'collector-1' });
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function one(logRecord: Record<string, unknown>, resourceAttributes: unknown[] = [], scope?: unknown): Record<string, unknown> {
  const r = encoder.encode({ resourceLogs: [{ resource: { attributes: resourceAttributes }, scopeLogs: [{ scope, logRecords: [logRecord] }] }] }, NOW);
  assert.ok(r.ok, !r.ok ? r.malformed : '');
  assert.equal(r.events.length, 1);
  const e = r.events[0]!;
  assert.equal(e.json, e.beforeShared! + e.shared! + e.afterShared!);
  return JSON.parse(e.json) as Record<string, unknown>;
}

test('the record time wins, then the observed time, then the receive time', () => {
  assert.equal(one({ timeUnixNano: '1767323045123456789', observedTimeUnixNano: '1767323046000000000' })['@timestamp'], '2026-01-02T03:04:05.123Z');
  assert.equal(one({ timeUnixNano: '0', observedTimeUnixNano: '1767323046000000000' })['@timestamp'], '2026-01-02T03:04:06.000Z');
  assert.equal(one({})['@timestamp'], new Date(NOW).toISOString());
});

test('a key/value list body is the message as JSON text, a number body its text, an absent one empty', () => {
  const kv = one({ body: { kvlistValue: { values: [{ key: 'user', value: { stringValue: 'ann' } }, { key: 'n', value: { intValue: '9007199254740993' } }, { key: 'list', value: { arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }] } } }] } } });
  assert.deepEqual(JSON.parse(kv.message as string), { user: 'ann', n: '9007199254740993', list: [true, 1.5] });
  assert.equal(one({ body: { intValue: 42 } }).message, '42');
  assert.equal(one({}).message, '');
  assert.equal(one({ body: { bytesValue: 'aGk=' } }).message, 'aGk=');
});

test('attributes of resource, scope and record keep their keys and types; a name already taken moves to original_<name>', () => {
  const r = one(
    { attributes: [{ key: 'host', value: { stringValue: 'app-7' } }, { key: 'service.name', value: { stringValue: 'other' } }, { key: 'count', value: { intValue: '3' } }], severityNumber: 'SEVERITY_NUMBER_ERROR', severityText: 'ERROR' },
    [{ key: 'service.name', value: { stringValue: 'checkout' } }],
    { name: 'lib', version: '2.0', attributes: [{ key: 'lib.flag', value: { boolValue: false } }] },
  );
  assert.equal(r.host, 'collector-1');
  assert.equal(r.original_host, 'app-7');
  assert.equal(r['service.name'], 'checkout');
  assert.equal(r['original_service.name'], 'other');
  assert.equal(r.count, 3);
  assert.equal(r['lib.flag'], false);
  assert.equal(r['otel.scope.name'], 'lib');
  assert.equal(r['otel.scope.version'], '2.0');
  assert.equal(r.severity_number, 17);
  assert.equal(r.severity_text, 'ERROR');
  assert.equal(r.source, 'otlp');
  assert.equal(r.target, 'otlp');
});

test('trace and span ids are lowercase hex on the record and the event; all-zero ids are left out', () => {
  const r = encoder.encode({ resource_logs: [{ scope_logs: [{ log_records: [{ trace_id: '5B8EFFF798038103D269B633813FC60C', span_id: 'EEE19B7EC3C1B174', flags: 1 }, { traceId: '00000000000000000000000000000000', spanId: '' }] }] }] }, NOW);
  assert.ok(r.ok);
  const [a, b] = r.events;
  assert.equal(a!.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(a!.spanId, 'eee19b7ec3c1b174');
  assert.equal(JSON.parse(a!.json).trace_id, '5b8efff798038103d269b633813fc60c');
  assert.equal(JSON.parse(a!.json).trace_flags, 1);
  assert.equal(b!.traceId, undefined);
  assert.equal('trace_id' in JSON.parse(b!.json), false);
});

test('a malformed request is refused whole, naming the place', () => {
  const bad = (request: unknown) => {
    const r = encoder.encode(request, NOW);
    assert.equal(r.ok, false);
    return !r.ok ? r.malformed : '';
  };
  assert.match(bad([]), /not an ExportLogsServiceRequest object/);
  assert.match(bad({ resourceLogs: [{ scopeLogs: [{ logRecords: [{}, { timeUnixNano: '-1' }] }] }] }), /logRecords\[1\]\.timeUnixNano is not a uint64/);
  assert.match(bad({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: [{ key: 'a', value: { intValue: 'x' } }] }] }] }] }), /attributes\[0\]\.value\.intValue is not an int64/);
  assert.match(bad({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 99 }] }] }] }), /severityNumber is not a SeverityNumber/);
  const proto = decodeOtlpLogs(Buffer.from([0x0a, 0x02, 0x12]), 'protobuf', encoder, NOW);
  assert.equal(proto.ok, false);
  assert.match(!proto.ok ? proto.malformed : '', /^invalid protobuf/);
  const empty = decodeOtlpLogs(Buffer.alloc(0), 'json', encoder, NOW);
  assert.match(!empty.ok ? empty.malformed : '', /empty body/);
});
