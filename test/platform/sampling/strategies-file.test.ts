/**
 * Jaeger's strategies file format as Jaeger 2.x's file provider reads it: every field, the merge of the default
 * strategy's operations into each service, the defaults, and files refused with every problem named.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStrategiesFile, type StrategiesParse, type StrategyTable } from '../../../platform/sampling/strategies-file.js';
import type { SamplingStrategy } from '../../../model/sampling-strategy.js';

function table(text: string): { table: StrategyTable; warnings: string[] } {
  const parsed = parseStrategiesFile(text);
  assert.ok(parsed.ok, `refused: ${parsed.ok ? '' : parsed.problems.join('; ')}`);
  return parsed;
}

function problems(text: string): string[] {
  const parsed: StrategiesParse = parseStrategiesFile(text);
  assert.ok(!parsed.ok, 'accepted');
  return parsed.problems;
}

const prob = (samplingRate: number): SamplingStrategy => ({ strategyType: 'PROBABILISTIC', probabilisticSampling: { samplingRate } });
const op = (operation: string, samplingRate: number) => ({ operation, probabilisticSampling: { samplingRate } });

test('a default strategy and service strategies of both types', () => {
  const { table: t, warnings } = table(JSON.stringify({
    default_strategy: { type: 'probabilistic', param: 0.5 },
    service_strategies: [
      { service: 'foo', type: 'probabilistic', param: 0.8 },
      { service: 'bar', type: 'ratelimiting', param: 5 },
    ],
  }));
  assert.deepEqual(warnings, []);
  assert.deepEqual(t.defaultStrategy, prob(0.5));
  assert.deepEqual(t.serviceStrategies.get('foo'), prob(0.8));
  assert.deepEqual(t.serviceStrategies.get('bar'), { strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 5 } });
  assert.equal(t.serviceStrategies.get('baz'), undefined);
});

test('per-operation strategies: the service probability is their default, a rate-limiting one is left out with a warning', () => {
  const { table: t, warnings } = table(JSON.stringify({
    service_strategies: [
      {
        service: 'foo', type: 'probabilistic', param: 0.8,
        operation_strategies: [
          { operation: 'op1', type: 'probabilistic', param: 0.2 },
          { operation: 'op2', type: 'ratelimiting', param: 10 },
        ],
      },
      { service: 'bar', type: 'ratelimiting', param: 5, operation_strategies: [{ operation: 'op3', type: 'probabilistic', param: 0.3 }] },
    ],
  }));
  assert.deepEqual(t.serviceStrategies.get('foo'), {
    ...prob(0.8),
    operationSampling: { defaultSamplingProbability: 0.8, defaultLowerBoundTracesPerSecond: 0, perOperationStrategies: [op('op1', 0.2)] },
  });
  // A rate-limiting service's operations default to 0.001.
  assert.deepEqual(t.serviceStrategies.get('bar'), {
    strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 5 },
    operationSampling: { defaultSamplingProbability: 0.001, defaultLowerBoundTracesPerSecond: 0, perOperationStrategies: [op('op3', 0.3)] },
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /op2.*probabilistic only/);
});

test("the default strategy's operations are given to every service: copied, or merged after the service's own", () => {
  const { table: t } = table(JSON.stringify({
    default_strategy: {
      type: 'probabilistic', param: 0.5,
      operation_strategies: [
        { operation: 'op0', type: 'probabilistic', param: 0.2 },
        { operation: 'op6', type: 'probabilistic', param: 0 },
        { operation: 'spam', type: 'ratelimiting', param: 1 },
        { operation: 'op7', type: 'probabilistic', param: 1 },
      ],
    },
    service_strategies: [
      { service: 'foo', type: 'probabilistic', param: 0.8, operation_strategies: [{ operation: 'op6', type: 'probabilistic', param: 0.5 }, { operation: 'op1', type: 'probabilistic', param: 0.2 }] },
      { service: 'bar', type: 'probabilistic', param: 0.3 },
      { service: 'baz', type: 'ratelimiting', param: 4 },
    ],
  }));
  const defaults = [op('op0', 0.2), op('op6', 0), op('op7', 1)];
  assert.deepEqual(t.defaultStrategy.operationSampling, { defaultSamplingProbability: 0.5, defaultLowerBoundTracesPerSecond: 0, perOperationStrategies: defaults });
  assert.deepEqual(t.serviceStrategies.get('foo')!.operationSampling!.perOperationStrategies, [op('op6', 0.5), op('op1', 0.2), op('op0', 0.2), op('op7', 1)]);
  assert.equal(t.serviceStrategies.get('foo')!.operationSampling!.defaultSamplingProbability, 0.8);
  // Without operations of its own: the default's, with the service's probability as their default ...
  assert.deepEqual(t.serviceStrategies.get('bar')!.operationSampling, { defaultSamplingProbability: 0.3, defaultLowerBoundTracesPerSecond: 0, perOperationStrategies: defaults });
  // ... or the default strategy's when it is rate-limiting.
  assert.deepEqual(t.serviceStrategies.get('baz'), {
    strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 4 },
    operationSampling: { defaultSamplingProbability: 0.5, defaultLowerBoundTracesPerSecond: 0, perOperationStrategies: defaults },
  });
});

test('no default strategy, null, or an empty object: probabilistic 0.001', () => {
  for (const text of ['null', '{}', '{"service_strategies":null,"default_strategy":null}', ' \n{ "service_strategies": [] }\n']) {
    const { table: t } = table(text);
    assert.deepEqual(t.defaultStrategy, prob(0.001), text);
    assert.equal(t.serviceStrategies.size, 0);
  }
});

test('an unknown or missing type is probabilistic 0.001, with a warning naming where', () => {
  const { table: t, warnings } = table('{"default_strategy":{"type":"probablistic","param":0.7},"service_strategies":[{"service":"foo","param":0.3}]}');
  assert.deepEqual(t.defaultStrategy, prob(0.001));
  assert.deepEqual(t.serviceStrategies.get('foo'), prob(0.001));
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /default_strategy: type "probablistic"/);
  assert.match(warnings[1]!, /service_strategies\[0\] \(foo\): type missing/);
});

test('keys match case-insensitively and unknown keys are ignored, as Go decodes them', () => {
  const { table: t } = table('{"Default_Strategy":{"TYPE":"probabilistic","Param":0.25,"comment":"x"},"service_strategies":[{"SERVICE":"a","type":"ratelimiting","param":2.9}],"extra":[1,2]}');
  assert.deepEqual(t.defaultStrategy, prob(0.25));
  // Traces per second are cut to a whole number.
  assert.deepEqual(t.serviceStrategies.get('a'), { strategyType: 'RATE_LIMITING', rateLimitingSampling: { maxTracesPerSecond: 2 } });
});

test('a rate past int32 becomes the smallest int32, as Go converts it', () => {
  const { table: t } = table('{"default_strategy":{"type":"ratelimiting","param":3e9}}');
  assert.deepEqual(t.defaultStrategy.rateLimitingSampling, { maxTracesPerSecond: -2147483648 });
});

test('the last entry of a service named twice wins', () => {
  const { table: t } = table('{"service_strategies":[{"service":"a","type":"probabilistic","param":0.1},{"service":"a","type":"probabilistic","param":0.2}]}');
  assert.deepEqual(t.serviceStrategies.get('a'), prob(0.2));
});

test('text that is not JSON is refused with where the parser stopped', () => {
  const [problem] = problems('{\n  "default_strategy": {"type": "probabilistic", "param": 0.5,}\n}');
  assert.match(problem!, /^not JSON: .*line 2/);
  assert.match(problems('')[0]!, /^not JSON/);
});

test('values of the wrong JSON type are refused, every one named by its path', () => {
  assert.deepEqual(problems('"nonsense"'), ['(the file): string, expected an object']);
  assert.deepEqual(problems('[]'), ['(the file): array, expected an object']);
  assert.deepEqual(
    problems(JSON.stringify({
      default_strategy: { type: 'probabilistic', param: '0.5' },
      service_strategies: [{ service: 7, type: true, operation_strategies: [{ operation: 'x', param: [] }] }, 'b', null],
    })),
    [
      'default_strategy.param: string, expected a number',
      'service_strategies[0].service: number, expected a string',
      'service_strategies[0].type: boolean, expected a string',
      'service_strategies[0].operation_strategies[0].param: array, expected a number',
      'service_strategies[1]: string, expected an object',
      'service_strategies[2]: null, expected an object',
    ],
  );
  // Jaeger would crash on a null entry: refused.
  assert.deepEqual(problems('{"default_strategy":{"operation_strategies":[{"operation":"a"},null]}}'), ['default_strategy.operation_strategies[1]: null, expected an object']);
  assert.deepEqual(problems('{"default_strategy":{"param":1e400}}'), ['default_strategy.param: Infinity is out of range']);
  assert.deepEqual(problems('{"default_strategy":5,"service_strategies":{}}'), ['default_strategy: number, expected an object', 'service_strategies: object, expected an array']);
});

test('the table is frozen: a caller cannot change what other requests are answered', () => {
  const { table: t } = table('{"default_strategy":{"type":"probabilistic","param":0.5,"operation_strategies":[{"operation":"a","type":"probabilistic","param":1}]}}');
  assert.ok(Object.isFrozen(t.defaultStrategy));
  assert.ok(Object.isFrozen(t.defaultStrategy.operationSampling!.perOperationStrategies[0]!.probabilisticSampling));
});
