/**
 * The strategies file kept current: read at start (a wrong or missing file is a configuration error), read again on
 * its interval, a changed file served, a wrong one refused while the last good strategies stay served, named and
 * counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileStrategyProvider } from '../../../platform/sampling/file-strategy-provider.js';
import { ShipwatchError } from '../../../platform/errors.js';
import { createLogger, silentLogger, type Logger } from '../../../platform/log.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { waitFor } from '../../helpers/wait.js';

function folder(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-sampling-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const strategies = (rate: number): string => JSON.stringify({ default_strategy: { type: 'probabilistic', param: rate }, service_strategies: [{ service: 'api', type: 'ratelimiting', param: 3 }] });

/** Written whole (a reload never reads half a file). */
function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createLogger({ level: 'debug', sink: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } }), lines };
}

test('without a file every service gets probabilistic 0.001', () => {
  const provider = new FileStrategyProvider({ file: '', reloadIntervalMs: 10, log: silentLogger });
  assert.deepEqual(provider.strategyFor('anything'), { strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate: 0.001 } });
  assert.equal(provider.problem(), undefined);
  provider.close();
});

test('a wrong or missing file at start is SW_CONFIG_INVALID naming the variable, the file and the problem', (t) => {
  const dir = folder(t);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"default_strategy":{"param":"high"}}');
  for (const [file, detail] of [[bad, /default_strategy\.param: string, expected a number/], [join(dir, 'missing.json'), /cannot read .*missing\.json: .*ENOENT/]] as const) {
    assert.throws(() => new FileStrategyProvider({ file, reloadIntervalMs: 0, log: silentLogger }), (err: unknown) => {
      assert.ok(err instanceof ShipwatchError);
      assert.equal(err.code, 'SW_CONFIG_INVALID');
      assert.match(err.message, /^invalid configuration: SAMPLING_STRATEGIES_FILE: /);
      assert.ok(err.message.includes(file), err.message);
      assert.match(err.message, detail);
      return true;
    });
  }
});

test('a changed file is served at the next reload; a wrong one keeps the last good strategies, named, logged once and counted', async (t) => {
  const dir = folder(t);
  const file = join(dir, 'strategies.json');
  writeFileSync(file, strategies(0.5));
  const { log, lines } = capturingLogger();
  const registry = createRegistry('collector', false);
  const provider = new FileStrategyProvider({ file, reloadIntervalMs: 25, log, registry });
  t.after(() => provider.close());
  assert.equal(provider.strategyFor('web').probabilisticSampling?.samplingRate, 0.5);
  assert.equal(provider.strategyFor('api').rateLimitingSampling?.maxTracesPerSecond, 3);

  replace(file, strategies(0.75));
  await waitFor(() => provider.strategyFor('web').probabilisticSampling?.samplingRate === 0.75 || undefined, { timeoutMs: 5000, what: 'the changed file served' });

  replace(file, '{"default_strategy": {"type": "probabilistic", "param": 0.1}');
  await waitFor(() => provider.problem(), { timeoutMs: 5000, what: 'the reload failure named' });
  assert.match(provider.problem()!, /strategies read before are served: .*strategies\.json: not JSON/);
  assert.equal(provider.strategyFor('web').probabilisticSampling?.samplingRate, 0.75);
  // Several intervals with the same wrong file: one warning, one count.
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(lines.filter((l) => l.msg === 'sampling strategies not reloaded').length, 1);
  const metrics = await registry.metrics();
  assert.match(metrics, /shipwatch_sampling_reloads_total\{outcome="failed",program="collector"\} 1\n/);
  assert.match(metrics, /shipwatch_sampling_reloads_total\{outcome="loaded",program="collector"\} 1\n/);
  assert.match(metrics, /shipwatch_sampling_reload_failing\{program="collector"\} 1\n/);

  replace(file, strategies(0.25));
  await waitFor(() => provider.strategyFor('web').probabilisticSampling?.samplingRate === 0.25 || undefined, { timeoutMs: 5000, what: 'the fixed file served' });
  assert.equal(provider.problem(), undefined);
  assert.match(await registry.metrics(), /shipwatch_sampling_reload_failing\{program="collector"\} 0\n/);
});

test('a file removed keeps the last good strategies until it is back', async (t) => {
  const dir = folder(t);
  const file = join(dir, 'strategies.json');
  writeFileSync(file, strategies(0.5));
  const provider = new FileStrategyProvider({ file, reloadIntervalMs: 25, log: silentLogger });
  t.after(() => provider.close());
  unlinkSync(file);
  await waitFor(() => provider.problem(), { timeoutMs: 5000, what: 'the missing file named' });
  assert.match(provider.problem()!, /cannot read .*ENOENT/);
  assert.equal(provider.strategyFor('web').probabilisticSampling?.samplingRate, 0.5);
  // Back with the same text: served again, the problem gone.
  replace(file, strategies(0.5));
  await waitFor(() => (provider.problem() === undefined ? true : undefined), { timeoutMs: 5000, what: 'the file back' });
});

test('a file replaced through a symbolic link (a Kubernetes ConfigMap update) is seen', async (t) => {
  const dir = folder(t);
  writeFileSync(join(dir, 'v1.json'), strategies(0.5));
  writeFileSync(join(dir, 'v2.json'), strategies(0.9));
  symlinkSync(join(dir, 'v1.json'), join(dir, 'current'));
  const file = join(dir, 'strategies.json');
  symlinkSync(join(dir, 'current'), file);
  const provider = new FileStrategyProvider({ file, reloadIntervalMs: 25, log: silentLogger });
  t.after(() => provider.close());
  assert.equal(provider.strategyFor('web').probabilisticSampling?.samplingRate, 0.5);
  symlinkSync(join(dir, 'v2.json'), join(dir, 'next'));
  renameSync(join(dir, 'next'), join(dir, 'current'));
  await waitFor(() => provider.strategyFor('web').probabilisticSampling?.samplingRate === 0.9 || undefined, { timeoutMs: 5000, what: 'the new target served' });
});

test('a reload interval of 0 reads the file once', async (t) => {
  const dir = folder(t);
  const file = join(dir, 'strategies.json');
  writeFileSync(file, strategies(0.5));
  const provider = new FileStrategyProvider({ file, reloadIntervalMs: 0, log: silentLogger });
  writeFileSync(file, strategies(0.9));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(provider.strategyFor('web').probabilisticSampling?.samplingRate, 0.5);
  provider.close();
});
