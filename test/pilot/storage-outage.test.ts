/**
 * `shipwatch pilot` with its Elasticsearch output out of reach at start: behind a relay to the real Elasticsearch
 * that is down (connections refused) or frozen (accepted, never answered). It starts, keeps reading, names the
 * output on /health, and delivers every record once Elasticsearch answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cleanup } from '../helpers/cleanup.js';
import { runContainer } from '../helpers/docker.js';
import { count, deleteIndices, esTestUrl } from '../helpers/elasticsearch.js';
import { startTcpSwitch, type TcpSwitch } from '../helpers/tcp-switch.js';
import { waitFor } from '../helpers/wait.js';
import { PilotDirs, PilotProcess } from './pilot-process.js';

const LINES = 300;

/** A container printing LINES numbered lines to standard output, declared for the target `target`. */
async function printingContainer(t: Cleanup, target: string): Promise<void> {
  await runContainer(t, {
    name: 'outage',
    labels: { 'aliyun.logs.out': 'stdout', 'aliyun.logs.out.target': target },
    cmd: ['sh', '-c', `i=1; while [ $i -le ${LINES} ]; do echo "line $i"; i=$((i+1)); done; sleep 3600`],
  });
}

async function startPilot(t: Cleanup, relay: TcpSwitch): Promise<PilotProcess> {
  return PilotProcess.start(t, new PilotDirs(t), {
    LOGGING_OUTPUT: 'elasticsearch', ELASTICSEARCH_HOSTS: relay.url, ELASTICSEARCH_INDEX_ROTATION: 'none',
    ELASTICSEARCH_FLUSH_INTERVAL: '100ms', ELASTICSEARCH_RETRY_TIMEOUT: '1s',
  });
}

/** /health's reason for the outputs, once there is one. */
async function outputsProblem(pilot: PilotProcess, timeoutMs: number): Promise<{ status: number; reason: string }> {
  return waitFor(async () => {
    const h = await pilot.health();
    const reason = (h.body['problems'] as Record<string, string> | undefined)?.['outputs'];
    return reason === undefined ? undefined : { status: h.status, reason };
  }, { timeoutMs, what: '/health naming the outputs' });
}

test('the pilot started with Elasticsearch refusing connections keeps reading, says so on /health and delivers every record when it is back', async (t) => {
  const relay = await startTcpSwitch(await esTestUrl(), false);
  t.after(() => relay.close());
  const target = `sw-pilot-outage-down-${process.pid}`;
  t.after(() => deleteIndices(target));
  await printingContainer(t, target);
  const pilot = await startPilot(t, relay);

  const down = await outputsProblem(pilot, 20_000);
  assert.equal(down.status, 200, 'an output outage leaves the pilot reading and healthy (degraded)');
  assert.match(down.reason, /^elasticsearch: unreachable \(.*\), for \d+ s/);
  await waitFor(async () => /bytes wait in the disk buffer$/.test((await outputsProblem(pilot, 1000)).reason), { timeoutMs: 10_000, what: 'records in the disk buffer' });

  relay.setUp(true);
  await waitFor(async () => (await count(target)) === LINES, { timeoutMs: 30_000, intervalMs: 250, what: `${LINES} records in Elasticsearch` });
  await waitFor(async () => (await pilot.health()).body['status'] === 'ok', { timeoutMs: 15_000, what: '/health 200' });
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
  assert.equal(await count(target), LINES);
});

test('the pilot started with an Elasticsearch that never answers says it waits, and delivers every record once it answers', async (t) => {
  const relay = await startTcpSwitch(await esTestUrl(), true);
  t.after(() => relay.close());
  relay.freeze();
  const target = `sw-pilot-outage-hang-${process.pid}`;
  t.after(() => deleteIndices(target));
  await printingContainer(t, target);
  const pilot = await startPilot(t, relay);

  const waiting = await outputsProblem(pilot, 20_000);
  assert.equal(waiting.status, 200);
  assert.match(waiting.reason, /^elasticsearch: no answer yet \(asked \d+ s ago\)/);

  relay.setUp(true);
  await waitFor(async () => (await count(target)) === LINES, { timeoutMs: 30_000, intervalMs: 250, what: `${LINES} records in Elasticsearch` });
  await waitFor(async () => (await pilot.health()).body['status'] === 'ok', { timeoutMs: 40_000, what: '/health 200' });
  assert.deepEqual(await pilot.terminate(), { code: 0, signal: null });
});
