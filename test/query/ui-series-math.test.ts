/**
 * The metrics page's arithmetic (query/ui/series-math.js), run in Node as the browser runs it: a counter's rate
 * per second across restarts, and the page's queries through its address and back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

interface SeriesMath {
  counterRate(points: Array<[number, number]>): Array<[number, number]>;
  queriesFromParams(params: Record<string, string | undefined>): Array<Record<string, string | undefined>>;
  paramsFromQueries(queries: Array<Record<string, string>>): Record<string, string>;
}
const math = (await import('../../query/ui/series-math.js' as string)) as SeriesMath;

test('a counter\'s rate is its increase per second between points, a drop read as a restart from zero', () => {
  const points: Array<[number, number]> = [[0, 100], [10_000, 150], [20_000, 150], [25_000, 20], [35_000, 70]];
  assert.deepEqual(math.counterRate(points), [[10_000, 5], [20_000, 0], [25_000, 4], [35_000, 5]]);
  assert.deepEqual(math.counterRate([[0, 1]]), [], 'one point has no rate');
  assert.deepEqual(math.counterRate([[5, 1], [5, 2]]), [], 'no time between two points: no rate');
});

test('the page\'s queries go through its address and come back the same', () => {
  const queries = [
    { measurement: 'shop_http_requests', field: 'count', aggregate: 'rate', tagKey: 'route', tagValue: '/checkout' },
    { measurement: 'docker_container_cpu', field: 'usage_percent', aggregate: 'max', tagKey: '', tagValue: '' },
  ];
  const params = math.paramsFromQueries(queries);
  assert.equal(params.measurement, 'shop_http_requests');
  const back = math.queriesFromParams(params);
  assert.deepEqual(back[0], queries[0]);
  assert.deepEqual({ ...back[1], tagKey: back[1]!.tagKey ?? '', tagValue: back[1]!.tagValue ?? '' }, queries[1]);
  // An address edited into nonsense keeps its first query.
  assert.equal(math.queriesFromParams({ measurement: 'm', also: '{not json' }).length, 1);
  assert.equal(math.queriesFromParams({ measurement: 'm', also: '[1, null, "x"]' }).length, 1);
});
