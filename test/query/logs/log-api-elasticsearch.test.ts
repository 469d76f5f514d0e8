import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import type { FastifyInstance } from 'fastify';
import { BulkEncoder } from '../../../storage/elasticsearch/bulk-encoder.js';
import { createEsClient } from '../../../storage/elasticsearch/es-client.js';
import { EsLogReader } from '../../../storage/elasticsearch/log-reader.js';
import { silentLogger } from '../../../platform/log.js';
import type { LogEvent } from '../../../model/log-record.js';
import { StoreDatabase } from '../../../storage/sqlite/database.js';
import { StoreLogStorage } from '../../../storage/sqlite/log-store.js';
import { StoreSpanStorage } from '../../../storage/sqlite/span-store.js';
import { buildQueryApp } from '../../../query/api-app.js';
import { parseDeclarations } from '../../../pilot/log-declarations.js';
import { createRecordEncoder } from '../../../pilot/record-encoder.js';
import { tracePatternOf } from '../../../pilot/trace-context.js';
import { containerMeta } from '../../helpers/container-meta.js';
import { deleteIndices, esTestUrl } from '../../helpers/elasticsearch.js';

/** Unique per run: every index of this file starts with it and is deleted at the end. */
const PREFIX = `sw-logapi-${process.pid}-${Date.now().toString(36)}`;
const WEB = `${PREFIX}-web`;
const DB = `${PREFIX}-db`;
/** Twenty seconds before midnight: the web records fill two daily indices. */
const T0 = Date.UTC(2024, 4, 1, 23, 59, 40);
/** The indices get this `index.max_result_window`, so deep pages and the download cross it with a few records. */
const WINDOW = 20;

interface Meta {
  container: string;
  id: string;
  app: string;
  service: string;
  target: string;
}
const WEB_1: Meta = { container: 'web-1', id: 'a1'.repeat(32), app: 'shop', service: 'web', target: WEB };
const DB_1: Meta = { container: 'db-1', id: 'b2'.repeat(32), app: 'shop', service: 'db', target: DB };
const BLOG: Meta = { container: 'blog-web-1', id: 'c3'.repeat(32), app: 'blog', service: 'web', target: WEB };

let serial = 0;
/** A record as the pilot writes it (the README's "Records"); `fields` set: a json line (no message, fields on top). */
function record(m: Meta, timestampMs: number, line: string, fields?: Record<string, unknown>): LogEvent {
  const head = {
    '@timestamp': new Date(timestampMs).toISOString(), ...(fields ? {} : { message: line }), stream: 'stdout', source: 'stdout',
    target: m.target, host: 'node-1', docker_container: m.container, docker_container_id: m.id, docker_app: m.app, docker_service: m.service,
  };
  return {
    json: JSON.stringify({ ...head, ...fields }), target: m.target, timestampMs, id: `${m.id.slice(0, 8)}-${++serial}`,
    containerId: m.id, containerName: m.container, app: m.app, service: m.service, text: line,
  };
}

function initialRecords(): LogEvent[] {
  const out: LogEvent[] = [];
  for (let i = 0; i < 40; i++) out.push(record(WEB_1, T0 + i * 1000, `GET /item/${i} 200 ${i % 2 === 0 ? 'even' : 'odd'} took ${i * 3} ms`));
  const db = ['connection refused by upstream', 'user alice logged in', 'user bob logged out', 'Slow query took 1500 ms', 'alice user rotated keys'];
  db.forEach((line, i) => out.push(record(DB_1, T0 + 500 + i * 7000, line)));
  const json = { level: 'error', msg: 'payment failed for order 42', big: 9007199254740992, ratio: 1.0 };
  // The number text as the line had it (2^53 + 1 and a ".0", which a JavaScript object would lose).
  const raw = '{"level":"error","msg":"payment failed for order 42","big":9007199254740993,"ratio":1.0}';
  const e = record(DB_1, T0 + 30_250, raw, json);
  e.json = e.json.replace(/,"level".*\}$/, ',' + raw.slice(1));
  out.push(e);
  for (let i = 0; i < 3; i++) out.push(record(BLOG, T0 + 1_250 + i * 9000, `GET /post/${i} 200 even`));
  return out;
}

async function bulkToEs(client: Client, events: LogEvent[]): Promise<void> {
  const r = (await client.transport.request({
    method: 'POST', path: '/_bulk', querystring: { refresh: 'true' }, bulkBody: new BulkEncoder('daily').encode(events),
  })) as { errors: boolean; items: unknown[] };
  assert.equal(r.errors, false, JSON.stringify(r.items.filter((i) => JSON.stringify(i).includes('"error"'))));
}

let es: Client;
let store: StoreDatabase;
let logs: StoreLogStorage;
let fromStore: FastifyInstance;
let fromEs: FastifyInstance;

before(async () => {
  es = createEsClient({ nodes: [await esTestUrl()] });
  store = new StoreDatabase({ dataDir: '', fileName: ':memory:', retentionMs: 0, log: silentLogger });
  logs = new StoreLogStorage(store);
  const events = initialRecords();
  await logs.write(events);
  await bulkToEs(es, events);
  await es.indices.putSettings({ index: `${PREFIX}-*`, settings: { index: { max_result_window: WINDOW } } });
  const common = { authToken: '', corsOrigins: [], maxTraces: 100, maxLogs: 1000, log: silentLogger, tailIntervalMs: 20, uiDir: false as const };
  fromStore = buildQueryApp({ ...common, spanReader: new StoreSpanStorage(store), logReader: logs });
  fromEs = buildQueryApp({
    ...common, spanReader: new StoreSpanStorage(store),
    logReader: new EsLogReader({ client: es, indices: [`${PREFIX}-*`], pageSize: 7, maxResultWindow: WINDOW }),
  });
});

after(async () => {
  await fromStore?.close();
  await fromEs?.close();
  store?.close();
  await es?.close();
  await deleteIndices(`${PREFIX}-*`);
});

/** The same request to both: the same status and the same bytes. Returns the store's answer. */
async function same(url: string): Promise<{ status: number; body: string }> {
  const [a, b] = await Promise.all([fromStore.inject({ url }), fromEs.inject({ url })]);
  assert.equal(b.statusCode, a.statusCode, `${url}: ${b.body}`);
  assert.equal(b.body, a.body, url);
  return { status: a.statusCode, body: a.body };
}

async function total(url: string): Promise<number> {
  const r = await same(url);
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { total: number }).total;
}

const q = (text: string): string => `/api/logs?q=${encodeURIComponent(text)}`;

describe('the log API over Elasticsearch answers as over the store', () => {
  test('both storages hold the same records, on two daily indices in Elasticsearch', async () => {
    assert.equal(await total('/api/logs?limit=1000'), 49);
    const indices = Object.keys(await es.indices.get({ index: `${PREFIX}-*` })).sort();
    assert.deepEqual(indices, [`${DB}-2024.05.01`, `${DB}-2024.05.02`, `${WEB}-2024.05.01`, `${WEB}-2024.05.02`]);
  });

  test('container (name, leading slash or id), app, service and target filters', async () => {
    assert.equal(await total('/api/logs?container=web-1'), 40);
    assert.equal(await total('/api/logs?container=%2Fdb-1'), 6);
    assert.equal(await total(`/api/logs?container=${DB_1.id}`), 6);
    assert.equal(await total('/api/logs?app=blog'), 3);
    assert.equal(await total('/api/logs?service=web'), 43);
    assert.equal(await total(`/api/logs?target=${DB}`), 6);
    assert.equal(await total(`/api/logs?app=shop&service=web&target=${WEB}`), 40);
    assert.equal(await total('/api/logs?container=web'), 0);
  });

  test('time ranges are inclusive, in ms or RFC 3339, across the day boundary', async () => {
    assert.equal(await total(`/api/logs?start=${T0 + 15_000}&end=${T0 + 25_000}&container=web-1`), 11);
    assert.equal(await total('/api/logs?start=2024-05-01T23:59:59Z&end=2024-05-02T00:00:10.000Z'), 15);
    assert.equal(await total(`/api/logs?start=${T0 + 39_000}`), 1);
    assert.equal(await total(`/api/logs?end=${T0 - 1}`), 0);
  });

  test('free text: every word, phrases, prefixes, and json lines searched in their fields', async () => {
    assert.equal(await total(q('refused')), 1);
    assert.equal(await total(q('alice user')), 2, 'every word, in any order');
    assert.equal(await total(q('"user alice"')), 1, 'a phrase in its order');
    assert.equal(await total(q('LOGGED')), 2, 'case does not matter');
    assert.equal(await total(q('logg*')), 2);
    assert.equal(await total(q('rot* keys')), 1);
    assert.equal(await total(q('item/1*')), 11, 'a word with punctuation is a phrase: item then a token starting with 1');
    assert.equal(await total(q('item/12')), 1);
    assert.equal(await total(q('even')), 23);
    assert.equal(await total(q('payment order')), 1, 'a json line');
    assert.equal(await total(q('took 1500')), 1);
    assert.equal(await total(q('nothing-like-this')), 0);
    assert.equal(await total(q('"" ')), 49, 'no word is no text filter');
    assert.equal(await total(q('*')), 0, 'a word without a letter or digit matches nothing');
  });

  test('filters and text together, newest first with paging, within and past the result window', async () => {
    assert.equal(await total(`/api/logs?app=shop&q=even&start=${T0}&end=${T0 + 30_000}&limit=4&offset=3`), 16);
    await total('/api/logs?container=web-1&limit=7&offset=5');
    await total('/api/logs?container=web-1&limit=7&offset=30');
    await total('/api/logs?limit=5&offset=45');
    await total('/api/logs?limit=5&offset=60');
    const page = JSON.parse((await same('/api/logs?service=web&limit=3&offset=38')).body) as { data: Array<{ message: string }> };
    assert.deepEqual(page.data.map((r) => r.message), ['GET /item/3 200 odd took 9 ms', 'GET /item/2 200 even took 6 ms', 'GET /post/0 200 even']);
  });

  test('records come back as the pilot wrote them, big numbers and all', async () => {
    const body = (await same(q('payment'))).body;
    assert.match(body, /"big":9007199254740993,"ratio":1\.0\}/);
  });

  test('the download streams the same NDJSON, across pages and the result window', async () => {
    for (const qs of ['app=shop', 'q=even', 'container=web-1&offset=25', '']) {
      const [a, b] = await Promise.all([fromStore.inject({ url: `/api/logs/download?${qs}` }), fromEs.inject({ url: `/api/logs/download?${qs}` })]);
      assert.equal(b.statusCode, 200);
      assert.match(String(b.headers['content-type']), /application\/x-ndjson/);
      assert.ok(a.body.length > 0);
      assert.equal(b.body, a.body, qs);
    }
  });

  test('bad parameters are still a 400', async () => {
    for (const qs of ['start=soon', 'limit=-3', 'start=10&end=5']) {
      const r = await same(`/api/logs?${qs}`);
      assert.equal(r.status, 400, qs);
    }
  });
});

/** Reads a server-sent event stream until `until` matches what arrived. */
function eventStream(res: Response): { read(until: RegExp): Promise<string> } {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    async read(until) {
      while (!until.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${text}`);
        text += decoder.decode(value);
      }
      return text;
    },
  };
}

describe('the live tail over Elasticsearch', () => {
  test('delivers the matching records written after it started, a new day\'s index too, and resumes after Last-Event-ID', async () => {
    const address = await fromEs.listen({ host: '127.0.0.1', port: 0 });
    const ctl = new AbortController();
    const res = await fetch(`${address}/api/logs/tail?container=db-1`, { signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /text\/event-stream/);
    const stream = eventStream(res);
    await stream.read(/: tailing/);
    await bulkToEs(es, [record(WEB_1, T0 + 60_000, 'tail web'), record(DB_1, T0 + 60_000, 'tail db one')]);
    // A record of a day no index holds yet: a new index, unknown to the cursor.
    await bulkToEs(es, [record(DB_1, T0 + 2 * 86_400_000, 'tail db next day')]);
    const text = await stream.read(/tail db next day/);
    ctl.abort();
    const events = text.split('\n\n').filter((e) => e.includes('data: '));
    assert.deepEqual(events.map((e) => (JSON.parse(e.slice(e.indexOf('data: ') + 6)) as { message: string }).message), ['tail db one', 'tail db next day']);
    const lastId = /^id: (\S+)$/m.exec(events[1]!)?.[1];
    assert.ok(lastId);

    await bulkToEs(es, [record(DB_1, T0 + 61_000, 'after the disconnect')]);
    const ctl2 = new AbortController();
    const again = await fetch(`${address}/api/logs/tail?container=db-1`, { signal: ctl2.signal, headers: { 'last-event-id': lastId } });
    const resumed = await eventStream(again).read(/after the disconnect/);
    ctl2.abort();
    assert.equal(resumed.split('\n\n').filter((e) => e.includes('data: ')).length, 1, 'only what came after the last event');
  });
});

describe('the logs of a trace', () => {
  test('records the pilot made from lines naming a trace are found by traceId and spanId on both storages', async () => {
    const target = `${PREFIX}-traced`;
    const m = containerMeta({ name: 'checkout-1', labels: { 'aliyun.logs.traced': 'stdout', 'aliyun.logs.traced.target': target, 'aliyun.logs.traced.format': 'json' } });
    const decl = parseDeclarations(m, { prefixes: ['aliyun'] }).declarations[0]!;
    const encoder = createRecordEncoder(m, decl, { hostName: 'node-1', nodeName: '', tracePattern: tracePatternOf('') }).forFile('', 'k');
    const trace = 'a3ce929d0e0e47364bf92f3577b34da6';
    const lines = [
      JSON.stringify({ msg: 'cart loaded', traceId: trace.toUpperCase(), spanId: '00F067AA0BA902B7' }),
      JSON.stringify({ msg: 'payment', traceparent: `00-${trace}-b7ad6b7169203331-01` }),
      `plain line trace_id=${trace} span_id=00f067aa0ba902b7`,
      JSON.stringify({ msg: 'another trace', trace_id: '0af7651916cd43dd' }),
    ];
    const events = lines.map((line, i) => encoder.encode(line, (i + 1) * 100, false, 'stdout', T0 + i * 1000, NaN));
    await logs.write(events);
    await bulkToEs(es, events);
    assert.equal(await total(`/api/logs?traceId=${trace}`), 3);
    assert.equal(await total(`/api/logs?traceId=${trace.toUpperCase()}&spanId=00f067aa0ba902b7`), 2);
    assert.equal(await total('/api/logs?traceId=0af7651916cd43dd'), 1, 'a 64-bit id in either printing');
    assert.equal(await total('/api/logs?traceId=00000000000000000af7651916cd43dd'), 1);
    for (const bad of ['xyz', '0'.repeat(32), 'abc']) assert.equal((await same(`/api/logs?traceId=${bad}`)).status, 400, bad);
    assert.equal((await same('/api/logs?spanId=1234')).status, 400);
  });
});
