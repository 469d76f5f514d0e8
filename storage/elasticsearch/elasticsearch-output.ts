/**
 * The pilot's `elasticsearch` output (the README's "Outputs and delivery") on the delivery chain
 * (delivery/delivery-chain.ts): records → compact bulk items (./bulk-encoder.ts, ./compact-items.ts) → the
 * output's disk buffer (./disk-buffer.ts, a durable queue under `SHIPWATCH_DATA_DIR/buffer/<name>/`) → runs by count,
 * bytes and time, cut to the bulk bounds → one `_bulk` request each, with bounded concurrency (./log-bulk-sink.ts)
 * → item by item: delivered, sent again (429 / 5xx, without a deadline), sent once more in the safe shape (refused
 * for its mapping), or a dead letter → acknowledged, which removes them from the buffer. Each index's template
 * (./log-index-templates.ts) is installed before its first document, once Elasticsearch answers.
 *
 * - `write` resolves once the batch is on disk and made durable: concurrent writes share one fdatasync (group
 *   commit). That is the acknowledgement the pilot moves its file positions behind; a crash or kill after it
 *   loses nothing, and a restart replays what Elasticsearch had not acknowledged. Documents carry deterministic
 *   ids, so a record replayed overwrites itself.
 * - Full (ELASTICSEARCH_BUFFER_MAX_SIZE): with `block`, `write` waits for room — back-pressure to the tail; with
 *   `drop`, the batch is dropped, counted (`shipwatch_buffer_dropped_events_total`), and `write` resolves.
 * - close(): stops taking records, keeps delivering for `closeTimeoutMs`, then leaves the rest on disk for the
 *   next start.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Config } from '../../platform/config/load-config.js';
import { swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { LogEvent, LogSink } from '../../model/log-record.js';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { DeliveryChain } from '../../delivery/delivery-chain.js';
import { sleep, type RetryPolicy } from '../../delivery/retry.js';
import type { Registry } from '../../platform/self-metrics.js';
import { BulkEncoder } from './bulk-encoder.js';
import type { BulkItems } from './bulk-items.js';
import type { CompactItems } from './compact-items.js';
import { heldByBuffer, openDiskBuffer, type DiskBuffer } from './disk-buffer.js';
import { createEsClient, pilotEsConnection } from './es-client.js';
import { LogBulkSink } from './log-bulk-sink.js';
import { LogTemplateInstaller } from './log-template-installer.js';

export interface ElasticsearchOutputOptions {
  name?: string;
  client: Client;
  dataDir: string;
  rotation: 'daily' | 'monthly' | 'none' | 'datastream';
  /** The namespace of the data streams `logs-<dataset>-<namespace>` (rotation datastream); default `default`. */
  dataStreamNamespace?: string;
  /** Install each index's template before its first document (./log-template-installer.ts); default true. */
  installTemplates?: boolean;
  /** Records per bulk request at most (ELASTICSEARCH_BULK_MAX_SIZE). */
  maxBatchEvents: number;
  /** Bytes per bulk request at most (ELASTICSEARCH_BULK_MAX_BYTES; an item alone may be larger). */
  maxBatchBytes: number;
  flushIntervalMs: number;
  /** Bulk requests under way at once. */
  concurrency: number;
  /** Backoff between tries; there is no deadline (records wait in the disk buffer meanwhile). */
  retryPolicy?: Partial<Omit<RetryPolicy, 'maxElapsedMs'>>;
  bufferMaxBytes: number;
  bufferWhenFull: 'block' | 'drop';
  /** How long close() keeps delivering; the rest stays on disk for the next start. Default 1 s. */
  closeTimeoutMs?: number;
  /** One bulk request at most; default 30 s. */
  requestTimeoutMs?: number;
  registry: Registry;
  log: Logger;
}

/** The output's options from the pilot's configuration. */
export function elasticsearchOutputOptions(config: Config, client: Client, registry: Registry, log: Logger): ElasticsearchOutputOptions {
  const p = config.pilot;
  return {
    client,
    dataDir: config.common.dataDir,
    rotation: p.esIndexRotation,
    dataStreamNamespace: p.esDataStreamNamespace,
    installTemplates: p.esInstallTemplates,
    maxBatchEvents: p.esBatchMaxEvents,
    maxBatchBytes: p.esBatchMaxBytes,
    flushIntervalMs: p.esFlushIntervalMs,
    concurrency: p.esConcurrency,
    bufferMaxBytes: p.esBufferMaxBytes,
    bufferWhenFull: p.esBufferWhenFull,
    registry,
    log,
  };
}

/**
 * The pilot's `elasticsearch` output from its configuration (hosts, credentials or the secret file, rotation,
 * batching, buffer). The client is closed with the output.
 */
export async function openPilotElasticsearchOutput(config: Config, registry: Registry, log: Logger): Promise<LogSink> {
  if (config.pilot.esRetryTimeoutMs !== undefined) {
    log.warn('ELASTICSEARCH_RETRY_TIMEOUT is ignored: records are retried without a deadline while they wait in the disk buffer', { output: 'elasticsearch' });
  }
  const client = createEsClient(pilotEsConnection(config.pilot));
  const output = await ElasticsearchOutput.open(elasticsearchOutputOptions(config, client, registry, log.child({ output: 'elasticsearch' })));
  let closing: Promise<void> | undefined;
  return {
    name: output.name,
    write: (events) => output.write(events),
    problem: () => output.problem(),
    close: () => (closing ??= output.close().then(() => client.close())),
  };
}

/**
 * Records handed in and not yet on disk at most. The pilot bounds what it has in flight by bytes
 * (PILOT_MAX_IN_FLIGHT); this only keeps a runaway caller from growing memory without end.
 */
const MAX_PENDING_RECORDS = 1_000_000;
/** How long a write refused for that bound waits before it asks again. */
const PENDING_FULL_WAIT_MS = 50;

type Chain = DeliveryChain<BulkItems | CompactItems, BulkItems>;

export class ElasticsearchOutput implements LogSink {
  readonly name: string;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: ElasticsearchOutputOptions,
    private readonly encoder: BulkEncoder,
    private readonly buffer: DiskBuffer,
    private readonly sink: LogBulkSink,
    private readonly chain: Chain,
  ) {
    this.name = sink.name;
  }

  /** Opens the disk buffer (what a previous run left in it is delivered first) and starts delivering. */
  static async open(opts: ElasticsearchOutputOptions): Promise<ElasticsearchOutput> {
    const name = opts.name ?? 'elasticsearch';
    const encoder = new BulkEncoder(opts.rotation, opts.dataStreamNamespace);
    const buffer = await openDiskBuffer({
      name, dataDir: opts.dataDir, maxBytes: opts.bufferMaxBytes, whenFull: opts.bufferWhenFull, registry: opts.registry, log: opts.log,
      migrateLegacyLine: (line) => legacyBatchItems(encoder, line),
      // A few runs' worth (~0.3 KB of compact items a record): while Elasticsearch keeps up, batches are sent from
      // memory; the file is read only after a restart or when the reader falls behind.
      memoryRecords: 4 * opts.maxBatchEvents * opts.concurrency,
    });
    const templates = opts.installTemplates === false ? undefined : new LogTemplateInstaller(opts.client, opts.rotation, opts.log, opts.requestTimeoutMs);
    const sink = new LogBulkSink({
      name, client: opts.client, opType: opts.rotation === 'datastream' ? 'create' : 'index', requestTimeoutMs: opts.requestTimeoutMs, templates, registry: opts.registry,
    });
    const chain: Chain = new DeliveryChain({
      sink, queue: buffer, records: (items) => items.ends.length, maxPendingRecords: MAX_PENDING_RECORDS,
      batch: { maxRecords: opts.maxBatchEvents, maxBytes: opts.maxBatchBytes, flushIntervalMs: opts.flushIntervalMs },
      concurrency: opts.concurrency, drainTimeoutMs: opts.closeTimeoutMs ?? 1000,
      deadLetters: new DeadLetterFile(opts.dataDir, name, opts.registry), retryPolicy: opts.retryPolicy, registry: opts.registry, log: opts.log,
    });
    chain.start();
    return new ElasticsearchOutput(opts, encoder, buffer, sink, chain);
  }

  /**
   * For /health: why Elasticsearch does not take records now (unreachable, refusing, not answering), with what
   * waits in the disk buffer meanwhile; undefined while it takes them. Nothing at start reaches Elasticsearch, so
   * the pilot starts while it is down and this says so once a delivery has failed.
   */
  problem(): string | undefined {
    const failing = this.chain.problem();
    const slow = failing === undefined ? this.sink.slowAnswer() : undefined;
    if (failing === undefined && slow === undefined) return undefined;
    const buffered = this.bufferedBytes;
    return `${failing ?? `${this.name}: ${slow}`}${buffered > 0 ? `; ${buffered} bytes wait in the disk buffer` : ''}`;
  }

  /** Bytes waiting in the disk buffer for Elasticsearch. */
  get bufferedBytes(): number {
    return this.buffer.isEmpty ? 0 : this.buffer.sizeBytes;
  }

  write(events: LogEvent[]): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(swError('SW_OUTPUT_FAILED', `${this.name} is closed`));
    if (events.length === 0) return Promise.resolve();
    // Not an async function: nothing here keeps the records alive while their bytes wait for the disk.
    return this.keep(this.encoder.encodeCompact(events));
  }

  private async keep(items: CompactItems): Promise<void> {
    for (;;) {
      const admission = await this.chain.submit(items, { waitForRoom: true });
      if (admission === 'failed') throw swError('SW_OUTPUT_FAILED', `${this.name}: records could not be written to the disk buffer`);
      // 'busy' with when_full=drop: dropped by configuration, counted by the buffer; acknowledged like the rest.
      if (admission === 'accepted' || this.opts.bufferWhenFull === 'drop') break;
      if (this.closing !== undefined) throw swError('SW_OUTPUT_FAILED', `${this.name} is closed`);
      await sleep(PENDING_FULL_WAIT_MS);
    }
    // Written (or dropped): these bytes go nowhere else, unless the buffer's read-behind memory holds them.
    if (!heldByBuffer(items)) this.encoder.recycle(items);
  }

  /** Resolves once everything written so far is delivered (or a dead letter): for tests and benches. */
  async drained(pollMs = 10): Promise<void> {
    while (!this.buffer.idle) await sleep(pollMs);
  }

  /** Stops taking records, delivers for up to `closeTimeoutMs`, leaves the rest on disk. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.chain.close());
  }
}

/** A line of a disk buffer of the previous format (a JSON array of records) as bulk items; undefined when torn. */
function legacyBatchItems(encoder: BulkEncoder, line: string): BulkItems | undefined {
  let events: unknown;
  try {
    events = JSON.parse(line);
  } catch {
    return undefined; // a torn last line: counted by the migration as unreadable
  }
  if (!Array.isArray(events) || !events.every((e: Partial<LogEvent>) => typeof e?.json === 'string' && typeof e.id === 'string' && typeof e.target === 'string')) return undefined;
  return encoder.encodeItems(events as LogEvent[]);
}
