/**
 * The log outputs from LOGGING_OUTPUT: console, file, elasticsearch (storage/elasticsearch), redis (storage/redis), kafka
 * (storage/kafka) and store (the embedded store, storage/sqlite), each a LogSink. The pilot ships container and syslog
 * records to them, the collector OTLP log records. In `all` both programs write to one set (openLogOutputs): two
 * Elasticsearch, Redis or Kafka outputs would share one disk buffer under SHIPWATCH_DATA_DIR/buffer/.
 */
import { join } from 'node:path';
import { swError } from '../../platform/errors.js';
import type { LogSink } from '../../model/log-record.js';
import type { Runtime } from '../../platform/runtime.js';
import type { Registry } from '../../platform/self-metrics.js';
import { ConsoleSink } from './console.js';
import { FileSink } from './file.js';

export interface BuiltOutputs {
  sinks: LogSink[];
  /** Lines for the start-up summary. */
  summary: string[];
}

/** A program's log outputs; `close` closes them, or nothing in `all`, where the runtime closes them after every program. */
export interface LogOutputs extends BuiltOutputs {
  close(): Promise<void>;
}

/**
 * The log outputs a program writes to: its own (closed by its `close`), or in `all` the process's one set, built by the
 * first program that asks (with that program's registry) and closed by the runtime after every program, so that the
 * collector's OTLP receivers can still write while the pilot drains.
 */
export async function openLogOutputs(runtime: Runtime, registry: Registry): Promise<LogOutputs> {
  if (runtime.config.program !== 'all') {
    const own = await buildOutputs(runtime, registry);
    let closing: Promise<void> | undefined;
    return { ...own, close: () => (closing ??= Promise.all(own.sinks.map((s) => s.close())).then(() => undefined)) };
  }
  const shared = runtime.shared.get('log-outputs', () => buildOutputs(runtime, registry), async (built) => {
    const outputs = await built.catch(() => undefined);
    if (outputs !== undefined) await Promise.all(outputs.sinks.map((s) => s.close()));
  });
  return { ...(await shared), close: async () => undefined };
}

export async function buildOutputs(runtime: Runtime, registry: Registry): Promise<BuiltOutputs> {
  const { config, log } = runtime;
  const sinks: LogSink[] = [];
  const summary: string[] = [];
  try {
    for (const name of config.pilot.outputs) {
      if (name === 'console') {
        sinks.push(new ConsoleSink());
        summary.push('output console (standard output)');
      } else if (name === 'file') {
        const dir = config.pilot.fileOutputDir || join(config.common.dataDir, 'logs');
        sinks.push(new FileSink({ dir }));
        summary.push(`output file (${dir})`);
      } else if (name === 'elasticsearch') {
        const { openElasticsearchOutput } = await import('./elasticsearch.js');
        const out = await openElasticsearchOutput(runtime, registry, log.child({ output: 'elasticsearch' }));
        sinks.push(out.sink);
        summary.push(`output elasticsearch (${out.where})`);
      } else if (name === 'redis') {
        const { openPilotRedisOutput } = await import('../../storage/redis/redis-output.js');
        const out = await openPilotRedisOutput(config, registry, log.child({ output: 'redis' }));
        sinks.push(out.sink);
        summary.push(`output redis (${out.where})`);
      } else if (name === 'kafka') {
        const { openPilotKafkaOutput } = await import('../../storage/kafka/kafka-output.js');
        const out = await openPilotKafkaOutput(config, registry, log.child({ output: 'kafka' }));
        sinks.push(out.sink);
        summary.push(`output kafka (${out.where})`);
      } else if (name === 'store') {
        const { openStoreOutput } = await import('./store.js');
        const out = await openStoreOutput(runtime, registry, log.child({ output: 'store' }));
        sinks.push(out.sink);
        summary.push(`output store (${out.where})`);
      }
    }
  } catch (err) {
    await Promise.all(sinks.map((s) => s.close()));
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw swError('SW_NOT_IMPLEMENTED', `an output of LOGGING_OUTPUT (${config.pilot.outputs.join(',')})`, err);
    throw err;
  }
  return { sinks, summary };
}
