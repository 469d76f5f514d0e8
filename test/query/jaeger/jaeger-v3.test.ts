import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DEP_TRACE, getJson, queryAppWithFixtures, type QueryFixture } from '../../helpers/query-fixtures.js';
import { JAEGER_STORAGE_FIXTURES } from '../../helpers/span-storage-suite.js';

let f: QueryFixture;
before(async () => {
  f = await queryAppWithFixtures();
});
after(async () => f.close());

const get = (url: string) => getJson(f.app, url);

const WINDOW = 'query.start_time_min=2017-01-26T15:00:00Z&query.start_time_max=2017-01-26T18:00:00.000000Z';

describe('API v3', () => {
  test('services and operations in v3 shapes', async () => {
    const services = await get('/api/v3/services');
    assert.ok(services.body.services.includes('backend'));
    const ops = await get('/api/v3/operations?service=backend&spanKind=server');
    assert.deepEqual(ops.body, { operations: [{ name: 'load', spanKind: 'server' }, { name: 'save', spanKind: 'server' }] });
  });

  test('a trace by id comes back as the OTLP JSON it was sent as', async () => {
    const { status, body } = await get('/api/v3/traces/00000000000000000000000000000001');
    assert.equal(status, 200);
    const sent = JSON.parse(readFileSync(`${JAEGER_STORAGE_FIXTURES}traces/span_tags_trace.json`, 'utf8'));
    const got = body.result.resourceSpans[0];
    const want = sent.resourceSpans[0];
    assert.deepEqual(got.resource, want.resource);
    const [g, w] = [got.scopeSpans[0].spans[0], want.scopeSpans[0].spans[0]];
    for (const key of ['traceId', 'spanId', 'name', 'startTimeUnixNano', 'endTimeUnixNano']) assert.equal(g[key], w[key], key);
    const sortByKey = (a: any[]) => [...a].sort((x, y) => (x.key < y.key ? -1 : 1));
    assert.deepEqual(sortByKey(g.attributes), sortByKey(w.attributes));
  });

  test('kind, parent, links and events are rebuilt from the span model', async () => {
    const { body } = await get(`/api/v3/traces/${DEP_TRACE}`);
    const spans = body.result.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans));
    const load = spans.find((s: any) => s.name === 'load');
    assert.equal(load.kind, 2);
    assert.equal(load.parentSpanId, '00000000000000a1');
    assert.equal(load.links, undefined);
    assert.deepEqual(load.events, [{ timeUnixNano: String((BigInt(load.startTimeUnixNano) / 1000n + 10n) * 1000n), name: 'sent' }]);
    // Jaeger 2.x's clock skew adjuster (max_clock_skew_adjust 0s) warns of the correction a child ending after its
    // parent would need; the warning is the span attribute Jaeger v2 keeps warnings in, after the sorted attributes.
    assert.deepEqual(load.attributes, [
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: '@jaeger@warnings', value: { arrayValue: { values: [{ stringValue: 'clock skew adjustment disabled; not applying calculated delta of -100µs' }] } } },
    ]);
    assert.deepEqual(load.status, {});
    assert.equal(body.result.resourceSpans.length, 3, 'one resource per process');
  });

  test('an unknown trace is v3\'s 404, a malformed id a 400', async () => {
    const missing = await get('/api/v3/traces/00000000000000000000000000000bad');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: { httpCode: 404, message: 'No traces found' } });
    const bad = await get('/api/v3/traces/not-an-id!');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /malformed parameter trace_id/);
  });

  test('search takes the query.* parameters, canonical or snake_case', async () => {
    const a = await get(`/api/v3/traces?query.service_name=query01-service&${WINDOW}&query.attributes=${encodeURIComponent('{"sameplacetag1":"sameplacevalue"}')}`);
    assert.equal(a.status, 200);
    const ids = a.body.result.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans.map((x: any) => x.traceId)));
    assert.deepEqual([...new Set(ids)], ['00000000000000000000000000000001']);
    const b = await get(`/api/v3/traces?query.serviceName=query01-service&query.startTimeMin=2017-01-26T15:00:00Z&query.startTimeMax=2017-01-26T18:00:00Z&query.searchDepth=1`);
    assert.equal(b.status, 200);
  });

  test('a search with nothing found is a 404, bad input a 400', async () => {
    const none = await get(`/api/v3/traces?query.service_name=nobody&${WINDOW}`);
    assert.equal(none.status, 404);
    const cases: Array<[string, RegExp]> = [
      ['query.service_name=a', /query.start_time_min and query.start_time_max are required/],
      ['query.start_time_min=yesterday&query.start_time_max=2017-01-26T18:00:00Z', /malformed parameter query.start_time_min/],
      ['query.start_time_min=2017-01-26T18:00:00Z&query.start_time_max=2017-01-26T15:00:00Z', /must be before/],
      [`${WINDOW}&query.duration_min=fast`, /malformed parameter query.duration_min: time: invalid duration/],
      [`${WINDOW}&query.search_depth=many`, /malformed parameter query.search_depth/],
      [`${WINDOW}&query.attributes=%7Bbad`, /malformed parameter query.attributes/],
    ];
    for (const [qs, msg] of cases) {
      const { status, body } = await get(`/api/v3/traces?${qs}`);
      assert.equal(status, 400, qs);
      assert.equal(body.error.httpCode, 400);
      assert.match(body.error.message, msg);
    }
  });

  test('trace summaries count spans per service and name the root', async () => {
    const { status, body } = await get('/api/v3/trace-summaries?query.service_name=frontend&query.start_time_min=2017-01-26T16:00:00Z&query.start_time_max=2017-01-26T17:00:00Z');
    assert.equal(status, 200);
    assert.equal(body.summaries.length, 1);
    const s = body.summaries[0];
    assert.equal(s.traceId, DEP_TRACE);
    assert.equal(s.rootServiceName, 'frontend');
    assert.equal(s.rootOperationName, 'GET /');
    assert.equal(s.spanCount, 5);
    assert.equal(s.errorSpanCount, undefined, 'zero values are left out, as proto JSON does');
    assert.deepEqual(s.services, [{ name: 'backend', spanCount: 3 }, { name: 'db', spanCount: 1 }, { name: 'frontend', spanCount: 1 }]);
    assert.equal(typeof s.minStartTimeUnixNano, 'string');
  });
});

describe('auth and CORS', () => {
  test('with a token set, every API route needs it', async () => {
    const g = await queryAppWithFixtures({ authToken: 's3cret' });
    try {
      const none = await g.app.inject({ url: '/api/services' });
      assert.equal(none.statusCode, 401);
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      assert.equal(none.json().errors[0].code, 401);
      const wrong = await g.app.inject({ url: '/api/v3/services', headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().error.httpCode, 401);
      const logs = await g.app.inject({ url: '/api/logs' });
      assert.equal(logs.statusCode, 401);
      const right = await g.app.inject({ url: '/api/services', headers: { authorization: 'Bearer s3cret' } });
      assert.equal(right.statusCode, 200);
    } finally {
      await g.close();
    }
  });

  test('an allowed origin gets CORS headers and its preflight answered', async () => {
    const g = await queryAppWithFixtures({ corsOrigins: ['https://ui.example'], authToken: 't' });
    try {
      const pre = await g.app.inject({ method: 'OPTIONS', url: '/api/traces', headers: { origin: 'https://ui.example', 'access-control-request-method': 'GET' } });
      assert.equal(pre.statusCode, 204);
      assert.equal(pre.headers['access-control-allow-origin'], 'https://ui.example');
      assert.match(String(pre.headers['access-control-allow-headers']), /Authorization/);
      const other = await g.app.inject({ url: '/api/services', headers: { origin: 'https://evil.example', authorization: 'Bearer t' } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
    } finally {
      await g.close();
    }
  });
});
