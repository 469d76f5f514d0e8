/**
 * The calls Shipwatch makes to Docker's Engine API, over the engine's socket or TCP, with Node's own HTTP client.
 *
 * Why not dockerode, which this replaced: loading it brought docker-modem, ssh2, and grpc-js with protobufjs for
 * BuildKit sessions — ≈ 0.35 CPU-s and ≈ 26 MiB of every program's start for calls that are each one HTTP request
 * (measured importing the modules alone; the pilot's figures beside Fluent Bit are in bench/peer-pilot.bench.ts).
 * Paths carry no API version, as dockerode's did: the engine answers in its own.
 *
 * A status of 400 or more rejects with an EngineApiError carrying `statusCode` and the engine's message; 404 is how
 * the engine says a container, exec or service is gone (docker-client.ts `isNoSuchContainer`).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { EngineEndpoint } from './docker-client.js';

export class EngineApiError extends Error {
  constructor(readonly statusCode: number, message: string, readonly path: string) {
    super(message);
    this.name = 'EngineApiError';
  }
}

export interface ExecCreateOptions {
  Cmd: string[];
  AttachStdout: boolean;
  AttachStderr: boolean;
  AttachStdin: boolean;
  Tty: boolean;
  User?: string;
  Env?: string[];
}

export interface ExecState { Pid: number; Running: boolean; ExitCode: number | null }

/** The client's TLS identity for an engine over HTTPS (DOCKER_CERT_PATH's ca.pem, cert.pem, key.pem). */
export interface EngineTls { ca: Buffer; cert: Buffer; key: Buffer }

type Query = Record<string, string | number | boolean | object | undefined>;

/** Query string of `query`: objects (filters) as JSON, as the Engine API takes them. */
function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    params.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

async function readAll(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export class EngineApi {
  private readonly agent: HttpAgent;
  private readonly base: RequestOptions;
  private readonly send: typeof httpRequest;
  /** The TLS identity again for the one request made without the agent (an exec's upgraded connection). */
  private readonly tlsOptions: Partial<EngineTls>;

  constructor(endpoint: EngineEndpoint, tls?: EngineTls) {
    this.tlsOptions = endpoint.kind === 'tcp' && endpoint.protocol === 'https' ? { ...tls } : {};
    if (endpoint.kind === 'socket') {
      this.agent = new HttpAgent({ keepAlive: true });
      this.base = { socketPath: endpoint.socketPath };
      this.send = httpRequest;
    } else {
      const https = endpoint.protocol === 'https';
      this.agent = https ? new HttpsAgent({ keepAlive: true, ...tls }) : new HttpAgent({ keepAlive: true });
      this.base = { host: endpoint.host, port: endpoint.port };
      this.send = https ? httpsRequest : httpRequest;
    }
  }

  /** The response of one request, its status checked; the caller reads (or destroys) the body. */
  private open(method: string, path: string, query?: Query, body?: unknown): Promise<IncomingMessage> {
    const full = path + queryString(query);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = this.send({
        ...this.base, agent: this.agent, method, path: full,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      }, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 400) return resolve(res);
        readAll(res).then((buf) => reject(this.failure(status, buf, full)), reject);
      });
      req.once('error', reject);
      req.end(payload);
    });
  }

  private failure(status: number, body: Buffer, path: string): EngineApiError {
    let message = body.toString('utf8').trim();
    try {
      message = String((JSON.parse(message) as { message?: unknown }).message ?? message);
    } catch {
      // not JSON: the text as it came
    }
    return new EngineApiError(status, message === '' ? `HTTP ${status}` : message, path);
  }

  private async json<T>(method: string, path: string, query?: Query, body?: unknown): Promise<T> {
    const buf = await readAll(await this.open(method, path, query, body));
    return (buf.length === 0 ? undefined : JSON.parse(buf.toString('utf8'))) as T;
  }

  async ping(): Promise<string> {
    return (await readAll(await this.open('GET', '/_ping'))).toString('utf8');
  }

  info(): Promise<{ Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean } }> {
    return this.json('GET', '/info');
  }

  listContainers(options: { all?: boolean } = {}): Promise<Docker.ContainerInfo[]> {
    return this.json('GET', '/containers/json', { all: options.all ?? false });
  }

  inspectContainer(id: string): Promise<Docker.ContainerInspectInfo> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/json`);
  }

  /** One reading (`stream=false`); without `oneShot` the engine waits for a second sample to fill precpu_stats. */
  containerStats(id: string, oneShot: boolean): Promise<Docker.ContainerStats> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/stats`, { stream: false, 'one-shot': oneShot });
  }

  /** The engine's event stream (newline-delimited JSON) for `filters`; destroy it to stop. */
  events(filters: Record<string, string[]>): Promise<IncomingMessage> {
    return this.open('GET', '/events', { filters });
  }

  async createExec(containerId: string, options: ExecCreateOptions): Promise<string> {
    return (await this.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(containerId)}/exec`, undefined, options)).Id;
  }

  /**
   * Starts an exec and returns its output stream: the engine's multiplexed frames (see `demuxStream`). The
   * connection is upgraded as the Docker CLI asks; an engine answering 200 instead streams the same bytes.
   */
  startExec(execId: string): Promise<Readable | Duplex> {
    const payload = Buffer.from(JSON.stringify({ Detach: false, Tty: false }));
    return new Promise((resolve, reject) => {
      const req = this.send({
        ...this.base, agent: false, ...this.tlsOptions, method: 'POST', path: `/exec/${encodeURIComponent(execId)}/start`,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, connection: 'Upgrade', upgrade: 'tcp' },
      });
      req.once('upgrade', (_res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status < 400) return resolve(res);
        readAll(res).then((buf) => reject(this.failure(status, buf, `/exec/${execId}/start`)), reject);
      });
      req.once('error', reject);
      req.end(payload);
    });
  }

  inspectExec(execId: string): Promise<ExecState> {
    return this.json('GET', `/exec/${encodeURIComponent(execId)}/json`);
  }

  inspectNode(id: string): Promise<{ ManagerStatus?: { Leader?: boolean } }> {
    return this.json('GET', `/nodes/${encodeURIComponent(id)}`);
  }

  listServices(): Promise<Docker.Service[]> {
    return this.json('GET', '/services');
  }

  inspectService(id: string): Promise<Docker.Service> {
    return this.json('GET', `/services/${encodeURIComponent(id)}`);
  }

  /** `version` is the service's object version as read: the engine refuses an update of a service changed since. */
  async updateService(id: string, version: number, spec: Docker.ServiceSpec): Promise<void> {
    await this.json('POST', `/services/${encodeURIComponent(id)}/update`, { version }, spec);
  }

  listTasks(filters: Record<string, string[]>): Promise<Array<{ ID?: string; NodeID?: string; Status?: { State?: string; ContainerStatus?: { ContainerID?: string } } }>> {
    return this.json('GET', '/tasks', { filters });
  }
}

/**
 * Splits an exec's multiplexed output (Tty off) into standard output and error: each frame is an 8-byte header —
 * the stream (1 out, 2 err), three zero bytes, the payload's length big-endian — then the payload.
 */
export function demuxStream(stream: Readable | Duplex, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void {
  let pending: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const payload = pending.subarray(8, 8 + size);
      (pending[0] === 2 ? stderr : stdout).write(payload);
      pending = pending.subarray(8 + size);
    }
  });
}
