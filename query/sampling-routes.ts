/**
 * `GET /api/sampling?service=<name>` on the query port: the strategy Jaeger remote sampling gives the service, from
 * SAMPLING_STRATEGIES_FILE read by the query itself (in a split deployment the query cannot reach the collector's
 * file through the collector: the same file is mounted at both). Registered in the API scope, so QUERY_AUTH_TOKEN
 * guards it like every API call; SDKs without credentials ask the collector's sampling port (5778) instead.
 *
 * The answer is the one Jaeger 2.x gives on `/api/sampling` (its sampling port answers every path in one encoding),
 * byte for byte, with Jaeger's plain-text 400 when `service` is not given exactly once.
 */
import type { FastifyInstance } from 'fastify';
import { answerSampling } from '../platform/sampling/sampling-http.js';
import { legacyStrategyJson } from '../platform/sampling/sampling-json.js';
import type { SamplingStrategyProvider } from '../model/sampling-strategy.js';

export function registerSamplingRoutes(api: FastifyInstance, provider: SamplingStrategyProvider): void {
  api.get('/api/sampling', (req, reply) => answerSampling(req, reply, provider, legacyStrategyJson));
}
