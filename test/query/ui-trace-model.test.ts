/**
 * The trace pages' model (query/ui/trace-model.js) and the durations they print (query/ui/dom.js formatMicros), run
 * in Node as the browser runs them, over a trace in the shape GET /api/traces/<id> answers: the search within a
 * trace, the graph of its operations, two traces' graphs merged for compare, and the result list's orders.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

interface KV { key: string; type: string; value: unknown }
interface JaegerSpan {
  traceID: string; spanID: string; operationName: string; processID: string; startTime: number; duration: number;
  references: Array<{ refType: string; traceID: string; spanID: string }>; tags: KV[]; logs: Array<{ timestamp: number; fields: KV[] }>;
}
interface JaegerTrace { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string; tags: KV[] }> }
interface Summary { traceID: string; startMicros: number; durationMicros: number; spanCount: number }
interface GraphNode { key: string; service: string; operation: string; count: number; durationMicros: number; errors: number; depth: number; spanIDs: string[] }
interface Side { count: number; durationMicros: number; errors: number }
interface TraceModel {
  searchSpans(trace: JaegerTrace, text: string): Set<string>;
  traceGraph(trace: JaegerTrace): { nodes: GraphNode[]; edges: Array<{ from: string; to: string; count: number }> };
  compareGraphs(a: JaegerTrace, b: JaegerTrace): { nodes: Array<{ key: string; depth: number; a: Side; b: Side }>; edges: Array<{ from: string; to: string; a: number; b: number }> };
  summarize(trace: JaegerTrace): Summary;
  SORTS: Record<string, { label: string; compare(a: Summary, b: Summary): number }>;
  traceStatistics(trace: JaegerTrace): Array<{ key: string; count: number; totalMicros: number; avgMicros: number; minMicros: number; maxMicros: number; selfMicros: number }>;
}
const model = (await import('../../query/ui/trace-model.js' as string)) as TraceModel;
const { formatMicros } = (await import('../../query/ui/dom.js' as string)) as { formatMicros(us: number): string };

/** A trace as the v1 API answers it: `[spanID, service, parent, operation, start, duration, tags?]` per span. */
function trace(id: string, spans: Array<[string, string, string | undefined, string, number, number, KV[]?]>): JaegerTrace {
  const services = [...new Set(spans.map((s) => s[1]))];
  return {
    traceID: id,
    processes: Object.fromEntries(services.map((s, i) => [`p${i + 1}`, { serviceName: s, tags: [{ key: 'hostname', type: 'string', value: `${s}-host` }] }])),
    spans: spans.map(([spanID, service, parent, op, start, duration, tags = []]) => ({
      traceID: id, spanID, operationName: op, processID: `p${services.indexOf(service) + 1}`, startTime: start, duration, tags,
      references: parent ? [{ refType: 'CHILD_OF', traceID: id, spanID: parent }] : [],
      logs: op === 'charge' ? [{ timestamp: start + 5, fields: [{ key: 'event', type: 'string', value: 'card declined' }] }] : [],
    })),
  };
}

const A = trace('a1', [
  ['1', 'web', undefined, 'GET /', 1000, 500, [{ key: 'span.kind', type: 'string', value: 'server' }]],
  ['2', 'api', '1', 'list', 1010, 300, [{ key: 'span.kind', type: 'string', value: 'server' }]],
  ['3', 'db', '2', 'select', 1020, 100, [{ key: 'db.statement', type: 'string', value: 'SELECT * FROM items' }]],
  ['4', 'db', '2', 'select', 1130, 50],
  ['5', 'cache', '2', 'get', 1200, 10, [{ key: 'error', type: 'bool', value: true }]],
]);
const B = trace('b2', [
  ['1', 'web', undefined, 'GET /', 5000, 900],
  ['2', 'api', '1', 'list', 5010, 800],
  ['3', 'db', '2', 'select', 5020, 100],
  ['4', 'pay', '2', 'charge', 5200, 400],
]);

describe('the search within a trace', () => {
  const ids = (text: string): string[] => [...model.searchSpans(A, text)].sort();
  test('finds spans by operation, service, span id, tag key or value, process tag and log field, case aside', () => {
    assert.deepEqual(ids('SELECT'), ['3', '4'], 'an operation (and a tag value holding it)');
    assert.deepEqual(ids('cache'), ['5'], 'a service');
    assert.deepEqual(ids('db.statement'), ['3'], 'a tag key');
    assert.deepEqual(ids('items'), ['3'], 'part of a tag value');
    assert.deepEqual(ids('api-host'), ['2'], 'a process tag value');
    assert.deepEqual(model.searchSpans(B, 'declined').size, 1, 'a log field value');
  });
  test('key=value finds a tag with that key holding the value; any word of the text finds a span', () => {
    assert.deepEqual(ids('span.kind=server'), ['1', '2']);
    assert.deepEqual(ids('error=true'), ['5']);
    assert.deepEqual(ids('span.kind=client'), []);
    assert.deepEqual(ids('cache   list'), ['2', '5']);
  });
  test('an empty or blank text finds nothing', () => {
    assert.equal(model.searchSpans(A, '').size, 0);
    assert.equal(model.searchSpans(A, '   ').size, 0);
  });
});

describe('the trace graph', () => {
  test('a node per service and operation with its calls, duration and errors; an edge per kind of call with its count', () => {
    const g = model.traceGraph(A);
    const nodes = g.nodes.map((n) => [n.key.replace('\t', ' '), n.count, n.durationMicros, n.errors, n.depth, n.spanIDs.join(',')]);
    assert.deepEqual(nodes, [
      ['web GET /', 1, 500, 0, 0, '1'], ['api list', 1, 300, 0, 1, '2'], ['db select', 2, 150, 0, 2, '3,4'], ['cache get', 1, 10, 1, 2, '5'],
    ]);
    assert.deepEqual(g.edges.map((e) => `${e.from.replace('\t', ' ')} → ${e.to.replace('\t', ' ')} ${e.count}`), [
      'web GET / → api list 1', 'api list → db select 2', 'api list → cache get 1',
    ]);
  });
  test('an operation calling itself is one node with an edge to itself', () => {
    const g = model.traceGraph(trace('r', [['1', 's', undefined, 'walk', 0, 10], ['2', 's', '1', 'walk', 1, 5], ['3', 's', '2', 'walk', 2, 1]]));
    assert.equal(g.nodes.length, 1);
    assert.deepEqual(g.edges.map((e) => [e.from === e.to, e.count]), [[true, 2]]);
  });
});

describe('two traces compared', () => {
  test('nodes merged by service and operation, with each trace\'s calls and durations, zero where it has none', () => {
    const g = model.compareGraphs(A, B);
    const row = (key: string) => {
      const n = g.nodes.find((x) => x.key === key)!;
      return [n.a.count, n.a.durationMicros, n.b.count, n.b.durationMicros];
    };
    assert.deepEqual(row('db\tselect'), [2, 150, 1, 100]);
    assert.deepEqual(row('cache\tget'), [1, 10, 0, 0]);
    assert.deepEqual(row('pay\tcharge'), [0, 0, 1, 400]);
    assert.equal(g.nodes.length, 5);
    assert.deepEqual(g.edges.find((e) => e.to === 'db\tselect'), { from: 'api\tlist', to: 'db\tselect', a: 2, b: 1 });
    assert.deepEqual(g.edges.find((e) => e.to === 'pay\tcharge'), { from: 'api\tlist', to: 'pay\tcharge', a: 0, b: 1 });
  });
});

describe('the trace statistics', () => {
  test('per service and operation: count, total, average, shortest, longest and self time, longest total first', () => {
    const rows = model.traceStatistics(A).map((r) => [r.key.replace('\t', ' '), r.count, r.totalMicros, r.avgMicros, r.minMicros, r.maxMicros, r.selfMicros]);
    assert.deepEqual(rows, [
      ['web GET /', 1, 500, 500, 500, 500, 200],
      ['api list', 1, 300, 300, 300, 300, 140],
      ['db select', 2, 150, 75, 50, 100, 150],
      ['cache get', 1, 10, 10, 10, 10, 10],
    ]);
  });
  test('self time counts overlapping children once and only the part of a child within its parent', () => {
    const t = trace('o', [['1', 's', undefined, 'parent', 0, 100], ['2', 's', '1', 'kid', 10, 40], ['3', 's', '1', 'kid', 30, 40], ['4', 's', '1', 'kid', 90, 60]]);
    assert.equal(model.traceStatistics(t).find((r) => r.key === 's\tparent')!.selfMicros, 30);
  });
});

describe('the result list\'s orders', () => {
  const C = trace('c3', [['1', 'web', undefined, 'GET /', 3000, 0]]);
  const sorted = (key: string) => [A, B, C].map(model.summarize).sort(model.SORTS[key]!.compare).map((s) => s.traceID);
  test('most recent, longest, shortest, most and least spans', () => {
    assert.deepEqual(sorted('recent'), ['b2', 'c3', 'a1']);
    assert.deepEqual(sorted('longest'), ['b2', 'a1', 'c3']);
    assert.deepEqual(sorted('shortest'), ['c3', 'a1', 'b2']);
    assert.deepEqual(sorted('spans'), ['a1', 'b2', 'c3']);
    assert.deepEqual(sorted('fewest'), ['c3', 'b2', 'a1']);
  });
});

test('durations read with their unit, 0μs included, each unit up to the value that rounds to the next', () => {
  const cases: Array<[number, string]> = [
    [0, '0μs'], [0.4, '0μs'], [512, '512μs'], [999.4, '999μs'], [999.6, '1ms'], [1250, '1.25ms'], [41_000, '41ms'],
    [999_499, '999ms'], [999_600, '1s'], [3_400_000, '3.4s'], [59_600_000, '1m 0s'], [125_000_000, '2m 5s'], [7_300_000_000, '2h 1m'],
  ];
  assert.deepEqual(cases.map(([us]) => formatMicros(us)), cases.map(([, text]) => text));
  assert.equal(formatMicros(Number.NaN), '');
});
