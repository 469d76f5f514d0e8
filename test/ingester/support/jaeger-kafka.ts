/**
 * Jaeger 2.x on the test broker, for the tests of Shipwatch and Jaeger sharing a span topic: its kafka receiver into
 * memory storage with the query API (the reader), or its OTLP receiver into its kafka exporter (the writer), and the
 * checks each way. SHIPWATCH_TEST_JAEGER_BIN names the binary (test/jaeger-parity/build-jaeger.sh).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from '../../helpers/cleanup.js';
import { NO_KAFKA, kafkaTestBrokers } from '../../helpers/kafka.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import type { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { kafka, unique } from './kafka-span-path.js';

const brokers = kafkaTestBrokers();
const jaegerBin = process.env.SHIPWATCH_TEST_JAEGER_BIN;

/** Why these tests are skipped here, or false. */
export const skipJaeger = !brokers ? NO_KAFKA : !jaegerBin ? 'SHIPWATCH_TEST_JAEGER_BIN is not set (the Jaeger 2.x binary: bash test/jaeger-parity/build-jaeger.sh)' : false;

/** Jaeger with `yaml` as its configuration, killed after the test; returns the end of what it wrote on stderr. */
function startJaeger(t: Cleanup, dir: string, yaml: string): () => string {
  const file = join(dir, 'jaeger.yaml');
  writeFileSync(file, yaml);
  const child = spawn(jaegerBin!, [`--config=file:${file}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  t.after(() => void child.kill('SIGKILL'));
  return () => stderr;
}

/** Jaeger reading `topic` in `encoding` (its ingester: kafka receiver → memory); its query API's port. */
export async function jaegerReading(t: Cleanup, dir: string, topic: string, encoding: string): Promise<{ http: number; logs: () => string }> {
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
  return { http, logs };
}

/**
 * Asserts that Jaeger's query API answers traces 1…`traces` (otlpRequests' numbering) whole: 5 spans op-0…op-4 of
 * the service `to-jaeger`, waiting up to `timeoutMs` for the last one.
 */
export async function expectJaegerTraces(jaeger: { http: number; logs: () => string }, traces: number, timeoutMs: number): Promise<void> {
  const url = (i: number): string => `http://127.0.0.1:${jaeger.http}/api/traces/${i.toString(16).padStart(32, '0')}`;
  await waitFor(async () => {
    const res = await fetch(url(traces)).catch(() => undefined);
    return res?.ok === true ? ((await res.json()) as { data: Array<{ spans: unknown[] }> }).data[0]?.spans.length === 5 : false;
  }, { timeoutMs, intervalMs: 500, what: `Jaeger reading the last trace (jaeger: ${jaeger.logs().slice(-600)})` });
  for (let i = 1; i <= traces; i++) {
    const res = await fetch(url(i));
    assert.equal(res.status, 200);
    const trace = (await res.json()) as { data: Array<{ spans: Array<{ operationName: string; processID: string }>; processes: Record<string, { serviceName: string }> }> };
    assert.equal(trace.data[0]!.spans.length, 5, `trace ${i}`);
    assert.deepEqual(trace.data[0]!.spans.map((s) => s.operationName).sort(), ['op-0', 'op-1', 'op-2', 'op-3', 'op-4']);
    assert.equal(trace.data[0]!.processes[trace.data[0]!.spans[0]!.processID]!.serviceName, 'to-jaeger');
  }
}

/** Jaeger writing what its OTLP/HTTP receiver takes to `topic` in `encoding` (its collector); that receiver's URL, once it answers. */
export async function jaegerWriting(t: Cleanup, dir: string, topic: string, encoding: string): Promise<{ otlpUrl: string; logs: () => string }> {
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
  const otlpUrl = `http://127.0.0.1:${otlp}/v1/traces`;
  await waitFor(async () => (await fetch(otlpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined))?.ok === true,
    { timeoutMs: 30_000, what: `Jaeger's OTLP receiver (jaeger: ${logs().slice(-600)})` });
  return { otlpUrl, logs };
}

/** Waits until `topic` exists (Jaeger's exporter creates it with its first message). */
export async function waitForTopic(t: Cleanup, topic: string, logs: () => string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await waitFor(async () => (await admin.listTopics()).includes(topic), { timeoutMs: 60_000, intervalMs: 250, what: `Jaeger creating ${topic} (jaeger: ${logs().slice(-600)})` });
}

/** Asserts that the store holds traces 1…`traces` whole: 4 spans op-0…op-3 of `from-jaeger`, 5 ms each. */
export async function expectStoredTraces(store: StoreSpanStorage, traces: number): Promise<void> {
  for (let i = 1; i <= traces; i++) {
    const id = i.toString(16).padStart(32, '0');
    const spans = await waitFor(async () => {
      const trace = await store.getTrace(id);
      return trace.length === 4 ? trace : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200, what: `trace ${id} in the store` });
    assert.deepEqual(spans.map((s) => s.operationName).sort(), ['op-0', 'op-1', 'op-2', 'op-3']);
    assert.ok(spans.every((s) => s.process.serviceName === 'from-jaeger' && s.durationMicros === 5000));
  }
}
