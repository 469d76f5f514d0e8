/**
 * Jaeger 2.x and Shipwatch share one Elasticsearch: each reads what the other wrote, answer for answer. Against the
 * real Elasticsearch and the real Jaeger binary (SHIPWATCH_TEST_JAEGER_BIN; skipped without it), each under index
 * prefixes of its own that are deleted afterwards, with Jaeger on ports 41000-41099.
 *
 * (a) Spans sent to Jaeger over OTLP/HTTP, which writes them to Elasticsearch, are read by Shipwatch's span reader
 *     with exact integers (2^63-1, -2^63, 2^53+1), and Shipwatch's query answers what Jaeger's answers.
 * (b) Spans Shipwatch's span writer stored (64- and 128-bit trace ids, int64 tags up to 2^63-1, bool, float, binary,
 *     logs, references) are found by Jaeger's query (by id in both printings of a 64-bit id, services, operations,
 *     search), which answers what Shipwatch's query answers.
 *
 * Both ways also a span's warnings (sent as an array, as a text, a sanitizer's) and a Zipkin-style error text beside
 * an error status.
 *
 * Normalised, as Jaeger leaves them free: the numbering and order of a trace's processes, the order of its spans,
 * the order of the traces of a search and of services and operations. And where Jaeger 2.x on Elasticsearch shows
 * less, each asserted as such: it shows a stored warnings list as one warning, its JSON text (`warningsListed`), and
 * an error text beside an error status not at all (`withoutErrorText`).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import type { FastifyInstance } from 'fastify';
import type { Span } from '../../../model/span.js';
import { buildQueryApp } from '../../../query/api-app.js';
import { silentLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { parseJsonExact } from '../../../storage/elasticsearch/exact-json.js';
import { EsSpanReader } from '../../../storage/elasticsearch/span-reader.js';
import { EsSpanWriter } from '../../../storage/elasticsearch/span-writer.js';
import { deleteIndexTemplates, deleteIndices, esTestUrl } from '../../helpers/elasticsearch.js';

const JAEGER_BIN = process.env.SHIPWATCH_TEST_JAEGER_BIN;
const skip = JAEGER_BIN ? false : 'SHIPWATCH_TEST_JAEGER_BIN is not set: the Jaeger 2.x binary is needed (see test/jaeger-parity/build-jaeger.sh)';

interface JaegerPorts {
  otlpHttp: number;
  queryHttp: number;
  queryGrpc: number;
}

/** Jaeger 2.x with Elasticsearch storage: only the OTLP/HTTP receiver and the query extension, on 127.0.0.1. */
function jaegerConfig(esUrl: string, prefix: string, ports: JaegerPorts, createMappings: boolean): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: es
    http:
      endpoint: 127.0.0.1:${ports.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
  jaeger_storage:
    backends:
      es:
        elasticsearch:
          server_urls: [${esUrl}]
          # The test node answers no GET / (an integ-test distribution): no version probe, no health check.
          version: 8
          disable_health_check: true
          create_mappings: ${createMappings}
          indices:
            index_prefix: ${prefix}
            spans: { shards: 1, replicas: 0 }
            services: { shards: 1, replicas: 0 }
            dependencies: { shards: 1, replicas: 0 }
            sampling: { shards: 1, replicas: 0 }
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: es
`;
}

interface RunningJaeger {
  url: string;
  otlpUrl: string;
  stop(): Promise<void>;
}

async function startJaeger(esUrl: string, prefix: string, ports: JaegerPorts, createMappings: boolean): Promise<RunningJaeger> {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-jaeger-es-'));
  const config = join(dir, 'jaeger.yaml');
  writeFileSync(config, jaegerConfig(esUrl, prefix, ports, createMappings));
  const proc: ChildProcess = spawn(JAEGER_BIN!, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${ports.queryHttp}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(10_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`jaeger exited ${proc.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`${url}/api/services`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jaeger did not answer within 60 s: ${stderr}`);
    }
    await sleep(250);
  }
  return { url, otlpUrl: `http://127.0.0.1:${ports.otlpHttp}/v1/traces`, stop };
}

/** A JSON answer with its integers exact (beyond 2^53 they become marked strings, equal on both sides). */
async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url);
  return { status: r.status, body: parseJsonExact(await r.text()) };
}

async function shipwatchJson(app: FastifyInstance, path: string): Promise<{ status: number; body: unknown }> {
  const r = await app.inject({ method: 'GET', url: path });
  return { status: r.statusCode, body: parseJsonExact(r.body) };
}

type Json = Record<string, unknown>;

/**
 * A v1 trace with its processes keyed by their content instead of Jaeger's numbering (`p1`, `p2` … in an order
 * Jaeger leaves free), and its spans in spanID order.
 */
function normaliseTrace(trace: Json): Json {
  const processes = (trace.processes ?? {}) as Record<string, Json>;
  const keyOf = (id: string): string => JSON.stringify(processes[id] ?? id);
  const spans = ((trace.spans ?? []) as Json[])
    .map((s): Json => ({ ...s, processID: keyOf(String(s.processID)) }))
    .sort((a, b) => (String(a.spanID) + String(a.startTime) < String(b.spanID) + String(b.startTime) ? -1 : 1));
  const procs = Object.keys(processes).map(keyOf).sort();
  return { ...trace, spans, processes: procs };
}

/**
 * The traces of an answer, normalised. A search's `total`, `limit` and `offset` are left out: Shipwatch fills them
 * (paging, a README promise beyond Jaeger), Jaeger answers 0.
 */
function normaliseTraces(body: unknown, search = false): unknown {
  const b = body as Json;
  const data = (b.data ?? []) as Json[];
  const out: Json = { ...b, data: data.map(normaliseTrace).sort((x, y) => (String(x.traceID) < String(y.traceID) ? -1 : 1)) };
  if (search) {
    delete out.total;
    delete out.limit;
    delete out.offset;
  }
  return out;
}

/**
 * An API v3 answer (`{result: {resourceSpans}}`) as a list of spans, each with its resource and scope, in span id
 * order: how Jaeger groups spans into resources and scopes is its own (one resource per span from Elasticsearch).
 */
function flattenV3(body: unknown): unknown {
  const result = (body as Json).result as Json | undefined;
  if (result === undefined) return body;
  const out: Json[] = [];
  for (const rs of (result.resourceSpans ?? []) as Json[]) {
    for (const ss of (rs.scopeSpans ?? []) as Json[]) {
      for (const span of (ss.spans ?? []) as Json[]) out.push({ resource: rs.resource, scope: ss.scope, span });
    }
  }
  return out.sort((a, b) => (JSON.stringify(a.span) < JSON.stringify(b.span) ? -1 : 1));
}

function sortedData(body: unknown): unknown {
  const b = body as Json;
  return { ...b, data: [...((b.data ?? []) as string[])].sort() };
}

/** The warnings of a `@jaeger@warnings` text: the list a JSON text of strings holds, else the text itself. */
function warningsOf(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // not JSON: one warning
  }
  return [text];
}

/**
 * Jaeger's answer with a span's warnings as Shipwatch shows them. Jaeger 2.x on Elasticsearch shows the text of the
 * stored `@jaeger@warnings` tag as it is: one v1 warning, a v3 string attribute, so a list its sanitizers stored
 * shows as its JSON text (`["Negative duration detected…"]`); Shipwatch shows the warnings themselves, as Jaeger's
 * memory store does (v1 warnings, a v3 array attribute). A warning sent as a Thrift tag is shown alike.
 */
function warningsListed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(warningsListed);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Json;
  const out: Json = {};
  for (const [k, x] of Object.entries(o)) out[k] = warningsListed(x);
  if (Array.isArray(o.warnings)) out.warnings = (o.warnings as string[]).flatMap(warningsOf);
  const text = (o.value as Json | undefined)?.stringValue;
  if (o.key === '@jaeger@warnings' && typeof text === 'string' && text.startsWith('[')) out.value = { arrayValue: { values: warningsOf(text).map((w) => ({ stringValue: w })) } };
  return out;
}

/**
 * Shipwatch's answer without an error text beside an error status (a Zipkin span's `error` tag, then `error=true`):
 * Shipwatch keeps both in Elasticsearch; Jaeger 2.x's reader puts the two `error` tags in one attribute map, where
 * `error=true` (its status) wins, as from a document Jaeger wrote itself (whose writer drops the text).
 */
function withoutErrorText(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutErrorText);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Json;
  const out: Json = {};
  for (const [k, x] of Object.entries(o)) out[k] = withoutErrorText(x);
  const tags = o.tags as Json[] | undefined;
  if (typeof o.spanID === 'string' && Array.isArray(tags) && tags.some((t) => t.key === 'error' && t.value === true)) {
    out.tags = tags.filter((t) => !(t.key === 'error' && t.type === 'string'));
  }
  const attributes = o.attributes as Json[] | undefined;
  if (typeof o.spanId === 'string' && Array.isArray(attributes) && (o.status as Json | undefined)?.code === 2) {
    out.attributes = attributes.filter((a) => !(a.key === 'error' && typeof (a.value as Json | undefined)?.stringValue === 'string'));
  }
  return out;
}

function queryApp(reader: EsSpanReader): FastifyInstance {
  return buildQueryApp({
    spanReader: reader, authToken: '', corsOrigins: [], maxTraces: 1000, maxLogs: 100, log: silentLogger, uiDir: false,
  });
}

const HEX = '0123456789abcdef';
function randomHex(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[Math.floor(Math.random() * 16)];
  return s;
}

describe('Jaeger 2.x reads what Shipwatch wrote to Elasticsearch, and Shipwatch what Jaeger wrote', { skip }, () => {
  let esUrl: string;
  let client: Client;
  const jaegerPrefix = `sw-xread-jaeger-${process.pid}`;
  const shipwatchPrefix = `sw-xread-sw-${process.pid}`;

  before(async () => {
    esUrl = await esTestUrl();
    client = new Client({ node: esUrl, maxRetries: 0 });
  });

  after(async () => {
    await client?.close();
    for (const p of [jaegerPrefix, shipwatchPrefix]) {
      await deleteIndices(`${p}-jaeger-*`);
      await deleteIndexTemplates(`${p}-jaeger-*`);
    }
  });

  test('(a) spans Jaeger wrote are read by Shipwatch with exact integers, and answered as Jaeger answers them', async () => {
    const jaeger = await startJaeger(esUrl, jaegerPrefix, { otlpHttp: 41001, queryHttp: 41002, queryGrpc: 41003 }, true);
    try {
      const nowNs = BigInt(Date.now() - 60_000) * 1_000_000n;
      const short = `0000000000000000${randomHex(16)}`;
      const long = `${randomHex(16)}${randomHex(16)}`;
      const root = randomHex(16);
      const child = randomHex(16);
      const other = randomHex(16);
      // A Zipkin-style error text beside an error status, a span ending before it starts (Jaeger's sanitizer
      // warns), warnings sent as an array and as a text.
      const flagged = `${randomHex(16)}${randomHex(16)}`;
      const [errored, backwards, warned, told] = [randomHex(16), randomHex(16), randomHex(16), randomHex(16)];
      const t = (offsetUs: number): string => (nowNs + BigInt(offsetUs) * 1000n + 123n).toString();
      const attrs = [
        { key: 'max', value: { intValue: '9223372036854775807' } },
        { key: 'min', value: { intValue: '-9223372036854775808' } },
        { key: 'beyond53', value: { intValue: '9007199254740993' } },
        { key: 'small', value: { intValue: '42' } },
        { key: 'flag', value: { boolValue: true } },
        { key: 'ratio', value: { doubleValue: 0.1 } },
        { key: 'whole', value: { doubleValue: 3 } },
        { key: 'blob', value: { bytesValue: Buffer.from([0, 1, 254, 255]).toString('base64') } },
        { key: 'text', value: { stringValue: 'héllo "quoted"' } },
      ];
      const body = {
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'xread-frontend' } }, { key: 'host.name', value: { stringValue: 'h1' } }, { key: 'pid', value: { intValue: '9223372036854775806' } }] },
          scopeSpans: [{
            scope: { name: 'xread-scope', version: '1.0' },
            spans: [
              { traceId: short.slice(0), spanId: root, name: 'GET /root', kind: 2, flags: 257, startTimeUnixNano: t(0), endTimeUnixNano: t(5_000), attributes: attrs,
                events: [{ timeUnixNano: t(100), name: 'checkpoint', attributes: [{ key: 'bytes', value: { intValue: '9223372036854775807' } }] }] },
              { traceId: short, spanId: child, parentSpanId: root, name: 'SELECT', kind: 3, startTimeUnixNano: t(1_000), endTimeUnixNano: t(2_000),
                status: { code: 2, message: 'boom' }, links: [{ traceId: long, spanId: other }] },
              { traceId: long, spanId: other, name: 'consume', kind: 5, startTimeUnixNano: t(3_000), endTimeUnixNano: t(4_000), traceState: 'k=v', attributes: [{ key: 'n', value: { intValue: '-9007199254740993' } }, { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '9223372036854775807' }] } } }],
                links: [{ traceId: short, spanId: root, attributes: [{ key: 'opentracing.ref_type', value: { stringValue: 'follows_from' } }, { key: 'why', value: { stringValue: 'batch' } }] }] },
              { traceId: long, spanId: randomHex(16), parentSpanId: other, name: 'answer', kind: 2, startTimeUnixNano: t(3_200), endTimeUnixNano: t(3_300), attributes: [{ key: 'http.status_code', value: { intValue: '503' } }] },
              { traceId: long, spanId: randomHex(16), parentSpanId: other, name: 'failed', kind: 2, startTimeUnixNano: t(3_250), endTimeUnixNano: t(3_350), attributes: [{ key: 'http.response.status_code', value: { intValue: '503' } }, { key: 'http.status_message', value: { stringValue: 'unavailable' } }] },
              { traceId: long, spanId: randomHex(16), parentSpanId: other, name: 'fine', kind: 3, startTimeUnixNano: t(3_300), endTimeUnixNano: t(3_400), status: { code: 1 } },
              { traceId: flagged, spanId: errored, name: 'get /api', kind: 3, startTimeUnixNano: t(6_000), endTimeUnixNano: t(7_000), status: { code: 2 },
                attributes: [{ key: 'error', value: { stringValue: 'connection reset' } }, { key: 'peer.service', value: { stringValue: 'api' } }] },
              { traceId: flagged, spanId: backwards, parentSpanId: errored, name: 'backwards', kind: 1, startTimeUnixNano: t(6_500), endTimeUnixNano: t(6_400) },
              { traceId: flagged, spanId: warned, parentSpanId: errored, name: 'warned', kind: 1, startTimeUnixNano: t(6_100), endTimeUnixNano: t(6_200),
                attributes: [{ key: 'k', value: { stringValue: 'v' } }, { key: '@jaeger@warnings', value: { arrayValue: { values: [{ stringValue: 'first <one>' }, { stringValue: 'second' }] } } }] },
              { traceId: flagged, spanId: told, parentSpanId: errored, name: 'told', kind: 1, startTimeUnixNano: t(6_300), endTimeUnixNano: t(6_350),
                attributes: [{ key: '@jaeger@warnings', value: { stringValue: 'sent as text' } }] },
            ],
          }],
        }, {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'xread-backend' } }] },
          scopeSpans: [{ scope: {}, spans: [{ traceId: long, spanId: randomHex(16), parentSpanId: other, name: 'store', kind: 1, startTimeUnixNano: t(3_100), endTimeUnixNano: t(3_900) }] }],
        }],
      };
      const sent = await fetch(jaeger.otlpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(sent.status, 200, await sent.text());

      // Jaeger's bulk processor flushes every 200 ms; Elasticsearch makes documents searchable on refresh.
      const deadline = Date.now() + 30_000;
      for (;;) {
        await client.indices.refresh({ index: `${jaegerPrefix}-jaeger-*`, ignore_unavailable: true, allow_no_indices: true });
        const a = await getJson(`${jaeger.url}/api/traces/${short}`);
        const b = await getJson(`${jaeger.url}/api/traces/${long}`);
        const c = await getJson(`${jaeger.url}/api/traces/${flagged}`);
        const n = (x: { body: unknown }): number => (((x.body as Json).data as Json[] | null)?.[0]?.spans as unknown[] | undefined)?.length ?? 0;
        if (n(a) === 2 && n(b) === 5 && n(c) === 4) break;
        if (Date.now() > deadline) assert.fail(`Jaeger did not store the spans: ${JSON.stringify([a, b])}`);
        await sleep(300);
      }

      const reader = new EsSpanReader({ client, indexPrefix: jaegerPrefix, log: silentLogger });
      // The reader itself: integers exact.
      const spans = await reader.getTrace(short);
      const rootSpan = spans.find((s) => s.spanId === root)!;
      assert.ok(rootSpan, 'the root span is read');
      const tag = (key: string): unknown => rootSpan.tags.find((k) => k.key === key)?.value;
      assert.equal(tag('max'), 9223372036854775807n);
      assert.equal(tag('min'), -9223372036854775808n);
      assert.equal(tag('beyond53'), 9007199254740993n);
      assert.equal(tag('small'), 42);
      assert.equal(tag('flag'), true);
      assert.equal(tag('ratio'), 0.1);
      assert.deepEqual(tag('blob'), new Uint8Array([0, 1, 254, 255]));
      assert.equal(rootSpan.logs[0]!.fields.find((f) => f.key === 'bytes')?.value, 9223372036854775807n);
      assert.equal(rootSpan.process.tags.find((k) => k.key === 'pid')?.value, 9223372036854775806n);
      assert.equal(rootSpan.warnings, undefined);
      // Warnings and the error status, as Jaeger stored them.
      const flaggedSpans = new Map((await reader.getTrace(flagged)).map((x) => [x.spanId, x]));
      assert.deepEqual(flaggedSpans.get(warned)?.warnings, ['first <one>', 'second']);
      assert.deepEqual(flaggedSpans.get(told)?.warnings, ['sent as text']);
      assert.match(flaggedSpans.get(backwards)?.warnings?.[0] ?? '', /^Negative duration detected, sanitizing end timestamp\./);
      assert.deepEqual(flaggedSpans.get(errored)?.tags.filter((k) => k.key === 'error'), [{ key: 'error', type: 'bool', value: true }]);

      // Answer for answer, through Shipwatch's query.
      const app = queryApp(reader);
      try {
        const endUs = Date.now() * 1000;
        const startUs = endUs - 3600_000_000;
        const paths = [
          `/api/traces/${short}`,
          `/api/traces/${short.slice(16)}`,
          `/api/traces/${long}`,
          `/api/traces/${flagged}`,
          `/api/traces/${flagged}?raw=true`,
          `/api/traces?service=xread-frontend&start=${startUs}&end=${endUs}&limit=20`,
          `/api/traces?service=xread-backend&start=${startUs}&end=${endUs}&limit=20`,
        ];
        for (const path of paths) {
          const j = await getJson(`${jaeger.url}${path}`);
          const s = await shipwatchJson(app, path);
          assert.equal(s.status, j.status, path);
          assert.deepEqual(normaliseTraces(s.body, path.includes('?')), normaliseTraces(warningsListed(j.body), path.includes('?')), path);
        }
        for (const path of [`/api/v3/traces/${short}`, `/api/v3/traces/${long}`, `/api/v3/traces/${flagged}`]) {
          const j = await getJson(`${jaeger.url}${path}`);
          const s = await shipwatchJson(app, path);
          assert.equal(s.status, j.status, path);
          assert.deepEqual(flattenV3(s.body), flattenV3(warningsListed(j.body)), path);
        }
        // What warningsListed evens out: Jaeger shows a stored list as its JSON text (Go's, < and > escaped).
        const byId = async (get: (path: string) => Promise<{ body: unknown }>): Promise<Map<string, Json>> => {
          const spans = (((await get(`/api/traces/${flagged}`)).body as Json).data as Json[])[0]!.spans as Json[];
          return new Map(spans.map((x) => [String(x.spanID), x]));
        };
        const jaegerSpans = await byId((path) => getJson(`${jaeger.url}${path}`));
        const shipwatchSpans = await byId((path) => shipwatchJson(app, path));
        assert.deepEqual(jaegerSpans.get(warned)?.warnings, ['["first \\u003cone\\u003e","second"]']);
        assert.deepEqual(shipwatchSpans.get(warned)?.warnings, ['first <one>', 'second']);
        assert.deepEqual(jaegerSpans.get(told)?.warnings, ['sent as text']);
        assert.match(String((jaegerSpans.get(backwards)?.warnings as string[])[0]), /^\["Negative duration detected/);
        for (const path of ['/api/services', '/api/services/xread-frontend/operations', '/api/services/xread-backend/operations']) {
          const j = await getJson(`${jaeger.url}${path}`);
          const s = await shipwatchJson(app, path);
          assert.equal(s.status, j.status, path);
          assert.deepEqual(sortedData(s.body), sortedData(j.body), path);
        }
      } finally {
        await app.close();
      }
    } finally {
      await jaeger.stop();
    }
  });

  test('(b) spans Shipwatch wrote are found by Jaeger\'s query, which answers what Shipwatch answers', async () => {
    const startUs = (Date.now() - 120_000) * 1000;
    const short = `0000000000000000${randomHex(16)}`;
    const long = `${randomHex(16)}${randomHex(16)}`;
    const [root, child, other, leaf] = [randomHex(16), randomHex(16), randomHex(16), randomHex(16)];
    const frontend = { serviceName: 'sw-frontend', tags: [{ key: 'host.name', type: 'string' as const, value: 'h1' }, { key: 'pid', type: 'int64' as const, value: 9223372036854775806n }] };
    const backend = { serviceName: 'sw-backend', tags: [] };
    const spans: Span[] = [
      {
        traceId: short, spanId: root, operationName: 'GET /root', references: [], flags: 0, startTimeMicros: startUs, durationMicros: 5_000, otlp: { flags: 257 },
        tags: [
          { key: 'span.kind', type: 'string', value: 'server' },
          { key: 'max', type: 'int64', value: 9223372036854775807n },
          { key: 'min', type: 'int64', value: -9223372036854775808n },
          { key: 'beyond53', type: 'int64', value: 9007199254740993n },
          { key: 'small', type: 'int64', value: 42 },
          { key: 'flag', type: 'bool', value: false },
          { key: 'ratio', type: 'float64', value: 0.1 },
          { key: 'blob', type: 'binary', value: new Uint8Array([0, 1, 254, 255]) },
          { key: 'text', type: 'string', value: 'héllo "quoted"' },
        ],
        logs: [{ timestampMicros: startUs + 100, fields: [{ key: 'event', type: 'string', value: 'checkpoint' }, { key: 'bytes', type: 'int64', value: 9223372036854775807n }] }],
        process: frontend,
      },
      {
        traceId: short, spanId: child, operationName: 'SELECT', references: [{ refType: 'CHILD_OF', traceId: short, spanId: root }, { refType: 'FOLLOWS_FROM', traceId: long, spanId: other }],
        flags: 0, startTimeMicros: startUs + 1_000, durationMicros: 1_000,
        tags: [{ key: 'span.kind', type: 'string', value: 'client' }, { key: 'error', type: 'bool', value: true }], logs: [], process: frontend,
      },
      {
        traceId: long, spanId: other, operationName: 'consume', references: [], flags: 0, startTimeMicros: startUs + 3_000, durationMicros: 1_000,
        tags: [{ key: 'span.kind', type: 'string', value: 'consumer' }, { key: 'n', type: 'int64', value: -9007199254740993n }], logs: [], process: backend,
      },
      {
        traceId: long, spanId: leaf, operationName: 'store', references: [{ refType: 'CHILD_OF', traceId: long, spanId: other }], flags: 0, startTimeMicros: startUs + 3_100,
        durationMicros: 800, tags: [], logs: [], process: backend,
      },
      {
        // Only a reference into another trace: no parent for Jaeger.
        traceId: long, spanId: randomHex(16), operationName: 'orphan', references: [{ refType: 'FOLLOWS_FROM', traceId: short, spanId: root }], flags: 0,
        startTimeMicros: startUs + 3_200, durationMicros: 10, tags: [{ key: 'span.kind', type: 'string', value: 'internal' }, { key: 'otel.status_code', type: 'string', value: 'OK' }],
        logs: [], process: backend,
      },
    ];
    // A Zipkin client span's error text beside its error status (as the Zipkin intake makes it), a warning sent as a
    // Thrift tag (as the Thrift intake makes it), and the list of a sanitizer's warning and another.
    const flagged = `${randomHex(16)}${randomHex(16)}`;
    const [errored, told, backwards] = [randomHex(16), randomHex(16), randomHex(16)];
    const negative = `Negative duration detected, sanitizing end timestamp. Original end timestamp: ${new Date(startUs / 1000).toISOString()}`;
    spans.push(
      {
        traceId: flagged, spanId: errored, operationName: 'get /api', references: [], flags: 0, startTimeMicros: startUs + 4_000, durationMicros: 1_000, logs: [], process: frontend,
        tags: [
          { key: 'error', type: 'string', value: 'connection reset' }, { key: 'peer.service', type: 'string', value: 'api' }, { key: 'span.kind', type: 'string', value: 'client' },
          { key: 'otel.status_code', type: 'string', value: 'ERROR' }, { key: 'error', type: 'bool', value: true },
        ],
      },
      {
        traceId: flagged, spanId: told, operationName: 'told', references: [{ refType: 'CHILD_OF', traceId: flagged, spanId: errored }], flags: 0, startTimeMicros: startUs + 4_100,
        durationMicros: 10, tags: [{ key: 'k', type: 'string', value: 'v' }], logs: [], process: frontend, warnings: ['sent by the client'],
        otlp: { parentSpanId: errored, warningsTag: { key: '@jaeger@warnings', type: 'string', value: 'sent by the client' } },
      },
      {
        traceId: flagged, spanId: backwards, operationName: 'backwards', references: [{ refType: 'CHILD_OF', traceId: flagged, spanId: errored }], flags: 0, startTimeMicros: startUs + 4_200,
        durationMicros: 0, tags: [], logs: [], process: frontend, warnings: [negative, 'a <second> & last'],
      },
    );
    const writer = new EsSpanWriter({ client, indexPrefix: shipwatchPrefix, shards: 1, replicas: 0, registry: createRegistry('test', false), log: silentLogger });
    await writer.init();
    assert.deepEqual(await writer.writeSpans(spans), { failed: 0 });
    await writer.close();
    await client.indices.refresh({ index: `${shipwatchPrefix}-jaeger-*` });

    // Jaeger installs its own templates on start, after Shipwatch's: a daily index made afterwards still gets
    // Shipwatch's fields (its templates are one priority higher), and Jaeger reads the span written to it.
    const jaeger = await startJaeger(esUrl, shipwatchPrefix, { otlpHttp: 41011, queryHttp: 41012, queryGrpc: 41013 }, true);
    const reader = new EsSpanReader({ client, indexPrefix: shipwatchPrefix, log: silentLogger });
    const app = queryApp(reader);
    try {
      const late = `${randomHex(16)}${randomHex(16)}`;
      const lateUs = startUs - 86_400_000_000;
      const lateWriter = new EsSpanWriter({ client, indexPrefix: shipwatchPrefix, shards: 1, replicas: 0, registry: createRegistry('test', false), log: silentLogger });
      await lateWriter.init();
      assert.deepEqual(await lateWriter.writeSpans([{
        traceId: late, spanId: randomHex(16), operationName: 'late', references: [], flags: 0, startTimeMicros: lateUs, durationMicros: 1, logs: [],
        tags: [{ key: 'big', type: 'int64', value: 9223372036854775807n }], process: backend, otlp: { flags: 1, startNanos: 5 },
      }]), { failed: 0 });
      await lateWriter.close();
      const lateIndex = `${shipwatchPrefix}-jaeger-span-${new Date(lateUs / 1000).toISOString().slice(0, 10)}`;
      await client.indices.refresh({ index: lateIndex });
      const mapping = (await client.indices.getMapping({ index: lateIndex }))[lateIndex]!.mappings.properties!;
      assert.deepEqual(mapping.otlp, { type: 'object', enabled: false });
      assert.ok(mapping.scope, 'scope is mapped');
      const lateAnswer = await getJson(`${jaeger.url}/api/traces/${late}`);
      assert.equal(lateAnswer.status, 200, JSON.stringify(lateAnswer.body));
      const lateShipwatch = await shipwatchJson(app, `/api/traces/${late}`);
      assert.deepEqual(normaliseTraces(lateShipwatch.body), normaliseTraces(lateAnswer.body));

      for (const id of [short, short.slice(16), long]) {
        const j = await getJson(`${jaeger.url}/api/traces/${id}`);
        assert.equal(j.status, 200, `Jaeger finds ${id}: ${JSON.stringify(j.body)}`);
        assert.equal(((j.body as Json).data as Json[])[0]!.spans instanceof Array, true);
      }
      const endUs = Date.now() * 1000;
      const fromUs = endUs - 3600_000_000;
      const paths = [
        `/api/traces/${short}`,
        `/api/traces/${short.slice(16)}`,
        `/api/traces/${long}`,
        `/api/traces/${flagged}`,
        `/api/traces/${flagged}?raw=true`,
        `/api/traces?service=sw-frontend&start=${fromUs}&end=${endUs}&limit=20`,
        `/api/traces?service=sw-backend&start=${fromUs}&end=${endUs}&limit=20`,
        `/api/traces?service=sw-frontend&operation=SELECT&start=${fromUs}&end=${endUs}&limit=20`,
        `/api/traces?service=sw-frontend&tags=${encodeURIComponent('{"max":"9223372036854775807"}')}&start=${fromUs}&end=${endUs}&limit=20`,
        `/api/traces?service=sw-frontend&tags=${encodeURIComponent('{"error":"true"}')}&start=${fromUs}&end=${endUs}&limit=20`,
        // The error text is in the nested list: Jaeger's tag search finds it too.
        `/api/traces?service=sw-frontend&tags=${encodeURIComponent('{"error":"connection reset"}')}&start=${fromUs}&end=${endUs}&limit=20`,
      ];
      for (const path of paths) {
        const j = await getJson(`${jaeger.url}${path}`);
        const s = await shipwatchJson(app, path);
        assert.equal(s.status, j.status, path);
        assert.ok(((j.body as Json).data as unknown[]).length > 0, `Jaeger answers ${path}`);
        assert.deepEqual(normaliseTraces(withoutErrorText(s.body), path.includes('?')), normaliseTraces(warningsListed(j.body), path.includes('?')), path);
      }
      for (const path of [`/api/v3/traces/${short}`, `/api/v3/traces/${long}`, `/api/v3/traces/${flagged}`]) {
        const j = await getJson(`${jaeger.url}${path}`);
        const s = await shipwatchJson(app, path);
        assert.equal(s.status, j.status, path);
        assert.deepEqual(flattenV3(withoutErrorText(s.body)), flattenV3(warningsListed(j.body)), path);
      }
      // What the two normalisations even out: Shipwatch shows the error text and the warnings it wrote; Jaeger the
      // error status alone, a single warning as it was, a list as its JSON text.
      const byId = async (get: (path: string) => Promise<{ body: unknown }>): Promise<Map<string, Json>> => {
        const got = (((await get(`/api/traces/${flagged}`)).body as Json).data as Json[])[0]!.spans as Json[];
        return new Map(got.map((x) => [String(x.spanID), x]));
      };
      const jaegerSpans = await byId((path) => getJson(`${jaeger.url}${path}`));
      const shipwatchSpans = await byId((path) => shipwatchJson(app, path));
      const errorTags = (x: Json | undefined): unknown => (x?.tags as Json[]).filter((k) => k.key === 'error');
      assert.deepEqual(errorTags(shipwatchSpans.get(errored)), [{ key: 'error', type: 'string', value: 'connection reset' }, { key: 'error', type: 'bool', value: true }]);
      assert.deepEqual(errorTags(jaegerSpans.get(errored)), [{ key: 'error', type: 'bool', value: true }]);
      assert.deepEqual(shipwatchSpans.get(told)?.warnings, ['sent by the client']);
      assert.deepEqual(jaegerSpans.get(told)?.warnings, ['sent by the client']);
      assert.deepEqual(shipwatchSpans.get(backwards)?.warnings, [negative, 'a <second> & last']);
      assert.deepEqual(jaegerSpans.get(backwards)?.warnings, [`["${negative}","a \\u003csecond\\u003e \\u0026 last"]`]);
      for (const path of ['/api/services', '/api/services/sw-frontend/operations', '/api/services/sw-backend/operations']) {
        const j = await getJson(`${jaeger.url}${path}`);
        const s = await shipwatchJson(app, path);
        assert.equal(s.status, j.status, path);
        assert.deepEqual(sortedData(s.body), sortedData(j.body), path);
      }
    } finally {
      await app.close();
      await jaeger.stop();
    }
  });
});
