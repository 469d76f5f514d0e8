/**
 * Acceptance: the real Jaeger client SDK for Node (`jaeger-client`, `sampler: { type: 'remote' }`) asks the collector's
 * sampling port for its strategy, samples each operation by its per-operation strategy, and changes its decisions
 * when the strategies file changes. The collector runs whole (store storage, every port chosen by the system); its
 * /health names a strategies file that became wrong, and the start is refused (exit 2) with a wrong file.
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { start } from '../../../collector/collector-program.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import { silentLogger } from '../../../platform/log.js';
import { SharedResources } from '../../../platform/runtime.js';
import { waitFor } from '../../helpers/wait.js';
import { loadJaegerApiV2 } from '../traces/support/jaeger-api-v2-protos.js';

interface SdkSpan {
  context(): { isSampled(): boolean };
  finish(): void;
}
interface SdkTracer {
  startSpan(operation: string): SdkSpan;
  close(callback?: () => void): void;
}
const require = createRequire(import.meta.url);
const jaeger = require('jaeger-client') as {
  initTracer(config: Record<string, unknown>, options: Record<string, unknown>): SdkTracer;
  InMemoryReporter: new () => unknown;
};

function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Strategies for `checkout`: every operation not listed at `otherRate`. */
function strategies(orders: number, health: number, otherRate: number): string {
  return JSON.stringify({
    default_strategy: { type: 'probabilistic', param: 0.5 },
    service_strategies: [{
      service: 'checkout', type: 'probabilistic', param: otherRate,
      operation_strategies: [
        { operation: 'GET /orders', type: 'probabilistic', param: orders },
        { operation: 'GET /health', type: 'probabilistic', param: health },
      ],
    }],
  });
}

const LISTENS = [
  'COLLECTOR_ADMIN_LISTEN', 'COLLECTOR_SAMPLING_LISTEN', 'COLLECTOR_OTLP_HTTP_LISTEN', 'COLLECTOR_OTLP_GRPC_LISTEN', 'COLLECTOR_JAEGER_GRPC_LISTEN',
  'COLLECTOR_ZIPKIN_LISTEN', 'COLLECTOR_JAEGER_HTTP_LISTEN', 'COLLECTOR_JAEGER_COMPACT_LISTEN', 'COLLECTOR_JAEGER_BINARY_LISTEN',
];

/** How many of `n` new spans of `operation` the tracer samples. */
function sampledOf(tracer: SdkTracer, operation: string, n = 20): number {
  let sampled = 0;
  for (let i = 0; i < n; i++) {
    const span = tracer.startSpan(operation);
    if (span.context().isSampled()) sampled++;
    span.finish();
  }
  return sampled;
}

test('a jaeger-client remote sampler follows its per-operation strategy from the collector, and the file when it changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-sampling-sdk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'strategies.json');
  writeFileSync(file, strategies(1, 0, 0));

  const shared = new SharedResources();
  const env: Record<string, string> = {
    SHIPWATCH_DATA_DIR: dir, COLLECTOR_CONTAINER_STATS: 'false', SAMPLING_STRATEGIES_FILE: file, SAMPLING_STRATEGIES_RELOAD_INTERVAL: '100ms',
  };
  for (const name of LISTENS) env[name] = '127.0.0.1:0';
  const collector = await start({ config: loadConfig(env, 'collector'), log: silentLogger, shared });
  t.after(async () => {
    await collector.close();
    await shared.closeAll();
  });
  const summary = collector.summary.join('\n');
  const samplingPort = Number(/remote sampling .* on 127\.0\.0\.1:(\d+)/.exec(summary)?.[1]);
  const grpcPort = Number(/Jaeger gRPC PostSpans, SamplingManager on 127\.0\.0\.1:(\d+)/.exec(summary)?.[1]);
  const adminPort = Number(/admin .* on 127\.0\.0\.1:(\d+)/.exec(summary)?.[1]);
  assert.ok(samplingPort > 0 && adminPort > 0 && grpcPort > 0, summary);

  // The same strategy over gRPC (SamplingManager on the Jaeger gRPC port), for the SDKs that ask there.
  const api = await loadJaegerApiV2();
  if ('skip' in api) t.diagnostic(`gRPC SamplingManager not asked: ${api.skip}`);
  else {
    const client = new api.SamplingManager(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const answer = await new Promise<unknown>((resolve, reject) => {
      (client as unknown as { GetSamplingStrategy: (req: object, cb: (err: Error | null, res: unknown) => void) => void })
        .GetSamplingStrategy({ serviceName: 'checkout' }, (err, res) => (err ? reject(err) : resolve(res)));
    });
    client.close();
    // proto3 leaves zeros off the wire: PROBABILISTIC (0), the rates of 0 and the lower bound read as absent.
    assert.deepEqual(answer, {
      probabilisticSampling: {},
      operationSampling: {
        perOperationStrategies: [
          { operation: 'GET /orders', probabilisticSampling: { samplingRate: 1 } },
          { operation: 'GET /health', probabilisticSampling: {} },
        ],
      },
    });
  }

  // Until the strategy arrives the tracer samples nothing (its initial probability is 0).
  const tracer = jaeger.initTracer(
    { serviceName: 'checkout', sampler: { type: 'remote', param: 0, host: '127.0.0.1', port: samplingPort, refreshIntervalMs: 100 } },
    { reporter: new jaeger.InMemoryReporter(), logger: { info: () => {}, error: () => {} } },
  );
  t.after(() => new Promise<void>((resolve) => tracer.close(resolve)));

  await waitFor(() => sampledOf(tracer, 'GET /orders', 1) === 1 || undefined, { timeoutMs: 10_000, what: 'the per-operation strategy fetched' });
  assert.equal(sampledOf(tracer, 'GET /orders'), 20);
  assert.equal(sampledOf(tracer, 'GET /health'), 0);
  assert.equal(sampledOf(tracer, 'POST /cart'), 0, 'an operation not listed takes the service probability (0)');

  // The file changes: the collector reloads it and the SDK, at its next refresh, samples the other way round.
  replace(file, strategies(0, 1, 1));
  await waitFor(() => sampledOf(tracer, 'GET /health', 1) === 1 || undefined, { timeoutMs: 10_000, what: 'the changed strategy followed' });
  assert.equal(sampledOf(tracer, 'GET /health'), 20);
  assert.equal(sampledOf(tracer, 'GET /orders'), 0);
  // jaeger-client keeps the rate an unlisted operation was first seen with; one seen now takes the new default.
  assert.equal(sampledOf(tracer, 'POST /pay'), 20);

  // A wrong file: the last good strategies stay served, /health says so (degraded, still 200).
  replace(file, '{"service_strategies": [{"service": "checkout", "param": "all"}]}');
  const health = await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/health`);
    const body = (await res.json()) as { status: string; problems?: Record<string, string> };
    return body.status === 'degraded' ? { status: res.status, body } : undefined;
  }, { timeoutMs: 10_000, what: '/health degraded' });
  assert.equal(health.status, 200);
  assert.match(health.body.problems!['sampling-strategies']!, /service_strategies\[0\]\.param: string, expected a number/);
  assert.equal(sampledOf(tracer, 'GET /health'), 20);
});

test('the collector refuses to start with a wrong strategies file: exit 2, the variable and the problem named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shipwatch-sampling-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'strategies.json');
  writeFileSync(file, '{"default_strategy": {"type": "probabilistic", "param": 0.5}');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', SHIPWATCH_DATA_DIR: dir, COLLECTOR_CONTAINER_STATS: 'false', SAMPLING_STRATEGIES_FILE: file };
  for (const name of LISTENS) env[name] = '127.0.0.1:0';
  const cli = fileURLToPath(new URL('../../../cli/shipwatch.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'collector'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2, stderr);
  assert.match(stderr, /SW_CONFIG_INVALID/);
  assert.match(stderr, /SAMPLING_STRATEGIES_FILE: .*strategies\.json: not JSON/);
});
