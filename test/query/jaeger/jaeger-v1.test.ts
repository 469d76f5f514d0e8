import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEP_TRACE, NOW_MS, getJson, queryAppWithFixtures, type QueryFixture } from '../../helpers/query-fixtures.js';

let f: QueryFixture;
before(async () => {
  f = await queryAppWithFixtures();
});
after(async () => f.close());

const get = (url: string) => getJson(f.app, url);

function traceIds(body: any): string[] {
  return body.data.map((t: any) => t.traceID).sort();
}

const WINDOW = 'start=1485445591639875&end=1485452791639875';

describe('services and operations', () => {
  test('services come in the envelope with their count', async () => {
    const { status, body } = await get('/api/services');
    assert.equal(status, 200);
    assert.ok(body.data.includes('query01-service') && body.data.includes('frontend'));
    assert.equal(body.total, body.data.length);
    assert.deepEqual([body.limit, body.offset, body.errors], [0, 0, null]);
  });

  test('the legacy operations route lists unique names', async () => {
    const { body } = await get('/api/services/backend/operations');
    assert.deepEqual(body.data, ['inner', 'load', 'save']);
    assert.equal(body.total, 3);
  });

  test('a service with no operations: null on the legacy route, [] on /api/operations (as Jaeger answers)', async () => {
    assert.deepEqual((await get('/api/services/nobody/operations')).body.data, null);
    assert.deepEqual((await get('/api/operations?service=nobody')).body.data, []);
  });

  test('operations carry their span kind and filter by it', async () => {
    const all = await get('/api/operations?service=backend');
    assert.deepEqual(all.body.data, [
      { name: 'inner', spanKind: 'internal' }, { name: 'load', spanKind: 'server' }, { name: 'save', spanKind: 'server' },
    ]);
    const internal = await get('/api/operations?service=backend&spanKind=internal');
    assert.deepEqual(internal.body.data, [{ name: 'inner', spanKind: 'internal' }]);
  });

  test('operations without a service is a 400 naming the parameter', async () => {
    const { status, body } = await get('/api/operations');
    assert.equal(status, 400);
    assert.deepEqual(body, { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 400, msg: "parameter 'service' is required" }] });
  });
});

describe('trace by id', () => {
  test('a trace comes in Jaeger JSON with processes p1..pN', async () => {
    const { status, body } = await get(`/api/traces/${DEP_TRACE}`);
    assert.equal(status, 200);
    const trace = body.data[0];
    assert.equal(trace.traceID, '000000000000d001', '16 digits when the high half is zero');
    assert.equal(trace.spans.length, 5);
    assert.deepEqual(Object.keys(trace.processes).sort(), ['p1', 'p2', 'p3']);
    const child = trace.spans.find((s: any) => s.spanID === '00000000000000a2');
    assert.deepEqual(child.references, [{ refType: 'CHILD_OF', traceID: '000000000000d001', spanID: '00000000000000a1' }]);
    assert.equal(child.flags, 1);
    assert.deepEqual(child.tags.find((t: any) => t.key === 'big'), { key: 'big', type: 'int64', value: '9007199254740993' }, 'beyond 2^53 as a string');
    const keys = child.tags.map((t: any) => t.key);
    assert.deepEqual(keys, [...keys].sort(), 'tags sorted by key, as Jaeger\'s SortTagsAndLogFields adjuster leaves them');
    assert.deepEqual(child.logs[0].fields, [{ key: 'event', type: 'string', value: 'sent' }]);
    assert.equal(trace.processes[child.processID].serviceName, 'backend');
    assert.deepEqual(trace.processes[child.processID].tags, [{ key: 'hostname', type: 'string', value: 'backend-1' }]);
    // Jaeger 2.x's clock skew adjuster (max_clock_skew_adjust 0s, its example configuration) names the correction a
    // child ending after its parent would need, without applying it.
    assert.deepEqual(child.warnings, ['clock skew adjustment disabled; not applying calculated delta of -100µs']);
    assert.equal(trace.spans.find((s: any) => s.spanID === '00000000000000a1').warnings, null);
    assert.deepEqual(Object.keys(child), ['traceID', 'spanID', 'flags', 'operationName', 'references', 'startTime', 'duration', 'tags', 'logs', 'processID', 'warnings']);
  });

  test('the short and the long form of an id find the same trace', async () => {
    const short = await get('/api/traces/d001');
    const upper = await get(`/api/traces/${DEP_TRACE.toUpperCase()}`);
    assert.equal(short.status, 200);
    assert.deepEqual(short.body, upper.body);
  });

  test('an unknown trace is a 404 in the envelope', async () => {
    const { status, body } = await get('/api/traces/abcdef');
    assert.equal(status, 404);
    assert.deepEqual(body.errors, [{ code: 404, msg: 'trace not found' }]);
    assert.equal(body.data, null);
  });

  test('a malformed trace id is a 400', async () => {
    for (const id of ['xyz', '0'.repeat(33)]) {
      const { status, body } = await get(`/api/traces/${id}`);
      assert.equal(status, 400, id);
      assert.equal(body.errors[0].code, 400);
      assert.match(body.errors[0].msg, /TraceID|invalid syntax/);
    }
  });

  test('traceID lookups on the search route report the missing ones', async () => {
    const { status, body } = await get(`/api/traces?traceID=${DEP_TRACE}&traceID=beef`);
    assert.equal(status, 200);
    assert.deepEqual(traceIds(body), ['000000000000d001']);
    assert.deepEqual(body.errors, [{ msg: 'trace not found', traceID: '000000000000beef' }]);
  });
});

describe('search', () => {
  test('tags as JSON and as repeated tag=key:value find the same trace', async () => {
    const tags = encodeURIComponent(JSON.stringify({ sameplacetag1: 'sameplacevalue', sameplacetag2: '123' }));
    const a = await get(`/api/traces?service=query01-service&${WINDOW}&tags=${tags}`);
    const b = await get(`/api/traces?service=query01-service&${WINDOW}&tag=sameplacetag1:sameplacevalue&tag=sameplacetag2:123`);
    assert.equal(a.status, 200);
    assert.deepEqual(traceIds(a.body), ['0000000000000001']);
    assert.deepEqual(traceIds(b.body), ['0000000000000001']);
  });

  test('durations are Go duration strings', async () => {
    const hit = await get(`/api/traces?service=query09-service&${WINDOW}&minDuration=4.5us&maxDuration=5500ns`);
    assert.deepEqual(traceIds(hit.body), ['0000000000000009']);
    const miss = await get(`/api/traces?service=query09-service&${WINDOW}&minDuration=6us`);
    assert.deepEqual(miss.body.data, []);
  });

  test('operation narrows the search', async () => {
    const { body } = await get(`/api/traces?service=backend&operation=load&${WINDOW.replace(/start=\d+&end=\d+/, '')}`);
    assert.deepEqual(traceIds(body), ['000000000000d001']);
  });

  test('the search defaults to the last two days before now', async () => {
    const { body } = await get('/api/traces?service=frontend');
    assert.deepEqual(traceIds(body), ['000000000000d001']);
  });

  test('a search without a service looks in every service', async () => {
    const { status, body } = await get(`/api/traces?${WINDOW}&tag=sameplacetag1:same.*`);
    assert.equal(status, 200);
    assert.ok(body.data.length > 2);
    const services = new Set(body.data.flatMap((t: any) => Object.values(t.processes).map((p: any) => p.serviceName)));
    assert.ok(services.size > 2);
  });

  test('limit and offset page the search and total counts every match', async () => {
    const all = await get(`/api/traces?${WINDOW}&tag=sameplacetag1:same.*`);
    const page1 = await get(`/api/traces?${WINDOW}&tag=sameplacetag1:same.*&limit=2`);
    const page2 = await get(`/api/traces?${WINDOW}&tag=sameplacetag1:same.*&limit=2&offset=2`);
    assert.equal(page1.body.data.length, 2);
    assert.equal(page1.body.total, all.body.data.length);
    assert.deepEqual([page2.body.limit, page2.body.offset], [2, 2]);
    assert.deepEqual(
      [...page1.body.data, ...page2.body.data].map((t: any) => t.traceID),
      all.body.data.slice(0, 4).map((t: any) => t.traceID),
    );
  });

  test('a huge limit is lowered to the maximum, one beyond 32 bits is a 400', async () => {
    const big = await get(`/api/traces?service=frontend&limit=2000000000`);
    assert.equal(big.status, 200);
    assert.equal(big.body.limit, 1500);
    const huge = await get(`/api/traces?service=frontend&limit=99999999999`);
    assert.equal(huge.status, 400);
    assert.match(huge.body.errors[0].msg, /value out of range/);
  });

  const bad: Array<[string, RegExp]> = [
    ['service=a&minDuration=abc', /unable to parse param 'minDuration': time: invalid duration "abc"/],
    ['service=a&maxDuration=10', /time: missing unit in duration "10"/],
    ['service=a&maxDuration=3x', /time: unknown unit "x"/],
    ['service=a&minDuration=2s&maxDuration=1s', /'maxDuration' should be greater than 'minDuration'/],
    ['service=a&tags=%7Bnot-json', /malformed 'tags' parameter, cannot unmarshal JSON/],
    ['service=a&tags=%7B%22a%22%3A1%7D', /malformed 'tags' parameter/],
    ['service=a&tag=novalue', /malformed 'tag' parameter, expecting key:value/],
    ['service=a&start=yesterday', /unable to parse param 'start'/],
    ['service=a&start=200&end=100', /'start' should not be after 'end'/],
    ['service=a&limit=ten', /invalid syntax/],
    ['service=a&limit=-1', /must not be negative/],
    ['traceID=zz', /cannot parse traceID param/],
    ['service=a&raw=maybe', /unable to parse param 'raw'/],
  ];
  for (const [qs, msg] of bad) {
    test(`bad input "${qs}" is a 400 with the reason`, async () => {
      const { status, body } = await get(`/api/traces?${qs}`);
      assert.equal(status, 400);
      assert.equal(body.data, null);
      assert.equal(body.errors[0].code, 400);
      assert.match(body.errors[0].msg, msg);
    });
  }
});

describe('dependencies and unknown routes', () => {
  test('dependencies are computed from the stored spans', async () => {
    const { status, body } = await get(`/api/dependencies?endTs=${NOW_MS}&lookback=3600000`);
    assert.equal(status, 200);
    // A call within a service counts, as Jaeger 2.x (v1.75.0) counts it with its memory store.
    assert.deepEqual(body.data, [
      { parent: 'backend', child: 'backend', callCount: 1 }, { parent: 'backend', child: 'db', callCount: 1 }, { parent: 'frontend', child: 'backend', callCount: 2 },
      { parent: 'query07-service', child: 'query07-service', callCount: 1 },
    ]);
    const db = await get(`/api/dependencies?endTs=${NOW_MS}&lookback=3600000&service=db`);
    assert.deepEqual(db.body.data, [{ parent: 'backend', child: 'db', callCount: 1 }]);
    const before = await get(`/api/dependencies?endTs=${NOW_MS - 3600_000}&lookback=60000`);
    assert.deepEqual(before.body.data, []);
  });

  test('bad dependency parameters are a 400', async () => {
    for (const qs of ['endTs=soon', 'lookback=1h', 'lookback=-5']) {
      const { status, body } = await get(`/api/dependencies?${qs}`);
      assert.equal(status, 400, qs);
      assert.match(body.errors[0].msg, /unable to parse param/);
    }
  });

  test('an unknown API route is a 404 in the envelope', async () => {
    const { status, body } = await get('/api/nothing-here');
    assert.equal(status, 404);
    assert.deepEqual(body.errors, [{ code: 404, msg: '404 page not found' }]);
  });
});

describe('adjusters', () => {
  test('a Zipkin client/server pair sharing a span id is separated unless raw=true', async () => {
    const traceId = '0000000000000000000000000000e001';
    const mk = (kind: string, service: string) => ({
      traceId, spanId: '00000000000000c1', operationName: 'call', references: [], flags: 1, startTimeMicros: (NOW_MS - 1000) * 1000,
      durationMicros: 10, tags: [{ key: 'span.kind', type: 'string' as const, value: kind }], logs: [], process: { serviceName: service, tags: [] },
    });
    await f.spans.writeSpans([mk('client', 'caller'), mk('server', 'callee')]);
    const adjusted = (await get(`/api/traces/${traceId}`)).body.data[0].spans;
    const server = adjusted.find((s: any) => s.tags[0].value === 'server');
    assert.equal(server.spanID, '0000000000000001');
    assert.deepEqual(server.references, [{ refType: 'CHILD_OF', traceID: '000000000000e001', spanID: '00000000000000c1' }]);
    const raw = (await get(`/api/traces/${traceId}?raw=true`)).body.data[0].spans;
    assert.deepEqual(raw.map((s: any) => s.spanID), ['00000000000000c1', '00000000000000c1']);
    const v3 = (await f.app.inject({ url: `/api/v3/traces/${traceId}` })).json();
    const v3ids = v3.result.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans.map((x: any) => x.spanId))).sort();
    assert.deepEqual(v3ids, ['0000000000000001', '00000000000000c1']);
  });
});
