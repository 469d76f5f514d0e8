import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { otlpJsonToSpans } from '../../../collector/traces/codecs/otlp/otlp-translate.js';
import { toOtlpTracesData } from '../../../query/jaeger/otlp-json.js';
import type { KeyValue, Span } from '../../../model/span.js';
import { JAEGER_STORAGE_FIXTURES } from '../../helpers/span-storage-suite.js';

type Body = { resourceSpans: Array<{ scopeSpans: Array<{ scope: Record<string, unknown>; spans: Array<Record<string, unknown>> }> }> };

function fixture(name: string): Body {
  return JSON.parse(readFileSync(`${JAEGER_STORAGE_FIXTURES}traces/${name}.json`, 'utf8')) as Body;
}

test('API v3 returns the scope attributes of the scope the spans were received in', () => {
  const body = fixture('scope_attributes_trace');
  const out = toOtlpTracesData(otlpJsonToSpans(body).spans) as unknown as Body;
  assert.deepEqual(out.resourceSpans[0]!.scopeSpans[0]!.scope, body.resourceSpans[0]!.scopeSpans[0]!.scope);
});

test('API v3 returns each link with its ref type first, then its other attributes as received', () => {
  const body = fixture('link_attributes_trace');
  const out = toOtlpTracesData(otlpJsonToSpans(body).spans) as unknown as Body;
  const links = out.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.links;
  assert.deepEqual(links, body.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.links);
});

test('a link naming the parent comes back as parentSpanId and, when it had attributes, as that link too', () => {
  const traceId = '0'.repeat(31) + '1';
  const parent = '0'.repeat(15) + '1';
  const link = { traceId, spanId: parent, attributes: [{ key: 'opentracing.ref_type', value: { stringValue: 'child_of' } }, { key: 'why', value: { stringValue: 'batch' } }] };
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] }, scopeSpans: [{ scope: {}, spans: [{ traceId, spanId: '0'.repeat(15) + '2', parentSpanId: parent, name: 'n', startTimeUnixNano: '1000', endTimeUnixNano: '2000', links: [link] }] }] }] };
  const span = (toOtlpTracesData(otlpJsonToSpans(body).spans) as unknown as Body).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.equal(span.parentSpanId, parent);
  assert.deepEqual(span.links, [link]);
});

test("API v3 returns the dropped counts of the resource, the scope and each event, and an empty value as {}, as they were sent", () => {
  const request = (resourceDropped: number) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'blank' }], ...(resourceDropped ? { droppedAttributesCount: resourceDropped } : {}) },
    scopeSpans: [{
      scope: { name: 'lib', droppedAttributesCount: 2 },
      spans: [{
        traceId: 'ab'.repeat(16), spanId: `${resourceDropped + 1}`.padStart(16, '0'), name: 'op', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000000001000',
        attributes: [{ key: 'empty', value: {} }],
        events: [{ timeUnixNano: '1700000000000000500', name: 'a', droppedAttributesCount: 6 }, { timeUnixNano: '1700000000000000600', name: 'b' }],
      }],
    }],
  });
  const spans = otlpJsonToSpans({ resourceSpans: [request(4), request(0)] }).spans;
  const out = toOtlpTracesData(spans) as any;
  assert.equal(out.resourceSpans.length, 2, 'resources that differ by their dropped count stay apart');
  assert.deepEqual(out.resourceSpans.map((r: any) => r.resource), [
    { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'blank', value: {} }], droppedAttributesCount: 4 },
    { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'blank', value: {} }] },
  ]);
  const { scope, spans: [span] } = out.resourceSpans[0].scopeSpans[0];
  assert.deepEqual(scope, { name: 'lib', droppedAttributesCount: 2 });
  assert.deepEqual(span.attributes, [{ key: 'empty', value: {} }]);
  assert.deepEqual(span.events, [{ timeUnixNano: '1700000000000000500', name: 'a', droppedAttributesCount: 6 }, { timeUnixNano: '1700000000000000600', name: 'b' }]);
});

test("a Thrift span's @jaeger@warnings tag comes back as the attribute it was sent as, while it is the span's only warning", () => {
  const span = (warnings: string[], sent: KeyValue): Span => ({
    traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), operationName: 'op', references: [], flags: 0, startTimeMicros: 1_700_000_000_000_000, durationMicros: 5,
    tags: [], logs: [], process: { serviceName: 'svc', tags: [] }, warnings, otlp: { warningsTag: sent },
  });
  const attr = (s: Span): unknown => (toOtlpTracesData([s]) as any).resourceSpans[0].scopeSpans[0].spans[0].attributes;
  assert.deepEqual(attr(span(['w1'], { key: '@jaeger@warnings', type: 'string', value: 'w1' })), [{ key: '@jaeger@warnings', value: { stringValue: 'w1' } }]);
  assert.deepEqual(attr(span(['7'], { key: '@jaeger@warnings', type: 'int64', value: 7 })), [{ key: '@jaeger@warnings', value: { intValue: '7' } }]);
  // With a warning of Jaeger's own beside it: the list of them.
  assert.deepEqual(attr(span(['w1', 'clock skew'], { key: '@jaeger@warnings', type: 'string', value: 'w1' })),
    [{ key: '@jaeger@warnings', value: { arrayValue: { values: [{ stringValue: 'w1' }, { stringValue: 'clock skew' }] } } }]);
});
