/**
 * Jaeger remote sampling: what a client SDK asks for by service name, as Jaeger's api_v2 `SamplingStrategyResponse`
 * models it. The strategies come from Jaeger's file format (./strategies-file.ts); the HTTP endpoints render them as
 * JSON and the gRPC `SamplingManager` as protobuf — both from this one shape.
 */

export interface ProbabilisticSampling {
  /** 0..1 */
  samplingRate: number;
}

export interface RateLimitingSampling {
  maxTracesPerSecond: number;
}

export interface OperationSamplingStrategy {
  operation: string;
  probabilisticSampling: ProbabilisticSampling;
}

/** Per-operation strategies with the service's defaults (Jaeger's `PerOperationSamplingStrategies`). */
export interface PerOperationSampling {
  defaultSamplingProbability: number;
  defaultLowerBoundTracesPerSecond: number;
  perOperationStrategies: OperationSamplingStrategy[];
  defaultUpperBoundTracesPerSecond?: number;
}

export interface SamplingStrategy {
  strategyType: 'PROBABILISTIC' | 'RATE_LIMITING';
  probabilisticSampling?: ProbabilisticSampling;
  rateLimitingSampling?: RateLimitingSampling;
  operationSampling?: PerOperationSampling;
}

/** Where the receivers and endpoints get a service's strategy; always answers (the default strategy at worst). */
export interface SamplingStrategyProvider {
  strategyFor(serviceName: string): SamplingStrategy;
}
