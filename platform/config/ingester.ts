/**
 * `shipwatch ingester`: Jaeger's ingester variables (KAFKA_CONSUMER_*) for the topic it reads, and its own for the
 * dead-letter topic and the admin port. Where it writes is the span storage section's (SPAN_STORAGE_TYPE, ES_*).
 */
import { parseKafkaBrokers } from './pilot-kafka.js';
import { Problem, parseEnum, parseInteger, parseList, parseListen, parseString, v } from './schema.js';
import { SPAN_KAFKA_ENCODINGS, parseKafkaTopic } from './span-storage-config.js';

/** INGESTER_LOG_TOPICS: topic names, or patterns written `/regex/`; every problem named. */
function parseLogTopics(raw: string): string[] | Problem {
  const topics = parseList(raw);
  const problems: string[] = [];
  for (const t of topics) {
    if (t.length > 2 && t.startsWith('/') && t.endsWith('/')) {
      try {
        new RegExp(t.slice(1, -1));
      } catch (err) {
        problems.push(`${t} is not a valid pattern (${(err as Error).message})`);
      }
    } else {
      const name = parseKafkaTopic(t);
      if (name instanceof Problem) problems.push(name.reason);
    }
  }
  return problems.length > 0 ? new Problem(problems.join('; ')) : topics;
}

export const ingester = {
  signal: v({
    name: 'INGESTER_SIGNAL', default: 'spans',
    doc: 'What the ingester reads: spans (KAFKA_CONSUMER_TOPIC into span storage) or logs (the pilot\'s kafka output\'s topics, INGESTER_LOG_TOPICS, into Elasticsearch with the ELASTICSEARCH_* settings, each record under its own id).',
    parse: parseEnum(['spans', 'logs'] as const),
  }),
  logTopics: v({
    name: 'INGESTER_LOG_TOPICS', default: '',
    doc: 'With INGESTER_SIGNAL=logs: the log topics read (the pilot\'s targets), a comma list of names or /regex/ patterns.',
    parse: parseLogTopics,
  }),
  adminListen: v({ name: 'INGESTER_ADMIN_LISTEN', default: ':14270', doc: 'Admin port of the ingester (/health, /metrics), Jaeger\'s ingester port.', parse: parseListen }),
  kafkaConsumerBrokers: v({ name: 'KAFKA_CONSUMER_BROKERS', default: '', doc: 'Brokers (host:port comma list) the ingester reads spans from.', parse: parseKafkaBrokers }),
  kafkaConsumerTopic: v({ name: 'KAFKA_CONSUMER_TOPIC', default: 'jaeger-spans', doc: 'Topic the ingester reads.', parse: parseKafkaTopic }),
  kafkaConsumerGroupId: v({
    name: 'KAFKA_CONSUMER_GROUP_ID', default: 'jaeger-ingester',
    doc: 'Consumer group of the ingesters: the topic\'s partitions are shared among them, and the group\'s offsets move only once span storage holds the spans read.',
    parse: (raw: string) => (raw.trim() === '' ? new Problem('a group id is needed') : raw.trim()),
  }),
  kafkaConsumerClientId: v({ name: 'KAFKA_CONSUMER_CLIENT_ID', default: 'shipwatch-ingester', doc: 'Client id the brokers log and meter the ingester by.', parse: parseString }),
  kafkaConsumerEncoding: v({
    name: 'KAFKA_CONSUMER_ENCODING', default: 'otlp_proto',
    doc: 'Encoding of the messages: otlp_proto, otlp_json, jaeger_proto or jaeger_json (Jaeger 2.x\'s Kafka exporter\'s names). A message that does not decode goes to the dead-letter topic.',
    parse: parseEnum(SPAN_KAFKA_ENCODINGS),
  }),
  deadLetterTopic: v({
    name: 'INGESTER_DEAD_LETTER_TOPIC', default: '', defaultDoc: '<KAFKA_CONSUMER_TOPIC>-dlq; shipwatch-logs-dlq for logs',
    doc: 'Where a message that does not decode goes, as it was, with the reason in its shipwatch-dlq-reason header (and its topic, partition and offset in others).',
    parse: (raw: string) => (raw.trim() === '' ? '' : parseKafkaTopic(raw)),
  }),
  maxSpansPerMessage: v({ name: 'INGESTER_MAX_SPANS', default: '50000', doc: 'Most spans in one message; a message with more is a dead letter.', parse: parseInteger(1, 1_000_000) }),
};
