/**
 * The span path on the delivery chain (delivery/delivery-chain.ts): the `SpanConsumer` every trace receiver hands
 * its spans to. Each span storage (the embedded store, Elasticsearch) has a chain of its own with a durable queue
 * under `SHIPWATCH_DATA_DIR/buffer/spans-<storage>/` (framed by ./span-frames.ts), so one storage being down never
 * holds the other back, and each acknowledges only what it holds.
 *
 * - `consumeDurably` (HTTP receivers): resolves 'accepted' once the spans are on disk and made durable — the group
 *   commit makes concurrent requests share one fdatasync — so a 200 means the spans survive a crash. 'busy' when
 *   COLLECTOR_SPAN_QUEUE spans already wait for the disk (its budget is used: block) or the budget dropped them
 *   (drop): the receiver answers 503 with Retry-After.
 * - `consume` (UDP): never waits; 'busy' is a counted drop.
 * A restart replays what a storage had not acknowledged: Elasticsearch documents have deterministic ids, so a
 * replayed span overwrites itself. The embedded store's inserts are not idempotent, so its sink checks what it
 * already holds for a replayed run and, for `RESEND_WINDOW_MS` after a start that found the last run ended without
 * closing (a crash, a SIGKILL: a `running` marker left in the queue's folder), for every run: clients send again
 * the requests the dead process had kept but not answered.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../platform/config/load-config.js';
import { DeliveryChain, type Admission, type DeliveryChainOptions } from '../../delivery/delivery-chain.js';
import { DurableQueue } from '../../delivery/durable-queue.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import type { Logger } from '../../platform/log.js';
import type { Registry } from '../../platform/self-metrics.js';
import { chunkSize, type SpanChunk, type SpanConsumer } from '../../model/span.js';
import type { SpanReader, SpanWriter } from '../../storage/span-storage.js';
import { spanFrameCodec } from './span-frames.js';

export interface SpanDeliveryOptions {
  /** Storage name (the queue's folder, `spans-<name>`) and its writer. */
  storages: Array<{ name: string; writer: SpanWriter }>;
  config: Config['collector'];
  dataDir: string;
  /** How long close() keeps delivering what is queued (the rest is replayed by the next start). */
  drainTimeoutMs: number;
  registry: Registry;
  log: Logger;
}

type SpanBatch = SpanChunk[];

const spansIn = (batch: SpanBatch): number => batch.reduce((n, c) => n + chunkSize(c), 0);

/** Whole chunks up to `maxRecords` spans a part; a chunk of the model larger than that is cut. */
function splitSpans(batch: SpanBatch, maxRecords: number): SpanBatch[] {
  const parts: SpanBatch[] = [];
  let part: SpanBatch = [];
  let n = 0;
  for (const chunk of batch) {
    let c = chunk;
    while (Array.isArray(c) && n + c.length > maxRecords && maxRecords - n > 0) {
      part.push(c.slice(0, maxRecords - n));
      parts.push(part);
      c = c.slice(maxRecords - n);
      part = [];
      n = 0;
    }
    if (n > 0 && n + chunkSize(c) > maxRecords) {
      parts.push(part);
      part = [];
      n = 0;
    }
    part.push(c);
    n += chunkSize(c);
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/**
 * The spans of a replayed batch the storage does not hold yet. The store's inserts are not idempotent (a row may
 * hold a run of spans), and a crash between its commit and the queue's acknowledgement replays the batch: only a
 * replay pays for the look-up, one read per trace, so the write path stays as fast as before.
 */
async function notYetStored(reader: SpanReader, batch: SpanBatch): Promise<SpanBatch> {
  const spans = batch.flatMap((c) => (Array.isArray(c) ? c : c.decode()));
  const held = new Map<string, Set<string>>();
  for (const traceId of new Set(spans.map((s) => s.traceId))) {
    held.set(traceId, new Set((await reader.getTrace(traceId)).map((s) => s.spanId)));
  }
  return [spans.filter((s) => !held.get(s.traceId)!.has(s.spanId))];
}

/** How long after an unclean end every run written to the embedded store is checked against what it holds. */
const RESEND_WINDOW_MS = 5 * 60_000;

/**
 * A span writer as a sink: one that is one already (Elasticsearch), or one whose write is its send (the store).
 * Until `checkUntilMs` every run is checked against the storage's spans, after it only replayed runs.
 */
function sinkOf(name: string, writer: SpanWriter, checkUntilMs: number): DeliverySink<SpanBatch> {
  const own = writer as Partial<DeliverySink<SpanBatch>>;
  if (typeof own.send === 'function' && typeof own.classify === 'function') {
    return { name: `spans-${name}`, send: (b, s, i) => own.send!(b, s, i), classify: (e) => own.classify!(e), split: splitSpans };
  }
  const reader = typeof (writer as Partial<SpanReader>).getTrace === 'function' ? (writer as unknown as SpanReader) : undefined;
  return {
    name: `spans-${name}`,
    split: splitSpans,
    async send(given, _signal, info): Promise<SendOutcome<SpanBatch>> {
      const n = spansIn(given);
      const check = reader !== undefined && (info.replayed || Date.now() < checkUntilMs);
      const batch = check ? await notYetStored(reader, given) : given;
      const result = writer.writeChunks ? await writer.writeChunks(batch) : await writer.writeSpans(batch.flatMap((c) => (Array.isArray(c) ? c : c.decode())));
      const failed = result?.failed ?? 0;
      // A span found already stored counts delivered: it is.
      return { delivered: n - failed, rejectedCount: failed };
    },
    // A local write that throws (disk full, the database busy) may pass later; the queue keeps the spans meanwhile.
    classify: () => ({ retry: true }),
  };
}

export class SpanDelivery implements SpanConsumer {
  private constructor(
    private readonly chains: Array<DeliveryChain<SpanBatch, SpanBatch>>,
    private readonly runningMarkers: string[],
  ) {}

  static async open(opts: SpanDeliveryOptions): Promise<SpanDelivery> {
    const c = opts.config;
    const codec = spanFrameCodec({ maxSpans: c.jaegerMaxSpansPerBatch });
    const chains: Array<DeliveryChain<SpanBatch, SpanBatch>> = [];
    const markers: string[] = [];
    for (const { name, writer } of opts.storages) {
      const folder = join(opts.dataDir, 'buffer', `spans-${name}`);
      const marker = join(folder, 'running');
      const uncleanEnd = existsSync(marker);
      if (uncleanEnd) opts.log.warn('the last run ended without closing: spans are checked against the storage for a while, so requests sent again are not stored twice', { storage: name, forMs: RESEND_WINDOW_MS });
      await mkdir(folder, { recursive: true });
      await writeFile(marker, `${process.pid}\n`);
      markers.push(marker);
      const queue = await DurableQueue.open({
        name: `spans-${name}`, dataDir: opts.dataDir, maxBytes: c.spanBufferMaxBytes, whenFull: c.spanBufferWhenFull, codec,
        // A quarter of the spans the memory in front may hold: ≈ 50 MB of spans in the model (≈ 2 KB each) at most.
        memoryRecords: Math.floor(c.spanQueueSpans / 4),
        registry: opts.registry, log: opts.log,
      });
      const chain = new DeliveryChain({
        sink: sinkOf(name, writer, uncleanEnd ? Date.now() + RESEND_WINDOW_MS : 0), queue, records: spansIn, maxPendingRecords: c.spanQueueSpans,
        batch: { maxRecords: c.spanBatchSpans, maxBytes: 16 * 1024 * 1024, flushIntervalMs: c.spanFlushIntervalMs },
        concurrency: c.spanWriteConcurrency, drainTimeoutMs: opts.drainTimeoutMs, registry: opts.registry, log: opts.log,
        retryPolicy: (writer as { retryPolicy?: DeliveryChainOptions<SpanBatch, SpanBatch>['retryPolicy'] }).retryPolicy,
      });
      chain.start();
      chains.push(chain);
    }
    return new SpanDelivery(chains, markers);
  }

  consume(spans: SpanChunk): 'accepted' | 'busy' {
    let answer: 'accepted' | 'busy' = 'accepted';
    for (const chain of this.chains) if (chain.offer([spans]) === 'busy') answer = 'busy';
    return answer;
  }

  async consumeDurably(spans: SpanChunk): Promise<Admission> {
    const answers = await Promise.all(this.chains.map((chain) => chain.submit([spans])));
    return answers.includes('failed') ? 'failed' : answers.includes('busy') ? 'busy' : 'accepted';
  }

  /** The fullest chain's fill, 0..1. */
  get fill(): number {
    return Math.max(0, ...this.chains.map((c) => c.fill));
  }

  /** Why a storage is out of reach now, undefined while every one takes its spans. */
  problem(): string | undefined {
    return this.chains.map((c) => c.problem()).filter((p) => p !== undefined).join('; ') || undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.chains.map((c) => c.close()));
    await Promise.all(this.runningMarkers.map((m) => rm(m, { force: true })));
  }
}
