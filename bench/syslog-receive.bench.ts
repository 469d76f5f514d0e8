/**
 * The pilot's syslog path: messages as Docker's syslog driver writes them (RFC 3164 Unix format, and RFC 5424 with
 * a structured data element, about 120 bytes each).
 *
 * 1. encode: newline-framed bytes through the framer and the record encoder, no socket.
 * 2. tcp: the same bytes sent over loopback to a real receiver, into the log pipeline with an output that counts.
 *
 * Prints records per CPU-second of this process and MiB/s of syslog bytes, and peak RSS.
 * `node --import tsx bench/syslog-receive.bench.ts [seconds-per-phase]`
 */
import net from 'node:net';
import type { LogEvent, LogSink } from '../model/log-record.js';
import { LogPipeline } from '../pilot/log-pipeline.js';
import { SyslogStreamFramer } from '../pilot/syslog/syslog-framing.js';
import { startSyslogReceiver } from '../pilot/syslog/syslog-receiver.js';
import { SyslogRecordEncoder } from '../pilot/syslog/syslog-record.js';
import { silentLogger } from '../platform/log.js';
import { createRegistry } from '../platform/self-metrics.js';

const SECONDS = Number(process.argv[2] ?? 3);

function stream(lines: number): Buffer {
  let out = '';
  for (let i = 0; i < lines; i++) {
    out += i % 2 === 0
      ? `<30>Dec  7 15:40:24 shop-web-7f3a[812]: 10.0.0.${i % 250} - - "GET /products/${i} HTTP/1.1" 200 5123 "-" "curl/8.5"\n`
      : `<30>1 2026-12-07T15:40:24.123456Z node-1 shop-web 812 shop-web [meta@1 seq="${i}"] request ${i} served in 12 ms\n`;
  }
  return Buffer.from(out);
}

const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

function report(name: string, records: number, bytes: number, cpu: number): void {
  const rss = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${name.padEnd(8)} ${Math.round(records / cpu).toLocaleString('en')} records/CPU-s  ${(bytes / 1024 / 1024 / cpu).toFixed(1)} MiB/CPU-s  peak RSS ${rss.toFixed(0)} MiB\n`);
}

function encodePhase(data: Buffer): void {
  const encoder = new SyslogRecordEncoder({ target: 'syslog', hostName: 'node-1' });
  const framer = new SyslogStreamFramer(1 << 20);
  let records = 0;
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  while (performance.now() - wall0 < SECONDS * 1000) {
    for (let at = 0; at < data.length; at += 65536) {
      const now = Date.now();
      for (const f of framer.push(data.subarray(at, at + 65536))) {
        encoder.encode(f, 'tcp', '127.0.0.1', now);
        records++;
      }
    }
    bytes += data.length;
  }
  report('encode', records, bytes, cpuSeconds(cpu0));
}

class CountingSink implements LogSink {
  readonly name = 'count';
  records = 0;
  async write(events: LogEvent[]): Promise<void> {
    this.records += events.length;
  }
  async close(): Promise<void> {}
}

async function tcpPhase(data: Buffer, linesPerCopy: number): Promise<void> {
  const sink = new CountingSink();
  const registry = createRegistry('bench', false);
  const pipeline = new LogPipeline({ sinks: [sink], maxInFlightBytes: 16 << 20, maxLineBytes: 1 << 20, registry, log: silentLogger });
  const receiver = await startSyslogReceiver({
    listen: { host: '127.0.0.1', port: 0 }, maxFrameBytes: 1 << 20, udpSocketBufferBytes: 0, pipeline,
    encoder: new SyslogRecordEncoder({ target: 'syslog', hostName: 'node-1' }), registry, log: silentLogger,
  });
  const socket = net.connect(receiver.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let copies = 0;
  while (performance.now() - wall0 < SECONDS * 1000) {
    copies++;
    if (!socket.write(data)) await new Promise((r) => socket.once('drain', r));
  }
  while (sink.records < copies * linesPerCopy) await new Promise((r) => setTimeout(r, 5));
  // The sender shares this process: its CPU is counted too, so this understates the receiver alone.
  report('tcp', sink.records, copies * data.length, cpuSeconds(cpu0));
  socket.end();
  await receiver.close();
}

const LINES = 10_000;
const data = stream(LINES);
encodePhase(data);
await tcpPhase(data, LINES);
