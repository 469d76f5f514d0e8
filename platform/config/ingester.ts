/**
 * `shipwatch ingester`: Jaeger's ingester variables (KAFKA_CONSUMER_*) for the topic it reads, and its own for the
 * dead-letter topic and the admin port. Where it writes is the span storage section's (SPAN_STORAGE_TYPE, ES_*).
 */
import { parseKafkaBrokers } from './pilot-kafka.js';
import { Problem, parseEnum, parseInteger, parseListen, parseString, v } from './schema.js';
import { SPAN_KAFKA_ENCODINGS, parseKafkaTopic } from './span-storage-config.js';

export const ingester = {
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
    doc: 'Encoding of the messages: otlp_proto or otlp_json (Jaeger 2.x\'s Kafka exporter\'s names). A message that does not decode goes to the dead-letter topic.',
    parse: parseEnum(SPAN_KAFKA_ENCODINGS),
  }),
  deadLetterTopic: v({
    name: 'INGESTER_DEAD_LETTER_TOPIC', default: '', defaultDoc: '<KAFKA_CONSUMER_TOPIC>-dlq',
    doc: 'Where a message that does not decode goes, as it was, with the reason in its shipwatch-dlq-reason header (and its topic, partition and offset in others).',
    parse: (raw: string) => (raw.trim() === '' ? '' : parseKafkaTopic(raw)),
  }),
  maxSpansPerMessage: v({ name: 'INGESTER_MAX_SPANS', default: '50000', doc: 'Most spans in one message; a message with more is a dead letter.', parse: parseInteger(1, 1_000_000) }),
};
