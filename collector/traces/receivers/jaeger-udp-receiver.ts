/**
 * Jaeger's agent ports: one UDP datagram is one `Agent.emitBatch` oneway call, in Thrift compact (6831) or binary
 * (6832, where jaeger-client for Node sends). Datagrams are up to 65,000 bytes (the clients' packet limit); the
 * socket takes anything UDP carries.
 *
 * Nothing is answered on UDP, so every outcome is counted: datagrams, spans handed on, datagrams that failed to
 * decode, spans dropped because storage was busy. Decode failures are also logged, at most one line per
 * `LOG_EVERY_MS` with the number suppressed, so a flood of garbage cannot flood the log.
 */
import dgram from 'node:dgram';
import type { Logger } from '../../../platform/log.js';
import type { SpanConsumer } from '../../../model/span.js';
import type { Registry } from '../../../platform/self-metrics.js';
import { JaegerCompactWalker } from '../../../model/jaeger-thrift/jaeger-compact-spans.js';
import { decodeAgentEmitBatch, type JaegerDecodeLimits, type ThriftProtocol } from '../../../model/jaeger-thrift/jaeger-thrift.js';
import { handOverSpans, traceCounters } from './trace-receiver-metrics.js';

export interface JaegerUdpReceiverOptions {
  listen: { host: string; port: number };
  protocol: ThriftProtocol;
  consumer: SpanConsumer;
  registry: Registry;
  log: Logger;
  maxSpansPerBatch: number;
  /** SO_RCVBUF; 0 or absent keeps the system default. */
  socketBufferBytes?: number;
}

export interface JaegerUdpReceiver {
  /** The bound port (the configured one, or the one the system chose for port 0). */
  port: number;
  close(): Promise<void>;
}

const LOG_EVERY_MS = 10_000;

export type DatagramHandler = (datagram: Buffer) => void;

/** The receive path without the socket: decode, count, hand on. Exported for the benchmark. */
export function createDatagramHandler(options: Omit<JaegerUdpReceiverOptions, 'listen' | 'socketBufferBytes'>): DatagramHandler {
  const { protocol, consumer, log } = options;
  const counters = traceCounters(options.registry, protocol === 'compact' ? 'jaeger-udp-compact' : 'jaeger-udp-binary');
  const limits: JaegerDecodeLimits = { maxSpans: options.maxSpansPerBatch };
  let lastLogMs = -Infinity;
  let suppressed = 0;

  const reportBadDatagram = (bytes: number, error: string): void => {
    const now = Date.now();
    if (now - lastLogMs < LOG_EVERY_MS) {
      suppressed++;
      return;
    }
    log.warn('undecodable Jaeger datagram dropped', { protocol, bytes, error, suppressedSinceLast: suppressed });
    lastLogMs = now;
    suppressed = 0;
  };

  // Compact datagrams are checked and handed on in their bytes (model/jaeger-thrift/jaeger-compact-spans.ts); binary ones,
  // a minority (jaeger-client for Node), are decoded.
  const walker = protocol === 'compact' ? new JaegerCompactWalker(limits) : undefined;
  return (datagram) => {
    counters.requests.inc();
    const result = walker !== undefined ? walker.walk(datagram) : decodeAgentEmitBatch(datagram, protocol, limits);
    if (!result.ok) {
      counters.decodeErrors.inc();
      reportBadDatagram(datagram.length, result.error);
      return;
    }
    // Busy or failed, UDP has no one to answer: the spans are dropped, and counted.
    handOverSpans(consumer, result.spans, counters, log, 'a Jaeger datagram (its spans are lost)');
  };
}

export async function startJaegerUdpReceiver(options: JaegerUdpReceiverOptions): Promise<JaegerUdpReceiver> {
  const { listen, log } = options;
  const handle = createDatagramHandler(options);
  const socket = dgram.createSocket({
    type: listen.host.includes(':') ? 'udp6' : 'udp4',
    ...(options.socketBufferBytes ? { recvBufferSize: options.socketBufferBytes } : {}),
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.unref();
      reject(new Error(`cannot listen on udp ${listen.host}:${listen.port}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.bind(listen.port, listen.host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  socket.on('error', (err) => log.error('Jaeger UDP socket error', { err, protocol: options.protocol }));
  socket.on('message', handle);

  let closed: Promise<void> | undefined;
  return {
    port: socket.address().port,
    close: () => (closed ??= new Promise<void>((resolve) => socket.close(() => resolve()))),
  };
}
