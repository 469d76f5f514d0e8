/**
 * The ingester's loop: a kafkajs consumer of KAFKA_CONSUMER_GROUP_ID on its topics (KAFKA_CONSUMER_TOPIC for spans,
 * INGESTER_LOG_TOPICS for log records). For each batch the broker hands over (one partition's messages):
 *
 * 1. each message is decoded by the signal's handler (spans: ./span-ingest.ts, log records: ./log-ingest.ts); one
 *    that is not valid is produced, as it was, to the dead-letter topic with the reason in its
 *    `shipwatch-dlq-reason` header (and where it came from in `shipwatch-dlq-topic`, `-partition`, `-offset`),
 *    acknowledged by every in-sync replica;
 * 2. the handler writes what was decoded until its storage holds it;
 * 3. only then is the partition's offset committed past the batch.
 *
 * So a crash, a kill or a rebalance anywhere in between makes the next owner of the partition read the batch again,
 * and the writes being idempotent, nothing is stored twice or lost. The dead-letter produce is retried by the one
 * retry helper without a deadline; a bad message never stops the ingester. While a write waits for a storage that
 * is down, the consumer keeps sending heartbeats, so the group does not hand its partitions to another ingester for
 * an outage alone.
 */
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaMessage, type Producer } from 'kafkajs';
import type { Counter } from 'prom-client';
import type { Config } from '../platform/config/load-config.js';
import { describe } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { counter, type Registry } from '../platform/self-metrics.js';
import { retry, retryCounters, type RetryCounters } from '../delivery/retry.js';
import { kafkaClientLogs } from '../storage/kafka/kafka-span-writer.js';

/** How often a batch waiting for storage tells the group coordinator it is alive. */
const HEARTBEAT_WHILE_WRITING_MS = 3000;
/** How long the group waits for a silent member before handing its partitions on. */
const SESSION_TIMEOUT_MS = 10_000;
/** Header names of a dead letter. */
export const DLQ_REASON_HEADER = 'shipwatch-dlq-reason';

/** What one message held: its items (spans, records) and how many of them were refused for their content, with why. */
export type DecodedItems<T> = { ok: true; items: T[]; rejected: number; firstError?: string } | { ok: false; reason: string };

/** One signal's part of the loop: how a message is read and where its items are written. */
export interface IngestHandler<T> {
  /** What the items are, for the counter `shipwatch_ingester_<unit>_total` and the logs: `spans`, `records`. */
  unit: string;
  /** Pure: a message that is not valid gives its reason, for the dead-letter topic. */
  decode(message: KafkaMessage, topic: string): DecodedItems<T>;
  /**
   * Writes the items until storage holds them (each write safe to repeat); resolves with the number refused for
   * their content. Rejects only when `signal` aborts: the offsets then stay where they were.
   */
  store(items: T[], signal: AbortSignal, counters: RetryCounters): Promise<number>;
  /** For /health: why storage does not take the items now. */
  problem?(): string | undefined;
}

export interface KafkaIngestSourceOptions<T> {
  config: Config['ingester'];
  /** Topics (names, or patterns) the group reads. */
  topics: Array<string | RegExp>;
  /** Where invalid messages go. */
  deadLetterTopic: string;
  handler: IngestHandler<T>;
  registry: Registry;
  log: Logger;
}

export class KafkaIngestSource<T> {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private producerConnecting: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private readonly retries: RetryCounters;
  private readonly messages: Counter<'outcome'>;
  private readonly items: Counter<'outcome'>;
  private running: Promise<void> | undefined;
  private crashed: string | undefined;
  private storing: { sinceMs: number } | undefined;
  readonly deadLetterTopic: string;

  constructor(private readonly opts: KafkaIngestSourceOptions<T>) {
    const c = opts.config;
    this.deadLetterTopic = opts.deadLetterTopic;
    // The group's own protocol (joins, rebalances, fetches) keeps kafkajs's retries: only the dead-letter produce
    // goes through the one retry helper.
    const kafka = new Kafka({ brokers: c.kafkaConsumerBrokers, clientId: c.kafkaConsumerClientId, logLevel: logLevel.WARN, logCreator: kafkaClientLogs(opts.log) });
    // Sarama's session timeout (10 s, Jaeger's ingester's client) rather than kafkajs's 30 s: a killed ingester's
    // partitions go to the others of the group that much sooner.
    this.consumer = kafka.consumer({ groupId: c.kafkaConsumerGroupId, allowAutoTopicCreation: false, sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 3000 });
    this.producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 0 } });
    this.retries = retryCounters(opts.registry);
    this.messages = counter(opts.registry, {
      name: 'shipwatch_ingester_messages_total', help: 'Kafka messages the ingester finished with: stored, dead_letter (not a valid encoding).', labelNames: ['outcome'] as const,
    });
    this.items = counter(opts.registry, {
      name: `shipwatch_ingester_${opts.handler.unit}_total`, help: `${opts.handler.unit} the ingester read: stored, refused (by the translation or by a storage, for their content).`, labelNames: ['outcome'] as const,
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.crashed = describe(e.payload.error);
      opts.log.error('kafka consumer crashed', { err: e.payload.error, restart: e.payload.restart });
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.crashed = undefined;
    });
  }

  /** Joins the group and starts consuming (the first start may wait for the brokers; kafkajs retries). */
  start(): void {
    this.running ??= (async () => {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: this.opts.topics, fromBeginning: true });
      await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.batch(p) });
    })().catch((err: unknown) => {
      this.crashed = describe(err);
      this.opts.log.error('the kafka consumer could not start', { err });
    });
  }

  /** For /health: why messages do not move now, undefined while they do. */
  problem(): string | undefined {
    if (this.crashed !== undefined) return `kafka consumer: ${this.crashed} (${this.opts.config.kafkaConsumerBrokers.join(',')})`;
    if (this.storing !== undefined && Date.now() - this.storing.sinceMs > 30_000) return `a batch has waited for storage for ${Math.round((Date.now() - this.storing.sinceMs) / 1000)} s`;
    return undefined;
  }

  private async batch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const { handler } = this.opts;
    const items: T[] = [];
    let refused = 0;
    const letters: Array<{ key: Buffer | null; value: Buffer | null; offset: string; reason: string }> = [];
    for (const m of batch.messages) {
      const decoded = handler.decode(m, batch.topic);
      if (!decoded.ok) {
        letters.push({ key: m.key, value: m.value, offset: m.offset, reason: decoded.reason });
        continue;
      }
      for (const s of decoded.items) items.push(s);
      if (decoded.rejected > 0) {
        refused += decoded.rejected;
        this.opts.log.warn(`${handler.unit} of a message refused`, { partition: batch.partition, offset: m.offset, [handler.unit]: decoded.rejected, reason: decoded.firstError });
      }
    }
    const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_WHILE_WRITING_MS);
    beat.unref();
    this.storing = { sinceMs: Date.now() };
    try {
      if (letters.length > 0) await this.deadLetters(batch.topic, batch.partition, letters);
      if (items.length > 0) refused += await handler.store(items, this.stop.signal, this.retries);
    } finally {
      clearInterval(beat);
      this.storing = undefined;
    }
    // Stopping: a storage's writer may have given the batch up (abandoned at shutdown): its offset must not move.
    if (this.stop.signal.aborted) throw this.stop.signal.reason;
    this.messages.inc({ outcome: 'stored' }, batch.messages.length - letters.length);
    if (letters.length > 0) this.messages.inc({ outcome: 'dead_letter' }, letters.length);
    this.items.inc({ outcome: 'stored' }, items.length);
    if (refused > 0) this.items.inc({ outcome: 'refused' }, refused);
    // Storage holds the batch: the group's offset moves past it. The consumer's own position too: kafkajs fetches
    // from the offsets resolved in this process, not from those committed, so without it the same batch came again.
    resolveOffset(batch.lastOffset());
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
  }

  private async deadLetters(topic: string, partition: number, letters: Array<{ key: Buffer | null; value: Buffer | null; offset: string; reason: string }>): Promise<void> {
    for (const l of letters) this.opts.log.warn(`message is not valid ${this.opts.handler.unit}: sent to the dead-letter topic`, { topic, partition, offset: l.offset, reason: l.reason, deadLetterTopic: this.deadLetterTopic });
    await retry(async () => {
      await (this.producerConnecting ??= this.producer.connect().catch((err: unknown) => {
        this.producerConnecting = undefined;
        throw err;
      }));
      await this.producer.send({
        topic: this.deadLetterTopic, acks: -1,
        messages: letters.map((l) => ({
          key: l.key, value: l.value,
          headers: { [DLQ_REASON_HEADER]: l.reason, 'shipwatch-dlq-topic': topic, 'shipwatch-dlq-partition': String(partition), 'shipwatch-dlq-offset': l.offset },
        })),
      });
    }, {
      operation: 'ingest-dead-letters', policy: { maxElapsedMs: Number.POSITIVE_INFINITY }, counters: this.retries, signal: this.stop.signal,
      classify: () => (this.stop.signal.aborted ? { retry: false } : { retry: true }),
      onRetry: ({ attempt, delayMs, error }) => this.opts.log.warn('dead letters could not be produced; trying again', { topic: this.deadLetterTopic, attempt, delayMs, err: error }),
    });
  }

  /** Gives up the batch under way: from now on no offset is committed. Call before the storages' writers are abandoned. */
  abort(): void {
    if (!this.stop.signal.aborted) this.stop.abort(new Error('the ingester is stopping'));
  }

  /**
   * Stops consuming: a batch waiting for storage is given up (its offset not committed: read again by the next
   * owner), the group left, the clients disconnected. Idempotent.
   */
  async close(): Promise<void> {
    this.abort();
    await this.running;
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  }
}
