import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxDbOutput } from '../../collector/metrics/influxdb-output.js';
import { parseLineProtocol } from '../../collector/metrics/line-protocol-parser.js';
import { registerLineProtocolPush } from '../../collector/metrics/line-protocol-push.js';
import { startJaegerHttpReceiver } from '../../collector/traces/receivers/jaeger-http-receiver.js';
import { startOtlpHttpReceiver } from '../../collector/traces/receivers/otlp-http-receiver.js';
import { startZipkinReceiver } from '../../collector/traces/receivers/zipkin-receiver.js';
import { buildAdminApp } from '../../platform/http/admin-server.js';
import type { RunningHttpServer } from '../../platform/http/http-server.js';
import { silentLogger } from '../../platform/log.js';
import type { MetricPoint } from '../../model/metric-point.js';
import { createRegistry } from '../../platform/self-metrics.js';
import { rawRequest } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait.js';
import { CollectingConsumer } from './traces/support/collecting-consumer.js';
import { encodeBatch } from './traces/support/thrift-writer.js';

const INGEST = 'in-g3st';
const ADMIN = 'adm1n';

interface Receiver {
  name: string;
  path: string;
  contentType: string;
  body: Uint8Array | string;
  /** The answer to an accepted request. */
  accepted: number;
  start(consumer: CollectingConsumer, authToken: string | undefined): Promise<RunningHttpServer>;
}

const limits = { log: silentLogger, listen: { host: '127.0.0.1', port: 0 }, maxBodyBytes: 64 * 1024, retryAfterMs: 1000 };

const RECEIVERS: Receiver[] = [
  {
    name: 'Jaeger HTTP', path: '/api/traces', contentType: 'application/x-thrift', accepted: 202,
    body: encodeBatch({
      process: { serviceName: 's' },
      spans: [{ traceIdLow: 1n, traceIdHigh: 0n, spanId: 2n, parentSpanId: 0n, operationName: 'op', flags: 1, startTime: 1_700_000_000_000_000n, duration: 10n }],
    }, 'binary'),
    start: (consumer, authToken) => startJaegerHttpReceiver({ ...limits, consumer, registry: createRegistry('collector', false), maxSpansPerBatch: 10, authToken }),
  },
  {
    name: 'Zipkin', path: '/api/v2/spans', contentType: 'application/json', accepted: 202,
    body: JSON.stringify([{ traceId: '5b8efff798038103d269b633813fc60c', id: 'eee19b7ec3c1b174', name: 'op', timestamp: 1_700_000_000_000_000, duration: 1000, localEndpoint: { serviceName: 's' } }]),
    start: (consumer, authToken) => startZipkinReceiver({ ...limits, consumer, registry: createRegistry('collector', false), maxSpansPerRequest: 10, authToken }),
  },
  {
    name: 'OTLP/HTTP', path: '/v1/traces', contentType: 'application/json', accepted: 200,
    body: JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] },
        scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'op', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000' }] }],
      }],
    }),
    start: (consumer, authToken) => startOtlpHttpReceiver({ ...limits, consumer, registry: createRegistry('collector', false), maxSpansPerRequest: 10, authToken }),
  },
];

for (const r of RECEIVERS) {
  describe(`the ${r.name} receiver with COLLECTOR_AUTH_TOKEN`, () => {
    const consumer = new CollectingConsumer();
    let secured: RunningHttpServer;
    let open: RunningHttpServer;
    before(async () => {
      secured = await r.start(consumer, INGEST);
      open = await r.start(consumer, undefined);
    });
    after(async () => {
      await secured.close();
      await open.close();
    });
    const post = (server: RunningHttpServer, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`http://127.0.0.1:${server.port}${r.path}`, { method: 'POST', body: r.body, headers: { 'content-type': r.contentType, ...headers } });

    test('a push without the token, or with a wrong one, is 401 and hands nothing over', async () => {
      consumer.spans.length = 0;
      const attempts: Array<Record<string, string>> = [
        {}, { authorization: 'Bearer wrong' }, { authorization: INGEST }, { authorization: `Basic ${Buffer.from(`u:${INGEST}`).toString('base64')}` },
      ];
      for (const headers of attempts) {
        const res = await post(secured, headers);
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        const body = (await res.json()) as { error: string; message: string };
        assert.equal(body.error, 'SW_UNAUTHORIZED');
        assert.match(body.message, /COLLECTOR_AUTH_TOKEN/);
      }
      assert.equal(consumer.spans.length, 0);
    });

    test('a push with the bearer token is taken', async () => {
      consumer.spans.length = 0;
      const res = await post(secured, { authorization: `Bearer ${INGEST}` });
      assert.equal(res.status, r.accepted, await res.text());
      assert.equal((await consumer.waitFor(1)).length, 1);
    });

    test('every spelling of the path, and a path naming no route, needs the token', async () => {
      const rest = r.path.slice(2);
      for (const target of [r.path, `/%${r.path.charCodeAt(1).toString(16)}${rest}`, `/${r.path}`, `http://h${r.path}`, `/x/..${r.path}`, `/x/%2e%2e${r.path}`, `${r.path}/`, '/nope', '/']) {
        assert.equal((await rawRequest(secured.port, 'POST', target, { 'content-length': '0' })).status, 401, target);
        const allowed = await rawRequest(secured.port, 'POST', target, { 'content-length': '0', 'content-type': r.contentType, authorization: `Bearer ${INGEST}` });
        assert.ok(allowed.status !== 401, `${target} with the token: ${allowed.status}`);
      }
    });

    test('without the token configured, the receiver is open', async () => {
      consumer.spans.length = 0;
      const res = await post(open);
      assert.equal(res.status, r.accepted);
      assert.equal((await consumer.waitFor(1)).length, 1);
    });
  });
}

describe('line protocol pushes on the collector admin port', () => {
  const received: MetricPoint[][] = [];
  const apps: FastifyInstance[] = [];
  async function collectorAdmin(tokens: { admin?: string; ingest?: string }): Promise<number> {
    const registry = createRegistry('collector', false);
    const app = buildAdminApp({ registry, health: [], log: silentLogger, tokens });
    await registerLineProtocolPush(app, { maxBodyBytes: 64 * 1024, log: silentLogger, registry, onPoints: (points) => received.push(points) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    apps.push(app);
    return (app.server.address() as AddressInfo).port;
  }
  let both: number;
  let adminOnly: number;
  before(async () => {
    both = await collectorAdmin({ admin: ADMIN, ingest: INGEST });
    adminOnly = await collectorAdmin({ admin: ADMIN });
  });
  after(async () => {
    for (const app of apps) await app.close();
  });
  const push = (port: number, path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: 'cpu,host=a v=1 1700000000000000000\n', headers });
  const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  test('without the ingest token, or with the admin one, a push is 401 and no point is taken', async () => {
    received.length = 0;
    const refused: Array<[string, Record<string, string>]> = [
      ['/write?db=telegraf', {}],
      ['/api/v2/write?bucket=telegraf', {}],
      ['/write?db=telegraf', { authorization: `Bearer ${ADMIN}` }],
      ['/api/v2/write?bucket=telegraf', { authorization: 'Token wrong' }],
      ['/write?db=telegraf', { authorization: basic('telegraf', 'wrong') }],
      ['/write?db=telegraf&u=telegraf&p=wrong', {}],
      // A credential in the header is the one checked, a good ?p= beside it does not rescue it.
      [`/write?db=telegraf&p=${INGEST}`, { authorization: 'Bearer wrong' }],
      ['/%77rite?db=telegraf', {}],
    ];
    for (const [path, headers] of refused) {
      const res = await push(both, path, headers);
      assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
      assert.equal(((await res.json()) as { error: string }).error, 'SW_UNAUTHORIZED');
    }
    assert.equal(received.length, 0);
  });

  test('the ingest token is taken as InfluxDB clients send it: Bearer, Token, Basic password, ?p=', async () => {
    received.length = 0;
    const accepted: Array<[string, Record<string, string>]> = [
      ['/write?db=telegraf', { authorization: `Bearer ${INGEST}` }],
      ['/api/v2/write?bucket=telegraf', { authorization: `Token ${INGEST}` }],
      ['/write?db=telegraf', { authorization: basic('telegraf', INGEST) }],
      [`/write?db=telegraf&u=telegraf&p=${INGEST}`, {}],
      ['//api/v2/write/?bucket=telegraf', { authorization: `token ${INGEST}` }],
    ];
    for (const [path, headers] of accepted) assert.equal((await push(both, path, headers)).status, 204, `${path} ${JSON.stringify(headers)}`);
    assert.equal(received.length, accepted.length);
  });

  test("Shipwatch's own InfluxDB output writes into a collector that wants a token, sent as InfluxDB 2 clients send it", async () => {
    received.length = 0;
    const dataDir = mkdtempSync(join(tmpdir(), 'shipwatch-ingest-'));
    const sink = new InfluxDbOutput({
      name: 'influxdb', url: `http://127.0.0.1:${both}`, token: INGEST, org: 'o', bucket: 'telegraf', batchPoints: 10, batchBytes: 1 << 20, flushIntervalMs: 20,
      concurrency: 1, timeoutMs: 5000, dataDir, bufferMaxBytes: 1 << 20, whenFull: 'block', log: silentLogger, registry: createRegistry('collector', false),
    });
    try {
      sink.write(parseLineProtocol('mem,host=h used=5i 1700000000000000000\n').points);
      await waitFor(() => received.length > 0, { timeoutMs: 5000, what: 'the point pushed by the sink' });
      assert.equal(received[0]![0]!.measurement, 'mem');
    } finally {
      await sink.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('the admin token guards /metrics but not pushes, which stay open while no ingest token is set', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${both}/metrics`, { headers: { authorization: `Bearer ${INGEST}` } })).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${both}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).status, 200);
    assert.equal((await push(adminOnly, '/write?db=telegraf')).status, 204);
    assert.equal((await fetch(`http://127.0.0.1:${adminOnly}/metrics`)).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${adminOnly}/health`)).status, 200);
  });
});
