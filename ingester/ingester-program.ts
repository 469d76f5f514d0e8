/**
 * `shipwatch ingester`: Kafka → span storage, Jaeger's ingester. Collectors with `SPAN_STORAGE_TYPE=kafka` write
 * spans to a topic (storage/kafka/kafka-span-writer.ts); ingesters of one consumer group share its partitions and
 * write the spans to the embedded store or Elasticsearch (SPAN_STORAGE_TYPE, ES_*), committing a partition's offset
 * only once storage holds what was read (./kafka-span-source.ts). A storage outage or a spike then waits in Kafka,
 * never in the collectors.
 *
 * With INGESTER_SIGNAL=logs it reads the pilot's kafka output's topics (INGESTER_LOG_TOPICS) instead and writes each
 * record to Elasticsearch as the pilot's Elasticsearch output would, under the record's own id (./log-ingest.ts).
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
import { AcknowledgedLogWriter } from '../storage/elasticsearch/acknowledged-log-writer.js';
import { KafkaIngestSource } from './kafka-ingest-source.js';
import { logIngest } from './log-ingest.js';
import { spanIngest } from './span-ingest.js';

/** INGESTER_LOG_TOPICS' entries for the consumer: `/regex/` a pattern, else a name. */
function topicMatchers(topics: readonly string[]): Array<string | RegExp> {
  return topics.map((t) => (t.length > 2 && t.startsWith('/') && t.endsWith('/') ? new RegExp(t.slice(1, -1)) : t));
}

export async function start(runtime: Runtime): Promise<RunningProgram> {
  const { config, log } = runtime;
  const c = config.ingester;
  const problems: string[] = [];
  if (c.kafkaConsumerBrokers.length === 0) problems.push('KAFKA_CONSUMER_BROKERS: at least one broker (host:port) is needed by the ingester');
  const logs = c.signal === 'logs';
  if (logs && c.logTopics.length === 0) problems.push('INGESTER_LOG_TOPICS: with INGESTER_SIGNAL=logs, at least one topic (name or /regex/) is needed');
  if (!logs && config.spanStorage.types.includes('kafka')) problems.push('SPAN_STORAGE_TYPE: the ingester writes to store or elasticsearch, not back to kafka');
  if (problems.length > 0) throw swError('SW_CONFIG_INVALID', problems.join('; '));

  const registry = createRegistry('ingester');
  if (logs) return startLogs(runtime, registry);
  const writers = await createSpanWriters(runtime, registry);
  const storages = writers.map((writer, i) => ({ name: config.spanStorage.types[i]!, writer }));
  const source = new KafkaIngestSource({
    config: c, topics: [c.kafkaConsumerTopic], deadLetterTopic: c.deadLetterTopic || `${c.kafkaConsumerTopic}-dlq`,
    handler: spanIngest(c, storages, log), registry, log: log.child({ component: 'kafka' }),
  });

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

/** The log mode: the pilot's topics → Elasticsearch; same close order, the writer closed last. */
async function startLogs(runtime: Runtime, registry: ReturnType<typeof createRegistry>): Promise<RunningProgram> {
  const { config, log } = runtime;
  const c = config.ingester;
  const writer = AcknowledgedLogWriter.open(config, registry, log.child({ output: 'elasticsearch' }));
  const source = new KafkaIngestSource({
    config: c, topics: topicMatchers(c.logTopics), deadLetterTopic: c.deadLetterTopic || 'shipwatch-logs-dlq',
    handler: logIngest(writer), registry, log: log.child({ component: 'kafka' }),
  });
  const admin = await startAdminServer({
    listen: c.adminListen, registry, log, tokens: { admin: config.common.adminAuthToken },
    health: [
      { name: 'kafka', check: () => source.problem() },
      { name: 'elasticsearch', impact: 'degraded', check: () => writer.problem() },
    ],
  });
  source.start();
  let closing: Promise<void> | undefined;
  return {
    summary: [
      `admin (/health, /metrics) on ${c.adminListen.host}:${admin.port}`,
      `log records from Kafka ${c.kafkaConsumerBrokers.join(',')}, topics ${c.logTopics.join(',')}, group ${c.kafkaConsumerGroupId}; dead letters to ${source.deadLetterTopic}`,
      `log records stored in Elasticsearch ${AcknowledgedLogWriter.where(config)}`,
    ],
    close: () => (closing ??= (async () => {
      source.abort();
      await source.close();
      await writer.close();
      await admin.close();
    })()),
  };
}
