/**
 * The Jaeger UI's Monitor tab API on both span storages: the embedded store (on disk, read on its reader thread) and
 * a real Elasticsearch in Jaeger's schema. The same spans go into each; the answers must be the same and right.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import type { FastifyInstance } from 'fastify';
import type { KeyValue, Span } from '../../../model/span.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { buildQueryApp } from '../../../query/api-app.js';
import { EsSpanReader } from '../../../storage/elasticsearch/span-reader.js';
import { EsSpanWriter } from '../../../storage/elasticsearch/span-writer.js';
import type { SpanReader, SpanWriter } from '../../../storage/span-storage.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { esTestUrl } from '../../helpers/elasticsearch.js';

const END_MS = Date.now() - (Date.now() % 60_000);
const Q = `endTs=${END_MS}&lookback=300000&step=60000&ratePer=60000`;

let n = 0;
function span(service: string, operation: string, kind: string, msBeforeEnd: number, durationMs: number, extra: KeyValue[] = []): Span {
  n++;
  const tags: KeyValue[] = [...extra];
  if (kind !== '') tags.push({ key: 'span.kind', type: 'string', value: kind });
  return {
    traceId: (0xa000 + n).toString(16).padStart(32, '0'), spanId: n.toString(16).padStart(16, '0'), operationName: operation, references: [], flags: 1,
    startTimeMicros: (END_MS - msBeforeEnd) * 1000, durationMicros: durationMs * 1000, tags, logs: [], process: { serviceName: service, tags: [] },
  };
}

const ERROR: KeyValue = { key: 'error', type: 'bool', value: true };
// In the last minute: 6 server spans of shop (GET /cart ×4, one failed; POST /pay ×2, one failed by its OTel status),
// 3 client spans; two minutes earlier, one server span; another service's span.
const SPANS: Span[] = [
  span('shop', 'GET /cart', 'server', 1_000, 10), span('shop', 'GET /cart', 'server', 5_000, 20, [ERROR]),
  span('shop', 'GET /cart', 'server', 20_000, 30), span('shop', 'GET /cart', 'server', 40_000, 40),
  span('shop', 'POST /pay', 'server', 30_000, 100), span('shop', 'POST /pay', 'server', 50_000, 200, [{ key: 'otel.status_code', type: 'string', value: 'ERROR' }]),
  span('shop', 'SELECT', 'client', 2_000, 5), span('shop', 'SELECT', 'client', 3_000, 5), span('shop', 'SELECT', 'client', 4_000, 5),
  span('shop', 'GET /cart', 'server', 150_000, 50),
  span('stock', 'GET /stock', 'server', 10_000, 7),
];

interface Backend {
  name: string;
  open(): Promise<{ reader: SpanReader; writer: SpanWriter; refresh(): Promise<void>; close(): Promise<void> } | string>;
}

const backends: Backend[] = [
  {
    name: 'embedded store',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'shipwatch-monitor-'));
      const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
      const store = new StoreSpanStorage(db);
      return { reader: store, writer: store, refresh: async () => {}, close: async () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
    },
  },
  {
    name: 'Elasticsearch',
    open: async () => {
      const client = new Client({ node: await esTestUrl(), maxRetries: 0 });
      const prefix = `sw-monitor-${process.pid}`;
      const writer = new EsSpanWriter({ client, indexPrefix: prefix, shards: 1, replicas: 0, registry: createRegistry('test', false), log: silentLogger });
      await writer.init();
      const reader = new EsSpanReader({ client, indexPrefix: prefix, log: silentLogger });
      return {
        reader, writer,
        refresh: async () => { await client.indices.refresh({ index: `${prefix}-jaeger-*`, ignore_unavailable: true, allow_no_indices: true }); },
        close: async () => {
          await writer.close();
          await client.indices.delete({ index: `${prefix}-jaeger-*`, ignore_unavailable: true, allow_no_indices: true });
          await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
          await client.close();
        },
      };
    },
  },
];

function values(body: any, series = 0): Array<number | string> {
  return body.metrics[series].metricPoints.map((p: any) => p.gaugeValue.doubleValue);
}

for (const backend of backends) {
  describe(`Monitor tab on the ${backend.name}`, () => {
    let app: FastifyInstance;
    let close: () => Promise<void> = async () => {};
    before(async () => {
      const opened = await backend.open();
      if (typeof opened === 'string') throw new Error(opened);
      await opened.writer.writeSpans(SPANS);
      await opened.refresh();
      close = opened.close;
      app = buildQueryApp({ spanReader: opened.reader, authToken: '', corsOrigins: [], maxTraces: 100, maxLogs: 100, log: silentLogger, uiDir: false });
    });
    after(async () => {
      await app?.close();
      await close();
    });
    const get = async (url: string) => {
      const r = await app.inject({ method: 'GET', url });
      return { status: r.statusCode, body: r.json() };
    };

    test('calls: server spans per second over the window, one series per service', async () => {
      const { status, body } = await get(`/api/metrics/calls?service=shop&${Q}`);
      assert.equal(status, 200);
      assert.equal(body.name, 'service_call_rate');
      assert.deepEqual(body.metrics.map((m: any) => m.labels), [[{ name: 'service_name', value: 'shop' }]]);
      assert.equal(body.metrics[0].metricPoints.length, 6);
      // 6 server spans in the last minute → 0.1/s; the one of two and a half minutes before counts at END − 2 min.
      assert.deepEqual(values(body), [0, 0, 0, 0.02, 0, 0.1]);
    });

    test('grouped by operation, other kinds, several services', async () => {
      const ops = (await get(`/api/metrics/calls?service=shop&groupByOperation=true&${Q}`)).body;
      assert.equal(ops.name, 'service_operation_call_rate');
      assert.deepEqual(ops.metrics.map((m: any) => m.labels[1].value), ['GET /cart', 'POST /pay']);
      assert.equal(values(ops, 0).at(-1), 0.07);
      assert.equal(values(ops, 1).at(-1), 0.03);
      const client = (await get(`/api/metrics/calls?service=shop&spanKind=client&${Q}`)).body;
      assert.equal(values(client).at(-1), 0.05);
      const both = (await get(`/api/metrics/calls?service=shop&service=stock&${Q}`)).body;
      assert.deepEqual(both.metrics.map((m: any) => m.labels[0].value), ['shop', 'stock']);
    });

    test('errors: error=true and otel.status_code=ERROR over the calls, NaN where there were none', async () => {
      const { body } = await get(`/api/metrics/errors?service=shop&${Q}`);
      assert.equal(body.name, 'service_error_rate');
      assert.deepEqual(values(body), ['NaN', 'NaN', 'NaN', 0, 'NaN', 2 / 6]);
    });

    test('latencies: the quantile in milliseconds', async () => {
      const { body } = await get(`/api/metrics/latencies?service=shop&quantile=0.5&${Q}`);
      assert.equal(body.name, 'service_latencies');
      const last = values(body).at(-1) as number;
      // Durations 10, 20, 30, 40, 100, 200 ms: the median is the third, 30 ms, within the histogram's 4.4%.
      assert.ok(Math.abs(last - 30) <= 30 * 0.044, `median ${last}`);
      assert.ok(Math.abs((values(body)[3] as number) - 50) <= 50 * 0.044);
    });

    test('minstep, and Jaeger\'s messages for bad parameters', async () => {
      assert.deepEqual((await get('/api/metrics/minstep')).body, { data: 1000, total: 0, limit: 0, offset: 0, errors: null });
      const cases: Array<[string, RegExp]> = [
        [`/api/metrics/calls?${Q}`, /^unable to parse param 'service': please provide at least one service name$/],
        [`/api/metrics/latencies?service=shop&${Q}`, /^unable to parse param 'quantile': strconv.ParseFloat: parsing "": invalid syntax$/],
        [`/api/metrics/calls?service=shop&spanKind=bogus&${Q}`, /^unable to parse param 'spanKind': unsupported span kind: 'bogus'$/],
        ['/api/metrics/calls?service=shop&step=abc', /^unable to parse param 'step': strconv.ParseInt: parsing "abc": invalid syntax$/],
        ['/api/metrics/calls?service=shop&groupByOperation=maybe', /^unable to parse param 'groupByOperation': strconv.ParseBool/],
        ['/api/metrics/calls?service=shop&lookback=86400000&step=1000', /exceeds 11000 points/],
      ];
      for (const [url, msg] of cases) {
        const { status, body } = await get(url);
        assert.equal(status, 400, url);
        assert.match(body.errors[0].msg, msg, url);
      }
    });
  });
}

test('over a reader that cannot list its spans, the Monitor tab answers 501 as Jaeger does without a metrics backend', async () => {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  const reader: SpanReader = {
    getServices: () => store.getServices(), getOperations: (q) => store.getOperations(q), getTrace: (id) => store.getTrace(id),
    findTraces: (q) => store.findTraces(q), getDependencies: (e, l) => store.getDependencies(e, l),
  };
  const app = buildQueryApp({ spanReader: reader, authToken: '', corsOrigins: [], maxTraces: 10, maxLogs: 10, log: silentLogger, uiDir: false });
  for (const url of ['/api/metrics/calls?service=shop', '/api/metrics/minstep']) {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 501, url);
    assert.equal(r.json().errors[0].msg, 'metrics querying is currently disabled');
  }
  await app.close();
  db.close();
});
