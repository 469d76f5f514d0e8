import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { otlpJsonToSpans } from '../../../collector/traces/codecs/otlp/otlp-translate.js';
import { toOtlpTracesData } from '../../../query/jaeger/otlp-json.js';
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
