/**
 * The pilot's Elasticsearch path: LogEvents of ~300-byte container records (as the pilot builds them) through the
 * `elasticsearch` output — encoded, written to its disk buffer (durable, group commit), read back in runs, cut to the
 * bulk bounds and sent with bounded concurrency on the delivery chain, answers read item by item — into a real
 * Elasticsearch (SHIPWATCH_TEST_ES_URL, default http://127.0.0.1:9200), and spans in Jaeger's schema through the
 * span writer. Writes are kept `WINDOW` at a time in flight, as the pilot's in-flight bound does; the log figure
 * ends when Elasticsearch has taken every record.
 *
 * Prints records/s (wall), records per CPU-second of this process, MiB/s of record bytes, spans/s, peak RSS.
 * `node --import tsx bench/es-bulk.bench.ts [records] [spans]`
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { ElasticsearchOutput } from '../storage/elasticsearch/elasticsearch-output.js';
import { EsSpanWriter } from '../storage/elasticsearch/span-writer.js';
import { silentLogger } from '../platform/log.js';
import type { LogEvent } from '../model/log-record.js';
import type { Span } from '../model/span.js';
import { createRegistry } from '../platform/self-metrics.js';

const RECORDS = Number(process.argv[2] ?? 200_000);
const SPANS = Number(process.argv[3] ?? 50_000);
const url = process.env.SHIPWATCH_TEST_ES_URL ?? 'http://127.0.0.1:9200';
const tag = `sw-bench-${process.pid}`;
/** Writes of 500 records in flight at once (~5 MiB of records: the pilot's in-flight bound is 16 MiB). */
const WINDOW = 32;

function events(count: number): LogEvent[] {
  const out: LogEvent[] = [];
  const t0 = Date.UTC(2024, 0, 1);
  for (let i = 0; i < count; i++) {
    const ts = t0 + i;
    out.push({
      json: `{"@timestamp":"${new Date(ts).toISOString()}","message":"GET /api/orders/${i} 200 ${i % 997}ms user-agent=curl/8.5","stream":"stdout","source":"stdout","target":"${tag}","host":"node-1","docker_container":"shop-web-1","docker_container_id":"4f1c0ffee0d15ea5e4f1c0ffee0d15ea5e4f1c0ffee0d15ea5e4f1c0ffee0d1","docker_app":"shop","docker_service":"web"}`,
      target: tag, timestampMs: ts, id: `4f1c0ffee0d1-stdout-${i}`, containerId: '4f1c', containerName: 'shop-web-1', app: 'shop', service: 'web', text: '',
    });
  }
  return out;
}

function spans(count: number): Span[] {
  const out: Span[] = [];
  const t0 = Date.UTC(2024, 0, 1) * 1000;
  for (let i = 0; i < count; i++) {
    const trace = (Math.floor(i / 10) + 1).toString(16).padStart(32, '0');
    out.push({
      traceId: trace, spanId: (i + 1).toString(16).padStart(16, '0'), operationName: `GET /api/${i % 20}`,
      references: i % 10 === 0 ? [] : [{ refType: 'CHILD_OF', traceId: trace, spanId: (i - (i % 10) + 1).toString(16).padStart(16, '0') }],
      flags: 1, startTimeMicros: t0 + i * 10, durationMicros: 1000 + (i % 500),
      tags: [{ key: 'span.kind', type: 'string', value: 'server' }, { key: 'http.status_code', type: 'int64', value: 200 }, { key: 'error', type: 'bool', value: false }],
      logs: [], process: { serviceName: `svc-${i % 5}`, tags: [{ key: 'hostname', type: 'string', value: 'node-1' }] },
    });
  }
  return out;
}

async function main(): Promise<void> {
  const client = new Client({ node: url, maxRetries: 0 });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sw-bench-'));
  const registry = createRegistry('bench', false);
  const output = await ElasticsearchOutput.open({
    client, dataDir, rotation: 'daily', maxBatchEvents: 2000, maxBatchBytes: 5 << 20, flushIntervalMs: 100, concurrency: 4, retryPolicy: {},
    bufferMaxBytes: 1 << 30, bufferWhenFull: 'block', registry, log: silentLogger,
  });
  const input = events(RECORDS);
  const bytes = input.reduce((s, e) => s + e.json.length, 0);
  let cpu = process.cpuUsage();
  let began = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < input.length; i += 500) {
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
    const w: Promise<void> = output.write(input.slice(i, i + 500)).finally(() => inFlight.delete(w));
    inFlight.add(w);
  }
  await Promise.all(inFlight);
  await output.drained();
  let wall = (performance.now() - began) / 1000;
  const logCpu = process.cpuUsage(cpu);
  let cpuS = (logCpu.user + logCpu.system) / 1e6;
  console.log(`log records: ${RECORDS} in ${wall.toFixed(2)} s = ${Math.round(RECORDS / wall)} records/s, ${Math.round(RECORDS / cpuS)} records per CPU-second ` +
    `(user ${(logCpu.user / 1e6).toFixed(2)} s, system ${(logCpu.system / 1e6).toFixed(2)} s), ${(bytes / 2 ** 20 / wall).toFixed(1)} MiB/s`);
  await output.close();

  const writer = new EsSpanWriter({ client, indexPrefix: tag, shards: 1, replicas: 0, registry, log: silentLogger });
  await writer.init();
  const spanInput = spans(SPANS);
  cpu = process.cpuUsage();
  began = performance.now();
  for (let i = 0; i < spanInput.length; i += 1000) await writer.writeSpans(spanInput.slice(i, i + 1000));
  wall = (performance.now() - began) / 1000;
  cpuS = (() => { const c = process.cpuUsage(cpu); return (c.user + c.system) / 1e6; })();
  console.log(`spans: ${SPANS} in ${wall.toFixed(2)} s = ${Math.round(SPANS / wall)} spans/s, ${Math.round(SPANS / cpuS)} spans per CPU-second`);
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

  await client.indices.delete({ index: `${tag}*`, ignore_unavailable: true, allow_no_indices: true });
  await client.indices.deleteIndexTemplate({ name: `${tag}-jaeger-*` });
  await client.close();
  await rm(dataDir, { recursive: true, force: true });
}

await main();
