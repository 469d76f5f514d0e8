/**
 * The pilot's `kafka` output: log-pilot's variables (KAFKA_BROKERS, KAFKA_VERSION, KAFKA_USERNAME, KAFKA_PASSWORD,
 * KAFKA_CLIENT_ID, KAFKA_WORKER, KAFKA_BULK_MAX_SIZE, KAFKA_BROKER_TIMEOUT, KAFKA_MAX_MESSAGE_BYTES,
 * KAFKA_REQUIRE_ACKS: what its filebeat template passes to filebeat's kafka output, with filebeat's defaults where
 * they keep a record safe), the SASL mechanism, and Shipwatch's own for the disk buffer. Spread into the pilot section.
 */
import { Problem, parseDurationMs, parseEnum, parseInteger, parseList, parseSizeBytes, parseString, v } from './schema.js';

/** `host:port` items, comma separated; [] when unset (the output then refuses to start, naming the variable). */
export function parseKafkaBrokers(raw: string): string[] | Problem {
  const out: string[] = [];
  for (const item of parseList(raw)) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(item);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return new Problem(`"${item}" is not host:port (write broker1:9092,broker2:9092)`);
    out.push(item);
  }
  return out;
}

/** Kafka's version as filebeat takes it (`2.0.0`, `0.10.2.1`, `4.1`); '' when unset. */
export function parseKafkaVersion(raw: string): string | Problem {
  const t = raw.trim();
  if (t === '') return '';
  const m = /^(\d+)\.(\d+)(?:\.\d+){0,2}$/.exec(t);
  if (!m) return new Problem(`"${raw}" is not a Kafka version (write 2.0.0, 3.9, 4.1.0)`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major === 0 && minor < 10) return new Problem(`Kafka ${t} is older than 0.10, the oldest the client speaks to`);
  return t;
}

export const pilotKafka = {
  kafkaBrokers: v({
    name: 'KAFKA_BROKERS', default: '',
    doc: 'Brokers for the kafka output, host:port comma list (the first to answer gives the others); each record goes to the topic named by its target, keyed by its container id.',
    parse: parseKafkaBrokers,
  }),
  kafkaVersion: v({
    name: 'KAFKA_VERSION', default: '',
    doc: 'Version of the brokers, as log-pilot takes it (2.0.0): only checked (0.10 or later), since each request\'s version is agreed with the broker.',
    parse: parseKafkaVersion,
  }),
  kafkaUsername: v({ name: 'KAFKA_USERNAME', default: '', doc: 'SASL user for the kafka output (with KAFKA_PASSWORD); unset: no SASL.', parse: parseString }),
  kafkaPassword: v({ name: 'KAFKA_PASSWORD', default: '', doc: 'SASL password of KAFKA_USERNAME.', parse: parseString, secret: true }),
  kafkaSaslMechanism: v({
    name: 'KAFKA_SASL_MECHANISM', default: 'plain', doc: 'plain, scram-sha-256 or scram-sha-512, when KAFKA_USERNAME is set.',
    parse: parseEnum(['plain', 'scram-sha-256', 'scram-sha-512'] as const),
  }),
  kafkaClientId: v({ name: 'KAFKA_CLIENT_ID', default: 'shipwatch-pilot', doc: 'Client id the brokers log and meter the pilot by.', parse: parseString }),
  kafkaConcurrency: v({
    name: 'KAFKA_WORKER', default: '1', doc: 'Batches sent to Kafka at once (more than 1 may reorder a container\'s records after a failed batch).', parse: parseInteger(1, 16),
  }),
  kafkaBatchMaxEvents: v({ name: 'KAFKA_BULK_MAX_SIZE', default: '2048', doc: 'Most records in one produce request.', parse: parseInteger(1, 100_000) }),
  kafkaBrokerTimeoutMs: v({
    name: 'KAFKA_BROKER_TIMEOUT', default: '10s', doc: 'How long a broker may wait for its replicas\' acknowledgements, and a request for its answer, before the batch is tried again.',
    parse: (raw: string) => {
      const n = parseDurationMs(raw);
      return n instanceof Problem || (n >= 100 && n <= 600_000) ? n : new Problem('must be from 100ms to 10m');
    },
  }),
  kafkaMaxMessageBytes: v({
    name: 'KAFKA_MAX_MESSAGE_BYTES', default: '1000000',
    doc: 'Largest record sent (its document and key); a larger one is a dead letter. Also the most bytes of records in one request; keep it at or below the topics\' max.message.bytes.',
    parse: (raw: string) => {
      const n = parseSizeBytes(raw);
      return n instanceof Problem || (n >= 1024 && n <= 256 * 1024 * 1024) ? n : new Problem('must be from 1KiB to 256MiB');
    },
  }),
  kafkaRequiredAcks: v({
    name: 'KAFKA_REQUIRE_ACKS', default: '-1',
    doc: '-1: a batch counts as delivered once every in-sync replica has it (acks=all); 1: once the partition leader has it. 0 is refused: without an answer no acknowledgement could move the file positions.',
    parse: (raw: string) => {
      const t = raw.trim();
      if (t === '-1' || t === 'all') return -1 as const;
      if (t === '1') return 1 as const;
      if (t === '0') return new Problem('0 is not supported: the broker answers nothing, so records would be taken as delivered unseen; use -1 (all) or 1');
      return new Problem(`"${raw}" is not -1 (all) or 1`);
    },
  }),
  kafkaFlushIntervalMs: v({ name: 'KAFKA_FLUSH_INTERVAL', default: '1s', doc: 'Longest a record waits for its Kafka batch to fill.', parse: parseDurationMs }),
  kafkaBufferMaxBytes: v({
    name: 'KAFKA_BUFFER_MAX_SIZE', default: '256MiB', doc: 'Disk budget of the kafka output\'s buffer, where every record waits until Kafka acknowledges it.', parse: parseSizeBytes,
  }),
  kafkaBufferWhenFull: v({
    name: 'KAFKA_BUFFER_WHEN_FULL', default: 'block',
    doc: 'block (pause tailing until space frees) or drop (drop new records, counted).', parse: parseEnum(['block', 'drop'] as const),
  }),
};
