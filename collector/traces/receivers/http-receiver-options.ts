import type { Logger } from '../../../platform/log.js';
import type { SpanConsumer } from '../../../model/span.js';
import type { Registry } from '../../../platform/self-metrics.js';

/** What every HTTP trace receiver (OTLP, Zipkin) is given. */
export interface HttpTraceReceiverOptions {
  consumer: SpanConsumer;
  registry: Registry;
  log: Logger;
  /** Largest body, compressed and once decompressed. */
  maxBodyBytes: number;
  maxSpansPerRequest: number;
  /** Sent as Retry-After (whole seconds, at least 1) with a 503. */
  retryAfterMs: number;
  /** COLLECTOR_AUTH_TOKEN: every request to the receiver's server needs it as a bearer token; absent or '': open. */
  authToken?: string;
}
