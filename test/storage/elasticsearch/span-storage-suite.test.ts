/**
 * Jaeger's storage suite (queries.json and queries_es.json) on the Elasticsearch span storage, against a real
 * Elasticsearch 8, under an index prefix of its own that is deleted afterwards.
 */
import { Client } from '@elastic/elasticsearch';
import { silentLogger } from '../../../platform/log.js';
import { EsSpanReader } from '../../../storage/elasticsearch/span-reader.js';
import { EsSpanWriter } from '../../../storage/elasticsearch/span-writer.js';
import { createRegistry } from '../../../platform/self-metrics.js';
import { runSpanStorageSuite } from '../../helpers/span-storage-suite.js';
import { esTestUrl } from '../../helpers/elasticsearch.js';

runSpanStorageSuite({
  name: 'Elasticsearch',
  // Every query passes, "Scope Attributes" and "Link Attributes" included: Jaeger skips those two on its own
  // Elasticsearch backend, whose mapping has no field for them; Shipwatch's maps `scope.tags` and `references.tags`.
  open: async () => {
    const client = new Client({ node: await esTestUrl(), maxRetries: 0 });
    const prefix = `sw-suite-${process.pid}-${Date.now().toString(36)}`;
    const registry = createRegistry('test', false);
    const writer = new EsSpanWriter({ client, indexPrefix: prefix, shards: 1, replicas: 0, registry, log: silentLogger });
    await writer.init();
    const reader = new EsSpanReader({ client, indexPrefix: prefix, log: silentLogger });
    return {
      writer,
      reader,
      refresh: async () => {
        await client.indices.refresh({ index: `${prefix}-jaeger-*`, ignore_unavailable: true, allow_no_indices: true });
      },
      close: async () => {
        await writer.close();
        await client.indices.delete({ index: `${prefix}-jaeger-*`, ignore_unavailable: true, allow_no_indices: true });
        await client.indices.deleteIndexTemplate({ name: `${prefix}-jaeger-*` });
        await client.close();
      },
    };
  },
});
