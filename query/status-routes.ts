/**
 * `GET /api/status`: what the programs of this process report (query/status.ts), as one JSON object. Behind the
 * token like every API call: it names the host's containers.
 */
import type { FastifyInstance } from 'fastify';
import type { StatusSource } from './status.js';

export function registerStatusRoutes(app: FastifyInstance, status: StatusSource): void {
  app.get('/api/status', async (_req, reply) => reply.header('cache-control', 'no-store').send(await status()));
}
