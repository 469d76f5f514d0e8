/**
 * What `GET /api/status` reports, for the web UI's Status view and for a newcomer's first look: which programs run
 * (each one's admin `/health`, asked on loopback), whether the container engine answers (only when this process
 * also runs the pilot and collector, i.e. `all`, where query shares their engine connection), the containers that
 * declare logs or monitoring by label, and what the storages hold.
 *
 * Everything is observed at the moment of the call, never assumed: a program whose admin port does not answer is
 * reported as such, with the reason. Declarations are read from labels only (`aliyun_logs_*` environment
 * variables would need one inspect per container); the pilot's and collector's own checks stay authoritative.
 */
import type Docker from 'dockerode';
import { describe } from '../platform/errors.js';
import { pingEngine, type EngineClient } from '../platform/engine/docker-client.js';
import type { LogReader } from '../storage/log-search.js';
import type { SpanReader } from '../storage/span-storage.js';

export interface ProgramProbe {
  name: string;
  /** `http://127.0.0.1:<port>/health`; absent when it cannot be known (an admin port chosen at start). */
  healthUrl?: string;
  /** The program answering this request: running, whatever its admin port says. */
  self?: boolean;
}

export interface ProgramStatus {
  name: string;
  /** ok: /health answered 200; unhealthy: it answered with failures; unreachable: no answer; unknown: not probed. */
  state: 'ok' | 'unhealthy' | 'unreachable' | 'unknown';
  admin?: string;
  /** Failing checks by name (unhealthy), or why there was no answer (unreachable). */
  failures?: Record<string, string>;
}

export interface DeclaredContainer {
  name: string;
  id: string;
  image: string;
  state: string;
  /** `<prefix>.logs.<name>` labels: the log's name and source. */
  logs: Array<{ name: string; source: string }>;
  /** `script` and/or `http` from `<prefix>.monitoring.*` labels. */
  monitoring: string[];
}

export interface StatusReport {
  /** The command this process runs: query alone, or all. */
  command: string;
  timeMs: number;
  programs: ProgramStatus[];
  /** Absent when this process does not watch the engine (query alone). */
  engine?: { where: string; connected: boolean; reason?: string; containers: DeclaredContainer[]; otherContainers: number };
  /** `metrics`: where the metric API reads (METRIC_STORAGE_TYPE): `store`, or `influxdb` with its host and database. */
  storage: { spans: string; services: number; logs: string; logRecords?: number; newestLog?: string; metrics: string };
  /**
   * The ports this process's collector receives on, as configured (only when it runs one: `all`), so the UI's hints
   * name them rather than the defaults.
   */
  receivers?: Receivers;
}

/** Ports of the collector's receivers; 0 where the address lets the system choose. */
export interface Receivers {
  otlpHttp: number;
  otlpGrpc: number;
  jaegerHttp: number;
  jaegerCompact: number;
  jaegerBinary: number;
  zipkin: number;
  /** The admin port, where line protocol is pushed (/write). */
  lineProtocol: number;
}

export interface StatusOptions {
  command: string;
  programs: ProgramProbe[];
  spanReader: SpanReader;
  spanStorage: string;
  logReader?: LogReader;
  /** Where the log reader reads (LOG_STORAGE_TYPE); default store. */
  logStorage?: string;
  /** Where the metric reader reads, as reported (see StatusReport.storage.metrics); default store. */
  metricStorage?: string;
  receivers?: Receivers;
  engine?: { client: EngineClient; logPrefixes: string[]; monitoringPrefix: string };
  probeTimeoutMs?: number;
}

export type StatusSource = () => Promise<StatusReport>;

async function probe(p: ProgramProbe, timeoutMs: number): Promise<ProgramStatus> {
  if (p.healthUrl === undefined) return { name: p.name, state: p.self ? 'ok' : 'unknown' };
  const admin = p.healthUrl.replace(/\/health$/, '');
  try {
    const res = await fetch(p.healthUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) return { name: p.name, state: 'ok', admin };
    const body = (await res.json().catch(() => ({}))) as { failures?: Record<string, string> };
    return { name: p.name, state: 'unhealthy', admin, failures: body.failures ?? { health: `HTTP ${res.status}` } };
  } catch (err) {
    return { name: p.name, state: 'unreachable', admin, failures: { admin: describe(err) } };
  }
}

/** The log and monitoring declarations among a container's labels. */
export function declarationsOf(labels: Record<string, string>, logPrefixes: string[], monitoringPrefix: string): Pick<DeclaredContainer, 'logs' | 'monitoring'> {
  const logs: DeclaredContainer['logs'] = [];
  const monitoring: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    for (const prefix of logPrefixes) {
      const rest = key.startsWith(`${prefix}.logs.`) ? key.slice(prefix.length + 6) : '';
      if (rest !== '' && !rest.includes('.')) logs.push({ name: rest, source: value });
    }
    for (const kind of ['script', 'http']) if (key === `${monitoringPrefix}.monitoring.${kind}` && value !== '') monitoring.push(kind);
  }
  logs.sort((a, b) => a.name.localeCompare(b.name));
  return { logs, monitoring: monitoring.sort() };
}

async function engineStatus(options: NonNullable<StatusOptions['engine']>, timeoutMs: number): Promise<NonNullable<StatusReport['engine']>> {
  const { client } = options;
  let list: Docker.ContainerInfo[];
  try {
    await pingEngine(client, timeoutMs);
    list = await client.api.listContainers({ all: false });
  } catch (err) {
    return { where: client.where, connected: false, reason: describe(err), containers: [], otherContainers: 0 };
  }
  const containers: DeclaredContainer[] = [];
  for (const c of list) {
    const d = declarationsOf(c.Labels ?? {}, options.logPrefixes, options.monitoringPrefix);
    if (d.logs.length === 0 && d.monitoring.length === 0) continue;
    containers.push({ name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), id: c.Id, image: c.Image, state: c.State, ...d });
  }
  containers.sort((a, b) => a.name.localeCompare(b.name));
  return { where: client.where, connected: true, containers, otherContainers: list.length - containers.length };
}

async function storageStatus(options: StatusOptions): Promise<StatusReport['storage']> {
  const services = (await options.spanReader.getServices()).length;
  const metrics = options.metricStorage ?? 'store';
  if (!options.logReader) return { spans: options.spanStorage, services, logs: 'none (the log API needs the embedded store)', metrics };
  const [logRecords, newest] = await Promise.all([options.logReader.count({}), options.logReader.search({ limit: 1 })]);
  const newestLog = newest[0] === undefined ? undefined : (JSON.parse(newest[0].json) as Record<string, unknown>)['@timestamp'];
  return { spans: options.spanStorage, services, logs: options.logStorage ?? 'store', logRecords, newestLog: typeof newestLog === 'string' ? newestLog : undefined, metrics };
}

export function createStatusSource(options: StatusOptions): StatusSource {
  const timeoutMs = options.probeTimeoutMs ?? 1500;
  return async () => {
    const [programs, engine, storage] = await Promise.all([
      Promise.all(options.programs.map((p) => probe(p, timeoutMs))),
      options.engine ? engineStatus(options.engine, timeoutMs) : Promise.resolve(undefined),
      storageStatus(options),
    ]);
    return { command: options.command, timeMs: Date.now(), programs, engine, storage, ...(options.receivers ? { receivers: options.receivers } : {}) };
  };
}

/** The health URL of an admin listen address, asked on loopback when it listens on every interface. */
export function healthUrlOf(listen: { host: string; port: number }): string | undefined {
  if (listen.port === 0) return undefined;
  const host = ['', '0.0.0.0', '::'].includes(listen.host) ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}/health`;
}

/** The status as a few lines for a person at a terminal: what was found and where to look. */
export function describeStatus(report: StatusReport, uiUrl: string): string[] {
  const lines: string[] = [];
  const e = report.engine;
  if (e) {
    if (!e.connected) lines.push(`container engine at ${e.where} not reachable (${e.reason ?? 'no answer'}); the pilot keeps trying`);
    else {
      const logs = e.containers.filter((c) => c.logs.length > 0);
      const monitored = e.containers.filter((c) => c.monitoring.length > 0);
      const names = (list: DeclaredContainer[]): string => list.slice(0, 8).map((c) => c.name).join(', ') + (list.length > 8 ? ', …' : '');
      lines.push(`container engine at ${e.where}: ${e.containers.length + e.otherContainers} containers`);
      lines.push(logs.length > 0 ? `${logs.length} declare logs: ${names(logs)}` : 'no container declares logs yet (label one with aliyun.logs.<name>=stdout)');
      if (monitored.length > 0) lines.push(`${monitored.length} declare monitoring: ${names(monitored)}`);
    }
  }
  for (const p of report.programs) if (p.state !== 'ok' && p.state !== 'unknown') lines.push(`${p.name}: ${p.state}${p.failures ? ` (${Object.values(p.failures).join('; ')})` : ''}`);
  lines.push(`open ${uiUrl}/ for logs, traces and metrics; point the Jaeger UI or Grafana's Jaeger data source at ${uiUrl}`);
  return lines;
}
