/**
 * Shipwatch and Jaeger 2.x on one span topic in Jaeger's own encodings, `jaeger_proto` and `jaeger_json`, each way
 * (SHIPWATCH_TEST_JAEGER_BIN names the `jaeger` binary; the test broker from test/services/kafka.sh): Shipwatch's
 * collector writes and Jaeger's kafka receiver reads, answering every trace whole; Jaeger's kafka exporter writes and
 * Shipwatch's ingester reads into the embedded store. (`otlp_proto`: ./jaeger-kafka-interop.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { expectJaegerTraces, expectStoredTraces, jaegerReading, jaegerWriting, skipJaeger as skip, waitForTopic } from './support/jaeger-kafka.js';
import { otlpRequests, send, startCollector, startStoreIngester, unique } from './support/kafka-span-path.js';

for (const encoding of ['jaeger_proto', 'jaeger_json'] as const) {
  test(`Jaeger's kafka receiver (${encoding}) reads what Shipwatch's collector wrote, every trace whole`, { skip, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-enc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const topic = unique('spans');
    const { otlpUrl } = await startCollector(t, join(dir, 'collector'), topic, { KAFKA_PRODUCER_ENCODING: encoding });
    await send(otlpUrl, otlpRequests('to-jaeger', 60, 5, 20));
    await expectJaegerTraces(await jaegerReading(t, dir, topic, encoding), 60, 60_000);
  });

  test(`Shipwatch's ingester reads what Jaeger's kafka exporter (${encoding}) wrote into the embedded store`, { skip, timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-enc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const topic = unique('spans');
    const jaeger = await jaegerWriting(t, dir, topic, encoding);
    await send(jaeger.otlpUrl, otlpRequests('from-jaeger', 40, 4, 20));
    await waitForTopic(t, topic, jaeger.logs);
    const { store } = await startStoreIngester(t, join(dir, 'ingester'), topic, { KAFKA_CONSUMER_ENCODING: encoding });
    await expectStoredTraces(store, 40);
  });
}
