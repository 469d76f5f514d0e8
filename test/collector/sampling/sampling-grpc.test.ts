/**
 * The gRPC SamplingManager's answers against what the real Jaeger 2.x answered for the same strategies files
 * (test/fixtures/jaeger-sampling/answers-*.json, `grpc`): the SamplingStrategyResponse message byte for byte, from
 * the strategies file through the provider to the protobuf encoding the Jaeger gRPC port sends.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { FileStrategyProvider } from '../../../platform/sampling/file-strategy-provider.js';
import { encodeSamplingStrategyResponse } from '../../../collector/sampling/sampling-proto.js';
import { silentLogger } from '../../../platform/log.js';

interface Recording {
  strategies: string;
  grpc: { answers: Array<{ service: string; base64?: string; code?: number; details?: string }> };
}

const FIXTURES = new URL('../../fixtures/jaeger-sampling/', import.meta.url);

for (const name of ['operations', 'plain', 'no-file']) {
  const recording = JSON.parse(readFileSync(new URL(`answers-${name}.json`, FIXTURES), 'utf8')) as Recording;
  describe(`GetSamplingStrategy as Jaeger answered it with ${recording.strategies || 'no strategies file'}`, () => {
    const file = recording.strategies === '' ? '' : new URL(recording.strategies, FIXTURES).pathname;
    const provider = new FileStrategyProvider({ file, reloadIntervalMs: 0, log: silentLogger });
    for (const answer of recording.grpc.answers) {
      test(`service ${JSON.stringify(answer.service)}`, () => {
        assert.ok(answer.base64 !== undefined, `Jaeger answered an error: ${answer.code} ${answer.details}`);
        assert.equal(encodeSamplingStrategyResponse(provider.strategyFor(answer.service)).toString('base64'), answer.base64);
      });
    }
  });
}
