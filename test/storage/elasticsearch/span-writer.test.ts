/**
 * How the Elasticsearch span writer counts, against the real Elasticsearch behind a relay that goes down and comes
 * back: through the collector's span queue, a span is counted failed once and only when Elasticsearch refused it or
 * the writer gave it up at shutdown; a span that a later try stores is never counted failed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { SpanQueue } from '../../../collector/traces/span-queue.js';
import { EsSpanWriter } from '../../../storage/elasticsearch/span-writer.js';
import { silentLogger } from '../../../platform/log.js';
import type { Span } from '../../../model/span.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { deleteIndexTemplates, deleteIndices, esTestUrl, scan } from '../../helpers/elasticsearch.js';
import { startTcpSwitch, type TcpSwitch } from '../../helpers/tcp-switch.js';
import { counterValue } from '../../collector/traces/support/collecting-consumer.js';

const prefix = `sw-writer-${process.pid}-${Date.now().toString(36)}`;
/** Spans of this day go to an index whose mapping refuses them (traceID as a boolean): each is rejected. */
const REFUSING_DAY = '2024-02-02';
const OK_DAY_MICROS = Date.UTC(2024, 1, 1, 12) * 1000;
const REFUSING_DAY_MICROS = Date.UTC(2024, 1, 2, 12) * 1000;

let relay: TcpSwitch;

before(async () => {
  const esUrl = await esTestUrl();
  const client = new Client({ node: esUrl, maxRetries: 0 });
  try {
    await client.indices.create({ index: `${prefix}-jaeger-span-${REFUSING_DAY}`, mappings: { properties: { traceID: { type: 'boolean' } } } });
  } finally {
    await client.close();
  }
  relay = await startTcpSwitch(esUrl, true);
});

after(async () => {
  await relay.close();
  await deleteIndices(`${prefix}-jaeger-*`);
  await deleteIndexTemplates(`${prefix}-jaeger-*`);
});

function span(n: number, startTimeMicros: number): Span {
  const id = (0x100000 + n).toString(16).padStart(16, '0');
  return {
    traceId: id.padStart(32, '0'), spanId: id, operationName: 'op', references: [], flags: 1, startTimeMicros, durationMicros: 10,
    tags: [], logs: [], process: { serviceName: 'writer-test', tags: [] },
  };
}

function setUp(registry: Registry, closeTimeoutMs?: number): { writer: EsSpanWriter; queue: SpanQueue; client: Client } {
  const client = new Client({ node: relay.url, maxRetries: 0, requestTimeout: 5000 });
  const writer = new EsSpanWriter({
    client, indexPrefix: prefix, shards: 1, replicas: 0, registry, log: silentLogger, retryPolicy: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  const queue = new SpanQueue({
    writers: [writer], maxQueuedSpans: 10_000, maxBatchSpans: 100, flushIntervalMs: 20, concurrency: 2, log: silentLogger, registry,
    ...(closeTimeoutMs === undefined ? {} : { closeTimeoutMs }),
  });
  return { writer, queue, client };
}

test('a batch tried again through an outage counts its refused spans failed once and its stored spans never', async () => {
  const registry = createRegistry('test', false);
  const { writer, queue, client } = setUp(registry);
  try {
    await writer.init();
    relay.setUp(false);
    const spans = [...Array.from({ length: 150 }, (_, i) => span(i, OK_DAY_MICROS)), ...Array.from({ length: 7 }, (_, i) => span(1000 + i, REFUSING_DAY_MICROS))];
    assert.equal(queue.consume(spans), 'accepted');
    await sleep(1000); // tried again and again while down
    assert.match(writer.problem() ?? '', /^elasticsearch: unreachable \(.+\), for \d+ s$/);
    relay.setUp(true);
    await queue.close();

    assert.equal(await counterValue(registry, 'shipwatch_spans_store_failed_total', {}), 7);
    assert.equal(await counterValue(registry, 'shipwatch_spans_stored_total', {}), 150);
    assert.equal(await counterValue(registry, 'shipwatch_es_spans_written_total', { outcome: 'stored' }), 150);
    assert.equal(await counterValue(registry, 'shipwatch_es_spans_written_total', { outcome: 'rejected' }), 7);
    assert.ok(await counterValue(registry, 'shipwatch_es_span_retries_total', {}) >= 157, 'every span was sent again at least once');
    assert.equal(writer.problem(), undefined);
    const stored = await scan<{ spanID: string }>(`${prefix}-jaeger-span-*`, { fields: ['spanID'] });
    assert.equal(stored.length, 150);
    assert.equal(new Set(stored.map((d) => d.source.spanID)).size, 150);
  } finally {
    relay.setUp(true);
    await writer.close();
    await client.close();
  }
});

test('at shutdown past its timeout the queue gives up what Elasticsearch did not take, counting each span once', async () => {
  const registry = createRegistry('test', false);
  const { writer, queue, client } = setUp(registry, 300);
  try {
    await writer.init();
    relay.setUp(false);
    assert.equal(queue.consume(Array.from({ length: 250 }, (_, i) => span(2000 + i, OK_DAY_MICROS))), 'accepted');
    await sleep(300);
    const began = performance.now();
    await queue.close();
    assert.ok(performance.now() - began < 2000, `closed in ${Math.round(performance.now() - began)} ms`);
    assert.equal(await counterValue(registry, 'shipwatch_spans_store_failed_total', {}), 250);
    assert.equal(await counterValue(registry, 'shipwatch_es_spans_written_total', { outcome: 'abandoned' }), 250);
    assert.equal(await counterValue(registry, 'shipwatch_spans_stored_total', {}), 0);
  } finally {
    relay.setUp(true);
    await writer.close();
    await client.close();
  }
});
