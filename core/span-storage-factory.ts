/**
 * The span storages chosen by `SPAN_STORAGE_TYPE`, shared by the programs of one process: the collector writes to
 * every configured storage, query reads from the first one listed (`store,elasticsearch` reads the store).
 *
 * The embedded store's storage lives in `runtime.shared` (one instance per process over the shared database).
 * Elasticsearch is plugged in here through `core/es/span-reader.ts` / `span-writer.ts`, whose modules are loaded
 * only when configured.
 */
import { swError } from './errors.js';
import type { Runtime } from './runtime.js';
import type { Registry } from './self-metrics.js';
import type { SpanReader, SpanWriter } from './span-storage.js';
import { openSharedDatabase } from './store/database.js';
import { StoreSpanStorage } from './store/span-store.js';

export type SpanStorageType = 'store' | 'elasticsearch';

/** The process's store span storage over the shared database. */
export function openStoreSpanStorage(runtime: Runtime, registry?: Registry): StoreSpanStorage {
  return runtime.shared.get('store.spans', () => new StoreSpanStorage(openSharedDatabase(runtime, registry)), (s) => s.close());
}

interface EsModule {
  createEsSpanReader?: (runtime: Runtime) => SpanReader | Promise<SpanReader>;
  createEsSpanWriter?: (runtime: Runtime) => SpanWriter | Promise<SpanWriter>;
}

async function loadEs(file: 'span-reader' | 'span-writer'): Promise<EsModule> {
  try {
    return (await import(`./es/${file}.js`)) as EsModule;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw swError('SW_NOT_IMPLEMENTED', `span storage "elasticsearch" (${file})`, err);
    }
    throw err;
  }
}

export async function createSpanReader(runtime: Runtime, registry?: Registry): Promise<SpanReader> {
  const type = runtime.config.spanStorage.types[0] as SpanStorageType;
  if (type === 'store') return openStoreSpanStorage(runtime, registry);
  const mod = await loadEs('span-reader');
  if (!mod.createEsSpanReader) throw swError('SW_NOT_IMPLEMENTED', 'span storage "elasticsearch" reader');
  return runtime.shared.get('es.span-reader', () => mod.createEsSpanReader!(runtime));
}

export async function createSpanWriters(runtime: Runtime, registry?: Registry): Promise<SpanWriter[]> {
  const writers: SpanWriter[] = [];
  for (const type of runtime.config.spanStorage.types as SpanStorageType[]) {
    if (type === 'store') {
      writers.push(openStoreSpanStorage(runtime, registry));
      continue;
    }
    const mod = await loadEs('span-writer');
    if (!mod.createEsSpanWriter) throw swError('SW_NOT_IMPLEMENTED', 'span storage "elasticsearch" writer');
    writers.push(await mod.createEsSpanWriter(runtime));
  }
  return writers;
}
