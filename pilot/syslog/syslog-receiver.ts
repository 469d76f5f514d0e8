/**
 * The syslog receiver (PILOT_SYSLOG_LISTEN): UDP and TCP on one port, or TCP with TLS alone (RFC 5425) when a
 * certificate and key are given. Frames (syslog-framing.ts) become records (syslog-record.ts) and go into the log
 * pipeline with the container logs, to the same outputs.
 *
 * When the outputs are behind (the pipeline's PILOT_MAX_IN_FLIGHT is used):
 * - TCP: the connection is not read until its batch is in the pipeline (back-pressure: the sender's socket fills,
 *   as a syslog server's does);
 * - UDP: nobody can be told to wait, so a datagram that finds the pipeline full is dropped, and counted.
 *
 * Syslog has no positions: a record is acknowledged once every output holds it; what a crash can lose is what was
 * received and not yet in an output (the README's "Syslog").
 *
 * A client that sends garbage, half a frame, or resets its connection costs that connection only: what it sent is
 * kept (raw, marked), the error counted.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import type { Counter } from 'prom-client';
import type { LogEvent } from '../../model/log-record.js';
import type { Logger } from '../../platform/log.js';
import { counter, gauge, type Registry } from '../../platform/self-metrics.js';
import { datagramFrame, SyslogStreamFramer, type SyslogFrame } from './syslog-framing.js';
import type { SyslogRecordEncoder, SyslogTransport } from './syslog-record.js';

/** The part of the log pipeline a receiver uses. */
export interface SyslogPipeline {
  hasRoomFor(bytes: number): boolean;
  ship(events: LogEvent[], bytes: number, lines: number, kind: 'syslog', ack: undefined): Promise<void>;
}

export interface SyslogReceiverOptions {
  listen: { host: string; port: number };
  /** PEM certificate chain and key: TCP speaks TLS and no UDP socket is opened. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** Longest frame kept; a longer one is cut there (PILOT_MAX_LINE_BYTES). */
  maxFrameBytes: number;
  /** SO_RCVBUF of the UDP socket; 0 keeps the system default. */
  udpSocketBufferBytes: number;
  pipeline: SyslogPipeline;
  encoder: SyslogRecordEncoder;
  registry: Registry;
  log: Logger;
}

export interface SyslogReceiver {
  /** The bound port, the same for UDP and TCP (the one the system chose for port 0). */
  readonly port: number;
  readonly udp: boolean;
  /**
   * Stops taking messages; when it resolves, everything received (a half frame of a connection it cut included)
   * has been handed to the pipeline, whose drain the caller waits for. Idempotent.
   */
  close(): Promise<void>;
}

/** A UDP batch is shipped at the end of the event loop's turn that read it, or at this many records. */
const UDP_BATCH_RECORDS = 1000;
/** Binding UDP and TCP to one port the system picks (port 0) is tried this many times. */
const SAME_PORT_TRIES = 20;
const LOG_EVERY_MS = 10_000;

interface Counters {
  messages: Counter<'transport'>;
  errors: Counter<'code'>;
  truncated: Counter<'transport'>;
  dropped: Counter<'reason'>;
  connections: Counter<'transport'>;
  connectionErrors: Counter<'kind'>;
}

function counters(registry: Registry): Counters {
  return {
    messages: counter(registry, { name: 'shipwatch_pilot_syslog_messages_total', help: 'Syslog messages received, malformed ones included (each becomes a record, but UDP datagrams dropped when the pipeline was full).', labelNames: ['transport'] as const }),
    errors: counter(registry, { name: 'shipwatch_pilot_syslog_parse_errors_total', help: 'Syslog messages kept raw or marked, by what was wrong (parse_error).', labelNames: ['code'] as const }),
    truncated: counter(registry, { name: 'shipwatch_pilot_syslog_truncated_total', help: 'Syslog messages cut at PILOT_MAX_LINE_BYTES.', labelNames: ['transport'] as const }),
    dropped: counter(registry, { name: 'shipwatch_pilot_syslog_dropped_total', help: 'Syslog datagrams dropped: the log pipeline was full (busy).', labelNames: ['reason'] as const }),
    connections: counter(registry, { name: 'shipwatch_pilot_syslog_connections_total', help: 'Syslog TCP connections accepted.', labelNames: ['transport'] as const }),
    connectionErrors: counter(registry, { name: 'shipwatch_pilot_syslog_connection_errors_total', help: 'Syslog connections that failed: reset or other socket error (socket), TLS handshake (tls).', labelNames: ['kind'] as const }),
  };
}

export async function startSyslogReceiver(options: SyslogReceiverOptions): Promise<SyslogReceiver> {
  const { listen, log, pipeline, encoder, maxFrameBytes } = options;
  const c = counters(options.registry);
  const open = gauge(options.registry, { name: 'shipwatch_pilot_syslog_open_connections', help: 'Syslog TCP connections open now.' });
  const transport: SyslogTransport = options.tls ? 'tls' : 'tcp';
  let lastWarnMs = -Infinity;
  let suppressed = 0;
  const warn = (msg: string, fields: Record<string, unknown>): void => {
    const now = Date.now();
    if (now - lastWarnMs < LOG_EVERY_MS) { suppressed++; return; }
    log.warn(msg, { ...fields, suppressedSinceLast: suppressed });
    lastWarnMs = now;
    suppressed = 0;
  };

  /** Frames → records, counting what went wrong; `peers` is one address for all, or one per frame. */
  const toEvents = (frames: SyslogFrame[], via: SyslogTransport, peers: string | string[]): { events: LogEvent[]; bytes: number } => {
    const now = Date.now();
    const events: LogEvent[] = [];
    let bytes = 0;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      const { event, errors } = encoder.encode(f, via, typeof peers === 'string' ? peers : peers[i]!, now);
      events.push(event);
      bytes += f.bytes.length;
      for (const code of errors) c.errors.inc({ code });
      if (f.truncated) c.truncated.inc({ transport: via });
    }
    return { events, bytes };
  };

  // ---- TCP (or TLS) ----
  const sockets = new Set<net.Socket>();

  const onConnection = (socket: net.Socket): void => {
    c.connections.inc({ transport });
    open.inc();
    sockets.add(socket);
    const peer = socket.remoteAddress ?? '';
    const framer = new SyslogStreamFramer(maxFrameBytes);
    // Batches of one connection go into the pipeline in order: each waits for the one before.
    let chain: Promise<void> = Promise.resolve();
    const send = (frames: SyslogFrame[]): void => {
      if (frames.length === 0) return;
      c.messages.inc({ transport }, frames.length);
      const { events, bytes } = toEvents(frames, transport, peer);
      // Back-pressure: nothing more is read from this sender until its batch has its room in the pipeline (at
      // once while there is room; while the outputs are behind, the sender's socket fills up and it waits).
      socket.pause();
      chain = chain.then(() => pipeline.ship(events, bytes, events.length, 'syslog', undefined)).then(() => {
        if (!socket.destroyed) socket.resume();
      });
    };
    socket.on('data', (chunk: Buffer) => send(framer.push(chunk)));
    socket.on('error', (err) => {
      c.connectionErrors.inc({ kind: 'socket' });
      warn('syslog connection failed', { peer, reason: err.message });
    });
    socket.once('close', () => {
      // A frame the sender did not finish is kept, marked, with what came of it.
      send(framer.end());
      sockets.delete(socket);
      open.dec();
    });
  };

  // TLS 1.2 at most: in TLS 1.3 the server sends session tickets after the handshake, which Docker's syslog driver
  // (Go) never reads, so its close of the connection at a container's end is a reset, and the kernel throws away
  // what this side had not read yet: 9,563 of 10,000 lines arrived from a container's burst with TLS 1.3, all
  // 10,000 with TLS 1.2 (test/pilot/syslog/syslog-docker.test.ts). Node cannot turn TLS 1.3's tickets off.
  const server = options.tls
    ? tls.createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }, onConnection)
    : net.createServer(onConnection);
  server.on('tlsClientError', (err: Error) => {
    c.connectionErrors.inc({ kind: 'tls' });
    warn('syslog TLS handshake failed', { reason: err.message });
  });

  // ---- UDP ----
  let udpBatch: SyslogFrame[] = [];
  let udpPeers: string[] = [];
  let udpBatchBytes = 0;
  /** Bytes of UDP batches handed to the pipeline and still waiting for room (they count against it too). */
  let udpWaitingBytes = 0;
  let udpFlushScheduled = false;
  const flushUdp = (): void => {
    udpFlushScheduled = false;
    if (udpBatch.length === 0) return;
    const frames = udpBatch;
    const peers = udpPeers;
    udpBatch = [];
    udpPeers = [];
    udpBatchBytes = 0;
    const { events, bytes } = toEvents(frames, 'udp', peers);
    udpWaitingBytes += bytes;
    void pipeline.ship(events, bytes, events.length, 'syslog', undefined).then(() => { udpWaitingBytes -= bytes; });
  };
  const onDatagram = (datagram: Buffer, rinfo: dgram.RemoteInfo): void => {
    c.messages.inc({ transport: 'udp' });
    const frame = datagramFrame(datagram, maxFrameBytes);
    if (frame.bytes.length === 0 && !frame.truncated) return;
    if (!pipeline.hasRoomFor(udpWaitingBytes + udpBatchBytes + frame.bytes.length)) {
      c.dropped.inc({ reason: 'busy' });
      return;
    }
    // The datagram's buffer is the socket's own for this message only: kept as it is.
    udpBatch.push(frame);
    udpPeers.push(rinfo.address);
    udpBatchBytes += frame.bytes.length;
    if (udpBatch.length >= UDP_BATCH_RECORDS) flushUdp();
    else if (!udpFlushScheduled) {
      udpFlushScheduled = true;
      setImmediate(flushUdp);
    }
  };

  const bound = await bindBoth(server, options.tls ? undefined : options.udpSocketBufferBytes, listen);
  const udp = bound.udp;
  udp?.on('message', onDatagram);
  udp?.on('error', (err) => log.error('syslog UDP socket error', { reason: err.message }));

  let closing: Promise<void> | undefined;
  return {
    port: bound.port,
    udp: udp !== undefined,
    close: () => (closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
      for (const s of sockets) s.destroy();
      // Resolves once every connection closed, each having handed over what it held.
      await serverClosed;
      flushUdp();
    })()),
  };
}

type Listener = net.Server | tls.Server;

function listenTcp(server: Listener, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function bindUdp(host: string, port: number, bufferBytes: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ...(bufferBytes > 0 ? { recvBufferSize: bufferBytes } : {}) });
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/** TCP, then UDP on the same port; for port 0, tried again while the port the system chose is taken for UDP. */
async function bindBoth(server: Listener, udpBufferBytes: number | undefined, listen: { host: string; port: number }): Promise<{ port: number; udp?: dgram.Socket }> {
  for (let attempt = 1; ; attempt++) {
    let port: number;
    try {
      port = await listenTcp(server, listen.host, listen.port);
    } catch (err) {
      throw new Error(`cannot listen on tcp ${listen.host}:${listen.port}`, { cause: err });
    }
    if (udpBufferBytes === undefined) return { port };
    try {
      return { port, udp: await bindUdp(listen.host, port, udpBufferBytes) };
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (listen.port !== 0 || attempt >= SAME_PORT_TRIES || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw new Error(`cannot listen on udp ${listen.host}:${port}`, { cause: err });
      }
    }
  }
}
