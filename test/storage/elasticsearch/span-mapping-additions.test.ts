/**
 * Span indices that already exist when the Elasticsearch span writer starts, made from an older template: Jaeger's
 * own (no scope, references without tags) and Shipwatch's first one (scope kept unindexed). Against a real
 * Elasticsearch 8, under an index prefix of its own that is deleted afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { createLogger } from '../../../platform/log.js';
import { EsSpanReader } from '../../../storage/elasticsearch/span-reader.js';
import { EsSpanWriter } from '../../../storage/elasticsearch/span-writer.js';
import type { Span } from '../../../model/span.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { esTestUrl } from '../../helpers/elasticsearch.js';

const prefix = `sw-upgrade-${process.pid}-${Date.now().toString(36)}`;
const JAEGER_DAY = '2024-03-01';
const FIRST_SHIPWATCH_DAY = '2024-03-02';
const NEW_DAY = '2024-03-03';
/** An index made from Jaeger's template alone to which otlp documents were written: `otlp` mapped from them. */
const OTLP_DAY = '2024-03-04';

const keyword = { type: 'keyword', ignore_above: 256 } as const;
const keyValues = { type: 'nested', dynamic: false, properties: { key: keyword, value: keyword, type: keyword } } as const;
/** The span mapping of Jaeger's `jaeger-span-8.json`, as an index made from it has it. */
const jaegerMapping = {
  properties: {
    traceID: keyword,
    spanID: keyword,
    operationName: keyword,
    startTime: { type: 'long' },
    startTimeMillis: { type: 'date', format: 'epoch_millis' },
    duration: { type: 'long' },
    flags: { type: 'integer' },
    logs: { type: 'nested', dynamic: false, properties: { timestamp: { type: 'long' }, fields: keyValues } },
    process: { properties: { serviceName: keyword, tag: { type: 'object' }, tags: keyValues } },
    references: { type: 'nested', dynamic: false, properties: { refType: keyword, traceID: keyword, spanID: keyword } },
    tag: { type: 'object' },
    tags: keyValues,
  },
} as const;

function micros(day: string): number {
  return Date.parse(`${day}T12:00:00Z`) * 1000;
}

/** A span of `day` carrying a scope attribute and a link attribute that name the day. */
function spanOn(day: string, traceDigit: string): Span {
  return {
    traceId: traceDigit.repeat(32),
    spanId: traceDigit.repeat(16),
    operationName: 'upgrade-op',
    references: [{ refType: 'FOLLOWS_FROM', traceId: 'f'.repeat(32), spanId: 'f'.repeat(16), tags: [{ key: 'link.day', type: 'string', value: day }] }],
    flags: 1,
    startTimeMicros: micros(day),
    durationMicros: 1500,
    tags: [{ key: 'span.kind', type: 'string', value: 'server' }],
    logs: [],
    process: { serviceName: 'upgrade-svc', tags: [] },
    scope: { tags: [{ key: 'scope.day', type: 'string', value: day }] },
  };
}

let client: Client;
let reader: EsSpanReader;
const warnings: Array<Record<string, unknown>> = [];
const spans = {
  jaeger: spanOn(JAEGER_DAY, 'a'), first: spanOn(FIRST_SHIPWATCH_DAY, 'b'), fresh: spanOn(NEW_DAY, 'c'),
  otlp: { ...spanOn(OTLP_DAY, 'd'), otlp: { flags: 257, startNanos: 7 } },
};

before(async () => {
  client = new Client({ node: await esTestUrl(), maxRetries: 0 });
  await client.indices.create({ index: `${prefix}-jaeger-span-${JAEGER_DAY}`, mappings: jaegerMapping });
  await client.indices.create({
    index: `${prefix}-jaeger-span-${FIRST_SHIPWATCH_DAY}`,
    mappings: { properties: { ...jaegerMapping.properties, scope: { type: 'object', enabled: false } } },
  });
  await client.indices.create({
    index: `${prefix}-jaeger-span-${OTLP_DAY}`,
    mappings: { properties: { ...jaegerMapping.properties, otlp: { properties: { flags: { type: 'long' } } } } },
  });
  const log = createLogger({ level: 'warn', sink: { write: (line: string) => warnings.push(JSON.parse(line) as Record<string, unknown>) } });
  const writer = new EsSpanWriter({ client, indexPrefix: prefix, shards: 1, replicas: 0, registry: createRegistry('test', false), log });
  await writer.init();
  assert.deepEqual(await writer.writeSpans(Object.values(spans)), { failed: 0 });
  await writer.close();
  await client.indices.refresh({ index: `${prefix}-jaeger-*` });
  reader = new EsSpanReader({ client, indexPrefix: prefix, log: createLogger({ level: 'silent' }) });
});

after(async () => {
  await client.indices.delete({ index: `${prefix}-jaeger-*`, ignore_unavailable: true, allow_no_indices: true });
  await client.indices.deleteIndexTemplate({ name: `${prefix}-jaeger-*` });
  await client.close();
});

async function found(tags: Record<string, string>): Promise<string[]> {
  const traces = await reader.findTraces({
    serviceName: 'upgrade-svc', tags, startTimeMinMicros: micros(JAEGER_DAY) - 3_600_000_000, startTimeMaxMicros: micros(NEW_DAY) + 3_600_000_000, numTraces: 10,
  });
  return traces.map((t) => t[0]!.traceId).sort();
}

test('link attributes are found in every index, those made from older templates included', async () => {
  assert.deepEqual(await found({ 'link.day': JAEGER_DAY }), [spans.jaeger.traceId]);
  assert.deepEqual(await found({ 'link.day': FIRST_SHIPWATCH_DAY }), [spans.first.traceId]);
  assert.deepEqual(await found({ 'link.day': NEW_DAY }), [spans.fresh.traceId]);
  assert.deepEqual(await found({ 'link.day': '2024-03-0.*' }), [spans.jaeger.traceId, spans.first.traceId, spans.fresh.traceId].sort());
});

test("scope attributes are found in an index made from Jaeger's template and in new ones", async () => {
  assert.deepEqual(await found({ 'scope.day': JAEGER_DAY }), [spans.jaeger.traceId]);
  assert.deepEqual(await found({ 'scope.day': NEW_DAY }), [spans.fresh.traceId]);
});

test('an index that kept scope unindexed is named in a warning, and its spans are not found by scope but read back whole', async () => {
  assert.deepEqual(await found({ 'scope.day': FIRST_SHIPWATCH_DAY }), []);
  assert.deepEqual(await found({ 'scope.day': '2024-03-0.*' }), [spans.jaeger.traceId, spans.fresh.traceId].sort());
  const named = warnings.filter((w) => String(w.msg).includes('scope')).map((w) => w.indices);
  assert.deepEqual(named, [`${prefix}-jaeger-span-${FIRST_SHIPWATCH_DAY}`]);
  const [read] = await reader.getTrace(spans.first.traceId);
  assert.deepEqual(read?.scope, spans.first.scope);
  assert.deepEqual(read?.references, spans.first.references);
});

test("the added fields are mapped beside Jaeger's, which keep their types", async () => {
  const m = await client.indices.getMapping({ index: `${prefix}-jaeger-span-${JAEGER_DAY}` });
  const props = Object.values(m)[0]!.mappings.properties!;
  assert.equal(props.tags?.type, 'nested');
  const refs = props.references as { type: string; properties: Record<string, { type: string }> };
  assert.equal(refs.type, 'nested');
  assert.equal(refs.properties.refType?.type, 'keyword');
  assert.equal(refs.properties.tags?.type, 'nested');
  assert.equal((props.scope as { properties: Record<string, { type: string }> }).properties.tags?.type, 'nested');
});

test('an index that mapped otlp from documents keeps it, gets the other fields, is named, and its spans read back whole', async () => {
  const named = warnings.filter((w) => String(w.msg).includes('otlp')).map((w) => w.indices);
  assert.deepEqual(named, [`${prefix}-jaeger-span-${OTLP_DAY}`]);
  const m = await client.indices.getMapping({ index: `${prefix}-jaeger-span-${OTLP_DAY}` });
  const props = Object.values(m)[0]!.mappings.properties!;
  assert.equal((props.scope as { properties: Record<string, { type: string }> }).properties.tags?.type, 'nested');
  const [read] = await reader.getTrace(spans.otlp.traceId);
  assert.deepEqual(read?.otlp, spans.otlp.otlp);
  const fresh = await client.indices.getMapping({ index: `${prefix}-jaeger-span-${NEW_DAY}` });
  assert.deepEqual(Object.values(fresh)[0]!.mappings.properties!.otlp, { type: 'object', enabled: false });
});
