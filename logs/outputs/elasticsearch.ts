/**
 * The `elasticsearch` output: storage/elasticsearch's ElasticsearchOutput (bulk pipeline behind a disk buffer), from
 * the pilot's configuration; with ELASTICSEARCH_RETENTION_DAYS, the hourly retention run on the log indices, closed
 * with the output.
 */
import { createEsClient, pilotEsConnection } from '../../storage/elasticsearch/es-client.js';
import { openPilotElasticsearchOutput } from '../../storage/elasticsearch/elasticsearch-output.js';
import { startLogRetention } from '../../storage/elasticsearch/retention.js';
import type { Logger } from '../../platform/log.js';
import type { LogSink } from '../../model/log-record.js';
import type { Runtime } from '../../platform/runtime.js';
import type { Registry } from '../../platform/self-metrics.js';

export async function openElasticsearchOutput(runtime: Runtime, registry: Registry, log: Logger): Promise<{ sink: LogSink; where: string }> {
  const sink = await openPilotElasticsearchOutput(runtime.config, registry, log);
  const conn = pilotEsConnection(runtime.config.pilot);
  const retention = startLogRetention(runtime.config.pilot.esRetentionDays, () => createEsClient(conn), registry, log);
  if (retention === undefined) return { sink, where: conn.nodes.join(', ') };
  let closing: Promise<void> | undefined;
  return {
    sink: { ...sink, close: () => (closing ??= retention.close().then(() => sink.close())) },
    where: `${conn.nodes.join(', ')} (indices older than ${runtime.config.pilot.esRetentionDays} days deleted)`,
  };
}
