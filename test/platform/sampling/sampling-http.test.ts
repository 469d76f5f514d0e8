/**
 * The HTTP sampling answers against what the real Jaeger 2.x answered for the same strategies files
 * (test/fixtures/jaeger-sampling/answers-*.json, recorded with the command each names): status, content type and
 * body byte for byte, on the collector's sampling port and on the query's /api/sampling (behind QUERY_AUTH_TOKEN).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { FileStrategyProvider } from '../../../platform/sampling/file-strategy-provider.js';
import { startSamplingHttpServer } from '../../../platform/sampling/sampling-http.js';
import type { RunningHttpServer } from '../../../platform/http/http-server.js';
import { silentLogger } from '../../../platform/log.js';
import { buildQueryApp } from '../../../query/api-app.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';

interface Answer {
  port: 'sampling' | 'query';
  method: string;
  target: string;
  status: number;
  contentType: string | null;
  body: string;
}
interface Recording {
  command: string;
  strategies: string;
  answers: Answer[];
}

const FIXTURES = new URL('../../fixtures/jaeger-sampling/', import.meta.url);
const TOKEN = 'sampling-token';

for (const name of ['operations', 'plain', 'no-file']) {
  const recording = JSON.parse(readFileSync(new URL(`answers-${name}.json`, FIXTURES), 'utf8')) as Recording;

  describe(`the answers Jaeger gave with ${recording.strategies || 'no strategies file'}`, () => {
    let provider: FileStrategyProvider;
    let sampling: RunningHttpServer;
    let query: FastifyInstance;
    let db: StoreDatabase;
    before(async () => {
      const file = recording.strategies === '' ? '' : new URL(recording.strategies, FIXTURES).pathname;
      provider = new FileStrategyProvider({ file, reloadIntervalMs: 0, log: silentLogger });
      sampling = await startSamplingHttpServer({ listen: { host: '127.0.0.1', port: 0 }, provider, log: silentLogger });
      db = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
      query = buildQueryApp({
        spanReader: new StoreSpanStorage(db), authToken: TOKEN, corsOrigins: [], maxTraces: 10, maxLogs: 10, log: silentLogger, uiDir: false, sampling: provider,
      });
      await query.ready();
    });
    after(async () => {
      await sampling.close();
      await query.close();
      db.close();
      provider.close();
    });

    for (const answer of recording.answers.filter((a) => a.port === 'sampling')) {
      test(`${answer.method} ${answer.target} on the sampling port: ${answer.status} as Jaeger`, async () => {
        const res = await fetch(`http://127.0.0.1:${sampling.port}${answer.target}`, { method: answer.method });
        assert.deepEqual(
          { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() },
          { status: answer.status, contentType: answer.contentType, body: answer.body },
        );
      });
    }

    // Jaeger 2.x's query port has no /api/sampling: the query answers as Jaeger's sampling port does on that path.
    const onSamplingPort = recording.answers.find((a) => a.port === 'sampling' && a.target === '/api/sampling?service=foo')!;
    test('/api/sampling on the query port answers as Jaeger does on /api/sampling, with the query token', async () => {
      const res = await query.inject({ method: 'GET', url: '/api/sampling?service=foo', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.deepEqual(
        { status: res.statusCode, contentType: res.headers['content-type'], body: res.body },
        { status: onSamplingPort.status, contentType: onSamplingPort.contentType, body: onSamplingPort.body },
      );
      const missing = await query.inject({ method: 'GET', url: '/api/sampling', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.body, "'service' parameter must be provided once\n");
    });

    test('/api/sampling on the query port needs the token, whatever the spelling of its path', async () => {
      for (const url of ['/api/sampling?service=foo', '//api/sampling?service=foo', '/%61pi/sampling?service=foo', '/api/sampling/?service=foo']) {
        const res = await query.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 401, url);
        assert.doesNotMatch(res.body, /strategyType/);
      }
    });
  });
}
