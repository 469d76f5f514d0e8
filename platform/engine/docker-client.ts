/**
 * The connection to the container engine (Docker's Engine API, engine-api.ts). The endpoint comes from
 * `DOCKER_HOST` (unix:///path/docker.sock, tcp://host:port, http(s)://host:port), default the local socket.
 *
 * Creating a client never talks to the engine; `pingEngine` does, and turns every failure into one clear
 * SW_ENGINE_UNAVAILABLE naming the endpoint, so a program can report it and keep retrying.
 */
import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineApi, type EngineTls } from './engine-api.js';
import { swError, describe } from '../errors.js';
import type { SharedResources } from '../runtime.js';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

export type EngineEndpoint =
  | { kind: 'socket'; socketPath: string }
  | { kind: 'tcp'; protocol: 'http' | 'https'; host: string; port: number };

/** Parses DOCKER_HOST; '' means the default socket. Returns the reason when the value cannot be used. */
export function parseEngineEndpoint(dockerHost: string): EngineEndpoint | { problem: string } {
  const raw = dockerHost.trim();
  if (raw === '') return { kind: 'socket', socketPath: DEFAULT_SOCKET };
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    return socketPath.startsWith('/') ? { kind: 'socket', socketPath } : { problem: `"${raw}" needs an absolute socket path` };
  }
  if (raw.startsWith('/')) return { kind: 'socket', socketPath: raw };
  const m = /^(tcp|http|https):\/\/\[?([^\]/]+?)\]?(?::(\d+))?\/?$/.exec(raw);
  if (!m) return { problem: `"${raw}" is neither unix:///path nor tcp://host:port` };
  const protocol = m[1] === 'https' ? 'https' : 'http';
  const port = m[3] === undefined ? (protocol === 'https' ? 2376 : 2375) : Number(m[3]);
  if (port > 65535) return { problem: `"${raw}" has no valid port` };
  return { kind: 'tcp', protocol, host: m[2]!, port };
}

export function describeEndpoint(endpoint: EngineEndpoint): string {
  return endpoint.kind === 'socket' ? `unix://${endpoint.socketPath}` : `${endpoint.protocol}://${endpoint.host}:${endpoint.port}`;
}

export interface EngineClient {
  api: EngineApi;
  endpoint: EngineEndpoint;
  /** `unix:///var/run/docker.sock`, for messages. */
  where: string;
}

/** `certPath` (DOCKER_CERT_PATH): the folder of the client's TLS identity, used with an https:// endpoint. */
export function createEngineClient(dockerHost: string, certPath = ''): EngineClient {
  const endpoint = parseEngineEndpoint(dockerHost);
  if ('problem' in endpoint) throw swError('SW_ENGINE_UNAVAILABLE', `DOCKER_HOST: ${endpoint.problem}`);
  const tls = endpoint.kind === 'tcp' && endpoint.protocol === 'https' && certPath !== '' ? readTls(certPath) : undefined;
  return { api: new EngineApi(endpoint, tls), endpoint, where: describeEndpoint(endpoint) };
}

function readTls(certPath: string): EngineTls {
  try {
    return { ca: readFileSync(join(certPath, 'ca.pem')), cert: readFileSync(join(certPath, 'cert.pem')), key: readFileSync(join(certPath, 'key.pem')) };
  } catch (err) {
    throw swError('SW_ENGINE_UNAVAILABLE', `DOCKER_CERT_PATH: ${describe(err)} (ca.pem, cert.pem and key.pem are needed)`, err);
  }
}

/** One client per process (the programs of `all` share it). */
export function sharedEngineClient(shared: SharedResources, dockerHost: string, certPath = ''): EngineClient {
  return shared.get(`engine:${dockerHost}`, () => createEngineClient(dockerHost, certPath));
}

/** Resolves when the engine answers `/_ping` within `timeoutMs`; else throws SW_ENGINE_UNAVAILABLE. */
export async function pingEngine(client: EngineClient, timeoutMs = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([client.api.ping(), timeout]);
  } catch (err) {
    throw swError('SW_ENGINE_UNAVAILABLE', `${client.where}: ${engineFailure(err)}`, err);
  } finally {
    clearTimeout(timer);
  }
}

/** A short reason for an engine failure: the socket error code when there is one. */
export function engineFailure(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no socket (is the engine running, is the socket mounted?)';
  if (code === 'ECONNREFUSED') return 'connection refused (is the engine running?)';
  if (code === 'EACCES') return 'permission denied on the socket';
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') return `HTTP ${status}: ${describe(err)}`;
  return typeof code === 'string' ? `${code}: ${describe(err)}` : describe(err);
}

/** True when the error is the engine saying the container does not exist (gone between list and inspect). */
export function isNoSuchContainer(err: unknown): boolean {
  return (err as { statusCode?: unknown }).statusCode === 404;
}

// ---- Swarm services (the engine must be a manager) ----

/** The engine's place in a swarm (`GET /info`, `GET /nodes/{id}`): only the leader acts on services. */
export interface SwarmRole {
  /** `inactive`, `pending`, `active`, `error`, `locked`. */
  state: string;
  nodeId: string;
  manager: boolean;
  leader: boolean;
}

export async function swarmRole(client: EngineClient): Promise<SwarmRole> {
  try {
    const info = await client.api.info();
    const state = info.Swarm?.LocalNodeState ?? 'inactive';
    const nodeId = info.Swarm?.NodeID ?? '';
    const manager = state === 'active' && info.Swarm?.ControlAvailable === true;
    if (!manager) return { state, nodeId, manager, leader: false };
    const node = await client.api.inspectNode(nodeId);
    return { state, nodeId, manager, leader: node.ManagerStatus?.Leader === true };
  } catch (err) {
    throw swError('SW_ENGINE_UNAVAILABLE', `swarm state: ${engineFailure(err)}`, err);
  }
}

export interface SwarmService {
  id: string;
  name: string;
  /** The object version an update must name (`?version=`), so that two writers never overwrite each other. */
  version: number;
  labels: Record<string, string>;
  /** Desired replicas; undefined for a global service (one task per node). */
  replicas: number | undefined;
  spec: Docker.ServiceSpec;
}

function toSwarmService(raw: Docker.Service): SwarmService {
  const spec = raw.Spec ?? {};
  return {
    id: raw.ID,
    name: spec.Name ?? raw.ID,
    version: raw.Version?.Index ?? 0,
    labels: spec.Labels ?? {},
    replicas: spec.Mode?.Replicated ? (spec.Mode.Replicated.Replicas ?? 1) : undefined,
    spec,
  };
}

/** Every service (`GET /services`); the engine filters labels by key or key=value only, so callers filter prefixes. */
export async function listServices(client: EngineClient): Promise<SwarmService[]> {
  try {
    return (await client.api.listServices()).map(toSwarmService);
  } catch (err) {
    throw swError('SW_ENGINE_UNAVAILABLE', `list of services: ${engineFailure(err)}`, err);
  }
}

/** One service (`GET /services/{id}`); undefined when it is gone. */
export async function inspectService(client: EngineClient, id: string): Promise<SwarmService | undefined> {
  try {
    return toSwarmService(await client.api.inspectService(id));
  } catch (err) {
    if (isNoSuchContainer(err)) return undefined;
    throw swError('SW_ENGINE_UNAVAILABLE', `service ${id}: ${engineFailure(err)}`, err);
  }
}

/**
 * Sets a replicated service's desired replicas (`POST /services/{id}/update?version=N`, the spec as read with only
 * the replicas changed). A service changed since it was read is refused by the engine ("update out of sequence").
 */
export async function setServiceReplicas(client: EngineClient, service: SwarmService, replicas: number): Promise<void> {
  const mode = service.spec.Mode;
  if (!mode?.Replicated) throw swError('SW_ENGINE_UNAVAILABLE', `service ${service.name} is not replicated: its replicas cannot be set`);
  const spec: Docker.ServiceSpec = { ...service.spec, Mode: { ...mode, Replicated: { ...mode.Replicated, Replicas: replicas } } };
  try {
    await client.api.updateService(service.id, service.version, spec);
  } catch (err) {
    throw swError('SW_ENGINE_UNAVAILABLE', `update of service ${service.name}: ${engineFailure(err)}`, err);
  }
}

export interface RunningTask {
  taskId: string;
  nodeId: string;
  containerId: string;
}

/** A service's tasks that run now (`GET /tasks`, desired and current state running), with their containers. */
export async function runningTasks(client: EngineClient, serviceId: string): Promise<RunningTask[]> {
  let tasks: Awaited<ReturnType<EngineApi['listTasks']>>;
  try {
    tasks = await client.api.listTasks({ service: [serviceId], 'desired-state': ['running'] });
  } catch (err) {
    throw swError('SW_ENGINE_UNAVAILABLE', `tasks of service ${serviceId}: ${engineFailure(err)}`, err);
  }
  return tasks
    .filter((t) => t.Status?.State === 'running' && t.Status.ContainerStatus?.ContainerID)
    .map((t) => ({ taskId: t.ID ?? '', nodeId: t.NodeID ?? '', containerId: t.Status!.ContainerStatus!.ContainerID! }));
}
