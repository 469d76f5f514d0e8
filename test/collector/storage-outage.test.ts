/**
 * The collector program with its outputs out of reach, against the real Elasticsearch and VictoriaMetrics behind
 * relays that go down, freeze (accept and never answer) and come back, while the services stay up for other tests.
 * Spans are sent as clients send them (OTLP/HTTP JSON, Jaeger agent UDP datagrams) and counted in Elasticsearch by
 * span id.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { start } from '../../collector/collector-program.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { silentLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import type { Cleanup } from '../helpers/cleanup.js';
import { deleteIndexTemplates, deleteIndices, esClient, esTestUrl, scan } from '../helpers/elasticsearch.js';
import { scrapeMetric } from '../helpers/prometheus-text.js';
import { testServices } from '../helpers/services.js';
import { startTcpSwitch, type TcpSwitch } from '../helpers/tcp-switch.js';
import { exportSeries } from '../helpers/victoria-metrics.js';
import { waitFor } from '../helpers/wait.js';
import { encodeEmitBatch, type TSpan } from './traces/support/thrift-writer.js';

interface RunningCollector {
  admin: string;
  otlp: string;
  compactPort: number;
  startMs: number;
}

/** A collector on loopback ports writing spans to Elasticsearch at `esUrl` under `prefix`; closed after the test. */
async function startCollector(t: Cleanup, prefix: string, env: Record<string, string>): Promise<RunningCollector> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-outage-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  t.after(async () => {
    await deleteIndices(`${prefix}-jaeger-*`);
    await deleteIndexTemplates(`${prefix}-jaeger-*`);
  });
  const config = loadConfig({
    SHIPWATCH_DATA_DIR: dataDir, COLLECTOR_CONTAINER_STATS: 'false', SHIPWATCH_SHUTDOWN_TIMEOUT: '3s',
    SPAN_STORAGE_TYPE: 'elasticsearch', ES_INDEX_PREFIX: prefix, ES_NUM_SHARDS: '1', ES_NUM_REPLICAS: '0', ES_RETRY_MAX_DELAY: '1s',
    COLLECTOR_SPAN_FLUSH_INTERVAL: '50ms',
    COLLECTOR_ADMIN_LISTEN: '127.0.0.1:0', COLLECTOR_OTLP_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_ZIPKIN_LISTEN: '127.0.0.1:0',
    COLLECTOR_JAEGER_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_COMPACT_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0',
    COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
    ...env,
  }, 'collector');
  const shared = new SharedResources();
  const began = performance.now();
  const collector = await start({ config, log: silentLogger, shared });
  const startMs = performance.now() - began;
  t.after(async () => {
    await collector.close();
    await shared.closeAll();
  });
  const summary = collector.summary.join('\n');
  const port = (re: RegExp): number => Number(re.exec(summary)![1]);
  return {
    admin: `http://127.0.0.1:${port(/admin .* on 127\.0\.0\.1:(\d+)/)}`,
    otlp: `http://127.0.0.1:${port(/OTLP\/HTTP .* on 127\.0\.0\.1:(\d+)/)}/v1/traces`,
    compactPort: port(/Jaeger Thrift compact .* on 127\.0\.0\.1:(\d+)\/udp/),
    startMs,
  };
}

/** /health's answer: its HTTP status, its `status` word and every reason it names (failures and problems). */
async function health(c: RunningCollector): Promise<{ status: number; state: string; failures: Record<string, string> }> {
  const res = await fetch(`${c.admin}/health`);
  const body = (await res.json()) as { status: string; failures?: Record<string, string>; problems?: Record<string, string> };
  return { status: res.status, state: body.status, failures: { ...body.problems, ...body.failures } };
}

/** The sum of a metric's samples on /metrics whose labels include `labels`. */
async function metric(c: RunningCollector, name: string, labels: Record<string, string> = {}): Promise<number> {
  return scrapeMetric(c.admin, name, labels);
}

/** Span ids `first`… as 16 hex digits, unique to this run. */
const RUN = BigInt(Date.now()) << 16n;
const spanIdOf = (n: number): bigint => RUN + BigInt(n);
const hex16 = (v: bigint): string => v.toString(16).padStart(16, '0');

/** `count` spans as OTLP/HTTP JSON requests of `perRequest`; each answered 200. */
async function sendOtlp(c: RunningCollector, first: number, count: number, perRequest = 100): Promise<void> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  for (let i = first; i < first + count; i += perRequest) {
    const spans = [];
    for (let k = i; k < Math.min(first + count, i + perRequest); k++) {
      spans.push({
        traceId: `00000000000000aa${hex16(spanIdOf(k))}`, spanId: hex16(spanIdOf(k)), name: 'checkout',
        startTimeUnixNano: String(nowNs), endTimeUnixNano: String(nowNs + 1_000_000n),
      });
    }
    const res = await fetch(c.otlp, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeSpans: [{ spans }] }] }),
    });
    assert.equal(res.status, 200, await res.text());
  }
}

/** `count` spans as Jaeger agent datagrams (Thrift compact) of `perDatagram`. */
async function sendJaegerUdp(c: RunningCollector, first: number, count: number, perDatagram = 10): Promise<void> {
  const socket = dgram.createSocket('udp4');
  const nowMicros = BigInt(Date.now()) * 1000n;
  try {
    for (let i = first; i < first + count; i += perDatagram) {
      const spans: TSpan[] = [];
      for (let k = i; k < Math.min(first + count, i + perDatagram); k++) {
        spans.push({ traceIdLow: spanIdOf(k), traceIdHigh: 0xbbn, spanId: spanIdOf(k), parentSpanId: 0n, operationName: 'pay', flags: 1, startTime: nowMicros, duration: 1000n });
      }
      const datagram = encodeEmitBatch({ process: { serviceName: 'payments' }, spans }, 'compact');
      await new Promise<void>((resolve, reject) => socket.send(datagram, c.compactPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      // Paced so the kernel's socket buffer never overflows: the test counts spans, not datagrams dropped.
      await sleep(2);
    }
  } finally {
    socket.close();
  }
}

/** Waits until the span indices hold `n` documents; returns how many distinct span ids they hold. */
async function storedSpans(prefix: string, n: number, timeoutMs: number): Promise<{ docs: number; distinct: number }> {
  const docs = await waitFor(async () => {
    const found = await scan<{ spanID: string }>(`${prefix}-jaeger-span-*`, { fields: ['spanID'] });
    return found.length >= n ? found : undefined;
  }, { timeoutMs, intervalMs: 500, what: `${n} spans in Elasticsearch` });
  return { docs: docs.length, distinct: new Set(docs.map((d) => d.source.spanID)).size };
}

async function templatesInstalled(prefix: string): Promise<string[]> {
  const client = esClient();
  try {
    const r = await client.indices.getIndexTemplate({ name: `${prefix}-jaeger-*` }, { ignore: [404] });
    return (r.index_templates ?? []).map((t) => t.name).sort();
  } finally {
    await client.close();
  }
}

function relayFor(t: Cleanup, relay: TcpSwitch): TcpSwitch {
  t.after(() => relay.close());
  return relay;
}

const prefixOf = (name: string): string => `sw-outage-${name}-${process.pid}-${Date.now().toString(36)}`;

test('started with Elasticsearch and InfluxDB down, the collector opens at once, says what is missing, and stores every span once they are back', async (t) => {
  const { vmUrl } = testServices();
  const es = relayFor(t, await startTcpSwitch(await esTestUrl(), false));
  const vm = relayFor(t, await startTcpSwitch(vmUrl, false));
  const prefix = prefixOf('down');
  const c = await startCollector(t, prefix, { ES_SERVER_URLS: es.url, INFLUXDB_URL: vm.url, INFLUXDB_FLUSH_INTERVAL: '100ms' });
  assert.ok(c.startMs < 3000, `started in ${Math.round(c.startMs)} ms`);

  // Receivers take spans into the queue at once.
  await sendOtlp(c, 0, 500);
  await sendJaegerUdp(c, 500, 300);
  const measurement = `sw_outage_${process.pid}`;
  const push = await fetch(`${c.admin}/api/v2/write?bucket=b`, { method: 'POST', body: `${measurement},site=a value=1` });
  assert.equal(push.status, 204);

  const down = await waitFor(async () => {
    const h = await health(c);
    return h.failures['span-storage'] && h.failures['influxdb'] ? h : undefined;
  }, { what: '/health naming Elasticsearch and InfluxDB' });
  assert.deepEqual([down.status, down.state], [200, 'degraded'], 'an output outage leaves the collector accepting, and says so');
  assert.match(down.failures['span-storage']!, /^elasticsearch: unreachable \(.+\).*; index templates not installed$/);
  assert.match(down.failures['influxdb']!, /no answer from|refused|failing/, 'the InfluxDB output names what fails');
  assert.deepEqual(await templatesInstalled(prefix), []);
  await sleep(1500); // a few tries go by while it is down

  es.setUp(true);
  vm.setUp(true);
  const stored = await storedSpans(prefix, 800, 30_000);
  assert.deepEqual(stored, { docs: 800, distinct: 800 }, 'every span once');
  // Jaeger's two templates as Jaeger installs them, and Shipwatch's fields in its own two.
  assert.deepEqual(await templatesInstalled(prefix), [`${prefix}-jaeger-service`, `${prefix}-jaeger-service-shipwatch`, `${prefix}-jaeger-span`, `${prefix}-jaeger-span-shipwatch`]);
  await waitFor(async () => (await health(c)).state === 'ok', { timeoutMs: 15_000, what: '/health 200' });
  assert.equal(await metric(c, 'shipwatch_delivery_records_total', { output: 'spans-elasticsearch', outcome: 'rejected' }), 0);
  assert.equal(await metric(c, 'shipwatch_es_spans_written_total', { outcome: 'stored' }), 800);
  assert.equal(await metric(c, 'shipwatch_es_spans_written_total', { outcome: 'rejected' }), 0);
  const series = await waitFor(async () => {
    const found = await exportSeries(vmUrl, `{__name__="${measurement}_value"}`);
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 15_000, what: 'the pushed point in VictoriaMetrics' });
  assert.equal(series[0]!.values.at(-1), 1);
});

test('started against an Elasticsearch that accepts connections and never answers, the collector opens at once and recovers when it answers', async (t) => {
  const es = relayFor(t, await startTcpSwitch(await esTestUrl(), true));
  es.freeze();
  const prefix = prefixOf('hang');
  const c = await startCollector(t, prefix, { ES_SERVER_URLS: es.url, ES_TIMEOUT: '2s' });
  assert.ok(c.startMs < 3000, `started in ${Math.round(c.startMs)} ms`);
  await sendOtlp(c, 0, 300);

  const waiting = await health(c);
  assert.deepEqual([waiting.status, waiting.state], [200, 'degraded']);
  assert.match(waiting.failures['span-storage']!, /^elasticsearch: no answer yet \(asked \d+ s ago\); index templates not installed$/);
  const timedOut = await waitFor(async () => {
    const h = await health(c);
    return /no answer in time/.test(h.failures['span-storage'] ?? '') ? h : undefined;
  }, { what: '/health naming the time-out' });
  assert.match(timedOut.failures['span-storage']!, /index templates not installed$/);

  es.setUp(true);
  assert.deepEqual(await storedSpans(prefix, 300, 30_000), { docs: 300, distinct: 300 });
  await waitFor(async () => (await health(c)).state === 'ok', { timeoutMs: 15_000, what: '/health 200' });
  assert.equal(await metric(c, 'shipwatch_delivery_records_total', { output: 'spans-elasticsearch', outcome: 'rejected' }), 0);
});

test('a frozen Elasticsearch for longer than 30 s loses no span and counts none failed', async (t) => {
  const es = relayFor(t, await startTcpSwitch(await esTestUrl(), true));
  const prefix = prefixOf('frozen');
  const c = await startCollector(t, prefix, { ES_SERVER_URLS: es.url, ES_TIMEOUT: '5s' });
  await waitFor(async () => (await health(c)).state === 'ok', { timeoutMs: 15_000, what: 'templates installed' });
  await sendOtlp(c, 0, 1000);
  await storedSpans(prefix, 1000, 15_000);

  es.freeze();
  const frozenAt = performance.now();
  await sendOtlp(c, 1000, 2000);
  await sendJaegerUdp(c, 3000, 500);
  await sleep(15_000);
  await sendOtlp(c, 3500, 1500);
  const during = await health(c);
  assert.deepEqual([during.status, during.state], [200, 'degraded']);
  assert.match(during.failures['span-storage']!, /^elasticsearch: no answer in time/);
  await sleep(Math.max(0, 32_000 - (performance.now() - frozenAt)));

  es.setUp(true);
  assert.deepEqual(await storedSpans(prefix, 5000, 60_000), { docs: 5000, distinct: 5000 });
  await waitFor(async () => (await health(c)).state === 'ok', { timeoutMs: 15_000, what: '/health 200' });
  assert.equal(await metric(c, 'shipwatch_delivery_records_total', { output: 'spans-elasticsearch', outcome: 'rejected' }), 0);
  assert.equal(await metric(c, 'shipwatch_es_spans_written_total', { outcome: 'rejected' }), 0);
  assert.ok(await metric(c, 'shipwatch_es_span_retries_total') > 0, 'the frozen writes were tried again');
});
