/**
 * The log API's reader chosen by `LOG_STORAGE_TYPE`: the embedded store (the pilot's `store` output), or the pilot's
 * Elasticsearch indices (QUERY_LOG_INDICES) on the cluster of ES_SERVER_URLS / ES_USERNAME / ES_PASSWORD — the
 * variables query already reads for spans, since one cluster holds both. Either lives in `runtime.shared` and is closed
 * with the shared resources.
 */
import { createEsClient, spanStorageEsConnection } from './elasticsearch/es-client.js';
import { EsLogReader } from './elasticsearch/log-reader.js';
import type { LogReader } from './log-search.js';
import type { Runtime } from '../platform/runtime.js';
import { openStoreLogStorage } from './sqlite/log-store.js';

export function createLogReader(runtime: Runtime): LogReader {
  const { query, spanStorage } = runtime.config;
  if (query.logStorageType === 'store') return openStoreLogStorage(runtime);
  const client = runtime.shared.get('es.logs', () => createEsClient(spanStorageEsConnection(spanStorage), { requestTimeoutMs: spanStorage.esTimeoutMs }), (c) => c.close());
  return new EsLogReader({ client, indices: query.logIndices });
}
