/**
 * The pilot's `redis` output (the README's "Outputs and delivery") on the delivery chain
 * (delivery/delivery-chain.ts): records → the output's durable queue under `SHIPWATCH_DATA_DIR/buffer/redis/`
 * (frames: ./redis-frames.ts) → batches by count, bytes and time → one MULTI … RPUSH … EXEC each (./redis-sink.ts)
 * → classified → acknowledged, which removes them from the queue. Each record is its JSON document (the one the
 * Elasticsearch output indexes), one list element, on the list named by its target.
 *
 * - `write` resolves once the batch is on disk and made durable (concurrent writes share one fdatasync): the
 *   acknowledgement the pilot moves its file positions behind, as for Elasticsearch. A crash or kill after it loses
 *   nothing; a restart replays what Redis had not acknowledged.
 * - Redis down: nothing at start asks it, so the pilot starts; batches are retried without a deadline (the one retry
 *   helper) while records wait on disk; full (REDIS_BUFFER_MAX_SIZE): `block` pauses tailing, `drop` drops, counted.
 * - close(): stops taking records, keeps delivering for `closeTimeoutMs`, then leaves the rest on disk.
 */
import { Redis } from 'ioredis';
import type { Config } from '../../platform/config/load-config.js';
import { describe, swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { LogEvent, LogSink } from '../../model/log-record.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { DeliveryChain } from '../../delivery/delivery-chain.js';
import { DurableQueue } from '../../delivery/durable-queue.js';
import { sleep, type RetryPolicy } from '../../delivery/retry.js';
import { redisFrames, type RedisBatch } from './redis-frames.js';
import { RedisSink } from './redis-sink.js';

export interface RedisOutputOptions {
  name?: string;
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  /** AUTH password when the URL has none. */
  password?: string;
  /** Connecting, and one batch, at most. */
  timeoutMs: number;
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

/** Bytes of documents in one batch at most; a record alone may be larger. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Records handed in and not yet on disk at most (the pilot bounds its bytes in flight; this bounds a runaway caller). */
const MAX_PENDING_RECORDS = 1_000_000;
/** How long a write refused for that bound waits before it asks again. */
const PENDING_FULL_WAIT_MS = 50;
/** Longest wait between two connection attempts while Redis is down. */
const RECONNECT_MAX_MS = 2000;

/** The URL of the pilot's configuration: REDIS_URL, else REDIS_HOST and REDIS_PORT; throws when neither is set. */
export function pilotRedisUrl(pilot: Config['pilot']): string {
  if (pilot.redisUrl !== '') return pilot.redisUrl;
  if (pilot.redisHost.trim() === '') throw swError('SW_CONFIG_INVALID', 'REDIS_URL or REDIS_HOST is needed for the redis output');
  const host = pilot.redisHost.trim();
  let url: URL;
  try {
    url = new URL(`redis://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${pilot.redisPort}`);
  } catch (err) {
    throw swError('SW_CONFIG_INVALID', `REDIS_HOST: "${host}" is not a host name or address`, err);
  }
  if (url.pathname !== '' && url.pathname !== '/') throw swError('SW_CONFIG_INVALID', `REDIS_HOST: "${host}" is not a host name or address`);
  return url.href;
}

/** The URL without its password, for messages. */
export function redisWhere(url: string): string {
  const u = new URL(url);
  u.password = '';
  u.username = '';
  return u.href.replace(/\/$/, '');
}

export class RedisOutput implements LogSink {
  readonly name: string;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: RedisOutputOptions,
    private readonly client: Redis,
    private readonly queue: DurableQueue<RedisBatch, RedisBatch>,
    private readonly chain: DeliveryChain<RedisBatch, RedisBatch>,
  ) {
    this.name = opts.name ?? 'redis';
  }

  /** Opens the disk buffer (what a previous run left in it is delivered first), connects in the background, starts delivering. */
  static async open(opts: RedisOutputOptions): Promise<RedisOutput> {
    const name = opts.name ?? 'redis';
    const where = redisWhere(opts.url);
    const queue = await DurableQueue.open({
      name, dataDir: opts.dataDir, maxBytes: opts.bufferMaxBytes, whenFull: opts.bufferWhenFull, codec: redisFrames,
      registry: opts.registry, log: opts.log,
      // A few batches' worth: while Redis keeps up, batches are sent from memory and the file is only written.
      memoryRecords: 4 * opts.maxBatchEvents * opts.concurrency,
    });
    const connectionErrors = counter(opts.registry, {
      name: 'shipwatch_redis_connection_errors_total', help: 'Connections to Redis that failed or were lost (each is tried again).', labelNames: ['output'] as const,
    });
    let lastError: string | undefined;
    const client = new Redis(opts.url, {
      ...(opts.password === undefined || opts.password === '' ? {} : { password: opts.password }),
      connectTimeout: opts.timeoutMs,
      commandTimeout: opts.timeoutMs,
      // Fail at once while not connected, and fail what was in flight when the connection drops, instead of
      // queueing or resending inside the client: the chain's retry helper decides, and the records wait on disk.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 100, RECONNECT_MAX_MS),
      lazyConnect: false,
    });
    // The client reconnects by itself; each failure is counted and named on /health by the next batch that fails.
    client.on('error', (err: Error) => {
      connectionErrors.inc({ output: name });
      lastError = describe(err);
    });
    client.on('ready', () => {
      lastError = undefined;
    });
    const sink = new RedisSink({ name, client, where, lastConnectionError: () => lastError });
    const chain = new DeliveryChain<RedisBatch, RedisBatch>({
      sink, queue, records: (b) => b.docs.length, maxPendingRecords: MAX_PENDING_RECORDS,
      batch: { maxRecords: opts.maxBatchEvents, maxBytes: MAX_BATCH_BYTES, flushIntervalMs: opts.flushIntervalMs },
      concurrency: opts.concurrency, drainTimeoutMs: opts.closeTimeoutMs ?? 1000,
      deadLetters: new DeadLetterFile(opts.dataDir, name, opts.registry), retryPolicy: opts.retryPolicy, registry: opts.registry, log: opts.log,
    });
    chain.start();
    return new RedisOutput(opts, client, queue, chain);
  }

  /** For /health: why Redis does not take records now, with what waits in the disk buffer; undefined while it does. */
  problem(): string | undefined {
    const failing = this.chain.problem();
    if (failing === undefined) return undefined;
    const buffered = this.queue.isEmpty ? 0 : this.queue.sizeBytes;
    return `${failing}${buffered > 0 ? `; ${buffered} bytes wait in the disk buffer` : ''}`;
  }

  write(events: LogEvent[]): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(swError('SW_OUTPUT_FAILED', `${this.name} is closed`));
    if (events.length === 0) return Promise.resolve();
    const keys = new Array<string>(events.length);
    const docs = new Array<string>(events.length);
    for (let i = 0; i < events.length; i++) {
      keys[i] = events[i]!.target;
      docs[i] = events[i]!.json;
    }
    return this.keep({ keys, docs });
  }

  private async keep(batch: RedisBatch): Promise<void> {
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
    return (this.closing ??= this.chain.close().then(() => this.client.disconnect()));
  }
}

/** The pilot's `redis` output from its configuration; `where` names Redis (without a password) for the start-up summary. */
export async function openPilotRedisOutput(config: Config, registry: Registry, log: Logger): Promise<{ sink: RedisOutput; where: string }> {
  const p = config.pilot;
  const url = pilotRedisUrl(p);
  const sink = await RedisOutput.open({
    url, password: new URL(url).password === '' ? p.redisPassword : undefined, timeoutMs: p.redisTimeoutMs,
    maxBatchEvents: p.redisBatchMaxEvents, flushIntervalMs: p.redisFlushIntervalMs, concurrency: p.redisConcurrency,
    dataDir: config.common.dataDir, bufferMaxBytes: p.redisBufferMaxBytes, bufferWhenFull: p.redisBufferWhenFull, registry, log,
  });
  return { sink, where: `${redisWhere(url)}, lists named by target` };
}
