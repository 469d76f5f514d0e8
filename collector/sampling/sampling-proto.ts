/**
 * Jaeger's api_v2 `sampling.proto` on the wire, for `jaeger.api_v2.SamplingManager/GetSamplingStrategy`:
 * SamplingStrategyParameters{serviceName} in, SamplingStrategyResponse out (from the one strategy shape the HTTP
 * endpoint renders as JSON).
 */
import { ProtoReader, WIRE_LEN } from '../traces/codecs/otlp/protobuf-reader.js';
import { ProtoWriter } from '../traces/receivers/grpc-proto-writer.js';
import type { SamplingStrategy } from '../../model/sampling-strategy.js';

const STRATEGY_TYPE = { PROBABILISTIC: 0, RATE_LIMITING: 1 } as const;

export function decodeSamplingStrategyParameters(bytes: Uint8Array): { serviceName: string } | { error: string } {
  const r = new ProtoReader(bytes);
  let serviceName = '';
  while (!r.done()) {
    const key = r.tag();
    if (key >>> 3 === 1 && r.expect('serviceName', key & 7, WIRE_LEN)) serviceName = r.string();
    else r.skip(key & 7);
  }
  return r.error === undefined ? { serviceName } : { error: r.error };
}

/** SamplingStrategyResponse{strategyType 1, probabilisticSampling 2, rateLimitingSampling 3, operationSampling 4}. */
export function encodeSamplingStrategyResponse(s: SamplingStrategy): Buffer {
  const w = new ProtoWriter().varintField(1, STRATEGY_TYPE[s.strategyType]);
  if (s.probabilisticSampling !== undefined) {
    const p = s.probabilisticSampling;
    w.messageField(2, (m) => m.doubleField(1, p.samplingRate));
  }
  if (s.rateLimitingSampling !== undefined) {
    // int32 on the wire.
    const max = Math.max(-2147483648, Math.min(2147483647, Math.trunc(s.rateLimitingSampling.maxTracesPerSecond)));
    w.messageField(3, (m) => m.varintField(1, max));
  }
  if (s.operationSampling !== undefined) {
    const o = s.operationSampling;
    w.messageField(4, (m) => {
      m.doubleField(1, o.defaultSamplingProbability).doubleField(2, o.defaultLowerBoundTracesPerSecond);
      for (const op of o.perOperationStrategies) {
        m.messageField(3, (e) => e.stringField(1, op.operation).messageField(2, (p) => p.doubleField(1, op.probabilisticSampling.samplingRate)));
      }
      if (o.defaultUpperBoundTracesPerSecond !== undefined) m.doubleField(4, o.defaultUpperBoundTracesPerSecond);
    });
  }
  return w.finish();
}
