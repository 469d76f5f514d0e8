/**
 * Shipwatch and Jaeger 2.x on one span topic, each way (SHIPWATCH_TEST_JAEGER_BIN names the `jaeger` binary, as
 * for the parity suite; the test broker from test/services/kafka.sh): Shipwatch's collector writes and Jaeger's
 * ingester (kafka receiver → memory storage) reads, answering for every trace; Jaeger's collector (OTLP in, kafka
 * exporter out) writes and Shipwatch's ingester reads into the embedded store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { expectJaegerTraces, expectStoredTraces, jaegerReading, jaegerWriting, skipJaeger as skip, waitForTopic } from './support/jaeger-kafka.js';
import { otlpRequests, send, startCollector, startStoreIngester, unique } from './support/kafka-span-path.js';

test('Jaeger\'s ingester (kafka receiver, otlp_proto) reads what Shipwatch\'s collector wrote, every trace whole', { skip, timeout: 150_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-kafka-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const topic = unique('spans');
  const { otlpUrl } = await startCollector(t, join(dir, 'collector'), topic);
  await send(otlpUrl, otlpRequests('to-jaeger', 200, 5, 50));
  await expectJaegerTraces(await jaegerReading(t, dir, topic, 'otlp_proto'), 200, 90_000);
});

test('Shipwatch\'s ingester reads what Jaeger\'s collector (kafka exporter, otlp_proto) wrote into the embedded store', { skip, timeout: 150_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-kafka-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const topic = unique('spans');
  const jaeger = await jaegerWriting(t, dir, topic, 'otlp_proto');
  await send(jaeger.otlpUrl, otlpRequests('from-jaeger', 100, 4, 25));
  await waitForTopic(t, topic, jaeger.logs);
  const { store } = await startStoreIngester(t, join(dir, 'ingester'), topic);
  await expectStoredTraces(store, 100);
});
