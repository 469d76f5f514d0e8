/**
 * `shipwatch all` as a newcomer runs it, without a container engine: the collector and query still serve, the
 * pilot's /health says why it waits, spans sent over OTLP/HTTP and in a Jaeger agent datagram (Thrift compact, kept
 * in the store as it came) come back from the Jaeger API, a pushed line
 * protocol point shows on the collector's /metrics, and SIGTERM ends the process with 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TAG, encodeEmitBatch } from '../collector/traces/support/thrift-writer.js';
import { freePort } from '../helpers/ports.js';

const ENTRY = fileURLToPath(new URL('../../cli/shipwatch.ts', import.meta.url));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('shipwatch all serves traces and metrics without an engine, reports why the pilot waits, and stops on SIGTERM', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-all-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const [query, queryAdmin, pilotAdmin, collectorAdmin, otlp, zipkin, jaegerHttp, jaegerCompact] = await Promise.all(Array.from({ length: 8 }, () => freePort()));
  const env = {
    PATH: process.env.PATH ?? '',
    SHIPWATCH_DATA_DIR: dataDir,
    DOCKER_HOST: `unix://${join(dataDir, 'no-engine.sock')}`,
    QUERY_LISTEN: `127.0.0.1:${query}`, QUERY_ADMIN_LISTEN: `127.0.0.1:${queryAdmin}`,
    PILOT_ADMIN_LISTEN: `127.0.0.1:${pilotAdmin}`, COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${collectorAdmin}`,
    COLLECTOR_OTLP_HTTP_LISTEN: `127.0.0.1:${otlp}`, COLLECTOR_ZIPKIN_LISTEN: `127.0.0.1:${zipkin}`,
    COLLECTOR_JAEGER_HTTP_LISTEN: `127.0.0.1:${jaegerHttp}`,
    // A free TCP port number, for UDP: nothing else of this test listens on UDP.
    COLLECTOR_JAEGER_COMPACT_LISTEN: `127.0.0.1:${jaegerCompact}`, COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0',
    COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
    COLLECTOR_SPAN_FLUSH_INTERVAL: '50ms',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'all'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));

  const services = await waitFor('the query API', async () => {
    const res = await fetch(`http://127.0.0.1:${query}/api/services`);
    return res.ok ? ((await res.json()) as { data: string[] }) : undefined;
  });
  assert.deepEqual(services.data, []);

  // The pilot is up but waiting for the engine, and says so.
  const pilotHealth = await fetch(`http://127.0.0.1:${pilotAdmin}/health`);
  assert.equal(pilotHealth.status, 503);
  assert.match(JSON.stringify(await pilotHealth.json()), /no-engine\.sock|ENOENT|engine/i);

  // A span in over OTLP/HTTP JSON, out through the Jaeger API.
  const traceId = '5b8efff798038103d269b633813fc60c';
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
      scopeSpans: [{ spans: [{ traceId, spanId: 'eee19b7ec3c1b174', name: 'GET /cart', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000250000000' }] }],
    }],
  };
  const sent = await fetch(`http://127.0.0.1:${otlp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(sent.status, 200);
  const trace = await waitFor('the trace', async () => {
    const res = await fetch(`http://127.0.0.1:${query}/api/traces/${traceId}`);
    return res.ok ? ((await res.json()) as { data: Array<{ traceID: string; spans: Array<{ operationName: string; duration: number }> }> }) : undefined;
  });
  assert.equal(trace.data[0]!.traceID, traceId);
  assert.equal(trace.data[0]!.spans[0]!.operationName, 'GET /cart');
  assert.equal(trace.data[0]!.spans[0]!.duration, 250_000);

  // A Jaeger agent datagram in, out through the Jaeger API with its parent, tags, logs and process.
  const datagram = encodeEmitBatch({
    process: { serviceName: 'inventory', tags: [{ key: 'hostname', vType: TAG.STRING, vStr: 'inv-1' }] },
    spans: [{
      traceIdLow: 0x1234n, traceIdHigh: 0n, spanId: 0x99n, parentSpanId: 0x98n, operationName: 'reserve', flags: 1, startTime: 1_700_000_000_000_000n, duration: 1_500n,
      tags: [{ key: 'span.kind', vType: TAG.STRING, vStr: 'server' }, { key: 'items', vType: TAG.LONG, vLong: 3n }],
      logs: [{ timestamp: 1_700_000_000_000_100n, fields: [{ key: 'event', vType: TAG.STRING, vStr: 'reserved' }] }],
    }],
  }, 'compact');
  const socket = dgram.createSocket('udp4');
  const jaegerTrace = await waitFor('the Jaeger datagram\'s trace', async () => {
    // Sent again until it arrives: the receiver may not be bound yet.
    await new Promise<void>((resolve) => socket.send(datagram, jaegerCompact, '127.0.0.1', () => resolve()));
    const res = await fetch(`http://127.0.0.1:${query}/api/traces/1234`);
    return res.ok ? ((await res.json()) as { data: Array<{ spans: Array<Record<string, unknown>>; processes: Record<string, unknown> }> }) : undefined;
  });
  socket.close();
  const got = jaegerTrace.data[0]!;
  // UDP may deliver a datagram more than once; identical copies are answered once (Jaeger's dedupe adjuster).
  assert.ok(got.spans.length >= 1);
  for (const span of got.spans) {
    assert.deepEqual(
      { operationName: span.operationName, references: span.references, tags: span.tags, logs: span.logs, duration: span.duration },
      {
        operationName: 'reserve', duration: 1_500,
        references: [{ refType: 'CHILD_OF', traceID: '0000000000001234', spanID: '0000000000000098' }],
        tags: [{ key: 'items', type: 'int64', value: 3 }, { key: 'span.kind', type: 'string', value: 'server' }], // sorted by key, as Jaeger's adjusters sort them
        logs: [{ timestamp: 1_700_000_000_000_100, fields: [{ key: 'event', type: 'string', value: 'reserved' }] }],
      },
    );
  }
  // Jaeger 2.x's translation names the host as OpenTelemetry does.
  assert.deepEqual(Object.values(got.processes), [{ serviceName: 'inventory', tags: [{ key: 'host.name', type: 'string', value: 'inv-1' }] }]);

  // Line protocol pushed to the admin port is exposed for Prometheus.
  const pushed = await fetch(`http://127.0.0.1:${collectorAdmin}/api/v2/write?bucket=telegraf&org=x`, { method: 'POST', body: 'room_temp,room=kitchen celsius=21.5' });
  assert.equal(pushed.status, 204);
  const metrics = await (await fetch(`http://127.0.0.1:${collectorAdmin}/metrics`)).text();
  assert.match(metrics, /room_temp_celsius\{[^}]*room="kitchen"[^}]*\} 21\.5/);

  // A moment after start, what was found and where to look.
  const found = await waitFor('the start-up report', async () => {
    const line = stderr.split('\n').find((l) => l.includes('"msg":"found"') && l.includes('"program":"query"'));
    return line === undefined ? undefined : (JSON.parse(line) as { report: string[] }).report;
  });
  assert.ok(found.some((l) => /container engine at .*not reachable/.test(l)), found.join('\n'));
  assert.ok(found.some((l) => new RegExp(`open http://127\\.0\\.0\\.1:${query}/ for logs, traces and metrics`).test(l)), found.join('\n'));
  child.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
  assert.equal(code, 0, `exit ${String(code)}; stderr:\n${stderr.slice(-2000)}`);
  // Not a terminal: standard error is JSON lines only.
  for (const line of stderr.split('\n').filter((l) => l !== '')) assert.doesNotThrow(() => JSON.parse(line), line);
});
