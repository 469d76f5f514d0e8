/**
 * The collector's span path on its durable queues, in process, against the real Elasticsearch behind a relay: what
 * the receivers answer when the disk budget is used, and what a damaged or torn queue segment (power loss) does.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { start } from '../../../collector/collector-program.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { silentLogger } from '../../../platform/log.js';
import { SharedResources } from '../../../platform/runtime.js';
import type { Cleanup } from '../../helpers/cleanup.js';
import { deleteIndexTemplates, deleteIndices, esTestUrl, scan } from '../../helpers/elasticsearch.js';
import { scrapeMetric } from '../../helpers/prometheus-text.js';
import { startTcpSwitch } from '../../helpers/tcp-switch.js';
import { waitFor } from '../../helpers/wait.js';
import { encodeBatch, encodeEmitBatch } from './support/thrift-writer.js';

interface Collector {
  admin: string;
  otlp: string;
  zipkin: string;
  jaegerHttp: string;
  compactPort: number;
  close(): Promise<void>;
}

async function startCollector(t: Cleanup, dataDir: string, env: Record<string, string>): Promise<Collector> {
  const config = loadConfig({
    SHIPWATCH_DATA_DIR: dataDir, COLLECTOR_CONTAINER_STATS: 'false', SHIPWATCH_SHUTDOWN_TIMEOUT: '3s',
    SPAN_STORAGE_TYPE: 'elasticsearch', ES_NUM_SHARDS: '1', ES_NUM_REPLICAS: '0', ES_RETRY_MAX_DELAY: '500ms',
    COLLECTOR_SPAN_FLUSH_INTERVAL: '20ms',
    COLLECTOR_ADMIN_LISTEN: '127.0.0.1:0', COLLECTOR_OTLP_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_ZIPKIN_LISTEN: '127.0.0.1:0',
    COLLECTOR_JAEGER_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_COMPACT_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0',
    COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
    ...env,
  }, 'collector');
  const shared = new SharedResources();
  const program = await start({ config, log: silentLogger, shared });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= program.close().then(() => shared.closeAll()));
  t.after(close);
  const summary = program.summary.join('\n');
  const port = (re: RegExp): number => Number(re.exec(summary)![1]);
  const http = (re: RegExp, path: string): string => `http://127.0.0.1:${port(re)}${path}`;
  return {
    admin: http(/admin .* on 127\.0\.0\.1:(\d+)/, ''),
    otlp: http(/OTLP\/HTTP .* on 127\.0\.0\.1:(\d+)/, '/v1/traces'),
    zipkin: http(/Zipkin .* on 127\.0\.0\.1:(\d+)/, '/api/v2/spans'),
    jaegerHttp: http(/Jaeger HTTP .* on 127\.0\.0\.1:(\d+)/, '/api/traces'),
    compactPort: port(/Jaeger Thrift compact .* on 127\.0\.0\.1:(\d+)\/udp/),
    close,
  };
}

const metric = (c: Collector, name: string, labels: Record<string, string> = {}): Promise<number> => scrapeMetric(c.admin, name, labels);

const RUN = Date.now().toString(16).padStart(12, '0');
const spanId = (n: number): string => `${RUN}${n.toString(16).padStart(4, '0')}`;

function otlpBody(first: number, count: number): string {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: count }, (_, i) => ({
    traceId: `00000000000000dd${spanId(first + i)}`, spanId: spanId(first + i), name: 'checkout', startTimeUnixNano: String(nowNs), endTimeUnixNano: String(nowNs + 1_000_000n),
  }));
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeSpans: [{ spans }] }] });
}

const postOtlp = (c: Collector, first: number, count: number): Promise<Response> =>
  fetch(c.otlp, { method: 'POST', headers: { 'content-type': 'application/json' }, body: otlpBody(first, count) });

function setUp(t: Cleanup, name: string): { dataDir: string; prefix: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-span-delivery-'));
  const prefix = `sw-span-delivery-${name}-${process.pid}-${Date.now().toString(36)}`;
  t.after(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await deleteIndices(`${prefix}-jaeger-*`);
    await deleteIndexTemplates(`${prefix}-jaeger-*`);
  });
  return { dataDir, prefix };
}

test('with the span disk budget used, OTLP, Zipkin and Jaeger HTTP answer 503 with Retry-After, UDP drops are counted and /health answers 503', async (t) => {
  const { dataDir, prefix } = setUp(t, 'full');
  const es = await startTcpSwitch(await esTestUrl(), false);
  t.after(() => es.close());
  const c = await startCollector(t, dataDir, { ES_SERVER_URLS: es.url, ES_INDEX_PREFIX: prefix, COLLECTOR_SPAN_BUFFER_MAX_SIZE: '64KiB', COLLECTOR_SPAN_QUEUE: '200' });

  let accepted = 0;
  for (let i = 0; ; i++) {
    const res = await postOtlp(c, i * 50, 50);
    if (res.status !== 200) {
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      break;
    }
    accepted++;
    assert.ok(i < 200, 'the budget fills');
  }
  assert.ok(accepted > 0);
  // What room is left takes requests of one span; then none.
  for (let i = 0; (await postOtlp(c, 5000 + i, 1)).status === 200; i++) assert.ok(i < 200, 'the budget fills');

  // Each protocol's frames differ in size: what room is left takes a few; then each is refused.
  const refused = async (post: (i: number) => Promise<Response>): Promise<Response> => {
    for (let i = 0; i < 200; i++) {
      const res = await post(i);
      if (res.status !== 200 && res.status !== 202) return res;
    }
    assert.fail('the budget fills');
  };
  const zipkin = await refused((i) => fetch(c.zipkin, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ traceId: `00000000000000dd${spanId(9000 + i)}`, id: spanId(9000 + i), name: 'get', timestamp: Date.now() * 1000, duration: 10, localEndpoint: { serviceName: 'web' } }]),
  }));
  assert.equal(zipkin.status, 503);
  assert.ok(zipkin.headers.get('retry-after'));

  const nowMicros = BigInt(Date.now()) * 1000n;
  const tspan = (n: number) => ({ traceIdLow: BigInt(n), traceIdHigh: 0xddn, spanId: BigInt(n), parentSpanId: 0n, operationName: 'pay', flags: 1, startTime: nowMicros, duration: 1000n });
  const jaeger = await refused((i) => fetch(c.jaegerHttp, { method: 'POST', headers: { 'content-type': 'application/x-thrift' }, body: encodeBatch({ process: { serviceName: 'pay' }, spans: [tspan(1 + i)] }, 'binary') }));
  assert.equal(jaeger.status, 503);
  assert.ok(jaeger.headers.get('retry-after'));

  // Datagrams past the memory in front (COLLECTOR_SPAN_QUEUE) are dropped, and counted.
  const socket = dgram.createSocket('udp4');
  t.after(() => socket.close());
  for (let i = 0; i < 30; i++) {
    const datagram = encodeEmitBatch({ process: { serviceName: 'pay' }, spans: Array.from({ length: 10 }, (_, k) => tspan(100 + i * 10 + k)) }, 'compact');
    await new Promise<void>((resolve, reject) => socket.send(datagram, c.compactPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }
  await waitFor(async () => (await metric(c, 'shipwatch_trace_spans_refused_busy_total', { protocol: 'jaeger-udp-compact' })) > 0, { what: 'UDP drops counted' });
  const health = await fetch(`${c.admin}/health`);
  assert.equal(health.status, 503);
  assert.match(await health.text(), /span queue is full/);
  await c.close();
});

test('a damaged and a torn span queue segment: the good spans around them are stored, the bad bytes kept aside and counted, no crash', async (t) => {
  const { dataDir, prefix } = setUp(t, 'damaged');
  const es = await startTcpSwitch(await esTestUrl(), false);
  t.after(() => es.close());
  const env = { ES_SERVER_URLS: es.url, ES_INDEX_PREFIX: prefix };
  const first = await startCollector(t, dataDir, env);
  for (let i = 0; i < 3; i++) assert.equal((await postOtlp(first, i * 100, 100)).status, 200);
  await first.close();

  const queueDir = join(dataDir, 'buffer', 'spans-elasticsearch');
  const [segment] = readdirSync(queueDir).filter((f) => f.endsWith('.seg'));
  const file = join(queueDir, segment!);
  const bytes = readFileSync(file);
  // Three frames: damage the middle one's body (its checksum no longer matches), then a torn frame at the end.
  const frames: number[] = [];
  for (let at = bytes.indexOf('SWS1'); at >= 0; at = bytes.indexOf('SWS1', at + 1)) frames.push(at);
  assert.equal(frames.length, 3);
  bytes.fill(0x7a, frames[1]! + 40, frames[1]! + 80);
  writeFileSync(file, bytes);
  appendFileSync(file, bytes.subarray(frames[2]!, frames[2]! + 30));

  es.setUp(true);
  const second = await startCollector(t, dataDir, env);
  const stored = await waitFor(async () => {
    const docs = await scan<{ spanID: string }>(`${prefix}-jaeger-span-*`, { fields: ['spanID'] });
    return docs.length >= 200 ? docs : undefined;
  }, { timeoutMs: 30_000, intervalMs: 300, what: '200 spans in Elasticsearch' });
  const ids = new Set(stored.map((d) => d.source.spanID));
  assert.equal(ids.size, 200);
  assert.ok(ids.has(spanId(0)) && ids.has(spanId(299)) && !ids.has(spanId(150)), 'the first and third requests, not the damaged second');
  await waitFor(async () => (await metric(second, 'shipwatch_buffer_skipped_bytes_total', { output: 'spans-elasticsearch' })) > 0, { what: 'skipped bytes counted' });
  const aside = readdirSync(join(queueDir, 'damaged'));
  assert.ok(aside.length >= 1, 'the bad bytes are kept aside');
  const health = await fetch(`${second.admin}/health`);
  assert.equal(health.status === 200 || health.status === 503, true);
  assert.equal((await postOtlp(second, 1000, 10)).status, 200, 'the collector keeps taking spans');
  await second.close();
});
