/**
 * A strategy as the JSON Jaeger's HTTP sampling endpoints answer, byte for byte (test/fixtures/jaeger-sampling/
 * holds what Jaeger 2.x answered). Jaeger has two encodings:
 *
 * - `legacyStrategyJson`: the Thrift 0.9.2 one, `"strategyType":0` (PROBABILISTIC) or `1` (RATE_LIMITING), absent
 *   strategies left out, `defaultUpperBoundTracesPerSecond` always written. Jaeger 2.x's sampling port (5778)
 *   answers it on every path, `/sampling` included. `maxTracesPerSecond` is a Thrift i16 there: past 32767 Jaeger
 *   cannot encode the answer (500), a negative one wraps as Go's int16 conversion does.
 * - `strategyJson`: the protobuf JSON of api_v2 (`"strategyType":"PROBABILISTIC"`), which Jaeger 1.x's collector
 *   answered on `/api/sampling` and its agent on `/sampling`; jaeger-client for Node only reads a plain
 *   probabilistic or rate-limiting answer in this one.
 *
 * Numbers and strings are written as Go's encoding/json writes them (`<`, `>`, `&`, U+2028 and U+2029 escaped).
 */
import type { PerOperationSampling, SamplingStrategy } from '../../model/sampling-strategy.js';

const STRATEGY_TYPE_CODES = { PROBABILISTIC: 0, RATE_LIMITING: 1 } as const;

/** Jaeger 2.x's sampling port answer, or undefined where Jaeger answers 500 (maxTracesPerSecond past int16). */
export function legacyStrategyJson(s: SamplingStrategy): string | undefined {
  let out = `{"strategyType":${STRATEGY_TYPE_CODES[s.strategyType]}`;
  if (s.probabilisticSampling) out += `,"probabilisticSampling":{"samplingRate":${num(s.probabilisticSampling.samplingRate)}}`;
  if (s.rateLimitingSampling) {
    const max = s.rateLimitingSampling.maxTracesPerSecond;
    if (max > 32767) return undefined;
    out += `,"rateLimitingSampling":{"maxTracesPerSecond":${((max + 32768) & 0xffff) - 32768}}`;
  }
  if (s.operationSampling) out += `,"operationSampling":${perOperationJson(s.operationSampling)}`;
  return `${out}}`;
}

/** api_v2's protobuf JSON of the strategy, as Jaeger's `SamplingStrategyResponseToJSON` writes it. */
export function strategyJson(s: SamplingStrategy): string {
  let out = `{"strategyType":"${s.strategyType}"`;
  if (s.probabilisticSampling) out += `,"probabilisticSampling":{"samplingRate":${num(s.probabilisticSampling.samplingRate)}}`;
  if (s.rateLimitingSampling) out += `,"rateLimitingSampling":{"maxTracesPerSecond":${num(s.rateLimitingSampling.maxTracesPerSecond)}}`;
  if (s.operationSampling) out += `,"operationSampling":${perOperationJson(s.operationSampling)}`;
  return `${out}}`;
}

/** The same in both encodings (the field order is the Thrift and protobuf field order). */
function perOperationJson(p: PerOperationSampling): string {
  const ops = p.perOperationStrategies.map(
    (o) => `{"operation":${str(o.operation)},"probabilisticSampling":{"samplingRate":${num(o.probabilisticSampling.samplingRate)}}}`,
  );
  return (
    `{"defaultSamplingProbability":${num(p.defaultSamplingProbability)},"defaultLowerBoundTracesPerSecond":${num(p.defaultLowerBoundTracesPerSecond)},` +
    `"perOperationStrategies":[${ops.join(',')}],"defaultUpperBoundTracesPerSecond":${num(p.defaultUpperBoundTracesPerSecond ?? 0)}}`
  );
}

/** Go writes a float64 as JavaScript does (shortest form, exponent below 1e-6 and from 1e21), but keeps -0. */
function num(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

const GO_ESCAPED = /[<>&\u2028\u2029]/g;

function str(s: string): string {
  return JSON.stringify(s).replace(GO_ESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
