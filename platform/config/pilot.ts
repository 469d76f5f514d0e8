import { pilotCri } from './pilot-cri.js';
import { pilotElasticsearch } from './pilot-elasticsearch.js';
import { pilotKafka } from './pilot-kafka.js';
import { pilotRedis } from './pilot-redis.js';
import { pilotRuntime } from './pilot-runtime.js';
import { pilotSyslog } from './pilot-syslog.js';
import { compileUserPattern } from '../user-pattern.js';
import { Problem, parseEnumList, parseInteger, parseListen, parseList, parseSizeBytes, parseString, v } from './schema.js';

export const LOG_OUTPUTS = ['elasticsearch', 'console', 'file', 'store', 'redis', 'kafka'] as const;
export type LogOutputName = (typeof LOG_OUTPUTS)[number];

export const pilot = {
  adminListen: v({ name: 'PILOT_ADMIN_LISTEN', default: ':14271', doc: 'Admin port of the pilot (/health, /metrics).', parse: parseListen }),
  logPrefixes: v({
    name: 'PILOT_LOG_PREFIX', default: 'aliyun', doc: 'Label prefixes declaring logs (<prefix>.logs.<name>), comma list.',
    parse: (raw: string) => {
      const list = parseList(raw);
      return list.length > 0 ? list : new Problem('at least one prefix is needed');
    },
  }),
  hostRoot: v({
    name: 'PILOT_HOST_ROOT', default: '', defaultDoc: '/host when it exists, else /',
    doc: "Where the host's root is mounted in the pilot's container.", parse: parseString,
  }),
  outputs: v({
    name: 'LOGGING_OUTPUT', aliases: ['FLUENTD_OUTPUT', 'FILEBEAT_OUTPUT'],
    default: (ctx) => (ctx.program === 'all' ? 'store' : 'console'), defaultDoc: 'console (store in `all`)',
    doc: 'Log outputs: elasticsearch, console, file, store, redis, kafka, or a comma list.',
    parse: (raw: string) => {
      const r = parseEnumList(LOG_OUTPUTS)(raw);
      if (!(r instanceof Problem) && r.length === 0) return new Problem('at least one output is needed');
      return r;
    },
  }),
  nodeName: v({ name: 'NODE_NAME', default: '', doc: 'Kubernetes node name, recorded as k8s_node_name.', parse: parseString }),
  maxLineBytes: v({
    name: 'PILOT_MAX_LINE_BYTES', default: '1MiB',
    doc: 'Longest log line kept whole; a longer one is cut there and marked "truncated": true.',
    parse: (raw: string) => {
      const n = parseSizeBytes(raw);
      return n instanceof Problem || (n >= 1024 && n <= 64 * 1024 * 1024) ? n : new Problem('must be from 1KiB to 64MiB');
    },
  }),
  jsonMaxKeys: v({
    name: 'PILOT_JSON_MAX_KEYS', default: '1000',
    doc: 'Most keys a json line may hold, counted at every depth (Elasticsearch refuses a document past its index.mapping.total_fields.limit, 1000 by default); a line with more is shipped whole in message, its parse_error naming this limit.',
    parse: parseInteger(1, 100_000),
  }),
  jsonMaxDepth: v({
    name: 'PILOT_JSON_MAX_DEPTH', default: '20',
    doc: "Deepest nesting of a json line: its object is level 1, each object or array inside one more (Elasticsearch's index.mapping.depth.limit is 20); a deeper line is shipped whole in message, its parse_error naming this limit.",
    parse: parseInteger(1, 1000),
  }),
  tracePattern: v({
    name: 'PILOT_TRACE_ID_PATTERN', default: '', defaultDoc: 'traceparent=…, trace_id=… or traceId: … (and span_id=… after it)',
    doc: 'Regular expression that finds the trace a log line belongs to in its text, for lines whose fields name none (traceparent, trace_id, traceId, trace.id, dd.trace_id…): a named group "trace" (16 or 32 hex digits) and optionally "span" (16). The ids go into the record as trace_id and span_id. "off": from fields only.',
    parse: (raw: string) => {
      if (raw === '' || raw === 'off') return raw;
      const compiled = compileUserPattern(raw);
      if (typeof compiled === 'string') return new Problem(compiled);
      return raw.includes('(?<trace>') ? raw : new Problem('the pattern needs a named group "trace", e.g. trace=(?<trace>[0-9a-f]{32})');
    },
  }),
  ...pilotElasticsearch,
  ...pilotRedis,
  ...pilotKafka,
  ...pilotRuntime,
  ...pilotSyslog,
  ...pilotCri,
};
