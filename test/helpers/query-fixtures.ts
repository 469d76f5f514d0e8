/**
 * A query API over a real embedded store holding Jaeger's storage fixtures plus a small two-service trace with
 * parent/child spans (for dependencies), for `app.inject()` tests.
 */
import type { FastifyInstance } from 'fastify';
import { readdirSync } from 'node:fs';
import { silentLogger } from '../../platform/log.js';
import type { Span } from '../../model/span.js';
import { StoreDatabase } from '../../storage/sqlite/database.js';
import { StoreLogStorage } from '../../storage/sqlite/log-store.js';
import { StoreSpanStorage } from '../../storage/sqlite/span-store.js';
import { buildQueryApp, type QueryAppOptions } from '../../query/api-app.js';
import { JAEGER_STORAGE_FIXTURES, loadTraceFixture } from './span-storage-suite.js';

export const NOW_MS = Date.parse('2017-01-26T17:00:00Z');
export const DEP_TRACE = '0000000000000000000000000000d001';

/** frontend → backend twice, backend → db once, all within the hour before NOW_MS. */
export function dependencyTrace(): Span[] {
  const base = (NOW_MS - 600_000) * 1000;
  const span = (id: string, service: string, parent: string | undefined, kind: string, op: string, offsetUs: number): Span => ({
    traceId: DEP_TRACE,
    spanId: id,
    operationName: op,
    references: parent ? [{ refType: 'CHILD_OF', traceId: DEP_TRACE, spanId: parent }] : [],
    flags: 1,
    startTimeMicros: base + offsetUs,
    durationMicros: 1000,
    tags: [{ key: 'span.kind', type: 'string', value: kind }, { key: 'big', type: 'int64', value: 9007199254740993n }],
    logs: [{ timestampMicros: base + offsetUs + 10, fields: [{ key: 'event', type: 'string', value: 'sent' }] }],
    process: { serviceName: service, tags: [{ key: 'hostname', type: 'string', value: `${service}-1` }] },
  });
  return [
    span('00000000000000a1', 'frontend', undefined, 'server', 'GET /', 0),
    span('00000000000000a2', 'backend', '00000000000000a1', 'server', 'load', 100),
    span('00000000000000a3', 'backend', '00000000000000a1', 'server', 'save', 200),
    span('00000000000000a4', 'db', '00000000000000a3', 'server', 'query', 300),
    span('00000000000000a5', 'backend', '00000000000000a3', 'internal', 'inner', 400),
  ];
}

export interface QueryFixture {
  app: FastifyInstance;
  spans: StoreSpanStorage;
  logs: StoreLogStorage;
  db: StoreDatabase;
  close(): Promise<void>;
}

export async function queryAppWithFixtures(overrides: Partial<QueryAppOptions> = {}): Promise<QueryFixture> {
  const db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  const spans = new StoreSpanStorage(db);
  const logs = new StoreLogStorage(db);
  for (const f of readdirSync(`${JAEGER_STORAGE_FIXTURES}traces`).filter((n) => n.endsWith('.json'))) {
    await spans.writeSpans(loadTraceFixture(f.slice(0, -5)));
  }
  await spans.writeSpans(dependencyTrace());
  const app = buildQueryApp({
    spanReader: spans, logReader: logs, authToken: '', corsOrigins: [], maxTraces: 1500, maxLogs: 1000,
    log: silentLogger, now: () => NOW_MS, tailIntervalMs: 20, ...overrides,
  });
  await app.ready();
  return {
    app, spans, logs, db,
    close: async () => {
      await app.close();
      db.close();
    },
  };
}

/** GET through `app.inject()`: status and parsed JSON body. */
export async function getJson(app: FastifyInstance, url: string): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.json() };
}
