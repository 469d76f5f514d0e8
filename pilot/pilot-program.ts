/**
 * `shipwatch pilot`: follows the container engine, tails the logs containers declare, and ships records to the
 * outputs of LOGGING_OUTPUT, saving positions only for what every output acknowledged.
 *
 * An absent engine does not stop the start: the pilot says so (SW_ENGINE_UNAVAILABLE, /health answers 503 with
 * the reason) and keeps trying. Nor does an unreachable output: Elasticsearch is first asked with the first records
 * (they wait in the disk buffer while it is down), and /health names it while deliveries fail.
 *
 * Shutdown order (close): stop discovery, stop reading and receiving syslog, wait for what was read to be acknowledged
 * (bounded by SHIPWATCH_SHUTDOWN_TIMEOUT), close the outputs (in `all`, the runtime closes them after every program),
 * save positions, close the admin port.
 */
import { join } from 'node:path';
import { startAdminServer } from '../platform/http/admin-server.js';
import { resolveHostName } from '../platform/host-name.js';
import { ContainerWatcher } from '../platform/engine/container-watcher.js';
import { sharedEngineClient } from '../platform/engine/docker-client.js';
import type { RunningProgram, Runtime } from '../platform/runtime.js';
import { createRegistry } from '../platform/self-metrics.js';
import { ContainerSources } from './container-sources.js';
import { LogPipeline } from './log-pipeline.js';
import { openLogOutputs } from '../logs/outputs/log-outputs.js';
import { defaultHostRoot, PathMapper } from './path-mapper.js';
import { PositionStore } from './positions.js';
import { startSyslogInput } from './syslog/syslog-input.js';
import { tracePatternOf } from './trace-context.js';

const READ_CHUNK_BYTES = 256 * 1024;

export async function start(runtime: Runtime): Promise<RunningProgram> {
  const { config, log } = runtime;
  const p = config.pilot;
  const registry = createRegistry('pilot');
  const engine = sharedEngineClient(runtime.shared, config.common.dockerHost);
  const hostRoot = defaultHostRoot(p.hostRoot);
  const positionsFile = join(config.common.dataDir, 'pilot', 'positions.json');
  const positions = PositionStore.open(positionsFile, log.child({ component: 'positions' }), p.positionsFlushIntervalMs);
  const outputs = await openLogOutputs(runtime, registry).catch(async (err: unknown) => {
    await positions.close();
    throw err;
  });
  const pipeline = new LogPipeline({ sinks: outputs.sinks, maxInFlightBytes: p.maxInFlightBytes, maxLineBytes: p.maxLineBytes, registry, log });
  const hostName = resolveHostName({ configured: config.common.hostName, nodeName: p.nodeName, hostRoot });
  const sources = new ContainerSources({
    engine, pipeline, positions, mapper: new PathMapper(hostRoot), prefixes: p.logPrefixes, jsonLimits: { maxKeys: p.jsonMaxKeys, maxDepth: p.jsonMaxDepth },
    hostName, nodeName: p.nodeName, tracePattern: tracePatternOf(p.tracePattern),
    tail: { scanIntervalMs: p.scanIntervalMs, pollIntervalMs: p.pollIntervalMs, readChunkBytes: READ_CHUNK_BYTES, maxLineBytes: p.maxLineBytes, rotatedGraceMs: p.rotatedGraceMs },
    registry, log,
  });
  const watcher = new ContainerWatcher({ client: engine, listener: sources, log: log.child({ component: 'engine' }), registry });

  let admin;
  let syslog;
  try {
    syslog = await startSyslogInput(config, pipeline, hostName, registry, log.child({ component: 'syslog' }));
    admin = await startAdminServer({
      listen: p.adminListen, registry, log, tokens: { admin: config.common.adminAuthToken },
      health: [
        { name: 'engine', check: () => watcher.status().reason },
        { name: 'outputs', impact: 'degraded', check: () => outputs.sinks.map((s) => s.problem?.()).filter((p) => p !== undefined).join('; ') || undefined },
      ],
    });
  } catch (err) {
    await syslog?.receiver.close();
    await outputs.close();
    await positions.close();
    throw err;
  }
  watcher.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= (async () => {
    await watcher.close();
    await Promise.all([sources.stop(), syslog?.receiver.close()]);
    const flushed = await pipeline.drained(Math.max(500, config.common.shutdownTimeoutMs - 1500));
    if (!flushed) log.warn('outputs did not acknowledge everything in time; the rest is read again at the next start', { pendingBytes: pipeline.pendingBytes });
    await outputs.close();
    await positions.close();
    await admin.close();
  })());

  return {
    summary: [
      `admin http://${p.adminListen.host}:${admin.port} (/health, /metrics)`,
      `engine ${engine.where}`,
      `host root ${hostRoot}, positions ${positionsFile}`,
      ...outputs.summary,
      ...(syslog ? [syslog.summary] : []),
    ],
    close,
  };
}
