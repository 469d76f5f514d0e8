/**
 * The Elasticsearch span storage from configuration (`SPAN_STORAGE_TYPE=elasticsearch`): one client on
 * `ES_SERVER_URLS`, the writer and the reader over the same index prefix. Opening does no I/O, so a program starts
 * while Elasticsearch is down: the writer installs the index templates once it answers (`writer.start()`, called by
 * the collector), the reader's calls answer 503 meanwhile.
 */
import type { Config } from '../../platform/config/load-config.js';
import type { Logger } from '../../platform/log.js';
import type { Registry } from '../../platform/self-metrics.js';
import { createEsClient, spanStorageEsConnection } from './es-client.js';
import { EsSpanReader } from './span-reader.js';
import { EsSpanWriter } from './span-writer.js';

export interface EsSpanStorage {
  writer: EsSpanWriter;
  reader: EsSpanReader;
  /** Closes the writer (giving up what it still retries), then the client. Idempotent. */
  close(): Promise<void>;
}

export function openEsSpanStorage(config: Config, registry: Registry, log: Logger): EsSpanStorage {
  const s = config.spanStorage;
  const client = createEsClient(spanStorageEsConnection(s), { requestTimeoutMs: s.esTimeoutMs });
  const writer = new EsSpanWriter({
    client, indexPrefix: s.esIndexPrefix, shards: s.esNumShards, replicas: s.esNumReplicas, registry, log: log.child({ component: 'es-spans' }),
    retryPolicy: { maxDelayMs: s.esRetryMaxDelayMs }, requestTimeoutMs: s.esTimeoutMs,
  });
  const reader = new EsSpanReader({ client, indexPrefix: s.esIndexPrefix, log: log.child({ component: 'es-spans' }) });
  let closing: Promise<void> | undefined;
  return {
    writer,
    reader,
    close: () => (closing ??= writer.close().then(() => client.close())),
  };
}
