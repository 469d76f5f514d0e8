/**
 * Side by side with the real Jaeger 2.x binary (SHIPWATCH_TEST_JAEGER_BIN; skipped without it), both reading one
 * strategies file that changes under them: the same answers at start, after a changed file, and after a wrong one
 * (both keep the last good strategies). The recorded answers (sampling-http.test.ts) cover each answer in detail;
 * this covers the reloads, and notices a Jaeger that answers otherwise than when they were recorded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileStrategyProvider } from '../../../platform/sampling/file-strategy-provider.js';
import { startSamplingHttpServer } from '../../../platform/sampling/sampling-http.js';
import { silentLogger } from '../../../platform/log.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

const JAEGER_BIN = process.env.SHIPWATCH_TEST_JAEGER_BIN;
const skip = JAEGER_BIN ? false : 'SHIPWATCH_TEST_JAEGER_BIN is not set: the Jaeger 2.x binary is needed (see test/jaeger-parity/build-jaeger.sh)';
const FIXTURES = new URL('../../fixtures/jaeger-sampling/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');
const TARGETS = ['foo', 'bar', 'baz', 'big', 'negative', 'ops-only', 'untyped', 'unknown'].map((s) => `/sampling?service=${encodeURIComponent(s)}`).concat(['/sampling', '/?service=foo']);

function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

async function answers(port: number): Promise<string[]> {
  return Promise.all(TARGETS.map(async (target) => {
    const res = await fetch(`http://127.0.0.1:${port}${target}`);
    return `${target} ${res.status} ${res.headers.get('content-type')} ${await res.text()}`;
  }));
}

test('Shipwatch and Jaeger answer alike from one strategies file, as it changes and when it turns wrong', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-sampling-live-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'strategies.json');
  writeFileSync(file, fixture('strategies-operations.json'));

  // The recording's configuration, on ports free now and with a short reload interval.
  const ports = new Map<string, number>();
  let config = fixture('jaeger-config.yaml').replace('reload_interval: 1s', 'reload_interval: 200ms');
  for (const old of new Set(config.match(/127\.0\.0\.1:\d+/g))) {
    const port = await freePort();
    ports.set(old, port);
    config = config.replaceAll(old, `127.0.0.1:${port}`);
  }
  writeFileSync(join(dir, 'jaeger.yaml'), config);
  const jaegerPort = ports.get('127.0.0.1:45010')!;
  const jaeger = spawn(JAEGER_BIN!, ['--config', join(dir, 'jaeger.yaml')], { env: { ...process.env, STRATEGIES: file }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  jaeger.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  t.after(() => {
    jaeger.kill('SIGKILL');
  });
  await waitFor(() => fetch(`http://127.0.0.1:${jaegerPort}/?service=x`).then((r) => r.ok), { timeoutMs: 30_000, what: `Jaeger's sampling port (log: ${log})` });

  const provider = new FileStrategyProvider({ file, reloadIntervalMs: 100, log: silentLogger });
  const ours = await startSamplingHttpServer({ listen: { host: '127.0.0.1', port: 0 }, provider, log: silentLogger });
  t.after(async () => {
    await ours.close();
    provider.close();
  });
  assert.deepEqual(await answers(ours.port), await answers(jaegerPort));

  replace(file, fixture('strategies-plain.json'));
  const changed = async (port: number): Promise<boolean | undefined> => ((await (await fetch(`http://127.0.0.1:${port}/?service=foo`)).text()).includes('0.75') ? true : undefined);
  await waitFor(() => changed(jaegerPort), { timeoutMs: 10_000, what: 'Jaeger serving the changed file' });
  await waitFor(() => changed(ours.port), { timeoutMs: 10_000, what: 'Shipwatch serving the changed file' });
  const afterChange = await answers(jaegerPort);
  assert.deepEqual(await answers(ours.port), afterChange);

  replace(file, '{"service_strategies": [{"service": "foo", "param": "high"}]}');
  await waitFor(() => provider.problem(), { timeoutMs: 10_000, what: 'Shipwatch refusing the wrong file' });
  await new Promise((r) => setTimeout(r, 600)); // three of Jaeger's intervals
  assert.deepEqual(await answers(jaegerPort), afterChange, 'Jaeger kept the last good strategies');
  assert.deepEqual(await answers(ours.port), afterChange);
});
