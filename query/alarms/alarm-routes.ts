/**
 * The alarm API: what the collector last evaluated and the alerts' history, read from the data folder the collector
 * writes them to (storage/alarm-files/alarm-journal.ts): the same folder in `shipwatch all`, or a query sharing the
 * collector's SHIPWATCH_DATA_DIR.
 *
 * - `GET /api/alarms`: `{evaluatedAtMs, evaluationIntervalMs, rules: [{rule, state, alerts, error?}], problems}`;
 *   `evaluatedAtMs` null when no collector has evaluated rules in this folder.
 * - `GET /api/alarms/history?limit=&rule=`: `{data: [transition…]}`, newest first; `limit` 1–10000 (default 100).
 */
import type { FastifyInstance } from 'fastify';
import { swError } from '../../platform/errors.js';
import { readAlarmFiles } from '../../storage/alarm-files/alarm-journal.js';

const MAX_HISTORY = 10_000;

export function registerAlarmRoutes(app: FastifyInstance, options: { dataDir: string }): void {
  app.get('/api/alarms', async (_req, reply) => {
    const { snapshot } = await readAlarmFiles(options.dataDir);
    return reply.header('cache-control', 'no-store').send(snapshot ?? { evaluatedAtMs: null, evaluationIntervalMs: 0, rules: [], problems: [] });
  });
  app.get('/api/alarms/history', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = q['limit'] === undefined ? 100 : Number(q['limit']);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) throw swError('SW_BAD_REQUEST', `limit "${q['limit']}" must be a whole number from 1 to ${MAX_HISTORY}`);
    const rule = q['rule'];
    const { history } = await readAlarmFiles(options.dataDir);
    const data = [];
    for (let i = history.length - 1; i >= 0 && data.length < limit; i--) if (rule === undefined || history[i]!.ruleId === rule) data.push(history[i]!);
    return reply.header('cache-control', 'no-store').send({ data });
  });
}
