/**
 * The Elasticsearch span storage from configuration (`SPAN_STORAGE_TYPE=elasticsearch`): one client on
 * `ES_SERVER_URLS`, the writer (index templates installed at open) and the reader over the same index prefix.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Registry } from '../self-metrics.js';
import type { SpanReader, SpanWriter } from '../span-storage.js';
import { createEsClient, spanStorageEsConnection } from './client.js';
import { EsSpanReader } from './span-reader.js';
import { EsSpanWriter } from './span-writer.js';

export interface EsSpanStorage {
  writer: SpanWriter;
  reader: SpanReader;
  /** Closes the writer, then the client. Idempotent. */
  close(): Promise<void>;
}

export async function openEsSpanStorage(config: Config, registry: Registry, log: Logger): Promise<EsSpanStorage> {
  const s = config.spanStorage;
  const client = createEsClient(spanStorageEsConnection(s));
  const writer = new EsSpanWriter({
    client, indexPrefix: s.esIndexPrefix, shards: s.esNumShards, replicas: s.esNumReplicas, registry, log: log.child({ component: 'es-spans' }),
  });
  try {
    await writer.init();
  } catch (err) {
    await client.close();
    throw err;
  }
  const reader = new EsSpanReader({ client, indexPrefix: s.esIndexPrefix, log: log.child({ component: 'es-spans' }) });
  let closing: Promise<void> | undefined;
  return {
    writer,
    reader,
    close: () => (closing ??= writer.close().then(() => client.close())),
  };
}
