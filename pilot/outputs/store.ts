/** The `store` output: the embedded store's log table, shared with query (and the other programs) in `all`. */
import type { Logger } from '../../core/log.js';
import type { LogSink } from '../../core/model/log-record.js';
import type { Runtime } from '../../core/runtime.js';
import type { Registry } from '../../core/self-metrics.js';
import { openStoreLogStorage } from '../../core/store/log-store.js';

export async function openStoreOutput(runtime: Runtime, _registry: Registry, _log: Logger): Promise<{ sink: LogSink; where: string }> {
  const storage = openStoreLogStorage(runtime);
  return { sink: storage, where: runtime.config.common.dataDir };
}
