import { parseKafkaBrokers } from './pilot-kafka.js';
import { Problem, parseDurationMs, parseEnum, parseEnumList, parseInteger, parseRetentionDays, parseSizeBytes, parseString, parseUrlList, v } from './schema.js';

/** The span encodings on Kafka, as Jaeger 2.x's Kafka exporter and receiver name them. */
export const SPAN_KAFKA_ENCODINGS = ['otlp_proto', 'otlp_json', 'jaeger_proto', 'jaeger_json'] as const;
export type SpanKafkaEncoding = (typeof SPAN_KAFKA_ENCODINGS)[number];

/** Kafka's rule for topic names (legal characters, at most 249, not `.` or `..`). */
export function parseKafkaTopic(raw: string): string | Problem {
  const t = raw.trim();
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(t) || t === '.' || t === '..') return new Problem(`"${raw}" is not a Kafka topic name (letters, digits, ".", "_", "-"; at most 249)`);
  return t;
}

/** Span storage, shared by the collector (writes) and query (reads). */
export const spanStorage = {
  types: v({
    name: 'SPAN_STORAGE_TYPE', default: 'store',
    doc: 'Span storage: store, elasticsearch, or both (comma list); for the collector also kafka (spans to KAFKA_PRODUCER_TOPIC for the ingester; query and the ingester refuse it).',
    parse: (raw: string) => {
      const r = parseEnumList(['store', 'elasticsearch', 'kafka'] as const)(raw);
      if (!(r instanceof Problem) && r.length === 0) return new Problem('at least one storage is needed');
      return r;
    },
  }),
  esServerUrls: v({ name: 'ES_SERVER_URLS', default: 'http://127.0.0.1:9200', doc: 'Elasticsearch URLs (comma list) for spans.', parse: parseUrlList }),
  esIndexPrefix: v({ name: 'ES_INDEX_PREFIX', default: '', doc: 'Prefix of the Jaeger indices: <prefix>-jaeger-span-YYYY-MM-DD.', parse: parseString }),
  esUsername: v({ name: 'ES_USERNAME', default: '', doc: 'Elasticsearch user for spans.', parse: parseString }),
  esPassword: v({ name: 'ES_PASSWORD', default: '', doc: 'Elasticsearch password for spans.', parse: parseString, secret: true }),
  esNumShards: v({ name: 'ES_NUM_SHARDS', default: '5', doc: 'Primary shards of each Jaeger index (as Jaeger).', parse: parseInteger(1, 1024) }),
  esNumReplicas: v({ name: 'ES_NUM_REPLICAS', default: '1', doc: 'Replicas of each Jaeger index (as Jaeger).', parse: parseInteger(0, 64) }),
  esRetentionDays: v({
    name: 'ES_RETENTION_DAYS', default: '',
    doc: 'The collector deletes Jaeger span and service indices created more than this many days ago (1-36500), every hour, by the rules of Jaeger\'s es-index-cleaner. Unset: nothing is deleted.',
    parse: parseRetentionDays,
  }),
  esTimeoutMs: v({
    name: 'ES_TIMEOUT', default: '30s',
    doc: 'One Elasticsearch request (span writes, span and log reads) taking longer is abandoned: a write is tried again, a read answers 503.',
    parse: parseDurationMs,
  }),
  esRetryMaxDelayMs: v({
    name: 'ES_RETRY_MAX_DELAY', default: '30s',
    doc: 'Longest wait between two tries of a span write or of the index template install while Elasticsearch is down or busy (jittered backoff from 500 ms; a longer Retry-After wins). Spans are retried without a deadline.',
    parse: parseDurationMs,
  }),
  kafkaProducerBrokers: v({
    name: 'KAFKA_PRODUCER_BROKERS', default: '',
    doc: 'Brokers (host:port comma list) the collector writes spans to with SPAN_STORAGE_TYPE=kafka.',
    parse: parseKafkaBrokers,
  }),
  kafkaProducerTopic: v({ name: 'KAFKA_PRODUCER_TOPIC', default: 'jaeger-spans', doc: 'Topic of the collector\'s Kafka span output.', parse: parseKafkaTopic }),
  kafkaProducerEncoding: v({
    name: 'KAFKA_PRODUCER_ENCODING', default: 'otlp_proto',
    doc: 'otlp_proto (an ExportTraceServiceRequest in protobuf per message), otlp_json (the same in OTLP JSON), jaeger_proto (one Jaeger model.proto Span per message) or jaeger_json (the same in Jaeger\'s JSON), as Jaeger 2.x\'s Kafka exporter; each message holds spans of one trace, keyed by its trace id.',
    parse: parseEnum(SPAN_KAFKA_ENCODINGS),
  }),
  kafkaProducerMaxMessageBytes: v({
    name: 'KAFKA_PRODUCER_MAX_MESSAGE_BYTES', default: '1000000',
    doc: 'Largest span message: a trace\'s spans are cut into several messages below it; one span larger alone is a dead letter. Keep it at or below the topic\'s max.message.bytes.',
    parse: (raw: string) => {
      const n = parseSizeBytes(raw);
      return n instanceof Problem || (n >= 1024 && n <= 256 * 1024 * 1024) ? n : new Problem('must be from 1KiB to 256MiB');
    },
  }),
};
