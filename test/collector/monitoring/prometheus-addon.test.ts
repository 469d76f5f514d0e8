/**
 * Prometheus remote write against a real Prometheus (started by each test with --web.enable-remote-write-receiver):
 * a container's `aliyun.monitoring.addon.prometheus` label, and PROMETHEUS_REMOTE_WRITE_URL, send points that are
 * then read back through Prometheus' own /api/v1/query, under the names the collector's /metrics gives them.
 * Composed as the program composes it: container monitoring on the real engine → the metric outputs → the remote
 * write output on the delivery chain.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMetricOutputs, type MetricOutputs } from '../../../collector/metrics/metric-outputs.js';
import { float, int, makePoint } from '../../../model/metric-point.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { createLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import type { Cleanup } from '../../helpers/cleanup.js';
import { runContainer, waitFor } from '../../helpers/docker.js';
import { NO_PROMETHEUS, prometheusBin, startRemoteWriteReceiver } from '../../helpers/prometheus-receiver.js';
import { startMonitoring } from './support/monitoring-harness.js';

const skip = prometheusBin() === undefined ? NO_PROMETHEUS : false;

/** Metric outputs as the collector makes them, with a data folder and logs of their own; closed at the end. */
function outputsFor(t: Cleanup, env: Record<string, string>): { outputs: MetricOutputs; dataDir: string; logs: Array<Record<string, unknown>> } {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-remote-write-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', sink: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } });
  const config = loadConfig({ PROMETHEUS_REMOTE_WRITE_FLUSH_INTERVAL: '100ms', PROMETHEUS_REMOTE_WRITE_RETRY_MAX_DELAY: '1s', ...env }, 'collector');
  const outputs = createMetricOutputs(config.collector, { log, registry: createRegistry('collector', false), dataDir, drainTimeoutMs: 2_000 });
  t.after(async () => {
    const hold = setInterval(() => undefined, 1_000); // the chain's drain timer does not hold the loop
    try {
      await outputs.close();
    } finally {
      clearInterval(hold);
    }
  });
  return { outputs, dataDir, logs };
}

/** `name{a="1",b="2"}` of the exposition lines that start with `prefix` and name the container. */
function exposedSeries(outputs: MetricOutputs, prefix: string, container: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of outputs.prometheus.render().split('\n')) {
    if (!line.startsWith(prefix) || !line.includes(`container_name="${container}"`)) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

function seriesKey(metric: Record<string, string>): string {
  const { __name__: name, ...labels } = metric;
  const keys = Object.keys(labels).sort();
  return `${name}{${keys.map((k) => `${k}="${labels[k]!.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c))}"`).join(',')}}`;
}

test('a container\'s docker_container_* statistics and its script monitor\'s points reach the Prometheus its addon.prometheus label names, named as on /metrics', { skip }, async (t) => {
  const prometheus = await startRemoteWriteReceiver(t);
  const { outputs } = outputsFor(t, {});
  const h = await startMonitoring({ containerStats: true, forward: (points, route) => outputs.write(points, route) });
  t.after(() => h.close());
  const c = await runContainer(t, {
    name: 'sw-rw-addon',
    labels: {
      'aliyun.monitoring.script': "printf 'swrw_disk,probe=root used=42i,free=0.25,ok=true,note=\"str\"\\n'",
      'aliyun.monitoring.addon.prometheus': `http:127.0.0.1:${prometheus.port}`,
    },
  });
  await waitFor(() => h.monitoring.scheduler.has(`${c.id}/script`) && h.monitoring.scheduler.has(`${c.id}/stats`), { what: 'the script and stats tasks' });
  const before = Date.now();
  await h.monitoring.scheduler.runAllOnce();
  await h.waitForPoints(c.id, (p) => p.some((x) => x.measurement === 'swrw_disk') && p.some((x) => x.measurement === 'docker_container_cpu'), 'script and stats points');

  // The script's point: one series per numeric field, the string field left out, the boolean as 1.
  const script = await waitFor(async () => {
    const r = await prometheus.query(`{__name__=~"swrw_disk_.*", container_name="${c.name}"}`);
    return r.length >= 3 && r;
  }, { timeoutMs: 30_000, what: 'the script\'s series in Prometheus' });
  assert.deepEqual(
    Object.fromEntries(script.map((s) => [s.metric.__name__, s.value])),
    { swrw_disk_used: 42, swrw_disk_free: 0.25, swrw_disk_ok: 1 },
  );
  assert.deepEqual({ probe: script[0]!.metric.probe, host: script[0]!.metric.host }, { probe: 'root', host: 'test-host' });
  const [stamped] = await prometheus.query(`timestamp(swrw_disk_used{container_name="${c.name}"})`);
  assert.ok(stamped!.value * 1000 >= before - 1 && stamped!.value * 1000 <= Date.now(), `the collection time is the sample's: ${stamped!.value}`);

  // Every docker_container_* series the exposition shows for the container is in Prometheus, same name, labels, value.
  const exposed = exposedSeries(outputs, 'docker_container_', c.name);
  assert.ok([...exposed.keys()].some((k) => k.startsWith('docker_container_cpu_usage_percent{')), [...exposed.keys()].join('\n'));
  assert.ok([...exposed.keys()].some((k) => k.startsWith('docker_container_mem_usage{')));
  const stored = await waitFor(async () => {
    const r = await prometheus.query(`{__name__=~"docker_container_.*", container_name="${c.name}"}`);
    return r.length >= exposed.size && r;
  }, { timeoutMs: 30_000, what: `${exposed.size} docker_container_* series in Prometheus` });
  assert.deepEqual(new Map(stored.map((s) => [seriesKey(s.metric), s.value])), exposed);
  assert.equal(outputs.health.length, 1);
  assert.equal(await outputs.health[0]!.check(), undefined);
});

test('PROMETHEUS_REMOTE_WRITE_URL: Prometheus stopped for 20 s loses no point; /health names the outage meanwhile', { skip }, async (t) => {
  const prometheus = await startRemoteWriteReceiver(t);
  const { outputs } = outputsFor(t, { PROMETHEUS_REMOTE_WRITE_URL: prometheus.writeUrl });
  assert.ok(outputs.remoteWrite !== undefined);
  const health = outputs.health[0]!;
  let seq = 0;
  let sum = 0;
  const tick = (): void => {
    seq++;
    sum += seq;
    outputs.sink.write([makePoint('swrw_outage', { run: String(process.pid) }, [['seq', int(seq)], ['half', float(seq / 2)]], BigInt(Date.now()) * 1_000_000n)]);
  };
  const timer = setInterval(tick, 200);
  t.after(() => clearInterval(timer));
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  await waitFor(async () => (await prometheus.query('swrw_outage_seq')).length === 1, { timeoutMs: 15_000, what: 'the first samples' });
  await prometheus.stop();
  const downAt = Date.now();
  const problem = await waitFor(async () => (await health.check()) ?? false, { timeoutMs: 10_000, what: 'the outage on /health' });
  assert.match(String(problem), /no answer from http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write: .*ECONNREFUSED/);
  await sleep(20_000 - (Date.now() - downAt));
  await prometheus.start();
  await sleep(1_000);
  clearInterval(timer);
  const written = seq;

  const expr = `count_over_time(swrw_outage_seq{run="${process.pid}"}[10m])`;
  await waitFor(async () => (await prometheus.query(expr))[0]?.value === written, { timeoutMs: 30_000, what: `${written} samples in Prometheus` });
  const [total] = await prometheus.query(`sum_over_time(swrw_outage_seq{run="${process.pid}"}[10m])`);
  assert.equal(total!.value, sum, 'every sample once, none lost');
  const [halves] = await prometheus.query(`count_over_time(swrw_outage_half{run="${process.pid}"}[10m])`);
  assert.equal(halves!.value, written);
  assert.ok(written >= 100, `${written} points over the run`);
  await waitFor(async () => (await health.check()) === undefined, { timeoutMs: 10_000, what: '/health clear again' });
});

test('a sample Prometheus refuses (out of order) goes alone to the dead letter with Prometheus\' reason; the rest of its batch is delivered', { skip }, async (t) => {
  const prometheus = await startRemoteWriteReceiver(t);
  const { outputs, dataDir } = outputsFor(t, { PROMETHEUS_REMOTE_WRITE_URL: prometheus.writeUrl });
  const now = Date.now();
  const at = (ms: number): bigint => BigInt(ms) * 1_000_000n;
  outputs.sink.write([makePoint('swrw_order', { s: 'a' }, [['v', float(1)]], at(now))]);
  await waitFor(async () => (await prometheus.query('swrw_order_v')).length === 1, { timeoutMs: 15_000, what: 'series a' });
  // One write, one batch: b, a one minute older than the sample Prometheus has (refused), c.
  outputs.sink.write([
    makePoint('swrw_order', { s: 'b' }, [['v', float(2)]], at(now)),
    makePoint('swrw_order', { s: 'a' }, [['v', float(9)]], at(now - 60_000)),
    makePoint('swrw_order', { s: 'c' }, [['v', float(3)]], at(now)),
  ]);
  const letters = await waitFor(() => {
    const dir = join(dataDir, 'dead-letter');
    const files = (() => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    })();
    const lines = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''));
    return lines.length > 0 && lines.map((l) => JSON.parse(l) as { status: number; reason: string; record: string });
  }, { timeoutMs: 15_000, what: 'the dead letter' });
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.status, 400);
  assert.match(letters[0]!.reason, /out of order|out of bounds/);
  assert.equal(letters[0]!.record, `swrw_order_v{s="a"} 9 ${now - 60_000}`);
  const stored = await waitFor(async () => {
    const r = await prometheus.query('swrw_order_v');
    return r.length === 3 && r;
  }, { timeoutMs: 15_000, what: 'b and c' });
  assert.deepEqual(Object.fromEntries(stored.map((s) => [s.metric.s, s.value])), { a: 1, b: 2, c: 3 });
});

test('a Prometheus without the remote write receiver refuses with 404: the batch is a dead letter whose reason says what to enable; a bad URL is a configuration error', { skip }, async (t) => {
  assert.throws(
    () => loadConfig({ PROMETHEUS_REMOTE_WRITE_URL: 'prometheus:9090/api/v1/write' }, 'collector'),
    /PROMETHEUS_REMOTE_WRITE_URL: "prometheus:9090\/api\/v1\/write" is not an http\(s\) URL/,
  );
  const prometheus = await startRemoteWriteReceiver(t, { receiver: false });
  const { outputs, dataDir, logs } = outputsFor(t, { PROMETHEUS_REMOTE_WRITE_URL: prometheus.writeUrl });
  outputs.sink.write([makePoint('swrw_refused', { k: 'v' }, [['x', float(1.5)]], 1_700_000_000_000_000_000n)]);
  const refusal = await waitFor(() => logs.find((l) => l.msg === 'a batch was refused by the output as a whole'), { timeoutMs: 15_000, what: 'the refusal' });
  assert.match(String(refusal.reason), /answered 404 .*\(no remote write receiver at this URL: Prometheus needs --web\.enable-remote-write-receiver and the path \/api\/v1\/write\)/);
  const [file] = readdirSync(join(dataDir, 'dead-letter'));
  const letter = JSON.parse(readFileSync(join(dataDir, 'dead-letter', file!), 'utf8').trim()) as { reason: string; record: string };
  assert.equal(letter.record, 'swrw_refused_x{k="v"} 1.5 1700000000000');
  assert.match(letter.reason, /web\.enable-remote-write-receiver/);
});
