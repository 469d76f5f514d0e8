/**
 * The span storages chosen by `SPAN_STORAGE_TYPE`, shared by the programs of one process: the collector writes to
 * every configured storage, query reads from the first one listed (`store,elasticsearch` reads the store).
 *
 * Both live in `runtime.shared`: one store storage over the shared database, one Elasticsearch storage (client,
 * writer, reader) per process, closed with the shared resources. Neither waits for its backend: Elasticsearch may be
 * down when a program starts.
 */
import { swError } from '../platform/errors.js';
import { createEsClient, spanStorageEsConnection } from './elasticsearch/es-client.js';
import { openEsSpanStorage, type EsSpanStorage } from './elasticsearch/es-span-storage.js';
import { startSpanRetention } from './elasticsearch/retention.js';
import type { Runtime } from '../platform/runtime.js';
import { createRegistry, type Registry } from '../platform/self-metrics.js';
import type { SpanReader, SpanWriter } from './span-storage.js';
import { KafkaSpanWriter } from './kafka/kafka-span-writer.js';
import { openSharedDatabase } from './sqlite/database.js';
import { StoreSpanStorage } from './sqlite/span-store.js';

export type SpanStorageType = 'store' | 'elasticsearch' | 'kafka';

/** The process's store span storage over the shared database. */
export function openStoreSpanStorage(runtime: Runtime, registry?: Registry): StoreSpanStorage {
  return runtime.shared.get('store.spans', () => new StoreSpanStorage(openSharedDatabase(runtime, registry)), (s) => s.close());
}

/** The process's Elasticsearch span storage (writer and reader over one client), opened on first use. */
function openSharedEsSpanStorage(runtime: Runtime, registry: Registry | undefined): EsSpanStorage {
  return runtime.shared.get(
    'es.spans',
    () => openEsSpanStorage(runtime.config, registry ?? createRegistry('spans', false), runtime.log),
    (s) => s.close(),
  );
}

export async function createSpanReader(runtime: Runtime, registry?: Registry): Promise<SpanReader> {
  const type = runtime.config.spanStorage.types[0] as SpanStorageType;
  if (type === 'kafka') throw swError('SW_CONFIG_INVALID', 'SPAN_STORAGE_TYPE: kafka is written by the collector and read by the ingester; query reads store or elasticsearch (list it first)');
  if (type === 'store') return openStoreSpanStorage(runtime, registry);
  return openSharedEsSpanStorage(runtime, registry).reader;
}

/** The writers of every configured storage; Elasticsearch's starts installing its index templates (background). */
export async function createSpanWriters(runtime: Runtime, registry?: Registry): Promise<SpanWriter[]> {
  const writers: SpanWriter[] = [];
  for (const type of runtime.config.spanStorage.types as SpanStorageType[]) {
    if (type === 'store') {
      writers.push(openStoreSpanStorage(runtime, registry));
      continue;
    }
    if (type === 'kafka') {
      // The collector's Kafka span output (the ingester reads the topic into storage); asks no broker at start.
      writers.push(runtime.shared.get('kafka.spans', () => KafkaSpanWriter.open(runtime.config, runtime.log.child({ component: 'spans-kafka' })), (w) => w.close()));
      continue;
    }
    const { writer } = openSharedEsSpanStorage(runtime, registry);
    void writer.start();
    writers.push(writer);
    // ES_RETENTION_DAYS: the hourly retention run on the span indices, closed with the shared resources.
    const s = runtime.config.spanStorage;
    if (s.esRetentionDays !== undefined) {
      runtime.shared.get(
        'es.spans.retention',
        () => startSpanRetention(s.esRetentionDays, s.esIndexPrefix, () => createEsClient(spanStorageEsConnection(s), { requestTimeoutMs: s.esTimeoutMs }), registry ?? createRegistry('spans', false), runtime.log)!,
        (job) => job.close(),
      );
    }
  }
  return writers;
}
