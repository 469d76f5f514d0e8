/** The `elasticsearch` output: storage/elasticsearch's ElasticsearchOutput (bulk pipeline behind a disk buffer), from the pilot's configuration. */
import { pilotEsConnection } from '../../storage/elasticsearch/es-client.js';
import { openPilotElasticsearchOutput } from '../../storage/elasticsearch/elasticsearch-output.js';
import type { Logger } from '../../platform/log.js';
import type { LogSink } from '../../model/log-record.js';
import type { Runtime } from '../../platform/runtime.js';
import type { Registry } from '../../platform/self-metrics.js';

export async function openElasticsearchOutput(runtime: Runtime, registry: Registry, log: Logger): Promise<{ sink: LogSink; where: string }> {
  const sink = await openPilotElasticsearchOutput(runtime.config, registry, log);
  return { sink, where: pilotEsConnection(runtime.config.pilot).nodes.join(', ') };
}
