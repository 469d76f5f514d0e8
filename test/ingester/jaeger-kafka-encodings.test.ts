/**
 * Shipwatch and Jaeger 2.x on one span topic in Jaeger's own encodings, `jaeger_proto` and `jaeger_json`, each way
 * (SHIPWATCH_TEST_JAEGER_BIN names the `jaeger` binary; the test broker from test/services/kafka.sh): Shipwatch's
 * collector writes and Jaeger's kafka receiver reads, answering every trace whole; Jaeger's kafka exporter writes and
 * Shipwatch's ingester reads into the embedded store. (`otlp_proto`: ./jaeger-kafka-interop.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../platform/config/load-config.js';
import { createLogger } from '../../platform/log.js';
import { SharedResources } from '../../platform/runtime.js';
import { start as startIngester } from '../../ingester/ingester-program.js';
import { openStoreSpanStorage } from '../../storage/span-storage-factory.js';
import type { Cleanup } from '../helpers/cleanup.js';
import { NO_KAFKA, kafkaTestBrokers } from '../helpers/kafka.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { kafka, otlpRequests, send, startCollector, unique } from './support/kafka-span-path.js';

const brokers = kafkaTestBrokers();
const jaegerBin = process.env.SHIPWATCH_TEST_JAEGER_BIN;
const skip = !brokers ? NO_KAFKA : !jaegerBin ? 'SHIPWATCH_TEST_JAEGER_BIN is not set (the Jaeger 2.x binary: bash test/jaeger-parity/build-jaeger.sh)' : false;

function startJaeger(t: Cleanup, dir: string, yaml: string): () => string {
  const file = join(dir, 'jaeger.yaml');
  writeFileSync(file, yaml);
  const child = spawn(jaegerBin!, [`--config=file:${file}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  t.after(() => void child.kill('SIGKILL'));
  return () => stderr;
}

for (const encoding of ['jaeger_proto', 'jaeger_json'] as const) {
  test(`Jaeger's kafka receiver (${encoding}) reads what Shipwatch's collector wrote, every trace whole`, { skip, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-enc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const topic = unique('spans');
    const { otlpUrl } = await startCollector(t, join(dir, 'collector'), topic, { KAFKA_PRODUCER_ENCODING: encoding });
    await send(otlpUrl, otlpRequests('to-jaeger', 60, 5, 20));
    const [http, grpc] = await Promise.all([freePort(), freePort()]);
    const logs = startJaeger(t, dir, `
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces: { receivers: [kafka], processors: [batch], exporters: [jaeger_storage_exporter] }
  telemetry: { metrics: { level: none } }
extensions:
  jaeger_query:
    storage: { traces: mem }
    http: { endpoint: 127.0.0.1:${http} }
    grpc: { endpoint: 127.0.0.1:${grpc} }
  jaeger_storage:
    backends: { mem: { memory: { max_traces: 100000 } } }
receivers:
  kafka:
    brokers: [${brokers}]
    group_id: ${unique('jaeger')}
    initial_offset: earliest
    traces: { topic: ${topic}, encoding: ${encoding} }
processors:
  batch:
exporters:
  jaeger_storage_exporter: { trace_storage: mem }
`);
    const last = (60).toString(16).padStart(32, '0');
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${http}/api/traces/${last}`).catch(() => undefined);
      return res?.ok === true ? ((await res.json()) as { data: Array<{ spans: unknown[] }> }).data[0]?.spans.length === 5 : false;
    }, { timeoutMs: 60_000, intervalMs: 500, what: `Jaeger reading the last trace (jaeger: ${logs().slice(-600)})` });
    for (let i = 1; i <= 60; i++) {
      const id = i.toString(16).padStart(32, '0');
      const res = await fetch(`http://127.0.0.1:${http}/api/traces/${id}`);
      assert.equal(res.status, 200);
      const trace = (await res.json()) as { data: Array<{ spans: Array<{ operationName: string; processID: string; duration: number }>; processes: Record<string, { serviceName: string }> }> };
      assert.equal(trace.data[0]!.spans.length, 5, `trace ${id}`);
      assert.deepEqual(trace.data[0]!.spans.map((s) => s.operationName).sort(), ['op-0', 'op-1', 'op-2', 'op-3', 'op-4']);
      assert.equal(trace.data[0]!.processes[trace.data[0]!.spans[0]!.processID]!.serviceName, 'to-jaeger');
    }
  });

  test(`Shipwatch's ingester reads what Jaeger's kafka exporter (${encoding}) wrote into the embedded store`, { skip, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-enc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const topic = unique('spans');
    const otlp = await freePort();
    const logs = startJaeger(t, dir, `
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [kafka] }
  telemetry: { metrics: { level: none } }
receivers:
  otlp:
    protocols: { http: { endpoint: 127.0.0.1:${otlp} } }
processors:
  batch:
exporters:
  kafka:
    brokers: [${brokers}]
    traces: { topic: ${topic}, encoding: ${encoding} }
`);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${otlp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined))?.ok === true,
      { timeoutMs: 30_000, what: `Jaeger's OTLP receiver (jaeger: ${logs().slice(-600)})` });
    await send(`http://127.0.0.1:${otlp}/v1/traces`, otlpRequests('from-jaeger', 40, 4, 20));
    const admin = kafka().admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    await waitFor(async () => (await admin.listTopics()).includes(topic), { timeoutMs: 60_000, intervalMs: 250, what: `Jaeger creating ${topic} (jaeger: ${logs().slice(-600)})` });

    const config = loadConfig({
      SHIPWATCH_DATA_DIR: join(dir, 'ingester'), SPAN_STORAGE_TYPE: 'store', KAFKA_CONSUMER_BROKERS: brokers!, KAFKA_CONSUMER_TOPIC: topic,
      KAFKA_CONSUMER_ENCODING: encoding, KAFKA_CONSUMER_GROUP_ID: unique('group'), INGESTER_ADMIN_LISTEN: '127.0.0.1:0',
    }, 'ingester');
    const runtime = { config, log: createLogger({ level: 'silent' }), shared: new SharedResources() };
    const program = await startIngester(runtime);
    t.after(async () => {
      await program.close();
      await runtime.shared.closeAll();
    });
    const store = openStoreSpanStorage(runtime);
    for (let i = 1; i <= 40; i++) {
      const id = i.toString(16).padStart(32, '0');
      const spans = await waitFor(async () => {
        const trace = await store.getTrace(id);
        return trace.length === 4 ? trace : undefined;
      }, { timeoutMs: 60_000, intervalMs: 200, what: `trace ${id} in the store` });
      assert.deepEqual(spans.map((s) => s.operationName).sort(), ['op-0', 'op-1', 'op-2', 'op-3']);
      assert.ok(spans.every((s) => s.process.serviceName === 'from-jaeger' && s.durationMicros === 5000));
    }
  });
}
