import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LogEvent } from '../../../model/log-record.js';
import { queryAppWithFixtures, type QueryFixture } from '../../helpers/query-fixtures.js';

const T0 = Date.parse('2024-05-01T12:00:00Z');
function event(i: number, container = 'web-1'): LogEvent {
  const message = `GET /item/${i} 200 ${i % 2 === 0 ? 'even' : 'odd'}`;
  return {
    json: JSON.stringify({ '@timestamp': new Date(T0 + i * 1000).toISOString(), message, docker_container: container }),
    target: 'web', timestampMs: T0 + i * 1000, id: `${container}-${i}`, containerId: `${container}-id`, containerName: container,
    app: 'shop', service: container.split('-')[0]!, text: message,
  };
}

let f: QueryFixture;
before(async () => {
  f = await queryAppWithFixtures();
  await f.logs.write([...Array(25).keys()].map((i) => event(i)));
  await f.logs.write([...Array(5).keys()].map((i) => event(100 + i, 'db-1')));
});
after(async () => f.close());

describe('the log API', () => {
  test('a search answers the records newest first in the envelope, with total and paging', async () => {
    const res = await f.app.inject({ url: '/api/logs?container=web-1&q=even&limit=5&offset=5' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.total, 13);
    assert.deepEqual([body.limit, body.offset, body.errors], [5, 5, null]);
    assert.deepEqual(body.data.map((r: any) => r.message), [14, 12, 10, 8, 6].map((i) => `GET /item/${i} 200 even`));
  });

  test('time bounds take ms or RFC 3339', async () => {
    const a = await f.app.inject({ url: `/api/logs?service=web&start=${T0 + 3000}&end=${T0 + 5000}` });
    const b = await f.app.inject({ url: `/api/logs?service=web&start=2024-05-01T12:00:03Z&end=2024-05-01T12:00:05.000Z` });
    assert.equal(a.json().total, 3);
    assert.deepEqual(a.json(), b.json());
  });

  test('bad log parameters are a 400 in the envelope', async () => {
    for (const qs of ['start=soon', 'limit=-3', 'limit=x', 'start=10&end=5', 'offset=9999999999999']) {
      const res = await f.app.inject({ url: `/api/logs?${qs}` });
      assert.equal(res.statusCode, 400, qs);
      assert.equal(res.json().errors[0].code, 400);
    }
  });

  test('a huge limit is lowered to the maximum page', async () => {
    const res = await f.app.inject({ url: '/api/logs?limit=2000000000' });
    assert.equal(res.json().limit, 1000);
    assert.equal(res.json().data.length, 30);
  });

  test('download streams the matching records as NDJSON', async () => {
    const res = await f.app.inject({ url: '/api/logs/download?app=shop&q=odd' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /application\/x-ndjson/);
    assert.match(String(res.headers['content-disposition']), /attachment/);
    const lines = res.body.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 12 + 2);
    assert.equal(lines[0].message, 'GET /item/103 200 odd');
  });

  test('the live tail sends new matching records as server-sent events', async () => {
    const address = await f.app.listen({ host: '127.0.0.1', port: 0 });
    const ctl = new AbortController();
    const res = await fetch(`${address}/api/logs/tail?container=db-1`, { signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const read = async (until: RegExp): Promise<void> => {
      while (!until.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${text}`);
        text += decoder.decode(value);
      }
    };
    await read(/: tailing/);
    await f.logs.write([event(200, 'web-1'), event(201, 'db-1')]);
    await read(/item\/201/);
    const events = text.split('\n\n').filter((e) => e.includes('data: '));
    assert.equal(events.length, 1, 'only the matching record');
    assert.match(events[0]!, /^id: \d+\ndata: \{.*"message":"GET \/item\/201 200 odd"/);
    ctl.abort();
  });
});
