/**
 * How the Elasticsearch span writer counts, against the real Elasticsearch behind a relay that goes down and comes
 * back: through the collector's span delivery (its durable queue in a temporary directory), a span is counted
 * rejected once and only when Elasticsearch refused it; a span that a later try stores is never counted rejected,
 * and what a shutdown leaves undelivered waits in the queue for the next start.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanDelivery } from '../../../collector/traces/span-delivery.js';
import { loadConfig } from '../../../platform/config/load-config.js';
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

function openWriter(registry: Registry): { writer: EsSpanWriter; client: Client } {
  const client = new Client({ node: relay.url, maxRetries: 0, requestTimeout: 5000 });
  const writer = new EsSpanWriter({
    client, indexPrefix: prefix, shards: 1, replicas: 0, registry, log: silentLogger, retryPolicy: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  return { writer, client };
}

function openDelivery(writer: EsSpanWriter, dataDir: string, registry: Registry, drainTimeoutMs = 10_000): Promise<SpanDelivery> {
  const config = loadConfig({ SHIPWATCH_DATA_DIR: dataDir, COLLECTOR_SPAN_FLUSH_INTERVAL: '20ms' }, 'collector');
  return SpanDelivery.open({ storages: [{ name: 'elasticsearch', writer }], config: config.collector, dataDir, drainTimeoutMs, registry, log: silentLogger });
}

const delivered = (registry: Registry, outcome: 'delivered' | 'rejected'): Promise<number> =>
  counterValue(registry, 'shipwatch_delivery_records_total', { output: 'spans-elasticsearch', outcome });

test('a batch tried again through an outage counts its refused spans rejected once and its stored spans never', async () => {
  const registry = createRegistry('test', false);
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-span-writer-'));
  const { writer, client } = openWriter(registry);
  const delivery = await openDelivery(writer, dir, registry);
  try {
    await writer.init();
    relay.setUp(false);
    const spans = [...Array.from({ length: 150 }, (_, i) => span(i, OK_DAY_MICROS)), ...Array.from({ length: 7 }, (_, i) => span(1000 + i, REFUSING_DAY_MICROS))];
    assert.equal(await delivery.consumeDurably(spans), 'accepted');
    await sleep(1000); // tried again and again while down
    assert.match(writer.problem() ?? '', /^elasticsearch: unreachable \(.+\), for \d+ s$/);
    relay.setUp(true);
    await delivery.close();

    assert.equal(await delivered(registry, 'rejected'), 7);
    assert.equal(await delivered(registry, 'delivered'), 150);
    assert.equal(await counterValue(registry, 'shipwatch_es_spans_written_total', { outcome: 'stored' }), 150);
    assert.equal(await counterValue(registry, 'shipwatch_es_spans_written_total', { outcome: 'rejected' }), 7);
    assert.ok(await counterValue(registry, 'shipwatch_es_span_retries_total', {}) >= 157, 'every span was sent again at least once');
    assert.equal(writer.problem(), undefined);
    const stored = await scan<{ spanID: string }>(`${prefix}-jaeger-span-*`, { fields: ['spanID'] });
    assert.equal(stored.length, 150);
    assert.equal(new Set(stored.map((d) => d.source.spanID)).size, 150);
  } finally {
    relay.setUp(true);
    await delivery.close();
    await writer.close();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('at shutdown past its timeout what Elasticsearch did not take stays queued, and the next start stores it once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-span-writer-'));
  try {
    const first = createRegistry('test', false);
    const down = openWriter(first);
    const delivery = await openDelivery(down.writer, dir, first, 300);
    await down.writer.init();
    relay.setUp(false);
    assert.equal(await delivery.consumeDurably(Array.from({ length: 250 }, (_, i) => span(2000 + i, OK_DAY_MICROS))), 'accepted');
    await sleep(300);
    const began = performance.now();
    await delivery.close();
    assert.ok(performance.now() - began < 2000, `closed in ${Math.round(performance.now() - began)} ms`);
    assert.equal(await delivered(first, 'delivered'), 0);
    assert.equal(await delivered(first, 'rejected'), 0, 'nothing given up');
    await down.writer.close();
    await down.client.close();

    relay.setUp(true);
    const second = createRegistry('test', false);
    const up = openWriter(second);
    const again = await openDelivery(up.writer, dir, second);
    await up.writer.init();
    await again.close();
    assert.equal(await delivered(second, 'delivered'), 250);
    await up.writer.close();
    await up.client.close();
    const stored = await scan<{ spanID: string }>(`${prefix}-jaeger-span-*`, { fields: ['spanID'] });
    assert.equal(stored.filter((d) => parseInt(d.source.spanID, 16) >= 0x100000 + 2000).length, 250);
  } finally {
    relay.setUp(true);
    rmSync(dir, { recursive: true, force: true });
  }
});
