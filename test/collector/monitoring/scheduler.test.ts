import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MonitorScheduler, type MonitorTask } from '../../../collector/monitoring/scheduler.js';
import { createLogger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';

function setup(intervalMs: number, random?: () => number) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', sink: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } });
  const registry = createRegistry('collector', false);
  const scheduler = new MonitorScheduler({ intervalMs, log, registry, ...(random ? { random } : {}) });
  const counterValue = async (name: string, kind: string): Promise<number> => {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    return (metric?.values as Array<{ value: number; labels: Record<string, string> }> | undefined)?.find((v) => v.labels.kind === kind)?.value ?? 0;
  };
  return { scheduler, lines, counterValue };
}

function task(key: string, run: () => Promise<unknown>, kind: MonitorTask['kind'] = 'script'): MonitorTask {
  return { key, kind, container: key.split('/')[0]!, run };
}

test('each task starts at its own random phase within the interval, then runs every interval', async (t) => {
  const { scheduler } = setup(400, (() => {
    const phases = [0.1, 0.6];
    return () => phases.shift()!;
  })());
  t.after(() => scheduler.close());
  const started = performance.now();
  const runs: Record<string, number[]> = { a: [], b: [] };
  scheduler.add(task('a/script', async () => runs.a!.push(performance.now() - started)));
  scheduler.add(task('b/script', async () => runs.b!.push(performance.now() - started)));
  await sleep(1000);
  // a: phase 40 ms, then 440, 840; b: phase 240 ms, then 640.
  assert.equal(runs.a!.length, 3, `a ran at ${runs.a!.map(Math.round).join(', ')}`);
  assert.equal(runs.b!.length, 2, `b ran at ${runs.b!.map(Math.round).join(', ')}`);
  assert.ok(runs.a![0]! >= 35 && runs.a![0]! < 150, `first run of a at ${runs.a![0]}`);
  assert.ok(runs.b![0]! >= 235 && runs.b![0]! < 350, `first run of b at ${runs.b![0]}`);
  assert.ok(runs.a![1]! - runs.a![0]! >= 390 && runs.a![1]! - runs.a![0]! < 500);
});

test('the default phases are spread over the interval, not all at its start', async (t) => {
  const { scheduler } = setup(300);
  t.after(() => scheduler.close());
  const firstRuns: number[] = [];
  const started = performance.now();
  for (let i = 0; i < 20; i++) {
    let seen = false;
    scheduler.add(task(`c${i}/http`, async () => {
      if (!seen) firstRuns.push(performance.now() - started);
      seen = true;
    }, 'http'));
  }
  await sleep(330);
  assert.equal(firstRuns.length, 20);
  const spread = Math.max(...firstRuns) - Math.min(...firstRuns);
  assert.ok(spread > 100, `first runs spread over ${Math.round(spread)} ms only`);
});

test('a run still going at the next tick makes that tick skip with a warning and a counter; runs never overlap', async (t) => {
  const { scheduler, lines, counterValue } = setup(100);
  t.after(() => scheduler.close());
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  scheduler.add(task('slow/script', async () => {
    runs++;
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(350);
    running--;
  }), { runNow: true });
  await sleep(560);
  assert.equal(maxRunning, 1);
  assert.equal(runs, 2, 'the first run (0–350 ms) and the one at the first tick after it (400 ms)');
  const skips = await counterValue('shipwatch_monitoring_skipped_ticks_total', 'script');
  // Ticks at 100, 200, 300 and 500 ms find a run going (a loaded machine may shift one across a boundary).
  assert.ok(skips >= 3 && skips <= 5, `${skips} ticks skipped`);
  const warned = lines.filter((l) => l.msg === 'monitoring run still going at the next tick: tick skipped');
  assert.equal(warned.length, skips);
  assert.deepEqual({ container: warned[0]!.container, kind: warned[0]!.kind }, { container: 'slow', kind: 'script' });
});

test('a run that throws is counted and logged, and the task keeps its schedule', async (t) => {
  const { scheduler, lines, counterValue } = setup(60);
  t.after(() => scheduler.close());
  let calls = 0;
  scheduler.add(task('bad/stats', async () => {
    calls++;
    throw new Error('engine said no');
  }, 'stats'), { runNow: true });
  await sleep(200);
  assert.ok(calls >= 3);
  assert.equal(await counterValue('shipwatch_monitoring_task_errors_total', 'stats'), calls);
  assert.ok(lines.some((l) => l.msg === 'monitoring run failed' && (l.err as { message: string }).message === 'engine said no'));
});

test('removed tasks never run again, a run in progress finishes, other containers keep running', async (t) => {
  const { scheduler } = setup(50);
  t.after(() => scheduler.close());
  const runs = { gone: 0, stays: 0 };
  let finished = false;
  scheduler.add(task('gone/script', async () => {
    runs.gone++;
    await sleep(80);
    finished = true;
  }), { runNow: true });
  scheduler.add(task('gone/http', async () => void runs.gone++, 'http'));
  scheduler.add(task('stays/script', async () => void runs.stays++));
  await sleep(20);
  scheduler.removeWhere((key) => key.startsWith('gone/'));
  assert.equal(scheduler.has('gone/script'), false);
  assert.equal(scheduler.has('stays/script'), true);
  const goneRuns = runs.gone;
  await sleep(250);
  assert.equal(runs.gone, goneRuns, 'no run after the removal');
  assert.equal(finished, true, 'the run in progress finished');
  assert.ok(runs.stays >= 4);
});

test('a collection round runs every task once and joins a run already going instead of starting another', async (t) => {
  const { scheduler } = setup(60_000);
  t.after(() => scheduler.close());
  let slowRuns = 0;
  let fastRuns = 0;
  scheduler.add(task('slow/script', async () => {
    slowRuns++;
    await sleep(100);
  }), { runNow: true });
  scheduler.add(task('fast/http', async () => void fastRuns++, 'http'));
  await sleep(10);
  const started = performance.now();
  await scheduler.runAllOnce();
  assert.equal(slowRuns, 1, 'joined the run already going');
  assert.equal(fastRuns, 1);
  assert.ok(performance.now() - started >= 80, 'waited for the slow run');
  await scheduler.runAllOnce();
  assert.deepEqual([slowRuns, fastRuns], [2, 2]);
});

test('close waits for runs in progress, is idempotent, and nothing is scheduled after it', async () => {
  const { scheduler } = setup(30);
  let done = false;
  let runs = 0;
  scheduler.add(task('x/script', async () => {
    runs++;
    await sleep(60);
    done = true;
  }), { runNow: true });
  await sleep(5);
  await scheduler.close();
  assert.equal(done, true);
  await scheduler.close();
  scheduler.add(task('y/script', async () => void runs++), { runNow: true });
  await sleep(50);
  assert.equal(runs, 1);
  assert.equal(scheduler.size, 0);
});

test('while the metric outputs are full every tick is skipped and counted, and runs start again once they have room', async (t) => {
  let full = true;
  const registry = createRegistry('collector', false);
  const scheduler = new MonitorScheduler({ intervalMs: 50, log: createLogger({ level: 'silent' }), registry, random: () => 0, holdBack: () => full });
  t.after(() => scheduler.close());
  let runs = 0;
  scheduler.add(task('a/stats', async () => runs++, 'stats'));
  await sleep(280);
  assert.equal(runs, 0);
  const held = (await registry.getSingleMetric('shipwatch_monitoring_held_back_ticks_total')?.get())?.values.find((v) => v.labels.kind === 'stats')?.value ?? 0;
  assert.ok(held >= 4, `${held} ticks held back`);
  full = false;
  await sleep(160);
  assert.ok(runs >= 2, `${runs} runs once there was room`);
});
