/**
 * The pilot's `kafka` output (the README's "Outputs and delivery") on the delivery chain
 * (delivery/delivery-chain.ts): records → the output's durable queue under `SHIPWATCH_DATA_DIR/buffer/kafka/`
 * (frames: ./kafka-frames.ts) → batches by count, bytes and time → one produce request each (./kafka-sink.ts), with
 * the acknowledgements KAFKA_REQUIRE_ACKS asks for (all in-sync replicas by default) → classified → acknowledged,
 * which removes them from the queue. Each record is its JSON document (the one the Elasticsearch output indexes),
 * on the topic named by its target, keyed by its container's id.
 *
 * - `write` resolves once the batch is on disk and made durable (concurrent writes share one fdatasync): the
 *   acknowledgement the pilot moves its file positions behind, as for Elasticsearch. From there a record leaves the
 *   disk only once Kafka acknowledged it (or refused it for its content: a dead letter). A crash or kill loses
 *   nothing; a restart replays what Kafka had not acknowledged.
 * - Brokers down: nothing at start asks them, so the pilot starts; batches are retried without a deadline (the one
 *   retry helper) while records wait on disk; full (KAFKA_BUFFER_MAX_SIZE): `block` pauses tailing, `drop` drops,
 *   counted.
 * - close(): stops taking records, keeps delivering for `closeTimeoutMs`, then leaves the rest on disk, disconnects.
 */
import { Kafka, Partitioners, logLevel, type ICustomPartitioner, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Config } from '../../platform/config/load-config.js';
import { swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { LogEvent, LogSink } from '../../model/log-record.js';
import type { Registry } from '../../platform/self-metrics.js';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { DeliveryChain } from '../../delivery/delivery-chain.js';
import { DurableQueue } from '../../delivery/durable-queue.js';
import { sleep, type RetryPolicy } from '../../delivery/retry.js';
import { kafkaFrames, type KafkaBatch } from './kafka-frames.js';
import { KafkaSink } from './kafka-sink.js';

export interface KafkaOutputOptions {
  name?: string;
  brokers: string[];
  clientId: string;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  acks: -1 | 1;
  brokerTimeoutMs: number;
  maxMessageBytes: number;
  maxBatchEvents: number;
  flushIntervalMs: number;
  /** Batches under way at once. */
  concurrency: number;
  dataDir: string;
  bufferMaxBytes: number;
  bufferWhenFull: 'block' | 'drop';
  /** How long close() keeps delivering; the rest stays on disk for the next start. Default 1 s. */
  closeTimeoutMs?: number;
  /** Backoff between tries (there is no deadline). */
  retryPolicy?: Partial<Omit<RetryPolicy, 'maxElapsedMs'>>;
  registry: Registry;
  log: Logger;
}

/** Records handed in and not yet on disk at most (the pilot bounds its bytes in flight; this bounds a runaway caller). */
const MAX_PENDING_RECORDS = 1_000_000;
/** How long a write refused for that bound waits before it asks again. */
const PENDING_FULL_WAIT_MS = 50;
/** Connecting to a broker, at most (kafkajs's default of 1 s is short for a broker under load). */
const CONNECTION_TIMEOUT_MS = 5000;

/** Keys remembered by the partitioner at most (containers on a host: far fewer). */
const MAX_CACHED_KEYS = 10_000;

/**
 * The Java client's partitioner (murmur2 of the key, modulo the topic's partitions), each key's answer remembered
 * per topic and partition count: every record of a container has the same key, and hashing it again per record
 * (with a copy of the key and of the partition list) was the largest single cost in a profile of
 * bench/pilot-kafka.bench.ts.
 */
function cachedKeyPartitioner(): ICustomPartitioner {
  return () => {
    const javaCompatible = Partitioners.DefaultPartitioner();
    const known = new Map<string, number>();
    return (args) => {
      const { topic, partitionMetadata, message } = args;
      if (typeof message.key !== 'string' || message.partition !== undefined) return javaCompatible(args);
      const memo = `${partitionMetadata.length}/${topic}/${message.key}`;
      let partition = known.get(memo);
      if (partition === undefined) {
        if (known.size >= MAX_CACHED_KEYS) known.clear();
        partition = javaCompatible(args);
        known.set(memo, partition);
      }
      return partition;
    };
  };
}

/** kafkajs's own log lines, at debug: the chain logs and counts each failure once, naming the brokers. */
function kafkaLogs(log: Logger): () => (entry: LogEntry) => void {
  return () => (entry) => {
    const { message, timestamp: _t, logger: _l, ...rest } = entry.log;
    log.debug(`kafka client: ${message}`, { namespace: entry.namespace, ...rest });
  };
}

export class KafkaOutput implements LogSink {
  readonly name: string;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: KafkaOutputOptions,
    private readonly client: { disconnect(): Promise<void> },
    private readonly queue: DurableQueue<KafkaBatch, KafkaBatch>,
    private readonly chain: DeliveryChain<KafkaBatch, KafkaBatch>,
  ) {
    this.name = opts.name ?? 'kafka';
  }

  /** Opens the disk buffer (what a previous run left in it is delivered first) and starts delivering; asks no broker. */
  static async open(opts: KafkaOutputOptions): Promise<KafkaOutput> {
    const name = opts.name ?? 'kafka';
    if (opts.brokers.length === 0) throw swError('SW_CONFIG_INVALID', 'KAFKA_BROKERS: at least one broker (host:port) is needed for the kafka output');
    const kafka = new Kafka({
      brokers: opts.brokers, clientId: opts.clientId, connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: opts.brokerTimeoutMs + CONNECTION_TIMEOUT_MS,
      ...(opts.sasl === undefined ? {} : { sasl: opts.sasl as SASLOptions }),
      // The chain's retry helper is the one that retries: the client's own would hide outages from /health.
      retry: { retries: 0 },
      logLevel: logLevel.WARN, logCreator: kafkaLogs(opts.log),
    });
    // The Java client's partitioning (murmur2 of the key), so a container's records go where a Java producer would
    // put them.
    const producer = kafka.producer({ createPartitioner: cachedKeyPartitioner(), allowAutoTopicCreation: true, retry: { retries: 0 } });
    const queue = await DurableQueue.open({
      name, dataDir: opts.dataDir, maxBytes: opts.bufferMaxBytes, whenFull: opts.bufferWhenFull, codec: kafkaFrames,
      memoryRecords: 4 * opts.maxBatchEvents * opts.concurrency, registry: opts.registry, log: opts.log,
    });
    const sink = new KafkaSink({
      name, producer, where: opts.brokers.join(','), acks: opts.acks, brokerTimeoutMs: opts.brokerTimeoutMs, maxMessageBytes: opts.maxMessageBytes,
    });
    const chain = new DeliveryChain<KafkaBatch, KafkaBatch>({
      sink, queue, records: (b) => b.docs.length, maxPendingRecords: MAX_PENDING_RECORDS,
      batch: { maxRecords: opts.maxBatchEvents, maxBytes: opts.maxMessageBytes, flushIntervalMs: opts.flushIntervalMs },
      concurrency: opts.concurrency, drainTimeoutMs: opts.closeTimeoutMs ?? 1000,
      deadLetters: new DeadLetterFile(opts.dataDir, name, opts.registry), retryPolicy: opts.retryPolicy, registry: opts.registry, log: opts.log,
    });
    chain.start();
    return new KafkaOutput(opts, producer, queue, chain);
  }

  /** For /health: why Kafka does not take records now, with what waits on disk meanwhile; undefined while it does. */
  problem(): string | undefined {
    const failing = this.chain.problem();
    if (failing === undefined) return undefined;
    const buffered = this.queue.isEmpty ? 0 : this.queue.sizeBytes;
    return `${failing}${buffered > 0 ? `; ${buffered} bytes wait in the disk buffer` : ''}`;
  }

  write(events: LogEvent[]): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(swError('SW_OUTPUT_FAILED', `${this.name} is closed`));
    if (events.length === 0) return Promise.resolve();
    const n = events.length;
    const batch: KafkaBatch = { topics: new Array(n), keys: new Array(n), ids: new Array(n), docs: new Array(n) };
    for (let i = 0; i < n; i++) {
      const e = events[i]!;
      batch.topics[i] = e.target;
      batch.keys[i] = e.containerId;
      batch.ids[i] = e.id;
      batch.docs[i] = e.json;
    }
    return this.keep(batch);
  }

  private async keep(batch: KafkaBatch): Promise<void> {
    for (;;) {
      const admission = await this.chain.submit(batch, { waitForRoom: true });
      if (admission === 'failed') throw swError('SW_OUTPUT_FAILED', `${this.name}: records could not be written to the disk buffer`);
      // 'busy' with when_full=drop: dropped by configuration, counted by the queue; acknowledged like the rest.
      if (admission === 'accepted' || this.opts.bufferWhenFull === 'drop') return;
      if (this.closing !== undefined) throw swError('SW_OUTPUT_FAILED', `${this.name} is closed`);
      await sleep(PENDING_FULL_WAIT_MS);
    }
  }

  /** Resolves once everything written so far is delivered (or a dead letter): for tests and benches. */
  async drained(pollMs = 10): Promise<void> {
    while (!this.queue.idle) await sleep(pollMs);
  }

  /** Stops taking records, delivers for up to `closeTimeoutMs`, leaves the rest on disk, disconnects. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.chain.close().then(() => this.client.disconnect().catch(() => undefined)));
  }
}

/** The SASL settings of the configuration; throws SW_CONFIG_INVALID naming both variables when only one is set. */
function pilotKafkaSasl(p: Config['pilot']): KafkaOutputOptions['sasl'] {
  const user = p.kafkaUsername.trim();
  if (user === '' && p.kafkaPassword === '') return undefined;
  if (user === '' || p.kafkaPassword === '') {
    throw swError('SW_CONFIG_INVALID', `KAFKA_USERNAME and KAFKA_PASSWORD go together for SASL (${user === '' ? 'KAFKA_USERNAME' : 'KAFKA_PASSWORD'} is empty)`);
  }
  return { mechanism: p.kafkaSaslMechanism, username: user, password: p.kafkaPassword };
}

/** The pilot's `kafka` output from its configuration; `where` names the brokers for the start-up summary. */
export async function openPilotKafkaOutput(config: Config, registry: Registry, log: Logger): Promise<{ sink: KafkaOutput; where: string }> {
  const p = config.pilot;
  const problems: string[] = [];
  if (p.kafkaBrokers.length === 0) problems.push('KAFKA_BROKERS: at least one broker (host:port) is needed for the kafka output');
  let sasl: KafkaOutputOptions['sasl'];
  try {
    sasl = pilotKafkaSasl(p);
  } catch (err) {
    problems.push((err as { detail: string }).detail);
  }
  if (problems.length > 0) throw swError('SW_CONFIG_INVALID', problems.join('; '));
  const sink = await KafkaOutput.open({
    brokers: p.kafkaBrokers, clientId: p.kafkaClientId, sasl, acks: p.kafkaRequiredAcks, brokerTimeoutMs: p.kafkaBrokerTimeoutMs,
    maxMessageBytes: p.kafkaMaxMessageBytes, maxBatchEvents: p.kafkaBatchMaxEvents, flushIntervalMs: p.kafkaFlushIntervalMs,
    concurrency: p.kafkaConcurrency, dataDir: config.common.dataDir, bufferMaxBytes: p.kafkaBufferMaxBytes, bufferWhenFull: p.kafkaBufferWhenFull,
    registry, log,
  });
  const auth = sasl === undefined ? '' : `, SASL ${sasl.mechanism} as ${sasl.username}`;
  return { sink, where: `${p.kafkaBrokers.join(',')}${auth}, topics named by target` };
}
