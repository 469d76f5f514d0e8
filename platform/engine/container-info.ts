/**
 * What Shipwatch knows about a container, taken once from the engine's inspect answer: identity, labels and
 * environment (declarations), the platform's grouping labels (compose, stack, swarm, Kubernetes), where its files
 * are on the host (json-file LogPath, mounts, the writable layer) and its state.
 *
 * Pure: no I/O, never throws on odd input (fields the engine leaves out become '' or empty lists).
 */
import type Docker from 'dockerode';

export interface MountInfo {
  /** `bind`, `volume`, `tmpfs`, `npipe`… as the engine says. */
  type: string;
  /** Host path of the mount (bind source, or the volume's data folder); '' for tmpfs. */
  source: string;
  /** Absolute path inside the container. */
  destination: string;
  readOnly: boolean;
  /** Volume name; '' for binds. */
  name: string;
}

export interface ContainerState {
  status: string;
  running: boolean;
  pid: number;
  exitCode: number;
  /** ISO time the engine reports; '0001-01-01T00:00:00Z' when never. */
  startedAt: string;
  finishedAt: string;
}

export interface ContainerInfo {
  id: string;
  /** Without the leading `/`. */
  name: string;
  image: string;
  hostname: string;
  labels: Readonly<Record<string, string>>;
  /** `Config.Env` as a map (first `=` splits; a bare name maps to ''). */
  env: Readonly<Record<string, string>>;
  state: ContainerState;
  /** The json-file log on the host ('' with another log driver). */
  logPath: string;
  logDriver: string;
  mounts: readonly MountInfo[];
  /** Writable layer: the merged root view (exists while running) and the upper layer (outlives the stop). */
  mergedDir: string;
  upperDir: string;
  graphDriver: string;
  /** First network's address ('' when none, e.g. host networking). */
  ipAddress: string;
  /** Compose project, else stack namespace. */
  app: string;
  /** Compose service, else swarm service name. */
  service: string;
  stack: string;
  swarmService: string;
  swarmTask: string;
  k8sPod: string;
  k8sNamespace: string;
  k8sContainer: string;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function envMap(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (typeof item !== 'string') continue;
    const eq = item.indexOf('=');
    if (eq < 0) out[item] = '';
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function labelMap(labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels === null || typeof labels !== 'object') return out;
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

function mountList(mounts: unknown): MountInfo[] {
  if (!Array.isArray(mounts)) return [];
  const out: MountInfo[] = [];
  for (const m of mounts as Array<Record<string, unknown>>) {
    const destination = str(m.Destination);
    if (!destination.startsWith('/')) continue;
    out.push({ type: str(m.Type), source: str(m.Source), destination, readOnly: m.RW === false, name: str(m.Name) });
  }
  return out;
}

function firstIp(settings: unknown): string {
  const s = (settings ?? {}) as { IPAddress?: unknown; Networks?: Record<string, { IPAddress?: unknown }> };
  if (typeof s.IPAddress === 'string' && s.IPAddress !== '') return s.IPAddress;
  for (const net of Object.values(s.Networks ?? {})) if (typeof net?.IPAddress === 'string' && net.IPAddress !== '') return net.IPAddress;
  return '';
}

export function containerInfoFromInspect(raw: Docker.ContainerInspectInfo): ContainerInfo {
  const r = raw as unknown as Record<string, any>;
  const labels = labelMap(r.Config?.Labels);
  const state = (r.State ?? {}) as Record<string, unknown>;
  const graph = (r.GraphDriver ?? {}) as { Name?: unknown; Data?: Record<string, unknown> | null };
  const compose = labels['com.docker.compose.project'] ?? '';
  const stack = labels['com.docker.stack.namespace'] ?? '';
  const swarmService = labels['com.docker.swarm.service.name'] ?? '';
  return {
    id: str(r.Id),
    name: str(r.Name).replace(/^\//, ''),
    image: str(r.Config?.Image),
    hostname: str(r.Config?.Hostname),
    labels,
    env: envMap(r.Config?.Env),
    state: {
      status: str(state.Status),
      running: state.Running === true,
      pid: typeof state.Pid === 'number' ? state.Pid : 0,
      exitCode: typeof state.ExitCode === 'number' ? state.ExitCode : 0,
      startedAt: str(state.StartedAt),
      finishedAt: str(state.FinishedAt),
    },
    logPath: str(r.LogPath),
    logDriver: str(r.HostConfig?.LogConfig?.Type),
    mounts: mountList(r.Mounts),
    mergedDir: str(graph.Data?.MergedDir),
    upperDir: str(graph.Data?.UpperDir),
    graphDriver: str(graph.Name),
    ipAddress: firstIp(r.NetworkSettings),
    app: compose !== '' ? compose : stack,
    service: labels['com.docker.compose.service'] || swarmService,
    stack,
    swarmService,
    swarmTask: labels['com.docker.swarm.task.name'] ?? '',
    k8sPod: labels['io.kubernetes.pod.name'] ?? '',
    k8sNamespace: labels['io.kubernetes.pod.namespace'] ?? '',
    k8sContainer: labels['io.kubernetes.container.name'] ?? '',
  };
}
