/**
 * `shipwatch collector` as a process, pushed numbered points over line protocol while its InfluxDB output, a real
 * InfluxDB 1.x (no /api/v2/write: written through /write), is stopped for five minutes, and the collector killed
 * with SIGKILL in the middle of the outage and started again on the same data folder (so its output first meets
 * the server while it is down, and finds its API once it is back). Afterwards every point is in the database once,
 * and InfluxDB's own count of points written says none was written twice.
 *
 * The InfluxDB is one of the test's own (an influxd on free ports, test/helpers/influxdb.ts), really stopped and
 * started again on its data folder: the shared one stays up for the other tests. As in metrics-outage.test.ts, the
 * client sends a push again until it is answered 204 and pauses around the stop and the kill, so that no request is
 * cut between being stored and being answered (that one would be sent again, by design).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { influxDbUrl, influxRows, NO_INFLUXDB, ownInfluxDb, pointsWrittenOk } from '../../helpers/influxdb.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

const ENTRY = fileURLToPath(new URL('../../../cli/shipwatch.ts', import.meta.url));
const OUTAGE_MS = 5 * 60_000;
const POINTS_PER_PUSH = 50;
const PUSH_EVERY_MS = 200;
const DATABASE = 'telegraf';

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
  let idle: Promise<void> = Promise.resolve();
  const pushOnce = async (from: number): Promise<void> => {
    const body = Array.from({ length: POINTS_PER_PUSH }, (_, k) => `${measurement},host=h1 n=${from + k}i ${baseMs + from + k}`).join('\n');
    while (!stopped) {
      const status = await fetch(`${admin}/write?db=${DATABASE}&precision=ms`, { method: 'POST', body }).then((r) => r.status, () => 0);
      if (status === 204) return;
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

test('points pushed through a five-minute stop of InfluxDB 1.x and a SIGKILL of the collector in its middle are each written once', { skip: influxDbUrl() === undefined ? NO_INFLUXDB : false, timeout: OUTAGE_MS + 240_000 }, async (t) => {
  const influx = await ownInfluxDb(t);
  await influx.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-influx-v1-outage-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const adminPort = await freePort();
  const admin = `http://127.0.0.1:${adminPort}`;
  const env = {
    PATH: process.env.PATH ?? '',
    SHIPWATCH_DATA_DIR: dataDir,
    // No engine: monitoring is not under test here (/health then answers 503 for the engine, so it is not read).
    DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    COLLECTOR_CONTAINER_STATS: 'false',
    COLLECTOR_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    COLLECTOR_OTLP_HTTP_LISTEN: '127.0.0.1:0', COLLECTOR_ZIPKIN_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_HTTP_LISTEN: '127.0.0.1:0',
    COLLECTOR_JAEGER_COMPACT_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_BINARY_LISTEN: '127.0.0.1:0',
    COLLECTOR_OTLP_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_JAEGER_GRPC_LISTEN: '127.0.0.1:0', COLLECTOR_SAMPLING_LISTEN: '127.0.0.1:0',
    INFLUXDB_URL: influx.url, INFLUXDB_BUCKET: DATABASE, INFLUXDB_FLUSH_INTERVAL: '100ms', INFLUXDB_RETRY_MAX_DELAY: '1s',
  };
  let collector = startCollector(env);
  t.after(async () => {
    collector.child.kill('SIGKILL');
    await collector.exited;
  });
  const up = async (): Promise<void> => {
    await waitFor(async () => (await fetch(`${admin}/metrics`)).ok, { timeoutMs: 30_000, what: `the collector's admin port (${collector.output()})` });
  };
  await up();

  const measurement = `swv1outage_${process.pid}`;
  const baseMs = Date.now() - 3_600_000;
  const client = pusher(admin, measurement, baseMs);
  t.after(() => client.stop());
  await sleep(5_000);

  // Stopped while nothing is in flight (a request cut after InfluxDB stored it would be sent again).
  await client.pause();
  await waitFor(async () => (await bufferBytes(admin)) === 0, { timeoutMs: 20_000, what: 'the first points delivered' });
  const deliveredBefore = client.sent;
  const writtenBefore = await pointsWrittenOk(influx.url);
  assert.equal(writtenBefore, deliveredBefore, 'InfluxDB wrote each point of the first seconds once');
  await influx.stop();
  const outageStart = performance.now();
  client.resume();

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
  await influx.start();
  await sleep(5_000);
  await client.stop();
  const sent = client.sent;
  assert.ok(sent > (OUTAGE_MS / 1000) * 100, `${sent} points pushed`);

  await waitFor(async () => (await bufferBytes(admin)) === 0, { timeoutMs: 120_000, intervalMs: 1_000, what: 'the queue emptied' });
  const rows = await influxRows(influx.url, DATABASE, `SELECT n FROM "${measurement}"`);
  const numbers = rows.map((r) => Number(r.n)).sort((a, b) => a - b);
  assert.equal(numbers.length, sent, 'every point is in the database');
  assert.deepEqual(numbers, Array.from({ length: sent }, (_, i) => i));
  assert.ok(rows.every((r) => r.time === baseMs + Number(r.n)), 'each at its own time');
  const writtenAfter = await pointsWrittenOk(influx.url);
  assert.equal(writtenBefore + writtenAfter, sent, 'InfluxDB was handed each point once');
  t.diagnostic(`${sent} points; ${waiting} bytes waiting at the kill; outage ${Math.round((performance.now() - outageStart) / 1000)} s`);
});
