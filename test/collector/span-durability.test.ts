/**
 * Spans answered 200 survive an Elasticsearch outage and a SIGKILL of the collector: the collector runs as a child
 * process (`shipwatch collector`), Elasticsearch sits behind a relay switched off for the outage, spans are sent as
 * an OTLP client sends them (retrying 429 / 503), and every span is counted in Elasticsearch by span id afterwards.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteIndexTemplates, deleteIndices, esTestUrl, scan } from '../helpers/elasticsearch.js';
import { freePort } from '../helpers/ports.js';
import { startTcpSwitch } from '../helpers/tcp-switch.js';
import { waitFor } from '../helpers/wait.js';

const ENTRY = fileURLToPath(new URL('../../cli/shipwatch.ts', import.meta.url));
/** The outage the acceptance asks for. */
const OUTAGE_MS = 5 * 60_000;
const SPANS = 20_000;
const PER_REQUEST = 200;

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');

interface Child {
  process: ChildProcess;
  exited: Promise<unknown>;
}

function startCollector(env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'collector'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return { process: child, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

/** Posts spans [first, first + count) in requests of PER_REQUEST, each retried on 429 / 503 / no answer as OTLP clients do. */
async function send(otlpUrl: string, first: number, count: number): Promise<void> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  for (let i = first; i < first + count; i += PER_REQUEST) {
    const spans = [];
    for (let k = i; k < Math.min(first + count, i + PER_REQUEST); k++) {
      spans.push({ traceId: `00000000000000cc${hex16(k + 1)}`, spanId: hex16(k + 1), name: 'checkout', startTimeUnixNano: String(nowNs), endTimeUnixNano: String(nowNs + 1_000_000n) });
    }
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeSpans: [{ spans }] }] });
    for (;;) {
      const res = await fetch(otlpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
      if (res?.status === 200) break;
      if (res !== undefined && res.status !== 429 && res.status !== 503) assert.fail(`answered ${res.status}: ${await res.text()}`);
      await sleep(Number(res?.headers.get('retry-after') ?? '0.2') * 1000);
    }
  }
}

test('20,000 spans answered 200 are each in Elasticsearch exactly once after a 5-minute outage with the collector killed in it', { timeout: OUTAGE_MS + 240_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-span-kill-'));
  const prefix = `sw-span-kill-${process.pid}-${Date.now().toString(36)}`;
  const es = await startTcpSwitch(await esTestUrl(), true);
  const [admin, otlp] = await Promise.all([freePort(), freePort()]);
  const env = {
    SHIPWATCH_DATA_DIR: dataDir, COLLECTOR_CONTAINER_STATS: 'false', DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
    SPAN_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: es.url, ES_INDEX_PREFIX: prefix, ES_NUM_SHARDS: '1', ES_NUM_REPLICAS: '0', ES_RETRY_MAX_DELAY: '1s',
    COLLECTOR_SPAN_FLUSH_INTERVAL: '50ms', COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${admin}`, COLLECTOR_OTLP_HTTP_LISTEN: `127.0.0.1:${otlp}`,
    COLLECTOR_ZIPKIN_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_COMPACT_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0',
    COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
  };
  let collector = startCollector(env);
  t.after(async () => {
    collector.process.kill('SIGKILL');
    await es.close();
    await deleteIndices(`${prefix}-jaeger-*`);
    await deleteIndexTemplates(`${prefix}-jaeger-*`);
    rmSync(dataDir, { recursive: true, force: true });
  });
  const otlpUrl = `http://127.0.0.1:${otlp}/v1/traces`;
  const health = async (): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${admin}/health`);
    return { status: res.status, body: await res.text() };
  };
  await waitFor(() => health().then((h) => (h.status === 200 ? h : undefined), () => undefined), { timeoutMs: 30_000, what: 'the collector' });

  await send(otlpUrl, 0, 5_000);
  es.setUp(false);
  const outageStart = Date.now();
  await send(otlpUrl, 5_000, 5_000);
  const degraded = await waitFor(() => health().then((h) => (/degraded/.test(h.body) ? h : undefined)), { timeoutMs: 30_000, what: '/health degraded' });
  assert.equal(degraded.status, 200, 'an output out of reach degrades the collector, it does not fail it');

  collector.process.kill('SIGKILL');
  await collector.exited;
  collector = startCollector(env);
  await send(otlpUrl, 10_000, 5_000);
  await sleep(Math.max(0, outageStart + OUTAGE_MS - Date.now()));
  es.setUp(true);
  await send(otlpUrl, 15_000, 5_000);

  let seen = 0;
  const docs = await waitFor(async () => {
    const found = await scan<{ spanID: string }>(`${prefix}-jaeger-span-*`, { fields: ['spanID'] });
    seen = found.length;
    return found.length >= SPANS ? found : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1000, what: `${SPANS} spans in Elasticsearch` }).catch(async (err: Error) => {
    // What the collector says of itself, for whoever reads a failure.
    const state = await health().catch((e: Error) => ({ status: 0, body: e.message }));
    throw new Error(`${err.message}: ${seen} found; /health ${state.status} ${state.body}`);
  });
  await sleep(2_000);
  const again = await scan<{ spanID: string }>(`${prefix}-jaeger-span-*`, { fields: ['spanID'] });
  assert.equal(again.length, SPANS, 'no span stored twice');
  assert.equal(new Set(docs.map((d) => d.source.spanID)).size, SPANS, 'every span stored');
});
