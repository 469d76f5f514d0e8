/**
 * The query beside Jaeger 2.x's in one run, on the same spans: `--traces` traces of `--spans-per-trace` spans (by
 * default 2,000 of 100: 200,000 spans) across 10 services, sent over OTLP/HTTP JSON to `shipwatch all` (embedded
 * store) and to Jaeger on Badger with its query extension, each in a process of its own; once both have written
 * every span, the Jaeger UI's requests are timed against each, one at a time, alternating between the two:
 *
 * - trace by id: `GET /api/traces/{id}` of random traces;
 * - search: `GET /api/traces?service=&tags={"customer.id":"…"}&limit=20&start=&end=&lookback=2d`, as the UI's search
 *   form sends it (a tag value that some traces of the service hold);
 * - dependencies: `GET /api/dependencies?endTs=&lookback=` over the two days the spans lie in.
 *
 * Prints p50 / p99 per request kind, the ratio of Jaeger's p99 to Shipwatch's (above 1: Shipwatch is faster), and
 * the traces (or dependency links) each answered in all. The links differ by design: Shipwatch counts calls within
 * one service, as Jaeger 2.x's memory store does; Jaeger on Badger leaves them out. Jaeger is the binary
 * `SHIPWATCH_BENCH_JAEGER_BIN` names (test/jaeger-parity/build-jaeger.sh); without it Shipwatch runs alone.
 *
 * `node --import tsx bench/peer-query.bench.ts [--traces 2000] [--spans-per-trace 100] [--requests 200]`
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../test/helpers/seeded-random.js';
import { startJaeger } from './support/jaeger-peer.js';
import { accepts, freePort, pollUntil, startPeer, sumSamples, type PeerProcess } from './support/peer-process.js';
import { benchArgs } from './support/args.js';

const options = benchArgs();
const arg = options.value;
const TRACES = Number(arg('traces', '2000'));
const SPANS_PER_TRACE = Number(arg('spans-per-trace', '100'));
const REQUESTS = Number(arg('requests', '200'));
const JAEGER_BIN = process.env['SHIPWATCH_BENCH_JAEGER_BIN'] ?? '';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVICES = Array.from({ length: 10 }, (_, i) => `svc-${i}`);
const CUSTOMERS = 500;
const TRACES_PER_BODY = 10;
const DAY_MS = 86_400_000;

const r = seededRandom(11);
const hex = (digits: number): string => {
  let s = '';
  while (s.length < digits) s += Math.floor(r() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, digits);
};

interface Trace { traceId: string; rootService: string; customer: string }

/** One trace as OTLP/JSON spans grouped by service: a tree whose spans call other services at random. */
function makeTrace(nowMs: number): Trace & { byService: Map<string, unknown[]> } {
  const traceId = hex(32);
  const customer = `c-${Math.floor(r() * CUSTOMERS)}`;
  const startMs = nowMs - Math.floor(r() * DAY_MS);
  const spans: Array<{ id: string; service: string }> = [];
  const byService = new Map<string, unknown[]>();
  for (let i = 0; i < SPANS_PER_TRACE; i++) {
    const parent = i === 0 ? undefined : spans[Math.floor(r() * i)]!;
    const service = i === 0 ? SERVICES[Math.floor(r() * 3)]! : r() < 0.5 ? parent!.service : SERVICES[Math.floor(r() * SERVICES.length)]!;
    const id = hex(16);
    spans.push({ id, service });
    const t0 = (startMs + i) * 1e6;
    const error = r() < 0.02;
    const span = {
      traceId, spanId: id, ...(parent ? { parentSpanId: parent.id } : {}),
      name: i === 0 ? 'GET /api/orders' : `op-${Math.floor(r() * 12)}`, kind: parent && parent.service !== service ? 2 : i === 0 ? 2 : 3,
      startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + Math.floor(r() * 50e6)),
      attributes: [
        { key: 'customer.id', value: { stringValue: customer } },
        { key: 'http.status_code', value: { intValue: error ? 500 : 200 } },
        { key: 'http.route', value: { stringValue: `/api/v1/${service}/items/{id}` } },
      ],
      status: error ? { code: 2, message: 'failed' } : { code: 0 },
    };
    let list = byService.get(service);
    if (!list) byService.set(service, (list = []));
    list.push(span);
  }
  return { traceId, rootService: spans[0]!.service, customer, byService };
}

/** The traces, and OTLP/JSON bodies of `TRACES_PER_BODY` traces each. */
function makeInput(nowMs: number): { traces: Trace[]; bodies: Buffer[] } {
  const traces: Trace[] = [];
  const bodies: Buffer[] = [];
  for (let b = 0; b < TRACES / TRACES_PER_BODY; b++) {
    const merged = new Map<string, unknown[]>();
    for (let t = 0; t < TRACES_PER_BODY; t++) {
      const trace = makeTrace(nowMs);
      traces.push({ traceId: trace.traceId, rootService: trace.rootService, customer: trace.customer });
      for (const [service, spans] of trace.byService) merged.set(service, [...(merged.get(service) ?? []), ...spans]);
    }
    const resourceSpans = [...merged].map(([service, spans]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'peer-query-bench' }, spans }],
    }));
    bodies.push(Buffer.from(JSON.stringify({ resourceSpans })));
  }
  return { traces, bodies };
}

interface Program { name: 'shipwatch' | 'jaeger'; proc: PeerProcess; otlp: number; query: number; written(): Promise<number>; dir: string }

async function startShipwatch(): Promise<Program> {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-peer-query-'));
  const port = async (): Promise<number> => freePort();
  const otlp = await port();
  const query = await port();
  const admin = await port();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'], SHIPWATCH_DATA_DIR: dir, LOG_LEVEL: 'warn', SHIPWATCH_HOSTNAME: 'bench-node',
    DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, COLLECTOR_CONTAINER_STATS: 'false',
    QUERY_LISTEN: `127.0.0.1:${query}`, QUERY_ADMIN_LISTEN: `127.0.0.1:${await port()}`, PILOT_ADMIN_LISTEN: `127.0.0.1:${await port()}`,
    COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${admin}`, COLLECTOR_OTLP_HTTP_LISTEN: `127.0.0.1:${otlp}`,
    COLLECTOR_OTLP_GRPC_LISTEN: `127.0.0.1:${await port()}`, COLLECTOR_ZIPKIN_LISTEN: `127.0.0.1:${await port()}`,
    COLLECTOR_JAEGER_COMPACT_LISTEN: `127.0.0.1:${await port()}`, COLLECTOR_JAEGER_BINARY_LISTEN: `127.0.0.1:${await port()}`,
    COLLECTOR_JAEGER_HTTP_LISTEN: `127.0.0.1:${await port()}`, COLLECTOR_JAEGER_GRPC_LISTEN: `127.0.0.1:${await port()}`,
    COLLECTOR_SAMPLING_LISTEN: `127.0.0.1:${await port()}`,
  };
  const proc = startPeer('shipwatch', process.execPath, [join(ROOT, 'bin', 'shipwatch.js'), 'all'], env, join(dir, 'program.log'));
  return {
    name: 'shipwatch', proc, otlp, query, dir,
    async written() {
      const page = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
      return sumSamples(page, 'shipwatch_delivery_records_total', { outcome: 'delivered', output: /^spans/ });
    },
  };
}

async function startJaegerQuery(): Promise<Program> {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-peer-query-jaeger-'));
  const ports = { otlpHttp: await freePort(), otlpGrpc: await freePort(), zipkin: await freePort(), metrics: await freePort(), query: await freePort(), queryGrpc: await freePort() };
  const jaeger = startJaeger(JAEGER_BIN, dir, ports, { kind: 'badger' });
  return { name: 'jaeger', proc: jaeger.proc, otlp: ports.otlpHttp, query: ports.query, dir, written: async () => (await jaeger.written()).written };
}

async function load(p: Program, bodies: Buffer[], spans: number): Promise<number> {
  await pollUntil(`${p.name} to listen`, async () => (await accepts(p.otlp)) && (await accepts(p.query)), 60_000);
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${p.otlp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await res.arrayBuffer();
        if (res.ok) break;
        if (res.status !== 429 && res.status !== 503) throw new Error(`${p.name}: POST /v1/traces answered ${res.status}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  await pollUntil(`${p.name} to write ${spans} spans`, async () => (await p.written()) >= spans, 600_000, 200);
  return (performance.now() - t0) / 1000;
}

/** One request's time and the number of traces (or links) it answered. */
async function timed(p: Program, path: string): Promise<{ ms: number; count: number }> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${p.query}${path}`);
  const body = (await res.json()) as { data?: unknown[] | null };
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${p.name}: GET ${path} answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return { ms, count: Array.isArray(body.data) ? body.data.length : 0 };
}

const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'shipwatch.js'))) throw new Error('dist/ is missing: build it with `npx tsc -p .`');
  const nowMs = Date.now();
  const { traces, bodies } = makeInput(nowMs);
  const spans = TRACES * SPANS_PER_TRACE;
  console.log(`${TRACES} traces of ${SPANS_PER_TRACE} spans (${spans} spans, ${SERVICES.length} services), ${REQUESTS} requests of each kind` +
    (JAEGER_BIN ? '' : ' — SHIPWATCH_BENCH_JAEGER_BIN is not set: Shipwatch alone'));
  const programs: Program[] = [await startShipwatch()];
  if (JAEGER_BIN) programs.push(await startJaegerQuery());
  try {
    for (const p of programs) {
      const s = await load(p, bodies, spans);
      console.log(`${p.name}: ${spans} spans written in ${s.toFixed(1)} s; ${p.proc.cpuSeconds().toFixed(1)} CPU-s so far, peak RSS ${p.proc.peakRssMiB().toFixed(0)} MiB`);
    }
    const endUs = nowMs * 1000 + 60_000_000;
    const startUs = endUs - 2 * DAY_MS * 1000;
    const kinds: Array<{ kind: string; path: (i: number) => string; n: number }> = [
      { kind: 'trace by id', path: (i) => `/api/traces/${traces[(i * 7919) % traces.length]!.traceId}`, n: REQUESTS },
      {
        kind: 'search service + tag', n: REQUESTS,
        path: (i) => {
          const t = traces[(i * 104729) % traces.length]!;
          return `/api/traces?service=${t.rootService}&tags=${encodeURIComponent(JSON.stringify({ 'customer.id': t.customer }))}&limit=20&start=${startUs}&end=${endUs}&lookback=2d`;
        },
      },
      { kind: 'dependencies', path: () => `/api/dependencies?endTs=${Math.floor(endUs / 1000)}&lookback=${2 * DAY_MS}`, n: Math.max(10, Math.floor(REQUESTS / 10)) },
    ];
    console.log('\n| request | Shipwatch p50 / p99 ms | Jaeger p50 / p99 ms | Jaeger p99 ÷ Shipwatch p99 | answers (Shipwatch, Jaeger) |');
    console.log('|---|---|---|---|---|');
    for (const { kind, path, n } of kinds) {
      const ms = new Map<string, number[]>(programs.map((p) => [p.name, []]));
      const counts = new Map<string, number>(programs.map((p) => [p.name, 0]));
      for (const p of programs) await timed(p, path(0)); // a first request each, not timed (caches, JIT)
      for (let i = 0; i < n; i++) {
        for (const p of programs) {
          const { ms: t, count } = await timed(p, path(i));
          ms.get(p.name)!.push(t);
          counts.set(p.name, counts.get(p.name)! + count);
        }
      }
      const cell = (name: string): string => (ms.has(name) ? `${pct(ms.get(name)!, 0.5).toFixed(1)} / ${pct(ms.get(name)!, 0.99).toFixed(1)}` : '–');
      const ratio = ms.has('jaeger') ? `${(pct(ms.get('jaeger')!, 0.99) / pct(ms.get('shipwatch')!, 0.99)).toFixed(2)}×` : '–';
      console.log(`| ${kind} | ${cell('shipwatch')} | ${cell('jaeger')} | ${ratio} | ${counts.get('shipwatch')}, ${counts.get('jaeger') ?? '–'} |`);
    }
  } catch (err) {
    for (const p of programs) {
      const log = join(p.dir, 'program.log');
      if (existsSync(log)) process.stderr.write(`--- ${p.name}'s log\n${readFileSync(log, 'utf8').slice(-3000)}\n`);
    }
    throw err;
  } finally {
    for (const p of programs) {
      await p.proc.stop();
      rmSync(p.dir, { recursive: true, force: true });
    }
  }
}

await main();
