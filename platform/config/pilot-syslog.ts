/**
 * The pilot's syslog receiver variables (off unless PILOT_SYSLOG_LISTEN is set). Spread into the pilot section.
 * The certificate and key go together; that, and that their files read, is checked when the receiver starts.
 */
import { Problem, parseListen, parseSizeBytes, parseString, v } from './schema.js';

/** An index base name, as a declaration's `target` (pilot/log-declarations.ts holds containers to the same rule). */
const TARGET_RE = /^[a-z0-9][^\\/*?"<>|,#:\s]*$/;

export const pilotSyslog = {
  syslogListen: v({
    name: 'PILOT_SYSLOG_LISTEN', default: '', defaultDoc: 'off',
    doc: 'host:port where the pilot receives syslog (RFC 3164 and RFC 5424) on UDP and TCP, one port for both (e.g. :5514; Docker\'s --log-driver syslog sends there); unset: no receiver.',
    parse: (raw: string) => (raw.trim() === '' ? null : parseListen(raw)),
  }),
  syslogTlsCert: v({
    name: 'PILOT_SYSLOG_TLS_CERT', default: '',
    doc: 'PEM certificate (chain) file: with PILOT_SYSLOG_TLS_KEY the syslog TCP port speaks TLS only (RFC 5425) and no UDP socket is opened.',
    parse: parseString,
  }),
  syslogTlsKey: v({ name: 'PILOT_SYSLOG_TLS_KEY', default: '', doc: 'PEM private key file of PILOT_SYSLOG_TLS_CERT.', parse: parseString }),
  syslogTarget: v({
    name: 'PILOT_SYSLOG_TARGET', default: 'syslog', doc: 'The target (index base name) of syslog records.',
    parse: (raw: string) => {
      const t = raw.trim();
      return TARGET_RE.test(t) && t.length <= 200 ? t : new Problem(`"${raw}" is not a valid index name (lower case letters, digits, "-", "_", "."; at most 200)`);
    },
  }),
  syslogUdpSocketBufferBytes: v({
    name: 'PILOT_SYSLOG_UDP_SOCKET_BUFFER', default: '4MiB', parse: parseSizeBytes,
    doc: 'Receive buffer of the syslog UDP socket: absorbs bursts (Docker\'s driver sends one datagram per line), capped by the kernel\'s net.core.rmem_max; 0 keeps the system default.',
  }),
};
