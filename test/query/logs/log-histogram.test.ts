/**
 * The log histogram (GET /api/logs/histogram): the buckets' layout, and the counts of the embedded store and of
 * Elasticsearch for the same records, which add up to the search's total under every filter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import type { FastifyInstance } from 'fastify';
import { buildQueryApp } from '../../../query/api-app.js';
import type { LogEvent } from '../../../model/log-record.js';
import { silentLogger } from '../../../platform/log.js';
import { BulkEncoder } from '../../../storage/elasticsearch/bulk-encoder.js';
import { createEsClient } from '../../../storage/elasticsearch/es-client.js';
import { EsLogReader } from '../../../storage/elasticsearch/log-reader.js';
import { histogramLayout, histogramRange } from '../../../storage/log-histogram.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreLogStorage } from '../../../storage/sqlite/log-store.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { deleteIndices, esTestUrl } from '../../helpers/elasticsearch.js';

const PREFIX = `sw-loghist-${process.pid}-${Date.now().toString(36)}`;
/** 12:00 UTC: records every 7 s for ten minutes, two containers. */
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

function event(i: number): LogEvent {
  const container = i % 3 === 0 ? 'db-1' : 'web-1';
  const service = container.split('-')[0]!;
  const timestampMs = T0 + i * 7000 + (i % 5) * 13;
  const message = `request ${i} ${i % 2 === 0 ? 'even' : 'odd'}`;
  const json = JSON.stringify({ '@timestamp': new Date(timestampMs).toISOString(), message, docker_container: container, docker_service: service, target: `${PREFIX}-${service}` });
  return { json, target: `${PREFIX}-${service}`, timestampMs, id: `${container}-${i}`, containerId: `${container}-id`, containerName: container, app: 'shop', service, text: message };
}
const EVENTS = [...Array(86).keys()].map(event);

describe('the histogram layout', () => {
  test('a range in about the asked number of buckets takes a round width, buckets starting at its multiples', () => {
    const hour = histogramLayout(T0, T0 + 3_600_000 - 1, 60);
    assert.deepEqual(hour, { startMs: T0, intervalMs: 60_000, buckets: 60 });
    const odd = histogramLayout(T0 + 1234, T0 + 600_000, 50);
    assert.equal(odd.intervalMs, 15_000);
    assert.equal(odd.startMs % 15_000, 0);
    assert.ok(odd.startMs <= T0 + 1234 && odd.startMs + odd.buckets * odd.intervalMs > T0 + 600_000, 'the buckets cover the range');
    assert.ok(odd.buckets <= 51);
    assert.equal(histogramLayout(T0, T0, 60).buckets, 1, 'one instant: one bucket');
    assert.equal(histogramLayout(0, 100 * 365 * 86_400_000 - 1, 10).intervalMs, 10 * 365 * 86_400_000, 'wider than years: whole years');
  });

  test('an open range reaches from the oldest match, and to now when it has a start', () => {
    assert.deepEqual(histogramRange({}, 10, 20, 99), { startMs: 10, endMs: 20 });
    assert.deepEqual(histogramRange({ startMs: 5 }, 10, 20, 99), { startMs: 5, endMs: 99 });
    assert.deepEqual(histogramRange({ startMs: 5 }, undefined, undefined, 99), { startMs: 5, endMs: 99 });
    assert.equal(histogramRange({}, undefined, undefined, 99), undefined, 'nothing matches, nothing bounds it');
  });
});

const esUrl = process.env.SHIPWATCH_TEST_ES_URL;
let store: StoreDatabase;
let fromStore: FastifyInstance;
let fromEs: FastifyInstance | undefined;
let es: Client | undefined;

before(async () => {
  store = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const logs = new StoreLogStorage(store);
  await logs.write(EVENTS);
  const common = { authToken: '', corsOrigins: [], maxTraces: 100, maxLogs: 1000, log: silentLogger, uiDir: false as const, spanReader: new StoreSpanStorage(store) };
  fromStore = buildQueryApp({ ...common, logReader: logs });
  if (esUrl) {
    es = createEsClient({ nodes: [await esTestUrl()] });
    const r = (await es.transport.request({ method: 'POST', path: '/_bulk', querystring: { refresh: 'true' }, bulkBody: new BulkEncoder('daily').encode(EVENTS) })) as { errors: boolean };
    assert.equal(r.errors, false);
    fromEs = buildQueryApp({ ...common, logReader: new EsLogReader({ client: es, indices: [`${PREFIX}-*`] }) });
  }
});

after(async () => {
  await fromStore?.close();
  await fromEs?.close();
  store?.close();
  if (es) {
    await es.close();
    await deleteIndices(`${PREFIX}-*`);
  }
});

const FILTERS = ['', 'container=web-1', 'service=db', 'q=even', `start=${T0 + 100_000}`, `start=${T0 + 60_000}&end=${T0 + 300_000}&q=odd`, `end=${T0 + 200_000}`, 'container=nobody'];

async function histogram(app: FastifyInstance, qs: string): Promise<{ data: { startMs: number; intervalMs: number; counts: number[] }; total: number }> {
  const res = await app.inject({ url: `/api/logs/histogram?${qs}` });
  assert.equal(res.statusCode, 200, `${qs}: ${res.body}`);
  return res.json();
}

describe('the histogram API', () => {
  test('on the embedded store the counts add up to the search\'s total under every filter', async () => {
    for (const f of FILTERS) {
      const h = await histogram(fromStore, `${f}&buckets=40`);
      const total = (await fromStore.inject({ url: `/api/logs?${f}` })).json().total as number;
      assert.equal(h.data.counts.reduce((a, b) => a + b, 0), total, f);
      assert.equal(h.total, total, f);
      assert.ok(h.data.counts.length <= 41, `${f}: ${h.data.counts.length} buckets`);
    }
  });

  test('each bucket counts the records of its own interval', async () => {
    const h = await histogram(fromStore, `start=${T0}&end=${T0 + 599_999}&buckets=10`);
    assert.deepEqual([h.data.startMs, h.data.intervalMs, h.data.counts.length], [T0, 60_000, 10]);
    const expected = new Array(10).fill(0);
    for (const e of EVENTS) if (e.timestampMs < T0 + 600_000) expected[Math.floor((e.timestampMs - T0) / 60_000)]++;
    assert.deepEqual(h.data.counts, expected);
  });

  test('with no match and no range the histogram is empty', async () => {
    const h = await histogram(fromStore, 'container=nobody');
    assert.deepEqual(h, { data: { startMs: 0, intervalMs: 0, counts: [] }, total: 0, errors: null });
  });

  test('bad parameters are a 400 in the envelope', async () => {
    for (const qs of ['buckets=0', 'buckets=-1', 'buckets=many', 'start=soon', 'start=10&end=5']) {
      const res = await fromStore.inject({ url: `/api/logs/histogram?${qs}` });
      assert.equal(res.statusCode, 400, qs);
      assert.equal(res.json().errors[0].code, 400, qs);
    }
    const many = await histogram(fromStore, 'buckets=100000');
    assert.ok(many.data.counts.length <= 501, 'buckets lowered to 500');
  });

  test('Elasticsearch answers the same buckets and counts as the store', { skip: esUrl ? false : 'SHIPWATCH_TEST_ES_URL not set (test/services/elasticsearch.sh starts it)' }, async () => {
    for (const f of FILTERS) {
      const [a, b] = [await histogram(fromStore, `${f}&buckets=40`), await histogram(fromEs!, `${f}&buckets=40`)];
      // An open end reaches "now", read a moment apart: compare the buckets both cover.
      assert.equal(b.data.startMs, a.data.startMs, f);
      assert.equal(b.data.intervalMs, a.data.intervalMs, f);
      const n = Math.min(a.data.counts.length, b.data.counts.length);
      assert.deepEqual(b.data.counts.slice(0, n), a.data.counts.slice(0, n), f);
      assert.equal(b.total, a.total, f);
      assert.equal(b.total, (await fromEs!.inject({ url: `/api/logs?${f}` })).json().total, f);
    }
  });
});
