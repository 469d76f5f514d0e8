/**
 * `shipwatch pilot`: follows the container engine, tails the logs containers declare, and ships records to the
 * outputs of LOGGING_OUTPUT, saving positions only for what every output acknowledged.
 *
 * An absent engine does not stop the start: the pilot says so (SW_ENGINE_UNAVAILABLE, /health answers 503 with
 * the reason) and keeps trying. Nor does an unreachable output: Elasticsearch is first asked with the first records
 * (they wait in the disk buffer while it is down), and /health names it while deliveries fail.
 *
 * On a CRI node (PILOT_RUNTIME=cri, or auto without a Docker socket) containers are found in kubelet's pods folder
 * (cri-sources.ts) instead; no engine is asked.
 *
 * Shutdown order (close): stop discovery, stop reading and receiving syslog, wait for what was read to be acknowledged
 * (bounded by SHIPWATCH_SHUTDOWN_TIMEOUT), close the outputs (in `all`, the runtime closes them after every program),
 * save positions, close the admin port.
 */
import { existsSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { startAdminServer } from '../platform/http/admin-server.js';
import { resolveHostName } from '../platform/host-name.js';
import { ContainerWatcher } from '../platform/engine/container-watcher.js';
import { sharedEngineClient } from '../platform/engine/docker-client.js';
import type { RunningProgram, Runtime } from '../platform/runtime.js';
import { createRegistry } from '../platform/self-metrics.js';
import { ContainerSources } from './container-sources.js';
import { CriSources } from './cri-sources.js';
import { podListUrl } from './kube-pods.js';
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
  const hostRoot = defaultHostRoot(p.hostRoot);
  const underHost = (path: string): string => (hostRoot === '/' ? path : posix.join(hostRoot, path));
  const cri = runtimeOf(p.runtime, config.common.dockerHost, underHost(p.criLogRoot)) === 'cri';
  // Apart from the Docker positions: each side forgets the positions of containers it no longer sees.
  const positionsFile = join(config.common.dataDir, 'pilot', cri ? 'cri-positions.json' : 'positions.json');
  const positionsSavedMs = statSync(positionsFile, { throwIfNoEntry: false })?.mtimeMs;
  const positions = PositionStore.open(positionsFile, log.child({ component: 'positions' }), p.positionsFlushIntervalMs);
  const outputs = await openLogOutputs(runtime, registry).catch(async (err: unknown) => {
    await positions.close();
    throw err;
  });
  const pipeline = new LogPipeline({ sinks: outputs.sinks, maxInFlightBytes: p.maxInFlightBytes, maxLineBytes: p.maxLineBytes, registry, log });
  const hostName = resolveHostName({ configured: config.common.hostName, nodeName: p.nodeName, hostRoot });
  const common = {
    pipeline, positions, prefixes: p.logPrefixes, jsonLimits: { maxKeys: p.jsonMaxKeys, maxDepth: p.jsonMaxDepth },
    hostName, nodeName: p.nodeName, tracePattern: tracePatternOf(p.tracePattern),
    tail: { scanIntervalMs: p.scanIntervalMs, pollIntervalMs: p.pollIntervalMs, readChunkBytes: READ_CHUNK_BYTES, maxLineBytes: p.maxLineBytes, rotatedGraceMs: p.rotatedGraceMs },
    registry, log,
  };
  const podsUrl = podListUrl(p);
  const discovery = cri ? criDiscovery(new CriSources({
    ...common, podsDir: underHost(p.criLogRoot), containersDir: underHost(p.criContainersDir), scratchDir: join(config.common.dataDir, 'pilot', 'unpacked'), positionsSavedMs,
    podList: podsUrl === undefined ? undefined : { url: podsUrl, tokenFile: p.kubeTokenFile, caFile: p.kubeCaFile },
    podsRefreshMs: p.kubePodsRefreshMs, defaultLog: p.criDefaultLog, log: log.child({ component: 'cri' }),
  }), underHost(p.criLogRoot), podsUrl) : dockerDiscovery(runtime, config.common.dockerHost, { ...common, mapper: new PathMapper(hostRoot) });

  let admin;
  let syslog;
  try {
    syslog = await startSyslogInput(config, pipeline, hostName, registry, log.child({ component: 'syslog' }));
    admin = await startAdminServer({
      listen: p.adminListen, registry, log, tokens: { admin: config.common.adminAuthToken },
      health: [
        discovery.health,
        { name: 'outputs', impact: 'degraded', check: () => outputs.sinks.map((s) => s.problem?.()).filter((p) => p !== undefined).join('; ') || undefined },
      ],
    });
  } catch (err) {
    await syslog?.receiver.close();
    await outputs.close();
    await positions.close();
    throw err;
  }
  await discovery.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= (async () => {
    await Promise.all([discovery.stop(), syslog?.receiver.close()]);
    const flushed = await pipeline.drained(Math.max(500, config.common.shutdownTimeoutMs - 1500));
    if (!flushed) log.warn('outputs did not acknowledge everything in time; the rest is read again at the next start', { pendingBytes: pipeline.pendingBytes });
    await outputs.close();
    await positions.close();
    await admin.close();
  })());

  return {
    summary: [
      `admin http://${p.adminListen.host}:${admin.port} (/health, /metrics)`,
      discovery.summary,
      `host root ${hostRoot}, positions ${positionsFile}`,
      ...outputs.summary,
      ...(syslog ? [syslog.summary] : []),
    ],
    close,
  };
}

/** How containers are found: the engine's events, or kubelet's pods folder. */
interface Discovery {
  start(): Promise<void>;
  /** Stops finding containers and reading their logs (positions stay at what was acknowledged). */
  stop(): Promise<void>;
  health: { name: string; impact?: 'degraded'; check(): string | undefined };
  summary: string;
}

/** PILOT_RUNTIME: auto is docker when the engine's socket exists, else cri when the pods folder does. */
function runtimeOf(configured: 'docker' | 'cri' | 'auto', dockerHost: string, podsDir: string): 'docker' | 'cri' {
  if (configured !== 'auto') return configured;
  if (dockerHost !== '' && !dockerHost.startsWith('unix://')) return 'docker';
  const socket = dockerHost === '' ? '/var/run/docker.sock' : dockerHost.slice('unix://'.length);
  if (existsSync(socket)) return 'docker';
  return existsSync(podsDir) ? 'cri' : 'docker';
}

function dockerDiscovery(runtime: Runtime, dockerHost: string, opts: Omit<ConstructorParameters<typeof ContainerSources>[0], 'engine'>): Discovery {
  const engine = sharedEngineClient(runtime.shared, dockerHost, runtime.config.common.dockerCertPath);
  const sources = new ContainerSources({ ...opts, engine });
  const watcher = new ContainerWatcher({ client: engine, listener: sources, log: opts.log.child({ component: 'engine' }), registry: opts.registry });
  return {
    start: async () => watcher.start(),
    stop: async () => {
      await watcher.close();
      await sources.stop();
    },
    health: { name: 'engine', check: () => watcher.status().reason },
    summary: `engine ${engine.where}`,
  };
}

function criDiscovery(sources: CriSources, podsDir: string, podsUrl: string | undefined): Discovery {
  return {
    start: () => sources.start(),
    stop: () => sources.stop(),
    // Without the pod list, containers are still collected (PILOT_CRI_DEFAULT_LOG): degraded, not down.
    health: { name: 'pods', impact: 'degraded', check: () => sources.status() },
    summary: `cri ${podsDir}, pods ${podsUrl === undefined ? 'not listed (PILOT_CRI_DEFAULT_LOG)' : podsUrl.replace(/\?.*$/, '')}`,
  };
}
