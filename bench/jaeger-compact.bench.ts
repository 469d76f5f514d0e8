/**
 * The Jaeger agent path (port 6831): realistic compact `emitBatch` datagrams — 10 spans each, 8 tags of mixed
 * types, 2 logs, a reference, a process with 4 tags (≈ 3.6 KB) — checked and handed to a span consumer
 * still in their bytes (model/jaeger-thrift/jaeger-compact-spans.ts), as the receiver does.
 *
 * 1. handler: the receive path without the socket (`createDatagramHandler`) into a consumer that keeps a count.
 * 2. queue: the same into the collector's span delivery (its durable queue on disk, in a temporary directory) with a
 *    writer that discards: the queue's overhead, datagrams framed, written, read back and walked again.
 * 3. socket: datagrams sent from a child process over loopback to a real receiver; spans per CPU-second of this
 *    (receiving) process only, and how many datagrams the kernel delivered.
 *
 * Prints spans/s per CPU-second, MiB/s of datagram bytes, and peak RSS.
 * `node --import tsx bench/jaeger-compact.bench.ts [seconds-per-phase]`
 */
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanDelivery } from '../collector/traces/span-delivery.js';
import { loadConfig } from '../platform/config/load-config.js';
import { createDatagramHandler, startJaegerUdpReceiver } from '../collector/traces/receivers/jaeger-udp-receiver.js';
import { silentLogger } from '../platform/log.js';
import { chunkSize, type SpanChunk, type SpanConsumer } from '../model/span.js';
import { createRegistry } from '../platform/self-metrics.js';
import { SPANS_PER_DATAGRAM, datagrams } from './support/jaeger-datagrams.js';

const SECONDS = Number(process.argv[2] ?? 3);

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

const mib = (bytes: number): number => bytes / 1024 / 1024;

class CountingConsumer implements SpanConsumer {
  spans = 0;
  consume(spans: SpanChunk): 'accepted' {
    this.spans += chunkSize(spans);
    return 'accepted';
  }
}

async function runHandler(name: string, consumer: SpanConsumer, count: () => number, data: Buffer[]): Promise<void> {
  const handle = createDatagramHandler({ protocol: 'compact', consumer, registry: createRegistry('bench', false), log: silentLogger, maxSpansPerBatch: 10_000 });
  for (let i = 0; i < 2000; i++) handle(data[i % data.length]!); // warm-up
  const start = count();
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let i = 0;
  while (performance.now() - wall0 < SECONDS * 1000) {
    for (let k = 0; k < 500; k++, i++) {
      const d = data[i % data.length]!;
      bytes += d.length;
      handle(d);
    }
    // Yield as a socket's event loop would, so asynchronous consumers (the queue's writes) run.
    await new Promise((r) => setImmediate(r));
  }
  const cpu = cpuSeconds(cpu0);
  const spans = count() - start;
  console.log(`${name}: ${spans} spans in ${cpu.toFixed(2)} CPU-s → ${Math.round(spans / cpu).toLocaleString('en')} spans per CPU-second, ` +
    `${(mib(bytes) / cpu).toFixed(1)} MiB/s of datagrams`);
}

async function runSocket(): Promise<void> {
  const consumer = new CountingConsumer();
  const registry = createRegistry('bench', false);
  const receiver = await startJaegerUdpReceiver({
    listen: { host: '127.0.0.1', port: 0 }, protocol: 'compact', consumer, registry, log: silentLogger, maxSpansPerBatch: 10_000,
    socketBufferBytes: 8 * 1024 * 1024,
  });
  const total = 20_000;
  const child = fork(fileURLToPath(import.meta.url), ['--sender', String(receiver.port), String(total)], { execArgv: process.execArgv });
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise((r) => setTimeout(r, 200)); // let the last datagrams drain
  const cpu = cpuSeconds(cpu0);
  const wall = (performance.now() - wall0) / 1000;
  await receiver.close();
  console.log(`socket: ${consumer.spans / SPANS_PER_DATAGRAM} of ${total} datagrams delivered by the kernel in ${wall.toFixed(2)} s; ` +
    `${consumer.spans} spans in ${cpu.toFixed(2)} CPU-s of the receiver → ${Math.round(consumer.spans / cpu).toLocaleString('en')} spans per CPU-second`);
}

async function sender(port: number, total: number): Promise<void> {
  const data = datagrams(500);
  const socket = dgram.createSocket('udp4');
  // Paced in bursts of 20 (≤ 20k datagrams/s): what is measured is the receiver, not the kernel's buffer.
  for (let i = 0; i < total; i++) {
    await new Promise<void>((resolve, reject) => socket.send(data[i % data.length]!, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1));
  }
  socket.close();
}

async function main(): Promise<void> {
  if (process.argv[2] === '--sender') return sender(Number(process.argv[3]), Number(process.argv[4]));
  const data = datagrams(1000);
  const avg = data.reduce((n, d) => n + d.length, 0) / data.length;
  console.log(`Jaeger compact emitBatch: ${data.length} distinct datagrams of ${SPANS_PER_DATAGRAM} spans, ${Math.round(avg)} bytes on average`);

  const counting = new CountingConsumer();
  await runHandler('handler → counting consumer', counting, () => counting.spans, data);

  const registry = createRegistry('bench', false);
  let written = 0;
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-bench-'));
  const config = loadConfig({ SHIPWATCH_DATA_DIR: dir, COLLECTOR_SPAN_QUEUE: '1000000', COLLECTOR_SPAN_FLUSH_INTERVAL: '100ms' }, 'collector');
  const delivery = await SpanDelivery.open({
    storages: [{ name: 'discard', writer: { writeSpans: async (s) => { written += s.length; }, writeChunks: async (c) => { for (const x of c) written += chunkSize(x); }, close: async () => {} } }],
    config: config.collector, dataDir: dir, drainTimeoutMs: 60_000, log: silentLogger, registry,
  });
  // Count what the queue accepted (it answers 'busy' when full).
  let accepted = 0;
  const countingQueue: SpanConsumer = { consume: (s) => { const r = delivery.consume(s); if (r === 'accepted') accepted += chunkSize(s); return r; } };
  await runHandler('handler → span delivery (durable queue, discarding writer)', countingQueue, () => accepted, data);
  await delivery.close();
  rmSync(dir, { recursive: true, force: true });

  await runSocket();
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (written by the queue: ${written} spans)`);
}

await main();
