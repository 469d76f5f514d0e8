/**
 * The web UI's API module (query/ui/api.js) run in Node against the real query app listening on loopback: the
 * JSON calls with the bearer token, and the live tail's server-sent events read through fetch. Node 20 has fetch
 * and streams like a browser but no localStorage: a Map-backed one stands in for it (it holds the token).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { queryAppWithFixtures, type QueryFixture } from '../helpers/query-fixtures.js';
import { sampleLogs } from '../helpers/ui-sample-data.js';

const store = new Map<string, string>();
Object.assign(globalThis, {
  localStorage: {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => void store.set(k, v),
    removeItem: (k: string) => void store.delete(k),
  },
});

interface ApiModule {
  getJson(path: string, params?: Record<string, unknown>): Promise<any>;
  followEvents(path: string, params: Record<string, unknown>, o: { signal: AbortSignal; onEvent(data: string, id?: string): void; onState(s: string, e?: Error): void }): Promise<void>;
  apiUrl(path: string, params?: Record<string, unknown>): string;
  ApiError: new (status: number, message: string) => Error & { status: number };
}

let api: ApiModule;
let f: QueryFixture;
let base: string;
before(async () => {
  api = (await import('../../query/ui/api.js' as string)) as ApiModule;
  f = await queryAppWithFixtures({ authToken: 'tok' });
  base = await f.app.listen({ host: '127.0.0.1', port: 0 });
  store.set('shipwatch.token', 'tok');
});
after(() => f.close());

describe('the UI API client', () => {
  test('parameters are encoded, repeated and empty ones skipped', () => {
    assert.equal(api.apiUrl('/api/logs', { q: 'a b&c', container: '', tag: ['x:1', 'y:2'], limit: 5, end: undefined }), '/api/logs?q=a+b%26c&tag=x%3A1&tag=y%3A2&limit=5');
  });

  test('a JSON call carries the token and a refused one throws the server message', async () => {
    const services = await api.getJson(`${base}/api/services`);
    assert.ok(services.data.includes('frontend'));
    await assert.rejects(api.getJson(`${base}/api/logs`, { start: 'soon' }), (err: Error & { status: number }) => {
      assert.ok(err instanceof api.ApiError);
      assert.equal(err.status, 400);
      assert.match(err.message, /unable to parse param 'start'/);
      return true;
    });
  });

  test('the live tail delivers each new matching record once, as the server sent it', async () => {
    const ctl = new AbortController();
    const got: string[] = [];
    const states: string[] = [];
    let live!: () => void;
    const isLive = new Promise<void>((resolve) => (live = resolve));
    const done = api.followEvents(`${base}/api/logs/tail`, { container: 'shop-api-1' }, {
      signal: ctl.signal,
      onEvent: (data) => got.push(data),
      onState: (s) => {
        states.push(s);
        if (s === 'live') live();
      },
    });
    await isLive;
    const events = sampleLogs(Date.now());
    await f.logs.write(events);
    const deadline = Date.now() + 5000;
    while (got.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ctl.abort();
    await done;
    const expected = events.filter((e) => e.containerName === 'shop-api-1').map((e) => e.json);
    assert.deepEqual(got, expected);
    assert.deepEqual(states, ['live']);
  });

  test('a tail the server refuses stops instead of retrying', async () => {
    const states: string[] = [];
    await api.followEvents(`${base}/api/logs/tail`, { limit: -1 }, { signal: new AbortController().signal, onEvent: () => {}, onState: (s) => states.push(s) });
    assert.deepEqual(states, ['failed']);
  });
});
