/**
 * Log records into Elasticsearch exactly as the pilot's `elasticsearch` output writes them (same index per target
 * and day, same `_id`, same templates: ./bulk-encoder.ts, ./log-bulk-sink.ts, ./log-template-installer.ts), for a
 * caller that must know when Elasticsearch holds them: `write` resolves only once every record of the call has an
 * outcome (indexed, or refused for its content and kept in the dead-letter file). The ingester moves its Kafka
 * offsets behind that; Kafka is its buffer, so the chain's queue is in memory, not on disk.
 *
 * Retries are the delivery chain's (without a deadline); `write` rejects only when `signal` aborts (shutdown).
 */
import type { Client } from '@elastic/elasticsearch';
import type { Config } from '../../platform/config/load-config.js';
import { swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { LogEvent } from '../../model/log-record.js';
import type { Registry } from '../../platform/self-metrics.js';
import { DeadLetterFile } from '../../delivery/dead-letter.js';
import { DeliveryChain } from '../../delivery/delivery-chain.js';
import { MemoryQueue } from '../../delivery/memory-queue.js';
import { sleep } from '../../delivery/retry.js';
import { BulkEncoder } from './bulk-encoder.js';
import { joinItems, type BulkItems } from './bulk-items.js';
import { createEsClient, pilotEsConnection } from './es-client.js';
import { elasticsearchOutputOptions } from './elasticsearch-output.js';
import { LogBulkSink } from './log-bulk-sink.js';
import { LogTemplateInstaller } from './log-template-installer.js';

/** How often a write looks whether its records are acknowledged. */
const ACK_POLL_MS = 5;

export class AcknowledgedLogWriter {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly client: Client,
    private readonly encoder: BulkEncoder,
    private readonly queue: MemoryQueue<BulkItems>,
    private readonly chain: DeliveryChain<BulkItems, BulkItems>,
  ) {}

  /** With the pilot's Elasticsearch settings (ELASTICSEARCH_*: hosts, credentials, rotation, bulk bounds). */
  static open(config: Config, registry: Registry, log: Logger): AcknowledgedLogWriter {
    const client = createEsClient(pilotEsConnection(config.pilot));
    const o = elasticsearchOutputOptions(config, client, registry, log);
    const name = 'elasticsearch';
    const encoder = new BulkEncoder(o.rotation, o.dataStreamNamespace);
    const templates = o.installTemplates === false ? undefined : new LogTemplateInstaller(client, o.rotation, log);
    const sink = new LogBulkSink({ name, client, opType: o.rotation === 'datastream' ? 'create' : 'index', templates, registry });
    const queue = new MemoryQueue<BulkItems>({
      name, maxRecords: Number.MAX_SAFE_INTEGER, whenFull: 'block', records: (b) => b.ends.length, join: joinItems, bytes: (b) => b.bytes.length, registry,
    });
    const chain = new DeliveryChain<BulkItems, BulkItems>({
      sink, queue, records: (b) => b.ends.length, maxPendingRecords: Number.MAX_SAFE_INTEGER,
      batch: { maxRecords: o.maxBatchEvents, maxBytes: o.maxBatchBytes, flushIntervalMs: 0 },
      concurrency: o.concurrency, deadLetters: new DeadLetterFile(o.dataDir, name, registry), registry, log,
    });
    chain.start();
    return new AcknowledgedLogWriter(client, encoder, queue, chain);
  }

  /** Where the records go, for the start-up summary. */
  static where(config: Config): string {
    return pilotEsConnection(config.pilot).nodes.join(', ');
  }

  problem(): string | undefined {
    return this.chain.problem();
  }

  /**
   * Resolves once Elasticsearch acknowledged every record of `events` (or refused it for its content: a dead
   * letter). One caller at a time: it waits for the chain to hold nothing.
   */
  async write(events: readonly LogEvent[], signal: AbortSignal): Promise<void> {
    if (this.closing !== undefined) throw swError('SW_OUTPUT_FAILED', 'elasticsearch is closed');
    if (events.length === 0) return;
    const admission = await this.chain.submit(this.encoder.encodeItems(events), { waitForRoom: true });
    if (admission !== 'accepted') throw swError('SW_OUTPUT_FAILED', `elasticsearch: records not taken (${admission})`);
    while (this.queue.heldRecords > 0) {
      if (signal.aborted) throw signal.reason;
      await sleep(ACK_POLL_MS);
    }
  }

  /** Stops delivering (what is not acknowledged is read again from Kafka next time), closes the client. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.chain.close().then(() => this.client.close()));
  }
}
