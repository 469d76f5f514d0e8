/**
 * The syslog receiver from the pilot's configuration: nothing unless PILOT_SYSLOG_LISTEN is set; the TLS
 * certificate and key read from their files (both or neither, each problem named by its variable).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Config } from '../../platform/config/load-config.js';
import { swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { Registry } from '../../platform/self-metrics.js';
import { SyslogRecordEncoder } from './syslog-record.js';
import { startSyslogReceiver, type SyslogPipeline, type SyslogReceiver } from './syslog-receiver.js';

export interface SyslogInput {
  receiver: SyslogReceiver;
  /** For the start-up summary. */
  summary: string;
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw swError('SW_CONFIG_INVALID', `${variable}: cannot read ${path}: ${(err as Error).message}`, err);
  }
}

/** The TLS material of the configuration, checked; undefined for plain UDP and TCP. */
export function syslogTls(p: Config['pilot']): { cert: Buffer; key: Buffer } | undefined {
  const { syslogTlsCert: certPath, syslogTlsKey: keyPath } = p;
  if (certPath === '' && keyPath === '') return undefined;
  if (certPath === '' || keyPath === '') {
    const missing = certPath === '' ? 'PILOT_SYSLOG_TLS_CERT' : 'PILOT_SYSLOG_TLS_KEY';
    throw swError('SW_CONFIG_INVALID', `${missing}: PILOT_SYSLOG_TLS_CERT and PILOT_SYSLOG_TLS_KEY go together (the other one is set)`);
  }
  const tls = { cert: readPem('PILOT_SYSLOG_TLS_CERT', certPath), key: readPem('PILOT_SYSLOG_TLS_KEY', keyPath) };
  try {
    createSecureContext(tls);
  } catch (err) {
    throw swError('SW_CONFIG_INVALID', `PILOT_SYSLOG_TLS_CERT, PILOT_SYSLOG_TLS_KEY: ${(err as Error).message}`, err);
  }
  return tls;
}

export async function startSyslogInput(config: Config, pipeline: SyslogPipeline, hostName: string, registry: Registry, log: Logger): Promise<SyslogInput | undefined> {
  const p = config.pilot;
  const listen = p.syslogListen;
  if (listen === null) return undefined;
  const tls = syslogTls(p);
  const receiver = await startSyslogReceiver({
    listen, ...(tls ? { tls } : {}), maxFrameBytes: p.maxLineBytes, udpSocketBufferBytes: p.syslogUdpSocketBufferBytes,
    pipeline, encoder: new SyslogRecordEncoder({ target: p.syslogTarget, hostName }), registry, log,
  });
  const where = `${listen.host}:${receiver.port}`;
  return { receiver, summary: `syslog ${receiver.udp ? `udp+tcp ${where}` : `tls ${where}`} (target ${p.syslogTarget})` };
}
