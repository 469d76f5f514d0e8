/**
 * The connection to the container engine (Docker's Engine API through dockerode). The endpoint comes from
 * `DOCKER_HOST` (unix:///path/docker.sock, tcp://host:port, http(s)://host:port), default the local socket.
 *
 * Creating a client never talks to the engine; `pingEngine` does, and turns every failure into one clear
 * SW_ENGINE_UNAVAILABLE naming the endpoint, so a program can report it and keep retrying.
 */
import Docker from 'dockerode';
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
  docker: Docker;
  endpoint: EngineEndpoint;
  /** `unix:///var/run/docker.sock`, for messages. */
  where: string;
}

export function createEngineClient(dockerHost: string): EngineClient {
  const endpoint = parseEngineEndpoint(dockerHost);
  if ('problem' in endpoint) throw swError('SW_ENGINE_UNAVAILABLE', `DOCKER_HOST: ${endpoint.problem}`);
  const docker =
    endpoint.kind === 'socket'
      ? new Docker({ socketPath: endpoint.socketPath })
      : new Docker({ host: endpoint.host, port: endpoint.port, protocol: endpoint.protocol });
  return { docker, endpoint, where: describeEndpoint(endpoint) };
}

/** One client per process (the programs of `all` share it). */
export function sharedEngineClient(shared: SharedResources, dockerHost: string): EngineClient {
  return shared.get(`engine:${dockerHost}`, () => createEngineClient(dockerHost));
}

/** Resolves when the engine answers `/_ping` within `timeoutMs`; else throws SW_ENGINE_UNAVAILABLE. */
export async function pingEngine(client: EngineClient, timeoutMs = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([client.docker.ping(), timeout]);
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
