/**
 * The pilot's `elasticsearch` output: log-pilot's variables (ELASTICSEARCH_HOSTS, or HOST + PORT + SCHEME, USER,
 * PASSWORD, WORKER, BULK_MAX_SIZE, the `/run/secrets/es_credential` file) and Shipwatch's own for index rotation,
 * batching, the disk buffer and dead letters. Spread into the pilot section.
 */
import { Problem, parseBool, parseDurationMs, parseEnum, parseInteger, parseList, parseRetentionDays, parseSizeBytes, parseString, v } from './schema.js';

export const INDEX_ROTATIONS = ['daily', 'monthly', 'none', 'datastream'] as const;
export type IndexRotation = (typeof INDEX_ROTATIONS)[number];

/** `host`, `host:port` or `http(s)://host[:port][/path]` — filebeat (and so log-pilot) accepts all three. */
function parseEsHosts(raw: string): string[] | Problem {
  const hosts = parseList(raw);
  for (const h of hosts) {
    const withScheme = /^[a-z]+:\/\//i.test(h) ? h : `http://${h}`;
    try {
      const u = new URL(withScheme);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return new Problem(`"${h}" is not an http(s) address`);
    } catch {
      return new Problem(`"${h}" is not a host, host:port or URL`);
    }
  }
  return hosts;
}

export const pilotElasticsearch = {
  esHosts: v({
    name: 'ELASTICSEARCH_HOSTS', default: '',
    doc: 'Elasticsearch nodes for the elasticsearch output, comma list of host:port or URLs (wins over ELASTICSEARCH_HOST).',
    parse: parseEsHosts,
  }),
  esHost: v({ name: 'ELASTICSEARCH_HOST', default: '', doc: 'Elasticsearch host when ELASTICSEARCH_HOSTS is not set.', parse: parseString }),
  esPort: v({ name: 'ELASTICSEARCH_PORT', default: '9200', doc: 'Port of ELASTICSEARCH_HOST.', parse: parseInteger(1, 65535) }),
  esScheme: v({ name: 'ELASTICSEARCH_SCHEME', default: 'http', doc: 'http or https, for hosts written without a scheme.', parse: parseEnum(['http', 'https'] as const) }),
  esUser: v({ name: 'ELASTICSEARCH_USER', default: '', doc: 'Elasticsearch user (basic authentication).', parse: parseString }),
  esPassword: v({ name: 'ELASTICSEARCH_PASSWORD', default: '', doc: 'Elasticsearch password.', parse: parseString, secret: true }),
  esCredentialFile: v({
    name: 'ELASTICSEARCH_CREDENTIAL_FILE', default: '/run/secrets/es_credential',
    doc: 'A file holding user:password (a swarm/Kubernetes secret); when it exists it wins over USER/PASSWORD, as in log-pilot.',
    parse: parseString,
  }),
  esIndexRotation: v({
    name: 'ELASTICSEARCH_INDEX_ROTATION', default: 'daily',
    doc: 'Index per target: daily <target>-YYYY.MM.DD, monthly <target>-YYYY.MM, none <target>, datastream (the data stream logs-<target, - written _>-<ELASTICSEARCH_DATASTREAM_NAMESPACE>).',
    parse: parseEnum(INDEX_ROTATIONS),
  }),
  esDataStreamNamespace: v({
    name: 'ELASTICSEARCH_DATASTREAM_NAMESPACE', default: 'default',
    doc: 'The namespace part of the data streams logs-<dataset>-<namespace> (rotation datastream): lower case letters, digits and _, e.g. prod.',
    parse: (raw: string): string | Problem => (/^[a-z0-9_]{1,100}$/.test(raw.trim()) ? raw.trim() : new Problem(`"${raw}" is not a namespace (lower case letters, digits, _; no -)`)),
  }),
  esInstallTemplates: v({
    name: 'ELASTICSEARCH_INSTALL_TEMPLATES', default: 'true',
    doc: 'Install the index template of each target (or data stream) before its first document: true, or false where an operator manages templates.',
    parse: parseBool,
  }),
  esRetentionDays: v({
    name: 'ELASTICSEARCH_RETENTION_DAYS', default: '',
    doc: 'Delete log indices older than this many days (1-36500): the daily and monthly indices of every target with a Shipwatch template, checked every hour by Jaeger\'s es-index-cleaner rules; data streams get an ILM policy where the cluster has ILM. Unset: nothing is deleted.',
    parse: parseRetentionDays,
  }),
  esBatchMaxEvents: v({
    name: 'ELASTICSEARCH_BULK_MAX_SIZE', default: '1000', doc: 'Most records in one bulk request.', parse: parseInteger(1, 100_000),
  }),
  esBatchMaxBytes: v({ name: 'ELASTICSEARCH_BULK_MAX_BYTES', default: '5MiB', doc: 'Largest bulk request body.', parse: parseSizeBytes }),
  esFlushIntervalMs: v({
    name: 'ELASTICSEARCH_FLUSH_INTERVAL', default: '1s', doc: 'Longest a record waits for its batch to fill.', parse: parseDurationMs,
  }),
  esConcurrency: v({ name: 'ELASTICSEARCH_WORKER', default: '2', doc: 'Bulk requests in flight at once.', parse: parseInteger(1, 64) }),
  esRetryTimeoutMs: v({
    name: 'ELASTICSEARCH_RETRY_TIMEOUT', default: '',
    doc: 'Deprecated, ignored (a warning is logged once when set): every record waits in the disk buffer and is retried without a deadline.',
    parse: (raw: string): number | undefined | Problem => (raw.trim() === '' ? undefined : parseDurationMs(raw)),
  }),
  esBufferMaxBytes: v({
    name: 'ELASTICSEARCH_BUFFER_MAX_SIZE', default: '256MiB', doc: 'Disk budget of the output\'s buffer, where every record waits until Elasticsearch takes it.', parse: parseSizeBytes,
  }),
  esBufferWhenFull: v({
    name: 'ELASTICSEARCH_BUFFER_WHEN_FULL', default: 'block',
    doc: 'block (pause tailing until space frees) or drop (drop new records, counted).', parse: parseEnum(['block', 'drop'] as const),
  }),
};
