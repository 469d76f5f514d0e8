/**
 * The Elasticsearch span reader on documents it did not write itself, against the real Elasticsearch, under an index
 * prefix of its own that is deleted afterwards: documents of older Shipwatch versions (a 64-bit trace id as 16
 * digits, every value a string) beside new ones of the same trace; the same span stored twice (Jaeger lets
 * Elasticsearch make document ids, so a span it was sent twice is two documents) counted once in dependencies.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import type { Span } from '../../../model/span.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { EsSpanReader } from '../../../storage/elasticsearch/span-reader.js';
import { EsSpanWriter } from '../../../storage/elasticsearch/span-writer.js';
import { deleteIndexTemplates, deleteIndices, esTestUrl } from '../../helpers/elasticsearch.js';

const prefix = `sw-compat-${process.pid}-${Date.now().toString(36)}`;
const startUs = (Date.now() - 600_000) * 1000;
const day = new Date(startUs / 1000).toISOString().slice(0, 10);
const spanIndex = `${prefix}-jaeger-span-${day}`;
const trace64 = '00000000000000000a0a0a0a00000001';

let client: Client;
let reader: EsSpanReader;

before(async () => {
  client = new Client({ node: await esTestUrl(), maxRetries: 0 });
  const writer = new EsSpanWriter({ client, indexPrefix: prefix, shards: 1, replicas: 0, registry: createRegistry('test', false), log: silentLogger });
  await writer.init();
  const child: Span = {
    traceId: trace64, spanId: '00000000000000c1', operationName: 'new-child', references: [{ refType: 'CHILD_OF', traceId: trace64, spanId: '00000000000000a1' }],
    flags: 0, startTimeMicros: startUs + 10, durationMicros: 5, tags: [{ key: 'big', type: 'int64', value: 9223372036854775807n }], logs: [],
    process: { serviceName: 'compat-db', tags: [] },
  };
  assert.deepEqual(await writer.writeSpans([child]), { failed: 0 });
  await writer.close();
  // The root as an older Shipwatch wrote it: 16-digit trace id, values as text.
  const older = {
    traceID: '0a0a0a0a00000001', spanID: '00000000000000a1', flags: 1, operationName: 'old-root', references: [],
    startTime: startUs, startTimeMillis: Math.floor(startUs / 1000), duration: 100,
    tags: [{ key: 'max', type: 'int64', value: '9223372036854775807' }, { key: 'ok', type: 'bool', value: 'true' }, { key: 'r', type: 'float64', value: '0.5' }],
    logs: [], process: { serviceName: 'compat-web', tags: [] },
  };
  await client.index({ index: spanIndex, document: older });
  // A span Jaeger stored twice (two documents under ids Elasticsearch made), calling the root's service.
  const twice = {
    traceID: trace64, spanID: '00000000000000d1', operationName: 'twice', references: [{ refType: 'CHILD_OF', traceID: trace64, spanID: '00000000000000a1' }],
    startTime: startUs + 20, startTimeMillis: Math.floor((startUs + 20) / 1000), duration: 3, tags: [], logs: null,
    process: { serviceName: 'compat-cache', tags: [] },
  };
  await client.index({ index: spanIndex, document: twice });
  await client.index({ index: spanIndex, document: twice });
  await client.indices.refresh({ index: `${prefix}-jaeger-*` });
  reader = new EsSpanReader({ client, indexPrefix: prefix, log: silentLogger });
});

after(async () => {
  await client.close();
  await deleteIndices(`${prefix}-jaeger-*`);
  await deleteIndexTemplates(`${prefix}-jaeger-*`);
});

test('a trace stored under both printings of its 64-bit id reads whole, the old values exact', async () => {
  for (const id of [trace64, '0a0a0a0a00000001', 'a0a0a0a00000001']) {
    const spans = await reader.getTrace(id);
    assert.deepEqual(spans.map((s) => s.operationName).sort(), ['new-child', 'old-root', 'twice', 'twice'], id);
  }
  const spans = await reader.getTrace(trace64);
  const root = spans.find((s) => s.operationName === 'old-root')!;
  assert.equal(root.traceId, trace64);
  assert.deepEqual(root.tags, [
    { key: 'max', type: 'int64', value: 9223372036854775807n },
    { key: 'ok', type: 'bool', value: true },
    { key: 'r', type: 'float64', value: 0.5 },
  ]);
  assert.equal(spans.find((s) => s.operationName === 'new-child')!.tags[0]!.value, 9223372036854775807n);
});

test('a search finds the trace once, whichever printing its documents have', async () => {
  const query = { startTimeMinMicros: startUs - 60_000_000, startTimeMaxMicros: startUs + 60_000_000, numTraces: 10 };
  for (const serviceName of ['compat-web', 'compat-db', undefined]) {
    const traces = await reader.findTraces({ ...query, ...(serviceName ? { serviceName } : {}) });
    assert.equal(traces.length, 1, String(serviceName));
    assert.equal(traces[0]!.length, 4);
  }
});

test('dependencies count a span stored twice once', async () => {
  const links = await reader.getDependencies(Date.now(), 3600_000);
  assert.deepEqual(links, [
    { parent: 'compat-web', child: 'compat-cache', callCount: 1 },
    { parent: 'compat-web', child: 'compat-db', callCount: 1 },
  ]);
});
