/**
 * The pilot's `elasticsearch` output (the README's "Outputs and delivery"): the bulk pipeline (./bulk-sink.ts) behind a
 * bounded disk buffer (./disk-buffer.ts).
 *
 * A batch is encoded once, on arrival, into the bytes of its bulk items (./bulk-items.ts) — or, when it goes behind
 * the buffer, of its compact items (./compact-items.ts) — and from then on only those bytes travel: to
 * Elasticsearch, into the buffer, and from the buffer to Elasticsearch again. The records themselves are released
 * at once.
 *
 * While Elasticsearch keeps up, a batch goes straight to the bulk pipeline and `write` resolves once every record
 * is delivered or dead-lettered. When a batch cannot be delivered within the retry timeout (Elasticsearch slow or
 * down), what is left of it is written to the disk buffer, and from then on new batches go to the buffer behind it,
 * in order, until a replay loop has drained the buffer into Elasticsearch. The replay sends several buffered batches
 * per request, up to the bulk bounds (ELASTICSEARCH_BULK_MAX_SIZE / _BYTES), so it drains faster than containers
 * fill it even when they write a few lines per batch. A record written to the buffer is
 * acknowledged (it is durable and will be replayed, across restarts too); when the buffer is full `write` waits —
 * back-pressure to the tail — unless the buffer is configured to drop, which is counted.
 *
 * Shutdown order (close): stop accepting, stop the replay loop, close the bulk pipeline (pending retries hand their
 * records back, which go to the buffer), close the buffer.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Config } from '../../platform/config/load-config.js';
import { describe, swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { LogEvent, LogSink } from '../../model/log-record.js';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, sleep, type RetryPolicy } from '../../delivery/retry.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { BulkEncoder } from './bulk-encoder.js';
import { itemCount, type BulkItems } from './bulk-items.js';
import { BulkSink } from './bulk-sink.js';
import type { CompactItems } from './compact-items.js';
import { createEsClient, pilotEsConnection } from './es-client.js';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { DiskBuffer } from './disk-buffer.js';

export interface ElasticsearchOutputOptions {
  name?: string;
  client: Client;
  dataDir: string;
  rotation: 'daily' | 'monthly' | 'none' | 'datastream';
  maxBatchEvents: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  concurrency: number;
  /** Direct retries of a batch before it waits in the buffer (`maxElapsedMs`), and the backoff of replays. */
  retryPolicy: Partial<RetryPolicy>;
  bufferMaxBytes: number;
  bufferWhenFull: 'block' | 'drop';
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
    maxBatchEvents: p.esBatchMaxEvents,
    maxBatchBytes: p.esBatchMaxBytes,
    flushIntervalMs: p.esFlushIntervalMs,
    concurrency: p.esConcurrency,
    retryPolicy: { maxElapsedMs: p.esRetryTimeoutMs },
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

export class ElasticsearchOutput implements LogSink {
  readonly name: string;
  private readonly abort = new AbortController();
  private replaying: Promise<void> | undefined;
  private closed = false;
  private readonly replayRetries;

  private constructor(
    private readonly opts: ElasticsearchOutputOptions,
    private readonly encoder: BulkEncoder,
    private readonly bulk: BulkSink,
    private readonly buffer: DiskBuffer,
  ) {
    this.name = opts.name ?? 'elasticsearch';
    this.replayRetries = counter(opts.registry, {
      name: 'shipwatch_buffer_replay_retries_total', help: 'Disk-buffer batches tried again after a failed replay.', labelNames: ['output'] as const,
    });
  }

  /** Opens the buffer (replaying what a previous run left in it) and starts the pipeline. */
  static async open(opts: ElasticsearchOutputOptions): Promise<ElasticsearchOutput> {
    const name = opts.name ?? 'elasticsearch';
    const encoder = new BulkEncoder(opts.rotation);
    const bulk = new BulkSink({
      name,
      client: opts.client,
      opType: opts.rotation === 'datastream' ? 'create' : 'index',
      maxBatchEvents: opts.maxBatchEvents,
      maxBatchBytes: opts.maxBatchBytes,
      flushIntervalMs: opts.flushIntervalMs,
      concurrency: opts.concurrency,
      retryPolicy: opts.retryPolicy,
      deadLetters: new DeadLetterFile(opts.dataDir, name, opts.registry),
      registry: opts.registry,
      log: opts.log,
    });
    const buffer = await DiskBuffer.open({
      name, dataDir: opts.dataDir, maxBytes: opts.bufferMaxBytes, whenFull: opts.bufferWhenFull, registry: opts.registry, log: opts.log,
      migrateLegacyLine: (line) => legacyBatchItems(encoder, line),
    });
    const out = new ElasticsearchOutput(opts, encoder, bulk, buffer);
    if (!buffer.isEmpty) out.startReplay();
    return out;
  }

  /**
   * For /health: why Elasticsearch does not take records now (unreachable, refusing, not answering), with what
   * waits in the disk buffer meanwhile; undefined while it takes them. Nothing at start reaches Elasticsearch, so
   * the pilot starts while it is down and this says so once a delivery has failed.
   */
  problem(): string | undefined {
    const reason = this.bulk.problem();
    if (reason === undefined) return undefined;
    const buffered = this.bufferedBytes;
    return `${this.name}: ${reason}${buffered > 0 ? `; ${buffered} bytes wait in the disk buffer` : ''}`;
  }

  /** Bytes waiting in the disk buffer (0 when Elasticsearch keeps up). */
  get bufferedBytes(): number {
    return this.buffer.isEmpty ? 0 : this.buffer.sizeBytes;
  }

  write(events: LogEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(swError('SW_OUTPUT_FAILED', `${this.name} is closed`));
    if (events.length === 0) return Promise.resolve();
    // Not an async function: nothing here keeps the records alive while the bytes wait for Elasticsearch or the disk.
    // A batch behind the buffer is encoded in the buffer's compact form: the replay rebuilds its bulk lines.
    if (this.replaying === undefined && this.buffer.idle) return this.deliverItems(this.encoder.encodeItems(events));
    return this.bufferItems(this.encoder.encodeCompact(events));
  }

  private async deliverItems(items: BulkItems): Promise<void> {
    const report = await this.bulk.deliver(items);
    if (itemCount(report.undelivered) === 0) return;
    this.opts.log.warn('Elasticsearch not keeping up; records wait in the disk buffer', { output: this.name, events: itemCount(report.undelivered) });
    await this.buffer.append(report.undelivered);
    this.startReplay();
  }

  private async bufferItems(items: CompactItems): Promise<void> {
    await this.buffer.append(items);
    // Written (or dropped): these bytes went nowhere else.
    this.encoder.recycle(items);
    this.startReplay();
  }

  /** Waits until the disk buffer is drained into Elasticsearch (for tests and shutdown reports). */
  async drained(): Promise<void> {
    while (this.replaying !== undefined) await this.replaying;
  }

  private startReplay(): void {
    if (this.replaying !== undefined || this.closed) return;
    this.replaying = this.replay()
      .catch((err: unknown) => {
        if (!this.abort.signal.aborted) this.opts.log.error('disk buffer replay stopped', { output: this.name, error: describe(err) });
      })
      .finally(() => {
        this.replaying = undefined;
        // Records appended while the loop was finishing must not wait for the next write.
        if (!this.closed && !this.buffer.isEmpty) this.startReplay();
      });
  }

  /**
   * Replays buffered batches oldest first, as many per request as the bulk bounds allow; a run is acknowledged only
   * once none of it is left undelivered (items refused for their content are dead letters, as on the direct path).
   */
  private async replay(): Promise<void> {
    const policy = { ...DEFAULT_RETRY_POLICY, ...this.opts.retryPolicy };
    const limits = { maxItems: this.opts.maxBatchEvents, maxBytes: this.opts.maxBatchBytes };
    let failures = 0;
    for (;;) {
      if (this.abort.signal.aborted) return;
      const run = await this.buffer.next(limits);
      if (run === undefined) return;
      let pending = run.items;
      while (itemCount(pending) > 0) {
        const delivery = this.bulk.deliver(pending);
        // One run is replayed at a time, so nothing else would fill this request: waiting for the flush interval
        // would cap the replay at one run per interval.
        this.bulk.flush();
        const report = await delivery;
        pending = report.undelivered;
        if (itemCount(pending) === 0) break;
        if (this.abort.signal.aborted) return; // left in the buffer, replayed at the next start
        failures++;
        this.replayRetries.inc({ output: this.name });
        await sleep(backoffDelayMs(policy, Math.min(failures, 20)), this.abort.signal);
      }
      failures = 0;
      await run.ack();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort(swError('SW_OUTPUT_FAILED', `${this.name} is closing`));
    await this.bulk.close();
    await this.replaying;
    await this.buffer.close();
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
