/**
 * Spans through the collector's span delivery into a real Elasticsearch (SHIPWATCH_TEST_ES_URL, default
 * http://127.0.0.1:9200): OTLP bodies of 512 spans, JSON or protobuf (the OpenTelemetry SDK's serializers), decoded as the receiver
 * decodes them, handed over `HTTP_IN_FLIGHT` at a time waiting for the durable queue's group commit (on disk, in a
 * temporary directory), read back, batched and written by the Elasticsearch span writer in Jaeger's schema.
 *
 * Prints stored spans per CPU-second of this process (the collector's share: decode, queue, bulk encoding, HTTP),
 * spans/s of wall time and peak RSS. Elasticsearch's own CPU is not counted. A warm-up of `WARMUP_SPANS` first.
 * `node --import tsx bench/spans-to-elasticsearch.bench.ts [spans] [otlp-json|otlp-proto]` (default otlp-json)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeOtlpTraces } from '../collector/traces/codecs/otlp/otlp-decode.js';
import { SpanDelivery } from '../collector/traces/span-delivery.js';
import { loadConfig } from '../platform/config/load-config.js';
import { silentLogger } from '../platform/log.js';
import { createRegistry } from '../platform/self-metrics.js';
import { openEsSpanStorage } from '../storage/elasticsearch/es-span-storage.js';
import { batches, sdkSpans } from './support/sdk-spans.js';

const SPANS = Number(process.argv[2] ?? 100_000);
const ENCODING = process.argv[3] === 'otlp-proto' ? 'protobuf' : 'json';
const WARMUP_SPANS = 20_000;
const HTTP_IN_FLIGHT = 8;
const url = process.env.SHIPWATCH_TEST_ES_URL ?? 'http://127.0.0.1:9200';
const prefix = `sw-bench-spans-${process.pid}`;

const dir = mkdtempSync(join(tmpdir(), 'shipwatch-es-spans-bench-'));
const config = loadConfig({ SHIPWATCH_DATA_DIR: dir, SPAN_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: url, ES_INDEX_PREFIX: prefix, ES_NUM_SHARDS: '1', ES_NUM_REPLICAS: '0' }, 'collector');
const registry = createRegistry('bench', false);
const storage = openEsSpanStorage(config, registry, silentLogger);
await storage.writer.init();
const delivery = await SpanDelivery.open({
  storages: [{ name: 'elasticsearch', writer: storage.writer }], config: config.collector, dataDir: dir, drainTimeoutMs: 60_000, log: silentLogger, registry,
});
// The SDK's span objects are not kept past serialising them: held, they made every collection of the measured run
// walk ≈ 100 MB more of old space.
const serializer = ENCODING === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer;
const bodies = batches(await sdkSpans(WARMUP_SPANS + SPANS), 512).map((g) => Buffer.from(serializer.serializeRequest(g)!));
const cut = Math.round(WARMUP_SPANS / 512);

async function stored(): Promise<number> {
  const m = await registry.getSingleMetric('shipwatch_es_spans_written_total')!.get();
  return m.values.filter((v) => v.labels.outcome === 'stored').reduce((n, v) => n + v.value, 0);
}

async function send(data: Buffer[]): Promise<number> {
  let next = 0;
  let spans = 0;
  const client = async (): Promise<void> => {
    for (let i = next++; i < data.length; i = next++) {
      const out = decodeOtlpTraces(data[i]!, ENCODING, 1_000_000);
      if (!out.ok) throw new Error(out.message);
      spans += out.translation.spans.length;
      while ((await delivery.consumeDurably(out.translation.spans)) !== 'accepted') {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: HTTP_IN_FLIGHT }, client));
  return spans;
}

async function until(n: number): Promise<void> {
  while ((await stored()) < n) await new Promise((r) => setTimeout(r, 5));
}

try {
  const warm = await send(bodies.slice(0, cut));
  await until(warm);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const spans = await send(bodies.slice(cut));
  await until(warm + spans);
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const wallS = (performance.now() - wall0) / 1000;
  console.log(`OTLP/${ENCODING} spans → durable queue → Elasticsearch: ${spans} spans in ${cpuS.toFixed(2)} CPU-s / ${wallS.toFixed(2)} s wall → ` +
    `${Math.round(spans / cpuS).toLocaleString('en')} spans per CPU-second, ${Math.round(spans / wallS).toLocaleString('en')} spans/s; ` +
    `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  await delivery.close();
  await storage.close();
  const client = new Client({ node: url });
  await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
  await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
  await client.close();
  rmSync(dir, { recursive: true, force: true });
}
