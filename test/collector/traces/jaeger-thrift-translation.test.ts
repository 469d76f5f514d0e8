/**
 * Jaeger Thrift as Jaeger 2.x shows it. Each expectation below is the answer of a real Jaeger 2.x (module
 * github.com/jaegertracing/jaeger v1.75.0, memory storage, GET /api/traces/{id} of its query) to the same batch
 * sent over HTTP Thrift (POST /api/traces) and over the agent's compact UDP port; tag order is Jaeger's raw order
 * (what its translation writes, before its query sorts tags). Both receive paths here must give them, and the
 * embedded store must answer the same for a compact datagram (written from its bytes when the walk finds it plain,
 * decoded otherwise) as for the same spans received over HTTP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KeyValue, Span, SpanLog, SpanRef } from '../../../model/span.js';
import { decodeAgentEmitBatch, decodeJaegerBatch, type JaegerDecodeResult } from '../../../model/jaeger-thrift/jaeger-thrift.js';
import { JaegerCompactWalker } from '../../../model/jaeger-thrift/jaeger-compact-spans.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { silentLogger } from '../../../platform/log.js';
import { REF, TAG, encodeBatch, encodeEmitBatch, type TBatch, type TSpan, type TTag } from './support/thrift-writer.js';

const T0 = 1_700_000_000_000_000n;
const s = (key: string, vStr: string): TTag => ({ key, vType: TAG.STRING, vStr });
const b = (key: string, vBool: boolean): TTag => ({ key, vType: TAG.BOOL, vBool });
const l = (key: string, vLong: bigint): TTag => ({ key, vType: TAG.LONG, vLong });
const str = (key: string, value: string): KeyValue => ({ key, type: 'string', value });
const bool = (key: string, value: boolean): KeyValue => ({ key, type: 'bool', value });
const int = (key: string, value: number): KeyValue => ({ key, type: 'int64', value });
/** Bytes the test writer cannot put in a string: this ASCII marker is overwritten with 0xff 0xfe at its end. */
const BAD = 'BADUTF8~~';
const BAD_BYTES = Uint8Array.from([...Buffer.from('BADUTF8'), 0xff, 0xfe]);

interface Expected {
  service?: string;
  processTags?: KeyValue[];
  operationName?: string;
  tags?: KeyValue[];
  references?: Array<[SpanRef['refType'], bigint]>;
  logs?: Array<KeyValue[]>;
  durationMicros?: number;
  warnings?: string[];
  /** API v3: the parent and the links (with their opentracing.ref_type) Jaeger 2.x holds, when there are links. */
  v3?: { parent?: bigint; links: Array<['child_of' | 'follows_from', bigint]>; warningsTag?: KeyValue };
}

interface Case { name: string; process?: TBatch['process']; span: Partial<TSpan>; expected: Expected }

const CASES: Case[] = [
  { name: 'an empty operation name stays empty', span: { operationName: '' }, expected: { operationName: '' } },
  { name: 'an empty service name is missing-service-name', process: { serviceName: '' }, span: {}, expected: { service: 'missing-service-name' } },
  {
    name: 'an operation name that is not UTF-8 is invalid-span-name, its bytes in a binary tag of that name',
    span: { operationName: BAD, tags: [s('a', '1')] },
    expected: { operationName: 'invalid-span-name', tags: [str('a', '1'), { key: 'invalid-span-name', type: 'binary', value: BAD_BYTES }] },
  },
  {
    name: 'a tag value that is not UTF-8 is binary; a key that is not becomes invalid-tag-key-1 holding "key:value"',
    span: { tags: [s('t', BAD), s(BAD, 'v')] },
    expected: { tags: [{ key: 't', type: 'binary', value: BAD_BYTES }, { key: 'invalid-tag-key-1', type: 'binary', value: Uint8Array.from([...BAD_BYTES, ...Buffer.from(':v')]) }] },
  },
  {
    name: 'process tags: hostname is host.name, jaeger.version is opencensus.exporterversion, ip and client-uuid stay',
    process: { serviceName: 'tr-svc', tags: [s('hostname', 'h1'), s('ip', '10.0.0.1'), s('jaeger.version', 'Go-2.30.0'), s('client-uuid', 'abc'), l('n', 7n)] },
    span: {},
    expected: { processTags: [str('host.name', 'h1'), str('ip', '10.0.0.1'), str('opencensus.exporterversion', 'Jaeger-Go-2.30.0'), str('client-uuid', 'abc'), int('n', 7)] },
  },
  {
    name: 'a jaeger.version that is not a string gives "Jaeger-"; an ip sent as an integer stays one',
    process: { serviceName: 'tr-svc', tags: [l('ip', 167772161n), l('jaeger.version', 5n)] },
    span: {},
    expected: { processTags: [int('ip', 167772161), str('opencensus.exporterversion', 'Jaeger-')] },
  },
  {
    name: 'a service.name process tag names the service; host.name already there keeps hostname',
    process: { serviceName: 'tr-svc', tags: [s('service.name', 'tr-other'), s('hostname', 'h'), s('host.name', 'hn')] },
    span: {},
    expected: { service: 'tr-other', processTags: [str('hostname', 'h'), str('host.name', 'hn')] },
  },
  {
    name: 'error=true is status ERROR: otel.status_code=ERROR and error=true after the other tags',
    span: { tags: [s('a', '1'), b('error', true), s('z', '2')] },
    expected: { tags: [str('a', '1'), str('z', '2'), str('otel.status_code', 'ERROR'), bool('error', true)] },
  },
  {
    name: 'error=true takes its message from otel.status_description before http.status_message',
    span: { tags: [b('error', true), s('otel.status_description', 'boom'), s('http.status_message', 'hm')] },
    expected: { tags: [str('http.status_message', 'hm'), str('otel.status_code', 'ERROR'), bool('error', true), str('otel.status_description', 'boom')] },
  },
  { name: 'error=false stays as sent', span: { tags: [b('error', false), s('x', 'y')] }, expected: { tags: [bool('error', false), str('x', 'y')] } },
  { name: 'error sent as the string "true" is only a tag', span: { tags: [s('error', 'true')] }, expected: { tags: [str('error', 'true')] } },
  {
    name: 'otel.status_code in any case is read and written back upper case, its description after it',
    span: { tags: [s('otel.status_code', 'ok'), s('otel.status_description', 'd')] },
    expected: { tags: [str('otel.status_code', 'OK'), str('otel.status_description', 'd')] },
  },
  {
    name: 'http.status_code 500 on a server is ERROR with http.status_message as its description',
    span: { tags: [s('span.kind', 'server'), l('http.status_code', 500n), s('http.status_message', 'ISE')] },
    expected: { tags: [str('http.status_message', 'ISE'), int('http.status_code', 500), str('span.kind', 'server'), str('otel.status_code', 'ERROR'), bool('error', true), str('otel.status_description', 'ISE')] },
  },
  {
    name: 'http.status_code 404 (a decimal string) on a client is ERROR',
    span: { tags: [s('span.kind', 'client'), s('http.status_code', '404')] },
    expected: { tags: [str('http.status_code', '404'), str('span.kind', 'client'), str('otel.status_code', 'ERROR'), bool('error', true)] },
  },
  {
    name: 'http.status_code 404 on a server is no error',
    span: { tags: [s('span.kind', 'server'), l('http.status_code', 404n)] },
    expected: { tags: [int('http.status_code', 404), str('span.kind', 'server')] },
  },
  {
    name: 'a span.kind Jaeger does not know is dropped (the last tag takes its place)',
    span: { tags: [s('span.kind', 'weird'), s('a', 'b'), s('c', 'd')] },
    expected: { tags: [str('c', 'd'), str('a', 'b')] },
  },
  {
    name: 'span.kind comes last, the last tag taking its place',
    span: { tags: [s('span.kind', 'server'), s('c', '1'), s('a', '2'), s('b', '3')] },
    expected: { tags: [str('b', '3'), str('c', '1'), str('a', '2'), str('span.kind', 'server')] },
  },
  {
    name: 'a @jaeger@warnings tag is the span\'s warning, and to API v3 the attribute Jaeger keeps of it',
    span: { tags: [s('@jaeger@warnings', 'w1'), s('x', 'y')] },
    expected: { tags: [str('x', 'y')], warnings: ['w1'], v3: { links: [], warningsTag: str('@jaeger@warnings', 'w1') } },
  },
  {
    name: 'a @jaeger@warnings tag of another type is its text as the warning, and its own type to API v3',
    span: { tags: [l('@jaeger@warnings', 7n)] },
    expected: { tags: [], warnings: ['7'], v3: { links: [], warningsTag: int('@jaeger@warnings', 7) } },
  },
  { name: 'a repeated key keeps its first place and its last value', span: { tags: [s('a', '1'), s('b', '2'), s('a', '3')] }, expected: { tags: [str('a', '3'), str('b', '2')] } },
  { name: 'a tag of an unknown type', span: { tags: [{ key: 'u', vType: 9, vStr: 'x' }] }, expected: { tags: [str('u', '<Unknown Jaeger TagType "<UNSET>">')] } },
  {
    name: 'a duration of 0 is sanitized with a warning',
    span: { startTime: T0, duration: 0n },
    expected: { durationMicros: 0, warnings: ['Negative duration detected, sanitizing end timestamp. Original end timestamp: 2023-11-14 22:13:20 +0000 UTC, adjusted to: 2023-11-14 22:13:20.000000001 +0000 UTC'], v3: { links: [] } },
  },
  {
    name: 'a negative duration is sanitized with a warning',
    span: { startTime: T0, duration: -5n },
    expected: { durationMicros: 0, warnings: ['Negative duration detected, sanitizing end timestamp. Original end timestamp: 2023-11-14 22:13:19.999995 +0000 UTC, adjusted to: 2023-11-14 22:13:20.000000001 +0000 UTC'], v3: { links: [] } },
  },
  {
    name: 'logs: event is the first field when not empty, the last field takes its place; an empty or non-string event goes',
    span: { logs: [
      { timestamp: T0 + 1n, fields: [s('event', 'ev1'), s('k', 'v'), l('n', 1n)] },
      { timestamp: T0 + 2n, fields: [s('k', 'v'), s('event', '')] },
      { timestamp: T0 + 3n, fields: [l('event', 3n), s('z', 'q')] },
      { timestamp: T0 + 4n, fields: [] },
    ] },
    expected: { logs: [[str('event', 'ev1'), int('n', 1), str('k', 'v')], [str('k', 'v')], [str('z', 'q')], []] },
  },
  {
    name: 'a parent and a FOLLOWS_FROM reference to it: only FOLLOWS_FROM',
    span: { parentSpanId: 77n, references: [{ refType: REF.FOLLOWS_FROM, traceIdLow: 1n, traceIdHigh: 0n, spanId: 77n }] },
    expected: { references: [['FOLLOWS_FROM', 77n]], v3: { parent: 77n, links: [['follows_from', 77n]] } },
  },
  {
    name: 'a FOLLOWS_FROM reference alone: the parent, and in API v3 a link to it too',
    span: { references: [{ refType: REF.FOLLOWS_FROM, traceIdLow: 1n, traceIdHigh: 0n, spanId: 77n }] },
    expected: { references: [['FOLLOWS_FROM', 77n]], v3: { parent: 77n, links: [['follows_from', 77n]] } },
  },
  {
    name: 'FOLLOWS_FROM then CHILD_OF: the CHILD_OF one is the parent, first',
    span: { references: [{ refType: REF.FOLLOWS_FROM, traceIdLow: 1n, traceIdHigh: 0n, spanId: 78n }, { refType: REF.CHILD_OF, traceIdLow: 1n, traceIdHigh: 0n, spanId: 77n }] },
    expected: { references: [['CHILD_OF', 77n], ['FOLLOWS_FROM', 78n]], v3: { parent: 77n, links: [['follows_from', 78n]] } },
  },
  {
    name: 'a reference of an unknown type is FOLLOWS_FROM',
    span: { parentSpanId: 5n, references: [{ refType: 7, traceIdLow: 1n, traceIdHigh: 0n, spanId: 77n }] },
    expected: { references: [['CHILD_OF', 5n], ['FOLLOWS_FROM', 77n]], v3: { parent: 5n, links: [['follows_from', 77n]] } },
  },
];

function spansOf(result: JaegerDecodeResult): Span[] {
  if (!result.ok) assert.fail(result.error);
  return result.spans;
}

function withBadBytes(buf: Buffer): Buffer {
  const marker = Buffer.from(BAD);
  for (let at = buf.indexOf(marker); at >= 0; at = buf.indexOf(marker, at + 1)) {
    buf[at + 7] = 0xff;
    buf[at + 8] = 0xfe;
  }
  return buf;
}

function batchOf(c: Case, i: number): TBatch {
  const traceIdLow = BigInt(i + 1);
  const refs = c.span.references?.map((r) => ({ ...r, traceIdLow: r.traceIdLow === 1n ? traceIdLow : r.traceIdLow }));
  const span: TSpan = {
    traceIdLow, traceIdHigh: 0n, spanId: 0x100n + BigInt(i), parentSpanId: 0n, operationName: 'op', flags: 1, startTime: T0 + BigInt(i), duration: 100n,
    ...c.span,
    ...(refs ? { references: refs } : {}),
  };
  return { process: c.process ?? { serviceName: 'tr-svc' }, spans: [span] };
}

const hex = (v: bigint, digits: number): string => v.toString(16).padStart(digits, '0');

function expectedSpan(c: Case, i: number): Span {
  const batch = batchOf(c, i);
  const t = batch.spans[0]!;
  const traceId = hex(t.traceIdLow, 32);
  const e = c.expected;
  const logs: SpanLog[] = (e.logs ?? []).map((fields, k) => ({ timestampMicros: Number(t.logs![k]!.timestamp), fields }));
  const span: Span = {
    traceId, spanId: hex(t.spanId, 16), operationName: e.operationName ?? t.operationName,
    references: (e.references ?? []).map(([refType, id]) => ({ refType, traceId, spanId: hex(id, 16) })),
    // Jaeger 2.x does not carry Thrift flags.
    flags: 0, startTimeMicros: Number(t.startTime), durationMicros: e.durationMicros ?? Number(t.duration),
    tags: e.tags ?? [], logs, process: { serviceName: e.service ?? batch.process.serviceName, tags: e.processTags ?? [] },
  };
  if (e.warnings) span.warnings = e.warnings;
  if (e.v3) {
    span.otlp = {};
    if (e.v3.parent !== undefined) span.otlp.parentSpanId = hex(e.v3.parent, 16);
    if (e.v3.links.length > 0) {
      span.otlp.links = e.v3.links.map(([type, id]) => ({ traceId, spanId: hex(id, 16), attributes: [{ key: 'opentracing.ref_type', type: 'string', value: type }] }));
    }
    if ((e.durationMicros ?? 1) === 0) span.otlp.durationNanos = 1;
    if (e.v3.warningsTag) span.otlp.warningsTag = e.v3.warningsTag;
  }
  return span;
}

test('each case decodes as Jaeger 2.x shows it, over HTTP (binary) and the agent (compact and binary)', () => {
  CASES.forEach((c, i) => {
    const batch = batchOf(c, i);
    const want = [expectedSpan(c, i)];
    assert.deepEqual(spansOf(decodeJaegerBatch(withBadBytes(encodeBatch(batch, 'binary')), 'binary')), want, `${c.name} (HTTP)`);
    assert.deepEqual(spansOf(decodeAgentEmitBatch(withBadBytes(encodeEmitBatch(batch, 'compact')), 'compact')), want, `${c.name} (compact)`);
    assert.deepEqual(spansOf(decodeAgentEmitBatch(withBadBytes(encodeEmitBatch(batch, 'binary')), 'binary')), want, `${c.name} (agent binary)`);
  });
});

test('two identical spans of one batch are both handed on (Jaeger\'s query removes the copy when it answers)', () => {
  const batch = batchOf(CASES[0]!, 99);
  batch.spans.push(batch.spans[0]!);
  assert.equal(spansOf(decodeJaegerBatch(encodeBatch(batch, 'binary'), 'binary')).length, 2);
});

test('the store answers the same for the cases received as compact datagrams (from their bytes or decoded) as over HTTP', async () => {
  const open = (): StoreDatabase => new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 60_000, retentionIntervalMs: 3_600_000, log: silentLogger });
  const wireDb = open();
  const httpDb = open();
  const wire = new StoreSpanStorage(wireDb);
  const http = new StoreSpanStorage(httpDb);
  const walker = new JaegerCompactWalker({ maxSpans: 100 });
  // The cases, and plain spans the walk keeps in their bytes.
  const batches = CASES.map(batchOf);
  batches.push({ process: { serviceName: 'tr-plain', tags: [s('hostname', 'h9'), s('jaeger.version', 'Go-2.30.0')] }, spans: [
    { traceIdLow: 500n, traceIdHigh: 0n, spanId: 501n, parentSpanId: 0n, operationName: 'root', flags: 1, startTime: T0, duration: 10n, tags: [s('span.kind', 'server'), l('http.status_code', 200n), b('error', false)], logs: [{ timestamp: T0 + 1n, fields: [s('k', 'v'), s('event', 'e')] }] },
    { traceIdLow: 500n, traceIdHigh: 0n, spanId: 502n, parentSpanId: 501n, operationName: 'child', flags: 1, startTime: T0 + 1n, duration: 5n, references: [{ refType: REF.CHILD_OF, traceIdLow: 500n, traceIdHigh: 0n, spanId: 501n }], tags: [s('span.kind', 'client'), s('c', '1')] },
  ] });
  let plain = 0;
  for (const batch of batches) {
    const walked = walker.walk(withBadBytes(encodeEmitBatch(batch, 'compact')));
    assert.ok(walked.ok);
    if (walked.spans.plain) plain++;
    await wire.writeChunks([walked.spans]);
    await http.writeSpans(spansOf(decodeJaegerBatch(withBadBytes(encodeBatch(batch, 'binary')), 'binary')));
  }
  assert.ok(plain >= 2, `${plain} datagrams written from their bytes`);
  const services = await http.getServices();
  assert.deepEqual(await wire.getServices(), services);
  assert.ok(services.includes('missing-service-name') && services.includes('tr-other') && !services.includes(''));
  for (const service of services) {
    assert.deepEqual(await wire.getOperations({ serviceName: service }), await http.getOperations({ serviceName: service }), service);
  }
  for (const batch of batches) {
    const traceId = hex(batch.spans[0]!.traceIdLow, 32);
    assert.deepEqual(await wire.getTrace(traceId), await http.getTrace(traceId), traceId);
  }
  const searches: Array<Record<string, string>> = [
    { 'otel.status_code': 'ERROR' }, { error: 'true' }, { 'span.kind': 'server' }, { 'host.name': 'h9' }, { 'opencensus.exporterversion': 'Jaeger-Go-2.30.0' }, { event: 'ev1' },
  ];
  for (const tags of searches) {
    const query = { tags, numTraces: 50 };
    const found = await http.findTraces(query);
    assert.ok(found.length > 0, JSON.stringify(tags));
    assert.deepEqual(await wire.findTraces(query), found, JSON.stringify(tags));
  }
  wireDb.close();
  httpDb.close();
});
