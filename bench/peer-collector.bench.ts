/**
 * Shipwatch's collector beside Jaeger 2.x's, in one run: the same spans, sent the same way by this process to each
 * program running in a process of its own, each writing into the same kind of storage — the embedded store beside
 * Jaeger on Badger, or (`--storage elasticsearch`) the same Elasticsearch with each its own index prefix. The figure
 * is spans per CPU-second of the program (every thread, read from /proc: bench/support/peer-process.ts) from the
 * first measured request until the program reports the last span written (Shipwatch: its delivery chain's delivered
 * count; Jaeger: the OpenTelemetry Collector's `otelcol_exporter_sent_spans`), and its peak RSS over the whole run.
 * A warm-up of `--warmup` spans goes the same way first and is written before the clock starts. A run fails when a
 * span accepted is not written within two minutes, or when a failure is counted.
 *
 * - otlp-json / otlp-proto: OTLP/HTTP `POST /v1/traces`, bodies of 512 spans by the OpenTelemetry SDK's serializers;
 * - otlp-grpc: the protobuf bodies as `TraceService/Export` over gRPC (grpc-js);
 * - zipkin-json: Zipkin v2 JSON bodies of 512 spans as the Zipkin exporter writes them.
 *
 * `IN_FLIGHT` requests at a time; a 429/503 or UNAVAILABLE/RESOURCE_EXHAUSTED is sent again after 5 ms. Cases and
 * programs are interleaved (case a: Shipwatch, Jaeger; case b: ...; then the next round), each run in fresh processes
 * with fresh storage. Shipwatch runs compiled (`dist/`, built by `npm ci` or `npx tsc -p .`), as `npm start` runs it.
 * Jaeger is the binary `SHIPWATCH_BENCH_JAEGER_BIN` names (test/jaeger-parity/build-jaeger.sh builds it from the Go
 * module proxy); without it Shipwatch runs alone and the table says so.
 *
 * `node --import tsx bench/peer-collector.bench.ts [--spans 100000] [--warmup 20000] [--rounds 5] [--cases a,b]
 *   [--storage store|elasticsearch] [--es-url URL]`
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { batches, sdkSpans } from './support/sdk-spans.js';
import { zipkinJson } from './support/zipkin-json.js';
import { startJaeger, type JaegerBackend } from './support/jaeger-peer.js';
import { accepts, freePort, median, pollUntil, spread, startPeer, sumSamples, type PeerProcess } from './support/peer-process.js';
import { benchArgs } from './support/args.js';

const options = benchArgs();
const arg = options.value;
const SPANS = Number(arg('spans', '100000'));
const WARMUP = Number(arg('warmup', '20000'));
const ROUNDS = Number(arg('rounds', '5'));
const STORAGE = arg('storage', 'store') as 'store' | 'elasticsearch';
const ES_URL = arg('es-url', process.env['SHIPWATCH_TEST_ES_URL'] ?? 'http://127.0.0.1:9200');
const ALL_CASES = ['otlp-json', 'otlp-proto', 'otlp-grpc', 'zipkin-json'] as const;
type Case = (typeof ALL_CASES)[number];
const CASES = arg('cases', ALL_CASES.join(',')).split(',') as Case[];
const JAEGER_BIN = process.env['SHIPWATCH_BENCH_JAEGER_BIN'] ?? '';
const IN_FLIGHT = 8;
const SPANS_PER_BODY = 512;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Program = 'shipwatch' | 'jaeger';

interface Ports { otlpHttp: number; otlpGrpc: number; zipkin: number; metrics: number }

const portOf = (c: Case, ports: Ports): number => (c === 'otlp-grpc' ? ports.otlpGrpc : c === 'zipkin-json' ? ports.zipkin : ports.otlpHttp);

interface Running {
  proc: PeerProcess;
  /** Spans the program reports written to its storage, and failures it counted. */
  written(): Promise<{ written: number; failed: number }>;
  cleanup(): void;
}

async function startShipwatch(dir: string, ports: Ports, run: string): Promise<Running> {
  const listen = async (): Promise<string> => `127.0.0.1:${await freePort()}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'], SHIPWATCH_DATA_DIR: dir, LOG_LEVEL: 'warn', SHIPWATCH_HOSTNAME: 'bench-node',
    SPAN_STORAGE_TYPE: STORAGE, COLLECTOR_CONTAINER_STATS: 'false', DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
    COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${ports.metrics}`, COLLECTOR_OTLP_HTTP_LISTEN: `127.0.0.1:${ports.otlpHttp}`,
    COLLECTOR_OTLP_GRPC_LISTEN: `127.0.0.1:${ports.otlpGrpc}`, COLLECTOR_ZIPKIN_LISTEN: `127.0.0.1:${ports.zipkin}`,
    COLLECTOR_JAEGER_COMPACT_LISTEN: await listen(), COLLECTOR_JAEGER_BINARY_LISTEN: await listen(),
    COLLECTOR_JAEGER_HTTP_LISTEN: await listen(), COLLECTOR_JAEGER_GRPC_LISTEN: await listen(), COLLECTOR_SAMPLING_LISTEN: await listen(),
  };
  if (STORAGE === 'elasticsearch') Object.assign(env, { ES_SERVER_URLS: ES_URL, ES_INDEX_PREFIX: `sw-bench-${run}` });
  const proc = startPeer('shipwatch', process.execPath, [join(ROOT, 'bin', 'shipwatch.js'), 'collector'], env, join(dir, 'program.log'));
  return {
    proc,
    async written() {
      const page = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
      return {
        written: sumSamples(page, 'shipwatch_delivery_records_total', { outcome: 'delivered', output: /^spans/ }),
        failed: sumSamples(page, 'shipwatch_delivery_records_total', { outcome: 'rejected', output: /^spans/ }),
      };
    },
    cleanup() {
      if (STORAGE === 'elasticsearch') void fetch(`${ES_URL}/sw-bench-${run}-*`, { method: 'DELETE' }).catch(() => undefined);
    },
  };
}

async function startJaegerRun(dir: string, ports: Ports, run: string): Promise<Running> {
  const backend: JaegerBackend = STORAGE === 'store' ? { kind: 'badger' } : { kind: 'elasticsearch', url: ES_URL, indexPrefix: `jg-bench-${run}` };
  const jaeger = startJaeger(JAEGER_BIN, dir, ports, backend);
  return {
    proc: jaeger.proc,
    written: () => jaeger.written(),
    cleanup() {
      if (STORAGE === 'elasticsearch') void fetch(`${ES_URL}/jg-bench-${run}-*`, { method: 'DELETE' }).catch(() => undefined);
    },
  };
}

type Send = (body: Buffer) => Promise<'ok' | 'busy'>;

function sender(c: Case, ports: Ports): { send: Send; close(): void } {
  if (c === 'otlp-grpc') {
    const Client = grpc.makeGenericClientConstructor({
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false,
        requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b,
      },
    }, 'TraceService');
    const client = new Client(`127.0.0.1:${ports.otlpGrpc}`, grpc.credentials.createInsecure());
    const call = (client as unknown as { Export: (m: Buffer, cb: (err: grpc.ServiceError | null) => void) => void }).Export.bind(client);
    return {
      send: (body) => new Promise((resolve, reject) => call(body, (err) => {
        if (!err) resolve('ok');
        else if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.RESOURCE_EXHAUSTED) resolve('busy');
        else reject(new Error(`Export answered ${err.code}: ${err.details}`));
      })),
      close: () => client.close(),
    };
  }
  const url = c === 'zipkin-json' ? `http://127.0.0.1:${ports.zipkin}/api/v2/spans` : `http://127.0.0.1:${ports.otlpHttp}/v1/traces`;
  const type = c === 'otlp-proto' ? 'application/x-protobuf' : 'application/json';
  return {
    async send(body) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
      await res.arrayBuffer();
      if (res.ok) return 'ok';
      if (res.status === 429 || res.status === 503) return 'busy';
      throw new Error(`POST ${url} answered ${res.status}`);
    },
    close() {},
  };
}

/** Sends every body, `IN_FLIGHT` at a time, each again after a busy answer; returns the busy answers. */
async function sendAll(send: Send, bodies: Buffer[]): Promise<number> {
  let next = 0;
  let busy = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      while ((await send(body)) === 'busy') {
        busy++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return busy;
}

interface Inputs { warmup: Buffer[]; measured: Buffer[]; warmupSpans: number; measuredSpans: number }

async function inputs(c: Case): Promise<Inputs> {
  const groups = batches(await sdkSpans(WARMUP + SPANS), SPANS_PER_BODY);
  const bodies = c === 'otlp-json'
    ? groups.map((g) => Buffer.from(JsonTraceSerializer.serializeRequest(g)!))
    : c === 'zipkin-json'
      ? groups.map((g) => Buffer.from(JSON.stringify(g.map(zipkinJson))))
      : groups.map((g) => Buffer.from(ProtobufTraceSerializer.serializeRequest(g)!));
  const cut = Math.round(WARMUP / SPANS_PER_BODY);
  const count = (gs: unknown[][]): number => gs.reduce((n, g) => n + g.length, 0);
  return { warmup: bodies.slice(0, cut), measured: bodies.slice(cut), warmupSpans: count(groups.slice(0, cut)), measuredSpans: count(groups.slice(cut)) };
}

interface Result { spansPerCpuS: number; spansPerS: number; cpuS: number; peakRssMiB: number; busy: number }

async function runOnce(program: Program, c: Case, input: Inputs, run: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), `shipwatch-peer-${program}-`));
  const ports: Ports = { otlpHttp: await freePort(), otlpGrpc: await freePort(), zipkin: await freePort(), metrics: await freePort() };
  const running = program === 'shipwatch' ? await startShipwatch(dir, ports, run) : await startJaegerRun(dir, ports, run);
  const { proc } = running;
  const client = sender(c, ports);
  try {
    await pollUntil(`${program} to answer on its metrics port`, async () => {
      if (!proc.alive()) throw new Error('exited');
      return (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).ok && (await accepts(portOf(c, ports)));
    }, 60_000, 50, proc);
    const waitWritten = async (n: number): Promise<void> => {
      await pollUntil(`${program} to write ${n} spans`, async () => {
        if (!proc.alive()) throw new Error(`${program} exited`);
        const { written, failed } = await running.written();
        if (failed > 0) throw new Error(`${program} counted ${failed} spans failed`);
        return written >= n;
      }, 120_000);
    };
    await sendAll(client.send, input.warmup);
    await waitWritten(input.warmupSpans);
    const cpu0 = proc.cpuSeconds();
    const t0 = performance.now();
    const busy = await sendAll(client.send, input.measured);
    await waitWritten(input.warmupSpans + input.measuredSpans);
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = proc.cpuSeconds() - cpu0;
    const { written } = await running.written();
    if (written !== input.warmupSpans + input.measuredSpans) throw new Error(`${program} wrote ${written} spans of ${input.warmupSpans + input.measuredSpans}`);
    return { spansPerCpuS: input.measuredSpans / cpuS, spansPerS: input.measuredSpans / wallS, cpuS, peakRssMiB: proc.peakRssMiB(), busy };
  } catch (err) {
    const log = existsSync(join(dir, 'program.log')) ? readFileSync(join(dir, 'program.log'), 'utf8').slice(-3000) : '';
    throw new Error(`${program} ${c}: ${(err as Error).message}\n${log}`, { cause: err });
  } finally {
    client.close();
    await proc.stop();
    running.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'shipwatch.js'))) throw new Error('dist/ is missing: build it with `npx tsc -p .`');
  const programs: Program[] = JAEGER_BIN ? ['shipwatch', 'jaeger'] : ['shipwatch'];
  if (STORAGE === 'elasticsearch' && !(await fetch(`${ES_URL}/_cluster/health`).then((r) => r.ok, () => false))) {
    console.log(`skipped: no Elasticsearch answers at ${ES_URL}`);
    return;
  }
  console.log(`${SPANS} spans per run after a warm-up of ${WARMUP}, ${ROUNDS} rounds, storage: ${STORAGE === 'store' ? 'embedded store / Jaeger on Badger' : `Elasticsearch at ${ES_URL}`}` +
    (JAEGER_BIN ? '' : ' — SHIPWATCH_BENCH_JAEGER_BIN is not set: Shipwatch alone'));
  const results = new Map<string, Result[]>();
  const inputByCase = new Map<Case, Inputs>();
  for (const c of CASES) inputByCase.set(c, await inputs(c));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CASES) {
      for (const program of programs) {
        const r = await runOnce(program, c, inputByCase.get(c)!, `${process.pid}-${round}-${c}`);
        const key = `${c}/${program}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        process.stderr.write(`round ${round + 1} ${key}: ${Math.round(r.spansPerCpuS)} spans/CPU-s, ${r.cpuS.toFixed(2)} CPU-s, ${r.peakRssMiB.toFixed(0)} MiB, ${r.busy} busy\n`);
      }
    }
  }
  const k = (n: number): string => `${(n / 1000).toFixed(1)}k`;
  const mib = (n: number): string => n.toFixed(0);
  console.log('\n| case | Shipwatch spans/CPU-s | Jaeger spans/CPU-s | ratio | Shipwatch peak MiB | Jaeger peak MiB | spans/s (Shipwatch, Jaeger) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const c of CASES) {
    const sw = results.get(`${c}/shipwatch`) ?? [];
    const jg = results.get(`${c}/jaeger`) ?? [];
    const med = (rs: Result[], f: (r: Result) => number): number => (rs.length > 0 ? median(rs.map(f)) : Number.NaN);
    const ratio = jg.length > 0 ? `${(med(sw, (r) => r.spansPerCpuS) / med(jg, (r) => r.spansPerCpuS)).toFixed(2)}×` : '–';
    console.log(`| ${c} | ${spread(sw.map((r) => r.spansPerCpuS), k)} | ${spread(jg.map((r) => r.spansPerCpuS), k)} | ${ratio} | ` +
      `${spread(sw.map((r) => r.peakRssMiB), mib)} | ${spread(jg.map((r) => r.peakRssMiB), mib)} | ${k(med(sw, (r) => r.spansPerS))}, ${jg.length ? k(med(jg, (r) => r.spansPerS)) : '–'} |`);
  }
}

await main();
