/**
 * Auto scaling on the test engine's swarm (test/services/docker.sh makes it a one-node swarm manager): real services
 * of the busybox image, workloads switched by files in a host folder bind-mounted at /ctl, the scaler with a 3 s
 * period. The scaler takes on only this process's services (label `shipwatch-test=<pid>`): the engine is shared.
 *
 * The full cycle (out, in, held at min_instances) is driven by memory, which a loaded machine cannot disturb. CPU
 * limits are chosen for a shared 2-core machine: there a busy loop in a container gets as little as a tenth of a core
 * (its cgroup competes with every other runnable process), so an upper limit like 60% would never be reached.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Docker from 'dockerode';
import { ServiceScaler } from '../../../collector/autoscaling/service-scaler.js';
import { createEngineClient, inspectService, listServices, setServiceReplicas, swarmRole, type EngineClient } from '../../../platform/engine/docker-client.js';
import { createLogger } from '../../../platform/log.js';
import { createRegistry, type Registry } from '../../../platform/self-metrics.js';
import { waitFor } from '../../helpers/wait.js';
import type { Cleanup } from '../../helpers/cleanup.js';
import { docker as testDocker } from '../../helpers/docker.js';

const SOCKET = process.env.SHIPWATCH_TEST_DOCKER_SOCKET;
const IMAGE = process.env.SHIPWATCH_TEST_IMAGE ?? 'shipwatch-test/busybox:latest';
const SKIP = SOCKET ? false : 'SHIPWATCH_TEST_DOCKER_SOCKET not set: run through the test runner (test/run.ts starts test/services/docker.sh)';
const TEST_LABEL = 'shipwatch-test';
const PERIOD_MS = 3000;

/** Burns a CPU while /ctl/burn exists, else idles (`[` and `:` are shell builtins: nothing is forked while burning). */
const BURN = 'while :; do if [ -e /ctl/burn ]; then :; else sleep 1; fi; done';
/** Holds a 28 MiB string (44% of the 64 MiB limit; building it takes twice that) while /ctl/fill exists, and frees it after. */
const FILL = 'while :; do if [ -e /ctl/fill ]; then [ -n "$x" ] || x=$(head -c 29360128 /dev/zero | tr "\\000" a); else x=; fi; sleep 1; done';
const MEMORY_LIMIT_BYTES = 64 * 1024 * 1024;

interface Harness {
  client: EngineClient;
  docker: Docker;
  registry: Registry;
  logs: Array<Record<string, unknown>>;
  scaler: ServiceScaler;
  decisions(decision: string): Promise<number>;
}

async function harness(t: Cleanup): Promise<Harness> {
  const client = createEngineClient(`unix://${SOCKET}`);
  const role = await swarmRole(client);
  assert.ok(role.leader, `the test engine is no swarm leader (state ${role.state}): test/services/docker.sh makes it a one-node swarm`);
  const registry = createRegistry('collector', false);
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', sink: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } });
  const scaler = new ServiceScaler({
    client, periodMs: PERIOD_MS, log, registry, select: (s) => s.labels[TEST_LABEL] === String(process.pid),
  });
  t.after(() => scaler.close());
  return {
    client, docker: testDocker(), registry, logs, scaler,
    decisions: async (decision) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'shipwatch_autoscaling_decisions_total');
      return ((metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>)
        .filter((v) => v.labels.decision === decision).reduce((sum, v) => sum + v.value, 0);
    },
  };
}

let sequence = 0;

/** A service of the busybox image running WORKLOAD, removed when the test ends. */
async function createService(
  t: Cleanup, h: Harness,
  options: { labels: Record<string, string>; ctlDir: string; workload: string; replicas?: number; global?: boolean },
): Promise<{ id: string; name: string }> {
  sequence += 1;
  const name = `sw-autoscale-${process.pid}-${sequence}`;
  const created = (await h.docker.createService({
    Name: name,
    Labels: { ...options.labels, [TEST_LABEL]: String(process.pid) },
    TaskTemplate: {
      ContainerSpec: {
        Image: IMAGE, Command: ['sh', '-c', options.workload],
        Mounts: [{ Type: 'bind', Source: options.ctlDir, Target: '/ctl', ReadOnly: true }],
      },
      Resources: { Limits: { MemoryBytes: MEMORY_LIMIT_BYTES } },
      RestartPolicy: { Condition: 'any' },
    },
    Mode: options.global ? { Global: {} } : { Replicated: { Replicas: options.replicas ?? 1 } },
  })) as { id?: string; ID?: string };
  const id = created.id ?? created.ID!;
  t.after(async () => {
    try {
      await h.docker.getService(id).remove();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  });
  return { id, name };
}

async function replicas(h: Harness, id: string): Promise<number | undefined> {
  const spec = ((await h.docker.getService(id).inspect()) as Docker.Service).Spec;
  return spec?.Mode?.Replicated?.Replicas;
}

async function runningTaskCount(h: Harness, id: string): Promise<number> {
  const tasks = (await h.docker.listTasks({ filters: { service: [id], 'desired-state': ['running'] } })) as Array<{ Status?: { State?: string } }>;
  return tasks.filter((task) => task.Status?.State === 'running').length;
}

function controlDir(t: Cleanup, ...files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sw-autoscale-'));
  chmodSync(dir, 0o755);
  for (const f of files) writeFileSync(join(dir, f), '');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a service above max_memory for three periods goes from 1 to 2 replicas, back to 1 once it idles for three, and stays at min_instances', { skip: SKIP, timeout: 170_000 }, async (t) => {
  const h = await harness(t);
  const ctl = controlDir(t, 'fill');
  const service = await createService(t, h, {
    ctlDir: ctl, workload: FILL,
    labels: { 'aliyun.auto_scaling.max_memory': '35', 'aliyun.auto_scaling.min_memory': '5', 'aliyun.auto_scaling.max_instances': '3' },
  });
  await waitFor(async () => (await runningTaskCount(h, service.id)) === 1, { what: 'the service\'s first task running', timeoutMs: 30_000 });
  const started = Date.now();
  h.scaler.start();

  await waitFor(async () => (await replicas(h, service.id)) === 2, { what: 'the service scaled out to 2 replicas', timeoutMs: 60_000, intervalMs: 250 });
  const outAfterMs = Date.now() - started;
  // Three periods of samples come before the first decision.
  assert.ok(outAfterMs >= 3 * PERIOD_MS - 500, `scaled out after ${outAfterMs} ms, before three periods of ${PERIOD_MS} ms`);
  const out = h.logs.find((l) => l.msg === 'auto scaling: service scaled out');
  assert.ok(out, 'the scale out is logged');
  assert.equal(out.service, service.name);
  assert.equal(out.from, 1);
  assert.equal(out.to, 2);
  assert.match(String(out.reason), /^memory \d+(\.\d)?% above max_memory 35% \(average of 1 container\) for 3 periods$/);
  assert.equal(await h.decisions('scale_out'), 1);
  const highs = h.logs.filter((l) => l.msg === 'auto scaling sample' && l.service === service.name && l.verdict === 'high');
  assert.deepEqual(highs.map((l) => l.periods), [1, 2], 'two high periods logged before the third decided');

  // The workload frees its memory: both containers fall under min_memory, and after three such periods the service goes back to 1.
  unlinkSync(join(ctl, 'fill'));
  await waitFor(async () => (await replicas(h, service.id)) === 1, { what: 'the service scaled in to 1 replica', timeoutMs: 60_000, intervalMs: 250 });
  const back = h.logs.find((l) => l.msg === 'auto scaling: service scaled in');
  assert.ok(back, 'the scale in is logged');
  assert.equal(back.from, 2);
  assert.equal(back.to, 1);
  assert.match(String(back.reason), /^memory \d+(\.\d)?% below min_memory 5% \(average of [12] containers?\) for 3 periods$/);
  assert.equal(await h.decisions('scale_in'), 1);
  await waitFor(async () => (await runningTaskCount(h, service.id)) === 1, { what: 'one task left running', timeoutMs: 30_000 });

  // Three more idle periods at min_instances: the decision is logged and counted, the replicas stay.
  await waitFor(async () => (await h.decisions('at_limit')) >= 1, { what: 'an at_limit decision at min_instances', timeoutMs: 30_000, intervalMs: 250 });
  assert.equal(await replicas(h, service.id), 1);
  assert.match(String(h.logs.find((l) => l.msg === 'auto scaling: service not scaled in, at its limit')?.reason), /but 1 replicas is min_instances 1 already$/);
  assert.equal(await h.decisions('scale_out'), 1, 'no further scale out');
  t.diagnostic(`scaled out after ${outAfterMs} ms, back in and held at the minimum after ${Date.now() - started} ms`);
});

test('a CPU-burning service above max_cpu is scaled out, an idle one under min_cpu is scaled in', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const h = await harness(t);
  const ctl = controlDir(t, 'burn');
  const burning = await createService(t, h, {
    ctlDir: ctl, workload: BURN, labels: { 'aliyun.auto_scaling.max_cpu': '5', 'aliyun.auto_scaling.max_instances': '2' },
  });
  const idleCtl = controlDir(t);
  const idle = await createService(t, h, {
    ctlDir: idleCtl, workload: BURN, replicas: 2, labels: { 'aliyun.auto_scaling.max_cpu': '40', 'aliyun.auto_scaling.min_cpu': '1' },
  });
  await waitFor(async () => (await runningTaskCount(h, burning.id)) === 1 && (await runningTaskCount(h, idle.id)) === 2, { what: 'the services\' tasks running', timeoutMs: 30_000 });
  const started = Date.now();
  h.scaler.start();
  await waitFor(async () => (await replicas(h, burning.id)) === 2 && (await replicas(h, idle.id)) === 1, {
    what: 'the burning service at 2 replicas and the idle one at 1', timeoutMs: 60_000, intervalMs: 250,
  });
  unlinkSync(join(ctl, 'burn'));
  const out = h.logs.find((l) => l.msg === 'auto scaling: service scaled out' && l.service === burning.name);
  assert.match(String(out?.reason), /^CPU \d+(\.\d)?% above max_cpu 5% \(average of 1 container\) for 3 periods$/);
  const inn = h.logs.find((l) => l.msg === 'auto scaling: service scaled in' && l.service === idle.name);
  assert.match(String(inn?.reason), /^CPU \d+(\.\d)?% below min_cpu 1% \(average of 2 containers\) for 3 periods$/);
  assert.equal(await h.decisions('scale_out'), 1);
  assert.equal(await h.decisions('scale_in'), 1);
  t.diagnostic(`both decided within ${Date.now() - started} ms`);
});

test('bad auto scaling labels are refused with one warning naming each problem, and the service is never scaled', { skip: SKIP, timeout: 60_000 }, async (t) => {
  const h = await harness(t);
  const ctl = controlDir(t, 'burn');
  const bad = await createService(t, h, {
    ctlDir: ctl, workload: BURN,
    labels: {
      'aliyun.auto_scaling.max_cpu': '5', 'aliyun.auto_scaling.min_cpu': '1', 'aliyun.auto_scaling.step': '9',
      'aliyun.auto_scaling.max_instance': '4',
    },
  });
  const global = await createService(t, h, { ctlDir: ctl, workload: BURN, global: true, labels: { 'aliyun.auto_scaling.max_cpu': '5' } });
  await waitFor(async () => (await runningTaskCount(h, bad.id)) === 1, { what: 'the service\'s task running', timeoutMs: 30_000 });
  // More periods than the rule needs, with the workload burning: a valid rule would have scaled out.
  for (let i = 0; i < 4; i++) await h.scaler.runOnce();

  const warnings = h.logs.filter((l) => l.level === 'warn' || l.level === 40);
  const ofBad = warnings.filter((l) => l.service === bad.name);
  assert.equal(ofBad.length, 1, 'one warning for the service, not one per period');
  assert.equal(ofBad[0]!.msg, 'auto scaling labels refused: the service is not scaled');
  assert.deepEqual(ofBad[0]!.problems, [
    'aliyun.auto_scaling.max_instance is not an auto scaling label (known: max_cpu, min_cpu, max_memory, min_memory, step, max_instances, min_instances)',
    'aliyun.auto_scaling.step="9" is not a whole number from 1 to 5',
    'aliyun.auto_scaling.max_cpu=5 is not at least 30 points above aliyun.auto_scaling.min_cpu=1',
  ]);
  const ofGlobal = warnings.filter((l) => l.service === global.name);
  assert.equal(ofGlobal.length, 1);
  assert.deepEqual(ofGlobal[0]!.problems, ['the service is global (one task per node): only a replicated service can be scaled']);
  assert.equal(await h.decisions('refused'), 2);
  assert.equal(await h.decisions('scale_out'), 0);
  assert.equal(await replicas(h, bad.id), 1, 'no action on the service');
  assert.equal(h.logs.some((l) => l.service === bad.name && l.msg === 'auto scaling sample'), false, 'a refused service is not even sampled');
});

test('an update naming a version the service has moved past is refused by the engine, not applied over the newer spec', { skip: SKIP, timeout: 60_000 }, async (t) => {
  const h = await harness(t);
  const service = await createService(t, h, { ctlDir: controlDir(t), workload: BURN, labels: { 'aliyun.auto_scaling.max_cpu': '90' } });
  const [read] = (await listServices(h.client)).filter((s) => s.id === service.id);
  assert.ok(read);
  assert.equal(read.replicas, 1);
  await setServiceReplicas(h.client, read, 2);
  assert.equal(await replicas(h, service.id), 2);
  // `read` still names the version before that update.
  await assert.rejects(setServiceReplicas(h.client, read, 3), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SW_ENGINE_UNAVAILABLE');
    assert.match(err.message, new RegExp(`update of service ${service.name}: HTTP \\d+: .*out of sequence`));
    return true;
  });
  assert.equal(await replicas(h, service.id), 2);
  const fresh = await inspectService(h.client, service.id);
  assert.equal(fresh?.replicas, 2);
  assert.equal(await inspectService(h.client, 'no-such-service-' + process.pid), undefined);
});
