/**
 * `shipwatch ingester`: Kafka → span storage, Jaeger's ingester. Collectors with `SPAN_STORAGE_TYPE=kafka` write
 * spans to a topic (storage/kafka/kafka-span-writer.ts); ingesters of one consumer group share its partitions and
 * write the spans to the embedded store or Elasticsearch (SPAN_STORAGE_TYPE, ES_*), committing a partition's offset
 * only once storage holds what was read (./kafka-span-source.ts). A storage outage or a spike then waits in Kafka,
 * never in the collectors.
 *
 * Nothing here waits for Kafka or the storage at start: the admin port opens at once and /health names what is
 * missing. Close order: the consumer (a batch waiting for storage is given up, its offset not committed, and the
 * storages' writers stop retrying it), the admin port; the shared storages after every program.
 */
import { startAdminServer } from '../platform/http/admin-server.js';
import { swError } from '../platform/errors.js';
import type { RunningProgram, Runtime } from '../platform/runtime.js';
import { createRegistry } from '../platform/self-metrics.js';
import { createSpanWriters } from '../storage/span-storage-factory.js';
import { KafkaSpanSource } from './kafka-span-source.js';

export async function start(runtime: Runtime): Promise<RunningProgram> {
  const { config, log } = runtime;
  const c = config.ingester;
  const problems: string[] = [];
  if (c.kafkaConsumerBrokers.length === 0) problems.push('KAFKA_CONSUMER_BROKERS: at least one broker (host:port) is needed by the ingester');
  if (config.spanStorage.types.includes('kafka')) problems.push('SPAN_STORAGE_TYPE: the ingester writes to store or elasticsearch, not back to kafka');
  if (problems.length > 0) throw swError('SW_CONFIG_INVALID', problems.join('; '));

  const registry = createRegistry('ingester');
  const writers = await createSpanWriters(runtime, registry);
  const storages = writers.map((writer, i) => ({ name: config.spanStorage.types[i]!, writer }));
  const source = new KafkaSpanSource({ config: c, storages, registry, log: log.child({ component: 'kafka' }) });

  const admin = await startAdminServer({
    listen: c.adminListen, registry, log, tokens: { admin: config.common.adminAuthToken },
    health: [
      { name: 'kafka', check: () => source.problem() },
      { name: 'span-storage', impact: 'degraded', check: () => writers.map((w) => w.problem?.()).filter((p) => p !== undefined).join('; ') || undefined },
    ],
  });
  source.start();

  let closing: Promise<void> | undefined;
  return {
    summary: [
      `admin (/health, /metrics) on ${c.adminListen.host}:${admin.port}`,
      `spans from Kafka ${c.kafkaConsumerBrokers.join(',')}, topic ${c.kafkaConsumerTopic} (${c.kafkaConsumerEncoding}), group ${c.kafkaConsumerGroupId}; dead letters to ${source.deadLetterTopic}`,
      `spans stored in ${config.spanStorage.types.join(' and ')}`,
    ],
    close: () => (closing ??= (async () => {
      // A write still retrying is given up: its batch's offset is not committed, so it is read again next time.
      source.abort();
      for (const w of writers) w.abandon?.();
      await source.close();
      await admin.close();
    })()),
  };
}
