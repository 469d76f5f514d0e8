/**
 * Kafka as a sink of the delivery chain (delivery/sink.ts): one batch of records is one produce request (kafkajs
 * `sendBatch`), each record a message on the topic named by its target, keyed by its container's id (one container's
 * records share a partition, in order), its document as the value and its deterministic id in the `shipwatch-id`
 * header. The chain queues, batches, retries and acknowledges; this file only sends and classifies:
 *
 * - Answered by the brokers with the acknowledgements asked for (KAFKA_REQUIRE_ACKS, -1: every in-sync replica):
 *   delivered. Only then does the chain remove the records from the disk buffer.
 * - Refused for its content: a record larger than KAFKA_MAX_MESSAGE_BYTES or a target that is no topic name is a
 *   dead letter before anything is sent; a batch the broker refuses as too large (its topic's max.message.bytes is
 *   lower) is sent again one record at a time, so only the records the broker refuses alone become dead letters,
 *   with its reason.
 * - Anything else (no broker reachable, a leader moving, a timeout, SASL refused): thrown and retried by the chain
 *   without a deadline while the records wait on disk; /health names the reason. The client's own retries are off,
 *   so the one retry helper is the only one.
 *
 * At-least-once: a request the broker applied whose answer never came (the connection dropped, the pilot killed
 * before the acknowledgement) is sent again; a consumer can tell the copy by its `shipwatch-id` header.
 */
import type { Message, Producer, TopicMessages } from 'kafkajs';
import { describe, swError } from '../../platform/errors.js';
import type { DeadLetter } from '../../delivery/dead-letter.js';
import type { RetryVerdict } from '../../delivery/retry.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import { joinKafkaBatches, sliceKafkaBatch, type KafkaBatch } from './kafka-frames.js';

export interface KafkaSinkOptions {
  /** Output name: the `output` label and the name /health gives. */
  name: string;
  producer: Producer;
  /** The brokers, for messages. */
  where: string;
  /** -1 (all in-sync replicas) or 1 (the leader). */
  acks: -1 | 1;
  /** How long the broker may wait for its replicas. */
  brokerTimeoutMs: number;
  /** Largest record (document, key and id); also the most bytes of records in one request. */
  maxMessageBytes: number;
}

/** Kafka's error codes a dead letter names (its `status`). */
const MESSAGE_TOO_LARGE = 10;
const INVALID_TOPIC = 17;
/** Errors that name the records, not the moment: the same request can never pass. */
const CONTENT_REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TOPIC_EXCEPTION']);
/** Kafka's rule for topic names (legal characters, at most 249 of them, not `.` or `..`). */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** Bytes a message costs beyond its key, value and header in a record batch, roughly: for cutting requests. */
const MESSAGE_OVERHEAD_BYTES = 40;

type KafkaError = Error & { type?: string; retriable?: boolean; cause?: unknown; originalError?: unknown };

/** The innermost kafkajs error behind `err` (a wrapped "number of retries exceeded" names its cause). */
export function rootKafkaError(err: unknown): KafkaError | undefined {
  let e = err as KafkaError | undefined;
  for (let depth = 0; depth < 5 && e !== undefined; depth++) {
    const inner = (e.originalError ?? e.cause) as KafkaError | undefined;
    if (!(inner instanceof Error)) break;
    e = inner;
  }
  return e instanceof Error ? e : undefined;
}

function isContentRefusal(err: unknown): boolean {
  const root = rootKafkaError(err);
  return root?.type !== undefined && CONTENT_REFUSALS.has(root.type);
}

/** Bytes of one record in a request (for KAFKA_MAX_MESSAGE_BYTES). */
function recordBytes(batch: KafkaBatch, i: number): number {
  return Buffer.byteLength(batch.docs[i]!) + Buffer.byteLength(batch.keys[i]!) + Buffer.byteLength(batch.ids[i]!) + MESSAGE_OVERHEAD_BYTES;
}

export class KafkaSink implements DeliverySink<KafkaBatch> {
  readonly name: string;
  private connecting: Promise<void> | undefined;

  constructor(private readonly options: KafkaSinkOptions) {
    this.name = options.name;
  }

  async send(batch: KafkaBatch, signal: AbortSignal): Promise<SendOutcome<KafkaBatch>> {
    const rejected: DeadLetter[] = [];
    const sendable = this.refuseUnsendable(batch, rejected);
    if (sendable.docs.length === 0) return { delivered: 0, rejected };
    try {
      await this.produce(sendable, signal);
      return { delivered: sendable.docs.length, rejected };
    } catch (err) {
      if (signal.aborted || !isContentRefusal(err)) throw this.failure(err, signal);
      if (sendable.docs.length === 1) return { delivered: 0, rejected: [...rejected, ...this.letters(sendable, describe(rootKafkaError(err) ?? err), MESSAGE_TOO_LARGE)] };
    }
    // The broker refused the request for its content: one record at a time finds which records it refuses alone.
    let delivered = 0;
    for (let i = 0; i < sendable.docs.length; i++) {
      const one = sliceKafkaBatch(sendable, i, i + 1);
      try {
        await this.produce(one, signal);
        delivered++;
      } catch (err) {
        if (!signal.aborted && isContentRefusal(err)) {
          rejected.push(...this.letters(one, describe(rootKafkaError(err) ?? err), MESSAGE_TOO_LARGE));
          continue;
        }
        if (signal.aborted) throw err;
        const rest = sliceKafkaBatch(sendable, i, sendable.docs.length);
        return { delivered, rejected, retry: { batch: rest, records: rest.docs.length, reason: describe(this.failure(err, signal)) } };
      }
    }
    return { delivered, rejected };
  }

  /** Every failure of a whole request may pass later (content refusals never reach here): the records wait on disk. */
  classify(err: unknown): RetryVerdict {
    return isContentRefusal(err) ? { retry: false } : { retry: true };
  }

  deadLetters(batch: KafkaBatch, reason: string): DeadLetter[] {
    return this.letters(batch, reason, MESSAGE_TOO_LARGE);
  }

  /** Parts of at most `maxRecords` records and KAFKA_MAX_MESSAGE_BYTES bytes (a record alone may be larger: refused in send). */
  split(batch: KafkaBatch, maxRecords: number): KafkaBatch[] {
    const n = batch.docs.length;
    const parts: KafkaBatch[] = [];
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const b = recordBytes(batch, i);
      if (i > from && (i - from >= maxRecords || bytes + b > this.options.maxMessageBytes)) {
        parts.push(sliceKafkaBatch(batch, from, i));
        from = i;
        bytes = 0;
      }
      bytes += b;
    }
    parts.push(from === 0 ? batch : sliceKafkaBatch(batch, from, n));
    return parts;
  }

  /** The batch without the records no broker could take (too large, no topic name); those become dead letters. */
  private refuseUnsendable(batch: KafkaBatch, rejected: DeadLetter[]): KafkaBatch {
    const keep: number[] = [];
    for (let i = 0; i < batch.docs.length; i++) {
      const topic = batch.topics[i]!;
      const bytes = recordBytes(batch, i) - MESSAGE_OVERHEAD_BYTES;
      if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
        rejected.push(...this.letters(sliceKafkaBatch(batch, i, i + 1), `target "${topic}" is not a Kafka topic name (letters, digits, ".", "_", "-"; at most 249)`, INVALID_TOPIC));
      } else if (bytes > this.options.maxMessageBytes) {
        rejected.push(...this.letters(sliceKafkaBatch(batch, i, i + 1), `record of ${bytes} bytes is larger than KAFKA_MAX_MESSAGE_BYTES (${this.options.maxMessageBytes})`, MESSAGE_TOO_LARGE));
      } else keep.push(i);
    }
    if (keep.length === batch.docs.length) return batch;
    return joinKafkaBatches([{ topics: [], keys: [], ids: [], docs: [] }, ...keep.map((i) => sliceKafkaBatch(batch, i, i + 1))]);
  }

  /** One produce request, answered with the acknowledgements asked for; rejects as soon as `signal` aborts. */
  private async produce(batch: KafkaBatch, signal: AbortSignal): Promise<void> {
    const { producer, acks, brokerTimeoutMs } = this.options;
    await untilAborted((this.connecting ??= producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    })), signal);
    await untilAborted(producer.sendBatch({ acks, timeout: brokerTimeoutMs, topicMessages: topicMessages(batch) }), signal);
  }

  /**
   * A failure as /health and the logs show it, naming the brokers. A connection that failed is dropped, so the next
   * try connects afresh (and finds the brokers' current addresses).
   */
  private failure(err: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return err;
    const root = rootKafkaError(err);
    if (root?.type === undefined || root.name === 'KafkaJSSASLAuthenticationError') {
      const connecting = this.connecting;
      this.connecting = undefined;
      if (connecting !== undefined) void this.options.producer.disconnect().catch(() => undefined);
    }
    const why = root !== undefined && root !== err ? `${describe(err)}: ${describe(root)}` : describe(err);
    return swError('SW_OUTPUT_FAILED', `${this.name}: ${why} (${this.options.where})`, err);
  }

  private letters(batch: KafkaBatch, reason: string, status: number): DeadLetter[] {
    return batch.docs.map((record, i) => ({ index: batch.topics[i]!, id: batch.ids[i]!, status, reason, record }));
  }
}

/** The batch as kafkajs's topic lists: each topic's messages in batch order. */
function topicMessages(batch: KafkaBatch): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (let i = 0; i < batch.docs.length; i++) {
    const topic = batch.topics[i]!;
    let list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, (list = []));
    list.push({ key: batch.keys[i]!, value: batch.docs[i]!, headers: { 'shipwatch-id': batch.ids[i]! } });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** `work`, or a rejection as soon as `signal` aborts (shutdown): the batch then stays in the queue for the next start. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
