/**
 * `shipwatch collector` as a process, pushed numbered points over line protocol while its InfluxDB output
 * (the real VictoriaMetrics, behind a relay that goes down) is out of reach for five minutes, and killed with
 * SIGKILL in the middle of the outage, then started again on the same data folder: every point is in
 * VictoriaMetrics exactly once afterwards, read back raw from its export API by series and time.
 *
 * The client behaves as Telegraf does: a push not answered 204 is sent again. It pauses around the kill, so that
 * no push is cut between being kept and being answered (that push would be sent again and kept twice).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.js';
import { testServices } from '../helpers/services.js';
import { startTcpSwitch } from '../helpers/tcp-switch.js';
import { exportSeries } from '../helpers/victoria-metrics.js';
import { waitFor } from '../helpers/wait.js';

const ENTRY = fileURLToPath(new URL('../../cli/shipwatch.ts', import.meta.url));
const OUTAGE_MS = 5 * 60_000;
const POINTS_PER_PUSH = 50;
const PUSH_EVERY_MS = 200;

interface Collector {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

function startCollector(env: Record<string, string>): Collector {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'collector'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Pushes numbered points, each push sent again until it is answered 204; `pause` waits for the push under way. */
function pusher(admin: string, measurement: string, baseMs: number) {
  let next = 0;
  let paused = false;
  let stopped = false;
  let answers503 = 0;
  let idle: Promise<void> = Promise.resolve();
  const pushOnce = async (from: number): Promise<void> => {
    const body = Array.from({ length: POINTS_PER_PUSH }, (_, k) => `${measurement},host=h1 n=${from + k}i ${baseMs + from + k}`).join('\n');
    while (!stopped) {
      const status = await fetch(`${admin}/api/v2/write?bucket=telegraf&precision=ms`, { method: 'POST', body }).then((r) => r.status, () => 0);
      if (status === 204) return;
      if (status === 503) answers503++;
      await sleep(PUSH_EVERY_MS);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      if (paused) {
        await sleep(20);
        continue;
      }
      const from = next;
      idle = pushOnce(from);
      await idle;
      next = from + POINTS_PER_PUSH;
      await sleep(PUSH_EVERY_MS);
    }
  })();
  return {
    get sent() {
      return next;
    },
    get answers503() {
      return answers503;
    },
    async pause() {
      paused = true;
      await idle;
    },
    resume() {
      paused = false;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

async function bufferBytes(admin: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('shipwatch_buffer_bytes{') && l.includes('output="influxdb"'));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('points pushed through a five-minute outage and a SIGKILL in its middle are each in VictoriaMetrics exactly once', { timeout: OUTAGE_MS + 240_000 }, async (t) => {
  const { vmUrl } = testServices();
  const relay = await startTcpSwitch(vmUrl, true);
  t.after(() => relay.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-metrics-outage-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const adminPort = await freePort();
  const admin = `http://127.0.0.1:${adminPort}`;
  const env = {
    PATH: process.env.PATH ?? '',
    SHIPWATCH_DATA_DIR: dataDir,
    // The real engine: without one /health would answer 503 for it, hiding the degraded output.
    DOCKER_HOST: `unix://${testServices().dockerSocket}`,
    COLLECTOR_CONTAINER_STATS: 'false',
    COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    COLLECTOR_OTLP_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_ZIPKIN_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_HTTP_LISTEN: '127.0.0.1:0',
    COLLECTOR_JAEGER_COMPACT_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0',
    COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
    INFLUXDB_URL: relay.url, INFLUXDB_BUCKET: 'telegraf', INFLUXDB_FLUSH_INTERVAL: '100ms', INFLUXDB_RETRY_MAX_DELAY: '1s',
  };
  let collector = startCollector(env);
  t.after(async () => {
    collector.child.kill('SIGKILL');
    await collector.exited;
  });
  const up = async (): Promise<void> => {
    await waitFor(async () => (await fetch(`${admin}/health`)).status > 0, { timeoutMs: 30_000, what: `the collector's admin port (${collector.output()})` });
  };
  await up();

  const measurement = `swoutage_${process.pid}_${Date.now()}`;
  const baseMs = Date.now() - 3_600_000;
  const client = pusher(admin, measurement, baseMs);
  t.after(() => client.stop());
  await sleep(5_000);

  // Down while nothing is in flight (a request the relay cuts after the target stored it would be sent again).
  await client.pause();
  await waitFor(async () => (await bufferBytes(admin)) === 0, { timeoutMs: 20_000, what: 'the first points delivered' });
  relay.setUp(false);
  const outageStart = performance.now();
  client.resume();

  await sleep(20_000);
  const health = await fetch(`${admin}/health`);
  assert.equal(health.status, 200);
  const body = (await health.json()) as { status: string; problems?: Record<string, string> };
  assert.equal(body.status, 'degraded');
  assert.match(body.problems?.influxdb ?? '', /no answer from/);

  await sleep(Math.max(0, OUTAGE_MS / 2 - (performance.now() - outageStart)));
  await client.pause();
  const waiting = await bufferBytes(admin);
  assert.ok(waiting > 0, 'points wait on disk');
  collector.child.kill('SIGKILL');
  await collector.exited;
  collector = startCollector(env);
  await up();
  client.resume();

  await sleep(Math.max(0, OUTAGE_MS - (performance.now() - outageStart)));
  relay.setUp(true);
  await sleep(5_000);
  await client.stop();
  const sent = client.sent;
  assert.ok(sent > 50_000, `${sent} points pushed`);

  const stored = await waitFor(async () => {
    const series = await exportSeries(vmUrl, `{__name__="${measurement}_n"}`);
    const n = series.reduce((sum, s) => sum + s.values.length, 0);
    return n >= sent && series;
  }, { timeoutMs: 120_000, intervalMs: 1_000, what: `${sent} points in VictoriaMetrics` });
  assert.equal(stored.length, 1, 'one series');
  const { values, timestamps } = stored[0]!;
  assert.equal(values.length, sent, 'each point once');
  assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: sent }, (_, i) => i));
  assert.deepEqual(timestamps, values.map((v) => baseMs + v), 'each at its own time');
  await waitFor(async () => (await bufferBytes(admin)) === 0, { what: 'the queue emptied' });
  t.diagnostic(`${sent} points; ${waiting} bytes waiting at the kill; ${client.answers503} pushes answered 503`);
});
