/**
 * The trace receive paths all the way into the embedded store: request bodies / datagrams decoded as the receivers
 * decode them, handed to the collector's span delivery (collector/traces/span-delivery.ts: the durable queue on disk,
 * its default sizes — 100,000 spans in memory in front, batches of 1,000, two writes at once) and written by
 * `StoreSpanStorage` into a fresh on-disk database (WAL) in a temporary directory. HTTP bodies are handed over as the
 * HTTP receivers do, waiting for the durable queue's group commit, `HTTP_IN_FLIGHT` requests at a time; datagrams
 * without waiting, as the UDP receiver does.
 *
 * - otlp-json: OTLP/JSON bodies of 512 spans serialised by the OpenTelemetry SDK's own serializer;
 * - otlp-proto: the same spans as OTLP/protobuf bodies (the SDK's protobuf serializer);
 * - jaeger-compact: agent `emitBatch` datagrams of 10 spans (bench/support/jaeger-datagrams.ts), checked and stored
 *   from their bytes as the UDP receiver hands them over;
 * - zipkin-json: Zipkin v2 JSON bodies of 512 spans as the Zipkin exporter writes them.
 *
 * Every body carries distinct trace and span ids. Each case runs in a child process of its own, so its peak RSS and
 * JIT state are its own; inputs are built before the clock starts (they are part of the peak RSS). A warm-up of
 * `WARMUP_SPANS` more spans goes the same way into the same store first, and is written before the clock starts,
 * as the other throughput benches warm up: over a run of ≈ 1 s the optimising compiler's own work (on V8's
 * background threads, ≈ 0.25 CPU-s for these paths) would otherwise weigh as much as a quarter of the figure. The
 * figure is stored spans per CPU-second of the whole process (decode + translate + queue + SQLite, which runs on the
 * main thread, + V8's threads) from the first measured body to the last batch committed; the figure of the whole run,
 * warm-up included, is printed beside it ("cold"). A receiver answering 'busy' is retried after a turn of the event
 * loop, as a client retries after Retry-After. The case fails when a span accepted is not in the store.
 *
 * `node --import tsx bench/traces-to-store.bench.ts [spans-per-case] [case]`
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { createDatagramHandler } from '../collector/traces/receivers/jaeger-udp-receiver.js';
import { decodeOtlpTraces } from '../collector/traces/codecs/otlp/otlp-decode.js';
import { SpanDelivery } from '../collector/traces/span-delivery.js';
import { loadConfig } from '../platform/config/load-config.js';
import { decodeZipkin } from '../collector/traces/codecs/zipkin/zipkin-decode.js';
import { silentLogger } from '../platform/log.js';
import { chunkSize, type SpanChunk } from '../model/span.js';
import { createRegistry } from '../platform/self-metrics.js';
import { StoreDatabase } from '../storage/sqlite/database.js';
import { StoreSpanStorage } from '../storage/sqlite/span-store.js';
import { SPANS_PER_DATAGRAM, datagrams } from './support/jaeger-datagrams.js';
import { batches, sdkSpans } from './support/sdk-spans.js';
import { zipkinJson } from './support/zipkin-json.js';

const CASES = ['otlp-json', 'otlp-proto', 'jaeger-compact', 'zipkin-json'] as const;
type Case = (typeof CASES)[number];

const SPANS = Number(process.argv[2] ?? 100_000);
/** Spans stored before the clock starts. */
const WARMUP_SPANS = 20_000;
const MAX_SPANS = 100_000;

/** Requests under way at once in the HTTP cases (a receiver serves many clients). */
const HTTP_IN_FLIGHT = 8;

/** One input unit (a request body or a datagram) → whether the receiver had it accepted. */
type Feed = (input: Buffer) => 'accepted' | 'busy' | 'failed' | Promise<'accepted' | 'busy' | 'failed'>;

/** The warm-up's inputs and the measured ones, all with distinct ids, and how many spans the measured ones hold. */
async function inputs(which: Case): Promise<{ warmup: Buffer[]; measured: Buffer[]; spans: number; warmupSpans: number }> {
  if (which === 'jaeger-compact') {
    const all = datagrams(Math.ceil((WARMUP_SPANS + SPANS) / SPANS_PER_DATAGRAM));
    const warmup = all.slice(0, WARMUP_SPANS / SPANS_PER_DATAGRAM);
    const measured = all.slice(warmup.length);
    return { warmup, measured, spans: measured.length * SPANS_PER_DATAGRAM, warmupSpans: warmup.length * SPANS_PER_DATAGRAM };
  }
  const groups = batches(await sdkSpans(WARMUP_SPANS + SPANS), 512);
  const bodies = which === 'otlp-json'
    ? groups.map((g) => Buffer.from(JsonTraceSerializer.serializeRequest(g)!))
    : which === 'otlp-proto'
      ? groups.map((g) => Buffer.from(ProtobufTraceSerializer.serializeRequest(g)!))
      : groups.map((g) => Buffer.from(JSON.stringify(g.map(zipkinJson))));
  const cut = Math.round(WARMUP_SPANS / 512);
  return {
    warmup: bodies.slice(0, cut), measured: bodies.slice(cut), spans: groups.slice(cut).reduce((n, g) => n + g.length, 0),
    warmupSpans: groups.slice(0, cut).reduce((n, g) => n + g.length, 0),
  };
}

function feeder(which: Case, queue: SpanDelivery): Feed {
  const consume = (spans: SpanChunk) => queue.consumeDurably(spans);
  switch (which) {
    case 'otlp-json':
    case 'otlp-proto':
      return (body) => {
        const out = decodeOtlpTraces(body, which === 'otlp-json' ? 'json' : 'protobuf', MAX_SPANS);
        if (!out.ok || out.translation.rejected > 0) throw new Error(`bench input did not decode: ${JSON.stringify(out).slice(0, 300)}`);
        return consume(out.translation.spans);
      };
    case 'zipkin-json':
      return (body) => {
        const out = decodeZipkin(body, 'v2-json', MAX_SPANS);
        if (!out.ok) throw new Error(`bench input did not decode: ${out.message}`);
        return consume(out.spans);
      };
    case 'jaeger-compact': {
      // The UDP handler counts a 'busy' as a drop; the bench sees it through the consumer and sends again.
      let last: 'accepted' | 'busy' = 'accepted';
      const handle = createDatagramHandler({
        protocol: 'compact', registry: createRegistry('bench', false), log: silentLogger, maxSpansPerBatch: MAX_SPANS,
        consumer: { consume: (spans) => (last = queue.consume(spans)) },
      });
      return (datagram) => {
        handle(datagram);
        return last;
      };
    }
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function runCase(which: Case): Promise<void> {
  const { warmup, measured, spans, warmupSpans } = await inputs(which);
  const bytes = measured.reduce((n, b) => n + b.length, 0);
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-traces-bench-'));
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  let stored = 0;
  const registry = createRegistry('bench', false);
  const queue = await SpanDelivery.open({
    storages: [{
      name: 'store',
      writer: {
        writeSpans: async (spans) => { await store.writeSpans(spans); stored += spans.length; },
        writeChunks: async (chunks) => { await store.writeChunks(chunks); for (const c of chunks) stored += chunkSize(c); },
        close: async () => {},
      },
    }],
    config: loadConfig({ SHIPWATCH_DATA_DIR: dir }, 'collector').collector, dataDir: dir, drainTimeoutMs: 60_000, log: silentLogger, registry,
  });
  const feed = feeder(which, queue);
  // A receiver handles one request (or a few datagrams) per turn of the event loop.
  const perTurn = which === 'jaeger-compact' ? 20 : 1;
  let retries = 0;
  const sendOne = async (input: Buffer): Promise<void> => {
    while ((await feed(input)) !== 'accepted') {
      retries++;
      await turn();
    }
  };
  const send = async (data: Buffer[]): Promise<void> => {
    if (which !== 'jaeger-compact') {
      let next = 0;
      const client = async (): Promise<void> => {
        for (let i = next++; i < data.length; i = next++) await sendOne(data[i]!);
      };
      await Promise.all(Array.from({ length: HTTP_IN_FLIGHT }, client));
      return;
    }
    for (let i = 0; i < data.length; i++) {
      while (feed(data[i]!) === 'busy') {
        retries++;
        await turn();
      }
      if (i % perTurn === perTurn - 1) await turn();
    }
  };
  const stored_ = async (n: number): Promise<void> => {
    while (stored < n) await new Promise((r) => setTimeout(r, 2));
  };
  try {
    const cold0 = process.cpuUsage();
    await send(warmup);
    await stored_(warmupSpans);
    const warmed = stored;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await send(measured);
    await stored_(warmed + spans);
    await queue.close();
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const wallS = (performance.now() - wall0) / 1000;
    const cold = process.cpuUsage(cold0);
    const coldS = (cold.user + cold.system) / 1e6;
    const rows = db.db.prepare('SELECT SUM(n) FROM spans').pluck().get() as number;
    if (stored - warmed !== spans || rows !== stored) throw new Error(`${which}: ${warmed} + ${spans} spans sent, ${stored} written, ${rows} in the store`);
    const dbBytes = statSync(join(dir, 'shipwatch.db')).size + statSync(join(dir, 'shipwatch.db-wal')).size;
    console.log(`${which.padEnd(15)} ${spans} spans stored in ${cpuS.toFixed(2)} CPU-s / ${wallS.toFixed(2)} s wall → ` +
      `${Math.round(spans / cpuS).toLocaleString('en')} spans per CPU-second (from a cold start, the ${warmed} spans of the warm-up included: ` +
      `${Math.round(rows / coldS).toLocaleString('en')}), ${Math.round(spans / wallS).toLocaleString('en')} spans/s, ` +
      `${(bytes / 2 ** 20 / cpuS).toFixed(1)} MiB/s of input; ${retries} busy retries; database ${Math.round(dbBytes / rows)} bytes/span; ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const only = process.argv[3] as Case | undefined;
  if (only !== undefined) {
    if (!CASES.includes(only)) throw new Error(`unknown case ${only}; one of ${CASES.join(', ')}`);
    return runCase(only);
  }
  for (const which of CASES) {
    const child = fork(fileURLToPath(import.meta.url), [String(SPANS), which], { execArgv: process.execArgv });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`case ${which} exited with ${code}`);
  }
}

await main();
