/** The `elasticsearch` output: core/es's ElasticsearchOutput (bulk pipeline behind a disk buffer), from the pilot's configuration. */
import { pilotEsConnection } from '../../core/es/client.js';
import { openPilotElasticsearchOutput } from '../../core/es/elasticsearch-output.js';
import type { Logger } from '../../core/log.js';
import type { LogSink } from '../../core/model/log-record.js';
import type { Runtime } from '../../core/runtime.js';
import type { Registry } from '../../core/self-metrics.js';

export async function openElasticsearchOutput(runtime: Runtime, registry: Registry, log: Logger): Promise<{ sink: LogSink; where: string }> {
  const sink = await openPilotElasticsearchOutput(runtime.config, registry, log);
  return { sink, where: pilotEsConnection(runtime.config.pilot).nodes.join(', ') };
}
