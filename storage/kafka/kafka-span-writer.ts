/**
 * The collector's Kafka span output (`SPAN_STORAGE_TYPE=kafka`): a span storage that is a sink of the delivery chain
 * (delivery/sink.ts), so the collector's span path (collector/traces/span-delivery.ts: durable queue
 * `SHIPWATCH_DATA_DIR/buffer/spans-kafka/` → batches → this sink → acknowledgement) carries spans to Kafka as it
 * carries them to the store or Elasticsearch. One batch is one produce request to `KAFKA_PRODUCER_TOPIC`, its
 * messages built by ./span-messages.ts (one trace per message, keyed by the trace id, in
 * `KAFKA_PRODUCER_ENCODING`), acknowledged by every in-sync replica (acks=-1) before the chain removes the spans
 * from the disk queue. `shipwatch ingester` (ingester/) reads the topic into span storage; so does Jaeger's.
 *
 * - Brokers down or a leader moving: thrown, retried by the chain's one retry helper without a deadline while the
 *   spans wait on disk (the client's own retries are off, as for the pilot's output: docs/design/kafka-output.md).
 * - A span larger alone than KAFKA_PRODUCER_MAX_MESSAGE_BYTES, or a request the broker refuses for its content:
 *   refused (counted and logged by the chain), never retried.
 * - At-least-once: a request applied whose answer was lost is sent again. The ingester's writes are idempotent
 *   (Elasticsearch document ids and the store's check derive from the span), so a copy stores nothing twice.
 */
import { Kafka, Partitioners, logLevel, type LogEntry, type Producer } from 'kafkajs';
import type { Config } from '../../platform/config/load-config.js';
import { describe, swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { chunkSpans, type Span, type SpanChunk } from '../../model/span.js';
import type { RetryVerdict } from '../../delivery/retry.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import type { SpanWriter, SpanWriteResult } from '../span-storage.js';
import { rootKafkaError, untilAborted } from './kafka-sink.js';
import { spanMessages } from './span-messages.js';

/** Connecting to a broker, at most (kafkajs's default of 1 s is short for a broker under load). */
const CONNECTION_TIMEOUT_MS = 5000;
/** How long a broker may wait for its replicas before the request fails (and is tried again). */
const BROKER_TIMEOUT_MS = 10_000;
/** Errors that name the messages, not the moment: the same request can never pass. */
const CONTENT_REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TOPIC_EXCEPTION']);

type SpanBatch = SpanChunk[];

/** kafkajs's own log lines, at debug: the chain logs and counts each failure once. */
export function kafkaClientLogs(log: Logger): () => (entry: LogEntry) => void {
  return () => (entry) => {
    const { message, timestamp: _t, logger: _l, ...rest } = entry.log;
    log.debug(`kafka client: ${message}`, { namespace: entry.namespace, ...rest });
  };
}

export class KafkaSpanWriter implements SpanWriter, DeliverySink<SpanBatch> {
  readonly name = 'spans-kafka';
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly where: string;

  constructor(
    private readonly producer: Producer,
    private readonly s: Config['spanStorage'],
    private readonly log: Logger,
  ) {
    this.where = `${s.kafkaProducerBrokers.join(',')}, topic ${s.kafkaProducerTopic}`;
  }

  /** The writer of the configuration; throws SW_CONFIG_INVALID without brokers. Asks no broker yet. */
  static open(config: Config, log: Logger): KafkaSpanWriter {
    const s = config.spanStorage;
    if (s.kafkaProducerBrokers.length === 0) throw swError('SW_CONFIG_INVALID', 'KAFKA_PRODUCER_BROKERS: at least one broker (host:port) is needed with SPAN_STORAGE_TYPE=kafka');
    const kafka = new Kafka({
      brokers: s.kafkaProducerBrokers, clientId: 'shipwatch-collector', connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: BROKER_TIMEOUT_MS + CONNECTION_TIMEOUT_MS,
      // The chain's retry helper is the one that retries: the client's own would hide outages from /health.
      retry: { retries: 0 }, logLevel: logLevel.WARN, logCreator: kafkaClientLogs(log),
    });
    // The Java client's partitioner (murmur2 of the key): a trace's messages land where a Java producer puts them.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true, retry: { retries: 0 } });
    return new KafkaSpanWriter(producer, s, log);
  }

  async send(batch: SpanBatch, signal: AbortSignal): Promise<SendOutcome<SpanBatch>> {
    const spans = batch.flatMap(chunkSpans);
    const built = spanMessages(spans, this.s.kafkaProducerEncoding, this.s.kafkaProducerMaxMessageBytes);
    for (const { span, bytes } of built.tooLarge) {
      this.log.warn('span refused: larger alone than KAFKA_PRODUCER_MAX_MESSAGE_BYTES', { traceId: span.traceId, spanId: span.spanId, bytes });
    }
    if (built.messages.length > 0) {
      await untilAborted((this.connecting ??= this.producer.connect().catch((err: unknown) => {
        this.connecting = undefined;
        throw err;
      })), signal);
      try {
        await untilAborted(this.producer.sendBatch({
          acks: -1, timeout: BROKER_TIMEOUT_MS,
          topicMessages: [{ topic: this.s.kafkaProducerTopic, messages: built.messages.map((m) => ({ key: m.key, value: m.value })) }],
        }), signal);
      } catch (err) {
        throw this.failure(err, signal);
      }
    }
    return { delivered: spans.length - built.tooLarge.length, rejectedCount: built.tooLarge.length };
  }

  classify(err: unknown): RetryVerdict {
    const root = rootKafkaError(err);
    return root?.type !== undefined && CONTENT_REFUSALS.has(root.type) ? { retry: false } : { retry: true };
  }

  /** Outside the chain (not the collector's path): one send, without a signal to stop it. */
  async writeSpans(spans: Span[]): Promise<SpanWriteResult> {
    const outcome = await this.send([spans], new AbortController().signal);
    return { failed: outcome.rejectedCount ?? 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect().catch(() => undefined);
  }

  /** A failure as /health and the logs show it, naming the brokers; a failed connection is made afresh next time. */
  private failure(err: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return err;
    const root = rootKafkaError(err);
    if (root?.type === undefined) {
      const connecting = this.connecting;
      this.connecting = undefined;
      if (connecting !== undefined) void this.producer.disconnect().catch(() => undefined);
    }
    const why = root !== undefined && root !== err ? `${describe(err)}: ${describe(root)}` : describe(err);
    return swError('SW_OUTPUT_FAILED', `${this.name}: ${why} (${this.where})`, err);
  }
}
