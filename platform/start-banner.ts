/**
 * What a program says first when it starts: the URL to open and where to send, built from the running configuration
 * before any program opens a port, so it is the first thing on standard error and comes within the first second,
 * never after the engine probe or the store's migrations. A port configured as 0 is chosen when the program
 * listens: the banner says so, and the `started` line that follows names it.
 *
 * At a terminal (pretty logs) it is a block of text; in JSON logs it is one `starting` line whose fields are the
 * endpoints (`ui`, `otlpHttp`, `jaegerCompactUdp`, …), so a log pipeline reads a port without parsing prose.
 */
import type { Config } from './config/load-config.js';
import { common } from './config/common.js';
import { palette } from './log-pretty.js';

export interface BannerEndpoint {
  /** The field name in the JSON line. */
  key: string;
  /** Group shown in the text ("Send spans", …). */
  group: string;
  label: string;
  /** URL or host:port to use, wildcard hosts as localhost. */
  address: string;
  /** What else to know, for the text only. */
  note?: string;
  /** Configured as port 0: the port is chosen when the program listens. */
  chosenAtStart?: boolean;
}

export interface StartBanner {
  version: string;
  program: Config['program'];
  programs: string[];
  endpoints: BannerEndpoint[];
  dataDir: string;
  /** The container engine the pilot and the collector follow; undefined for query alone and a pilot on CRI. */
  engine?: string;
  /** The pods folder a pilot on CRI (or auto) reads kubelet's log files from. */
  podLogs?: string;
}

type Listen = { host: string; port: number };

/** A wildcard listen address is reached on localhost; IPv6 hosts get brackets. */
function reachable(listen: Listen): string {
  const { host } = listen;
  const name = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${name}:${listen.port}`;
}

const CHOSEN = 'port 0: chosen at start, listed once started';

function endpoint(key: string, group: string, label: string, listen: Listen, form: { scheme?: string; path?: string; suffix?: string; note?: string } = {}): BannerEndpoint {
  const where = reachable(listen);
  const address = `${form.scheme ? `${form.scheme}://` : ''}${where}${form.path ?? ''}${form.suffix ?? ''}`;
  const notes = [form.note, listen.port === 0 ? CHOSEN : undefined].filter((n) => n !== undefined);
  return { key, group, label, address, ...(notes.length > 0 ? { note: notes.join('; ') } : {}), ...(listen.port === 0 ? { chosenAtStart: true } : {}) };
}

export function buildStartBanner(config: Config, version: string): StartBanner {
  const program = config.program;
  const runs = (name: 'pilot' | 'collector' | 'query'): boolean => program === 'all' || program === name;
  const endpoints: BannerEndpoint[] = [];
  if (runs('query')) {
    const q = config.query;
    endpoints.push(endpoint('ui', 'Open', 'web UI, Jaeger query API, log API', q.listen, { scheme: 'http', path: '/' }));
  }
  if (runs('collector')) {
    const c = config.collector;
    endpoints.push(
      endpoint('otlpHttp', 'Send spans', 'OTLP/HTTP', c.otlpHttpListen, { scheme: 'http', path: '/v1/traces' }),
      endpoint('otlpGrpc', 'Send spans', 'OTLP/gRPC', c.otlpGrpcListen),
      endpoint('jaegerHttp', 'Send spans', 'Jaeger Thrift HTTP', c.jaegerHttpListen, { scheme: 'http', path: '/api/traces' }),
      endpoint('jaegerCompactUdp', 'Send spans', 'Jaeger Thrift UDP compact', c.jaegerCompactListen, { suffix: '/udp', note: 'Jaeger clients' }),
      endpoint('jaegerBinaryUdp', 'Send spans', 'Jaeger Thrift UDP binary', c.jaegerBinaryListen, { suffix: '/udp' }),
      endpoint('jaegerGrpc', 'Send spans', 'Jaeger gRPC', c.jaegerGrpcListen),
      endpoint('zipkin', 'Send spans', 'Zipkin', c.zipkinListen, { scheme: 'http', path: '/api/v2/spans' }),
      endpoint('lineProtocol', 'Metrics', 'line protocol push', c.adminListen, { scheme: 'http', path: '/api/v2/write', note: 'also /write' }),
      endpoint('prometheus', 'Metrics', 'Prometheus scrape', c.adminListen, { scheme: 'http', path: '/metrics' }),
      endpoint('sampling', 'Sampling', 'Jaeger remote sampling', c.samplingListen, { scheme: 'http', path: '/sampling' }),
    );
  }
  if (runs('pilot') && config.pilot.syslogListen !== null) {
    const tls = config.pilot.syslogTlsCert !== '';
    endpoints.push(endpoint('syslog', 'Send logs', tls ? 'syslog over TLS (TCP)' : 'syslog (UDP and TCP)', config.pilot.syslogListen, { note: 'RFC 3164, RFC 5424' }));
  }
  if (runs('collector')) {
    endpoints.push(endpoint('otlpLogs', 'Send logs', 'OTLP/HTTP', config.collector.otlpHttpListen, { scheme: 'http', path: '/v1/logs', note: 'also OTLP/gRPC LogsService' }));
  }
  if (runs('pilot')) endpoints.push(endpoint('pilotAdmin', 'Health', 'pilot', config.pilot.adminListen, { scheme: 'http', path: '/health' }));
  if (runs('collector')) endpoints.push(endpoint('collectorAdmin', 'Health', 'collector', config.collector.adminListen, { scheme: 'http', path: '/health' }));
  if (runs('query')) endpoints.push(endpoint('queryAdmin', 'Health', 'query', config.query.adminListen, { scheme: 'http', path: '/health' }));
  const programs = program === 'all' ? ['pilot', 'collector', 'query'] : [program];
  // A pilot on a CRI node reads kubelet's log files, not an engine: the banner names the folder it reads.
  const pilotRuntime = runs('pilot') ? config.pilot.runtime : undefined;
  const followsEngine = runs('collector') || (pilotRuntime !== undefined && pilotRuntime !== 'cri');
  const engine = followsEngine ? config.common.dockerHost || `unix://${common.dockerHost.defaultDoc ?? ''}` : undefined;
  const podLogs = pilotRuntime === 'cri' || pilotRuntime === 'auto' ? config.pilot.criLogRoot : undefined;
  return {
    version, program, programs, endpoints, dataDir: config.common.dataDir,
    ...(engine === undefined ? {} : { engine }), ...(podLogs === undefined ? {} : { podLogs }),
  };
}

/** The fields of the JSON `starting` line: one per endpoint, by its key. */
export function bannerFields(banner: StartBanner): Record<string, unknown> {
  const fields: Record<string, unknown> = { version: banner.version, programs: banner.programs };
  for (const e of banner.endpoints) fields[e.key] = e.address;
  fields.dataDir = banner.dataDir;
  if (banner.engine !== undefined) fields.engine = banner.engine;
  if (banner.podLogs !== undefined) fields.podLogs = banner.podLogs;
  return fields;
}

/** The banner as text for a terminal, ending with a newline. */
export function bannerText(banner: StartBanner, colour: boolean): string {
  const p = palette(colour);
  const url = colour ? '\x1b[1;36m' : '';
  const names = banner.programs.length === 1 ? banner.programs[0]! : `${banner.programs.slice(0, -1).join(', ')} and ${banner.programs.at(-1)!}`;
  const lines = [`${p.bold}Shipwatch ${banner.version}${p.reset} ${p.dim}·${p.reset} ${banner.program === 'all' ? `all: ${names}` : names}`];
  const width = Math.max(0, ...banner.endpoints.filter((e) => e.group !== 'Open').map((e) => e.label.length)) + 2;
  let group = '';
  for (const e of banner.endpoints) {
    if (e.group !== group) {
      group = e.group;
      if (group === 'Open') {
        lines.push(`  ${p.bold}Open ${url}${e.address}${p.reset}  ${p.dim}${e.label}${e.note ? `; ${e.note}` : ''}${p.reset}`);
        continue;
      }
      lines.push(`  ${p.bold}${group}${p.reset}`);
    }
    lines.push(`    ${e.label.padEnd(width)}${url}${e.address}${p.reset}${e.note ? `  ${p.dim}(${e.note})${p.reset}` : ''}`);
  }
  const sources = [banner.engine === undefined ? '' : `, container engine ${banner.engine}`, banner.podLogs === undefined ? '' : `, pod logs ${banner.podLogs}`].join('');
  lines.push(`  ${p.dim}data in ${banner.dataDir}${sources}${p.reset}`);
  return lines.join('\n') + '\n';
}
