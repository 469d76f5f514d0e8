/**
 * The gRPC trace receivers all the way into the embedded store, beside OTLP/HTTP protobuf in the same run: real
 * servers (grpc-js for OTLP/gRPC `TraceService/Export` and Jaeger `CollectorService/PostSpans`, the OTLP/HTTP
 * receiver for `POST /v1/traces`) in a collector process of their own, handing spans to the collector's span
 * delivery (the durable queue on disk, default sizes) and `StoreSpanStorage` in a fresh database; the clients run in
 * another process, so the figure is the collector process's CPU alone (HTTP/2 or HTTP/1.1, gRPC framing, decode,
 * translate, queue, SQLite, V8's threads).
 *
 * - otlp-grpc: ExportTraceServiceRequests of 512 spans made by the OpenTelemetry SDK's protobuf serializer, sent by
 *   a grpc-js client;
 * - jaeger-grpc: PostSpansRequests of the same spans as a Jaeger SDK would map them (tags, logs, a CHILD_OF
 *   reference, the resource as the process), encoded with Jaeger's api_v2 protos (fetched with `go mod download`,
 *   skipped without Go) and sent by a grpc-js client;
 * - otlp-http-proto: the same bodies as the OTLP/gRPC case over `POST /v1/traces` (fetch, keep-alive).
 *
 * `IN_FLIGHT` requests at a time; an UNAVAILABLE / 503 (storage busy) is sent again after 1 ms. A warm-up of
 * `WARMUP_SPANS` goes the same way first and is stored before the clock starts (see traces-to-store.bench.ts for
 * why). Every case runs `ROUNDS` times, the cases interleaved (a, b, c, a, b, c, ...), each run in fresh processes;
 * the medians and the min–max of the rounds are printed. The run fails when a span accepted is not in the store.
 *
 * With `discard`, the span delivery's writer counts the spans and drops them (no store): what the receivers and the
 * durable queue cost on their own.
 *
 * `node --import tsx bench/grpc-ingest.bench.ts [spans-per-run] [rounds] [discard]`
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { MethodDefinition } from '@grpc/proto-loader';
import { SpanDelivery } from '../collector/traces/span-delivery.js';
import { startGrpcServer } from '../collector/traces/receivers/grpc-server.js';
import { OTLP_TRACE_SERVICE, otlpGrpcTraceService } from '../collector/traces/receivers/otlp-grpc-receiver.js';
import { JAEGER_COLLECTOR_SERVICE, jaegerGrpcCollectorService } from '../collector/traces/receivers/jaeger-grpc-receiver.js';
import { startOtlpHttpReceiver } from '../collector/traces/receivers/otlp-http-receiver.js';
import { loadConfig } from '../platform/config/load-config.js';
import { silentLogger } from '../platform/log.js';
import { chunkSize } from '../model/span.js';
import { createRegistry } from '../platform/self-metrics.js';
import { StoreDatabase } from '../storage/sqlite/database.js';
import { StoreSpanStorage } from '../storage/sqlite/span-store.js';
import { loadJaegerApiV2 } from '../test/collector/traces/support/jaeger-api-v2-protos.js';
import { batches, sdkSpans } from './support/sdk-spans.js';

const CASES = ['otlp-grpc', 'jaeger-grpc', 'otlp-http-proto'] as const;
type Case = (typeof CASES)[number];

const [mode, arg1, arg2] = process.argv.slice(2);
const child = mode === '--serve' || mode === '--client';
/** The processes of a run get the orchestrator's count in the environment. */
const SPANS = Number(child ? process.env.BENCH_SPANS : (mode ?? 100_000));
const ROUNDS = Number(child ? 1 : (arg1 ?? 3));
const DISCARD = (child ? process.env.BENCH_DISCARD : arg2) === 'discard';
const WARMUP_SPANS = 20_000;
const PER_REQUEST = 512;
const IN_FLIGHT = 8;
const MAX_MESSAGE = 64 * 1024 * 1024;

type ToServer = { mark: number } | { finish: number };
type FromServer = { port: number } | { marked: true } | { cpuS: number; wallS: number; stored: number; rows: number; rssMiB: number };
type FromClient = { warm: true } | { done: true; retries: number; bytes: number };

// ---- the collector process ----

async function serve(which: Case): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-grpc-bench-'));
  const db = new StoreDatabase({ dataDir: dir, retentionMs: 0, log: silentLogger });
  const store = new StoreSpanStorage(db);
  let stored = 0;
  const registry = createRegistry('bench', false);
  const queue = await SpanDelivery.open({
    storages: [{
      name: 'store',
      writer: {
        writeSpans: async (spans) => {
          if (!DISCARD) await store.writeSpans(spans);
          stored += spans.length;
        },
        writeChunks: async (chunks) => {
          if (!DISCARD) await store.writeChunks(chunks);
          for (const c of chunks) stored += chunkSize(c);
        },
        close: async () => {},
      },
    }],
    config: loadConfig({ SHIPWATCH_DATA_DIR: dir }, 'collector').collector, dataDir: dir, drainTimeoutMs: 60_000, log: silentLogger, registry,
  });
  const listen = { host: '127.0.0.1', port: 0 };
  const common = { consumer: queue, registry, log: silentLogger, retryAfterMs: 1000 };
  const server = which === 'otlp-http-proto'
    ? await startOtlpHttpReceiver({ ...common, listen, maxBodyBytes: MAX_MESSAGE, maxSpansPerRequest: 100_000, authToken: '' })
    : await startGrpcServer({
      listen, maxMessageBytes: MAX_MESSAGE, authToken: '', log: silentLogger,
      services: [which === 'otlp-grpc'
        ? otlpGrpcTraceService({ ...common, maxSpansPerRequest: 100_000 })
        : jaegerGrpcCollectorService({ ...common, maxSpansPerBatch: 100_000 })],
    });
  const until = async (n: number): Promise<void> => {
    while (stored < n) await new Promise((r) => setTimeout(r, 2));
  };
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  let marked = 0;
  process.on('message', (m: ToServer) => {
    void (async () => {
      if ('mark' in m) {
        await until(m.mark);
        marked = stored;
        cpu0 = process.cpuUsage();
        wall0 = performance.now();
        process.send!({ marked: true } satisfies FromServer);
        return;
      }
      await until(marked + m.finish);
      await queue.close();
      const cpu = process.cpuUsage(cpu0);
      const wallS = (performance.now() - wall0) / 1000;
      const rows = (db.db.prepare('SELECT SUM(n) FROM spans').pluck().get() as number | null) ?? 0;
      const rssMiB = process.resourceUsage().maxRSS / 1024;
      await server.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
      process.send!({ cpuS: (cpu.user + cpu.system) / 1e6, wallS, stored: stored - marked, rows, rssMiB } satisfies FromServer, () => process.exit(0));
    })();
  });
  process.send!({ port: server.port } satisfies FromServer);
}

// ---- the client process ----

const hexBytes = (hex: string): Buffer => Buffer.from(hex, 'hex');
const micros = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000n + BigInt(Math.floor(t[1] / 1000));
const pbTime = (us: bigint) => ({ seconds: String(us / 1_000_000n), nanos: Number(us % 1_000_000n) * 1000 });

function jaegerTag(key: string, v: unknown): Record<string, unknown> {
  if (typeof v === 'boolean') return { key, v_type: 'BOOL', v_bool: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { key, v_type: 'INT64', v_int64: String(v) } : { key, v_type: 'FLOAT64', v_float64: v };
  return { key, v_type: 'STRING', v_str: String(v) };
}

const KIND = ['internal', 'server', 'client', 'producer', 'consumer'];

/** A ReadableSpan as a Jaeger SDK would send it in api_v2 protobuf. */
function jaegerSpan(s: ReadableSpan): Record<string, unknown> {
  const ctx = s.spanContext();
  const traceId = hexBytes(ctx.traceId);
  const tags = Object.entries(s.attributes).map(([k, v]) => jaegerTag(k, v));
  tags.push(jaegerTag('span.kind', KIND[s.kind]!));
  if (s.status.code === 2) tags.push(jaegerTag('error', true));
  const start = micros(s.startTime);
  const parent = s.parentSpanContext?.spanId;
  return {
    trace_id: traceId, span_id: hexBytes(ctx.spanId), operation_name: s.name, flags: 1,
    references: parent === undefined ? [] : [{ trace_id: traceId, span_id: hexBytes(parent), ref_type: 'CHILD_OF' }],
    start_time: pbTime(start), duration: pbTime(micros(s.endTime) - start), tags,
    logs: s.events.map((e) => ({ timestamp: pbTime(micros(e.time)), fields: [jaegerTag('event', e.name), ...Object.entries(e.attributes ?? {}).map(([k, v]) => jaegerTag(k, v))] })),
  };
}

async function messages(which: Case): Promise<{ warmup: Buffer[]; measured: Buffer[] } | { skip: string }> {
  const groups = batches(await sdkSpans(WARMUP_SPANS + SPANS), PER_REQUEST);
  let encode: (g: ReadableSpan[]) => Buffer;
  if (which === 'jaeger-grpc') {
    const api = await loadJaegerApiV2();
    if ('skip' in api) return api;
    const post = (api.definition[JAEGER_COLLECTOR_SERVICE] as Record<string, MethodDefinition<object, object>>).PostSpans!;
    encode = (g) => {
      const resource = g[0]!.resource.attributes;
      const process = { service_name: String(resource['service.name']), tags: Object.entries(resource).filter(([k]) => k !== 'service.name').map(([k, v]) => jaegerTag(k, v)) };
      return post.requestSerialize({ batch: { spans: g.map(jaegerSpan), process } });
    };
  } else {
    encode = (g) => Buffer.from(ProtobufTraceSerializer.serializeRequest(g)!);
  }
  const all = groups.map(encode);
  const cut = Math.round(WARMUP_SPANS / PER_REQUEST);
  return { warmup: all.slice(0, cut), measured: all.slice(cut) };
}

type Send = (message: Buffer) => Promise<'ok' | 'busy'>;

function sender(which: Case, port: number): { send: Send; close(): void } {
  if (which === 'otlp-http-proto') {
    const url = `http://127.0.0.1:${port}/v1/traces`;
    return {
      send: async (body) => {
        const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
        await res.arrayBuffer();
        if (res.status === 503) return 'busy';
        if (res.status !== 200) throw new Error(`POST /v1/traces answered ${res.status}`);
        return 'ok';
      },
      close: () => {},
    };
  }
  const identity = (b: Buffer): Buffer => b;
  const path = which === 'otlp-grpc' ? `/${OTLP_TRACE_SERVICE}/Export` : `/${JAEGER_COLLECTOR_SERVICE}/PostSpans`;
  const Client = grpc.makeGenericClientConstructor({
    Call: { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  }, 'Bench');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': MAX_MESSAGE });
  const call = (client as unknown as { Call: (m: Buffer, cb: (err: grpc.ServiceError | null) => void) => void }).Call.bind(client);
  return {
    send: (message) => new Promise((resolve, reject) => {
      call(message, (err) => {
        if (err === null) resolve('ok');
        else if (err.code === grpc.status.UNAVAILABLE) resolve('busy');
        else reject(err);
      });
    }),
    close: () => client.close(),
  };
}

async function sendAll(send: Send, data: Buffer[]): Promise<number> {
  let next = 0;
  let retries = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < data.length; i = next++) {
      while ((await send(data[i]!)) === 'busy') {
        retries++;
        await new Promise((r) => setTimeout(r, 1));
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return retries;
}

async function client(which: Case, port: number): Promise<void> {
  const input = await messages(which);
  if ('skip' in input) throw new Error(input.skip);
  const { send, close } = sender(which, port);
  await sendAll(send, input.warmup);
  process.send!({ warm: true } satisfies FromClient);
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const retries = await sendAll(send, input.measured);
  close();
  process.send!({ done: true, retries, bytes: input.measured.reduce((n, b) => n + b.length, 0) } satisfies FromClient, () => process.exit(0));
}

// ---- the orchestrator ----

function next<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`child exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as T);
    });
  });
}

const self = fileURLToPath(import.meta.url);
const warmupSpans = Math.round(WARMUP_SPANS / PER_REQUEST) * PER_REQUEST;

interface RunResult { perCpuS: number; perS: number; cpuS: number; retries: number; rssMiB: number; mibPerCpuS: number }

async function run(which: Case): Promise<RunResult> {
  const env = { ...process.env, BENCH_SPANS: String(SPANS), BENCH_DISCARD: DISCARD ? 'discard' : '' };
  const server = fork(self, ['--serve', which], { execArgv: process.execArgv, env });
  const { port } = await next<{ port: number }>(server);
  const client_ = fork(self, ['--client', which, String(port)], { execArgv: process.execArgv, env });
  await next<FromClient>(client_);
  server.send({ mark: warmupSpans } satisfies ToServer);
  await next<FromServer>(server);
  client_.send('go');
  const done = await next<Extract<FromClient, { done: true }>>(client_);
  const spans = WARMUP_SPANS + SPANS - warmupSpans;
  server.send({ finish: spans } satisfies ToServer);
  const r = await next<Extract<FromServer, { cpuS: number }>>(server);
  if (r.stored !== spans || (!DISCARD && r.rows !== warmupSpans + spans)) throw new Error(`${which}: ${spans} spans sent, ${r.stored} stored, ${r.rows} rows in the store`);
  return { perCpuS: spans / r.cpuS, perS: spans / r.wallS, cpuS: r.cpuS, retries: done.retries, rssMiB: r.rssMiB, mibPerCpuS: done.bytes / 2 ** 20 / r.cpuS };
}

async function main(): Promise<void> {
  const results = new Map<Case, RunResult[]>(CASES.map((c) => [c, []]));
  const api = await loadJaegerApiV2();
  const cases = CASES.filter((c) => c !== 'jaeger-grpc' || !('skip' in api));
  if ('skip' in api) console.log(`jaeger-grpc skipped: ${api.skip}`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const which of cases) {
      const r = await run(which);
      results.get(which)!.push(r);
      console.log(`round ${round} ${which.padEnd(16)} ${Math.round(r.perCpuS).toLocaleString('en')} spans per CPU-second (${r.cpuS.toFixed(2)} CPU-s), ` +
        `${Math.round(r.perS).toLocaleString('en')} spans/s wall, ${r.mibPerCpuS.toFixed(1)} MiB/CPU-s of messages, ${r.retries} busy retries, collector peak RSS ${r.rssMiB.toFixed(0)} MiB`);
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const k = (n: number): string => `${(n / 1000).toFixed(1)}k`;
  const into = DISCARD ? 'into a writer that discards them (no store)' : 'into the embedded store';
  console.log(`\n${SPANS} spans per run ${into}, ${ROUNDS} rounds interleaved; collector process CPU only (clients in another process)`);
  for (const which of cases) {
    const xs = results.get(which)!.map((r) => r.perCpuS);
    console.log(`${which.padEnd(16)} median ${k(median(xs))} spans per CPU-second (min–max ${k(Math.min(...xs))}–${k(Math.max(...xs))})`);
  }
}

if (mode === '--serve') await serve(arg1 as Case);
else if (mode === '--client') {
  await client(arg1 as Case, Number(arg2));
} else await main();
