/** The `store` output: the embedded store's log table, shared with query (and the other programs) in `all`. */
import type { Logger } from '../../platform/log.js';
import type { LogSink } from '../../model/log-record.js';
import type { Runtime } from '../../platform/runtime.js';
import type { Registry } from '../../platform/self-metrics.js';
import { openStoreLogStorage } from '../../storage/sqlite/log-store.js';

export async function openStoreOutput(runtime: Runtime, _registry: Registry, _log: Logger): Promise<{ sink: LogSink; where: string }> {
  const storage = openStoreLogStorage(runtime);
  return { sink: storage, where: runtime.config.common.dataDir };
}
