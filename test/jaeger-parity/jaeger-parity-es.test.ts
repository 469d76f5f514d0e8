/**
 * Shipwatch answers what Jaeger 2.x answers, on Elasticsearch: the suite of jaeger-parity.test.ts with Shipwatch's
 * spans stored in (and read back from) the test Elasticsearch, under an index prefix of its own. What differs on
 * Elasticsearch only is listed here: on purpose (`deliberateDifferences`, each asserted against Jaeger's answer) or
 * not yet the same (`knownDifferences`).
 */
import assert from 'node:assert/strict';
import { deleteIndexTemplates, deleteIndices, esTestUrl } from '../helpers/elasticsearch.js';
import type { Answer } from './parity.js';
import { parity } from './suite.js';

const distinct = (spans: unknown[]): unknown[] => [...new Map(spans.map((s) => [JSON.stringify(s), s])).values()];

/** A normalised raw answer with each span once: a span Jaeger returns as often as it was stored, once. */
function onceEach(a: Answer): Answer {
  const body: any = structuredClone(a.body);
  if (Array.isArray(body?.data)) for (const t of body.data) t.spans = distinct(t.spans);
  for (const rs of body?.result?.resourceSpans ?? []) for (const ss of rs.scopeSpans) ss.spans = distinct(ss.spans);
  return { status: a.status, body };
}

const prefix = `sw-jaeger-parity-${process.pid}-${Date.now().toString(36)}`;

parity('Elasticsearch', {
  env: async () => ({
    SPAN_STORAGE_TYPE: 'elasticsearch', ES_SERVER_URLS: await esTestUrl(), ES_INDEX_PREFIX: prefix, ES_NUM_SHARDS: '1', ES_NUM_REPLICAS: '0',
  }),
  settleMs: 2000,
  deliberateDifferences: Object.fromEntries([
    'v3.trace-raw.otlp-json.0000000000000000010000000e0e0003', 'v3.trace-raw.otlp-proto.0000000000000000020000000e0e0003',
    'v3.trace-raw.thrift-http.0000000000000000030000000000b0b1', 'v3.trace-raw.thrift-udp.0000000000000000040000000000b0b1',
    'v3.search.otlp-json.raw', 'v3.search.otlp-proto.raw',
    'v1.trace-raw.otlp-json.0000000000000000010000000e0e0003', 'v1.trace-raw.otlp-proto.0000000000000000020000000e0e0003',
    'v1.trace-raw.thrift-http.0000000000000000030000000000b0b1', 'v1.trace-raw.thrift-udp.0000000000000000040000000000b0b1',
  ].map((id) => [id, {
    reason: 'a span stored twice (the same OTLP request sent twice, two identical spans in one Thrift batch) is one document in Elasticsearch, its id made of its content, so that a batch delivered again after a crash or an outage is stored once; a raw answer has it once (Jaeger: as often as it was stored)',
    check(got: Answer, jaeger: Answer) {
      assert.equal(got.status, 200);
      assert.deepEqual(got, onceEach(jaeger));
    },
  }])),
  sameAsJaeger: {
    'v1.search.otlp-json.tag-otel-status': 'a search by otel.status_code:ERROR finds nothing here, as in Jaeger (the embedded store finds the trace)',
    'v1.search.otlp-proto.tag-otel-status': 'a search by otel.status_code:ERROR finds nothing here, as in Jaeger (the embedded store finds the trace)',
  },
  cleanup: async () => {
    await deleteIndices(`${prefix}-jaeger-*`);
    await deleteIndexTemplates(`${prefix}-jaeger-*`);
  },
});
