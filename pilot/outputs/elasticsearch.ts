/** The `elasticsearch` output: core/es's ElasticsearchOutput (bulk pipeline behind a disk buffer), from the pilot's configuration. */
import { createEsClient, pilotEsConnection } from '../../core/es/client.js';
import { ElasticsearchOutput, elasticsearchOutputOptions } from '../../core/es/elasticsearch-output.js';
import type { Logger } from '../../core/log.js';
import type { LogSink } from '../../core/model/log-record.js';
import type { Runtime } from '../../core/runtime.js';
import type { Registry } from '../../core/self-metrics.js';

export async function openElasticsearchOutput(runtime: Runtime, registry: Registry, log: Logger): Promise<{ sink: LogSink; where: string }> {
  const conn = pilotEsConnection(runtime.config.pilot);
  const client = createEsClient(conn);
  const sink = await ElasticsearchOutput.open(elasticsearchOutputOptions(runtime.config, client, registry, log));
  return {
    sink: {
      name: sink.name,
      write: (events) => sink.write(events),
      close: async () => {
        await sink.close();
        await client.close();
      },
    },
    where: conn.nodes.join(', '),
  };
}
