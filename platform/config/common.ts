import { Problem, parseDurationMs, parseEnum, parseListen, parseSizeBytes, parseString, v } from './schema.js';

/** Variables every program reads. */
export const common = {
  dataDir: v({ name: 'SHIPWATCH_DATA_DIR', default: './data', doc: 'Folder of the embedded store, positions and disk buffers.', parse: parseString }),
  logLevel: v({
    name: 'LOG_LEVEL', default: 'info', doc: "The program's own log level (its lines on standard error: LOG_FORMAT).",
    parse: parseEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  }),
  logFormat: v({
    name: 'LOG_FORMAT', default: 'auto', parse: parseEnum(['auto', 'json', 'pretty'] as const),
    doc: "How the program's own logs are written on standard error: json (one JSON object per line), pretty (one line per event for people: time, level, message, key=value fields) or auto (pretty when standard error is a terminal, else json).",
  }),
  noColor: v({
    name: 'NO_COLOR', default: '', parse: (raw: string) => raw !== '',
    doc: 'Set to anything: pretty log lines and the start banner are written without colour (no-color.org).',
  }),
  forceColor: v({
    name: 'FORCE_COLOR', default: '', defaultDoc: 'colour when standard error is a terminal', parse: parseForceColor,
    doc: 'Pretty log lines in colour: 1 or true even when standard error is not a terminal, 0 or false never; wins over NO_COLOR.',
  }),
  retentionMs: v({ name: 'SHIPWATCH_RETENTION', default: '7d', doc: 'How long the embedded store keeps logs, spans and metrics.', parse: parseDurationMs }),
  storeWalCapBytes: v({
    name: 'SHIPWATCH_STORE_WAL_CAP', default: '64MiB', parse: parseSizeBytes,
    doc: "The embedded store's WAL cap: past it, writes that come back to back wait (≈ 30 ms, at most ≈ 60 ms, between two transactions) for the checkpoint that lets the WAL start over; its file peaked at the cap + 13–24 MiB writing 1,000,000 spans in one loop.",
  }),
  dockerHost: v({
    name: 'DOCKER_HOST', default: '', defaultDoc: '/var/run/docker.sock',
    doc: 'Container engine endpoint: unix:///path/docker.sock or tcp://host:port.', parse: parseString,
  }),
  dockerCertPath: v({
    name: 'DOCKER_CERT_PATH', default: '',
    doc: 'With DOCKER_HOST=https://host:port: the folder of ca.pem, cert.pem and key.pem that identify this client to the engine (as for the docker CLI).', parse: parseString,
  }),
  hostName: v({
    name: 'SHIPWATCH_HOSTNAME', default: '', defaultDoc: "NODE_NAME, else the host's /etc/hostname under PILOT_HOST_ROOT, else the system host name",
    doc: 'The `host` field of records and tag of points.', parse: parseString,
  }),
  adminAuthToken: v({
    name: 'ADMIN_AUTH_TOKEN', default: '', secret: true, parse: parseString,
    doc: 'When set, every route of the admin ports (pilot, collector, query) but /health needs Authorization: Bearer <token>, /metrics included; line protocol pushes take COLLECTOR_AUTH_TOKEN instead. Empty: open.',
  }),
  shutdownTimeoutMs: v({ name: 'SHIPWATCH_SHUTDOWN_TIMEOUT', default: '10s', doc: 'On SIGTERM, how long flushing may take before exit.', parse: parseDurationMs }),
};

/** FORCE_COLOR as Node reads it: unset follows the terminal, 0/false never, 1/2/3/true always. */
function parseForceColor(raw: string): boolean | undefined | Problem {
  const t = raw.trim().toLowerCase();
  if (t === '') return undefined;
  if (t === '0' || t === 'false') return false;
  if (['1', '2', '3', 'true'].includes(t)) return true;
  return new Problem(`"${raw}" is not a colour choice (0 or false: never; 1, 2, 3 or true: always)`);
}

export { parseListen };
