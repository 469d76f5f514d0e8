import { Problem, parseDurationMs, parseEnumList, parseInteger, parseRetentionDays, parseString, parseUrlList, v } from './schema.js';

/** Span storage, shared by the collector (writes) and query (reads). */
export const spanStorage = {
  types: v({
    name: 'SPAN_STORAGE_TYPE', default: 'store', doc: 'Span storage: store, elasticsearch, or both (comma list).',
    parse: (raw: string) => {
      const r = parseEnumList(['store', 'elasticsearch'] as const)(raw);
      if (!(r instanceof Problem) && r.length === 0) return new Problem('at least one storage is needed');
      return r;
    },
  }),
  esServerUrls: v({ name: 'ES_SERVER_URLS', default: 'http://127.0.0.1:9200', doc: 'Elasticsearch URLs (comma list) for spans.', parse: parseUrlList }),
  esIndexPrefix: v({ name: 'ES_INDEX_PREFIX', default: '', doc: 'Prefix of the Jaeger indices: <prefix>-jaeger-span-YYYY-MM-DD.', parse: parseString }),
  esUsername: v({ name: 'ES_USERNAME', default: '', doc: 'Elasticsearch user for spans.', parse: parseString }),
  esPassword: v({ name: 'ES_PASSWORD', default: '', doc: 'Elasticsearch password for spans.', parse: parseString, secret: true }),
  esNumShards: v({ name: 'ES_NUM_SHARDS', default: '5', doc: 'Primary shards of each Jaeger index (as Jaeger).', parse: parseInteger(1, 1024) }),
  esNumReplicas: v({ name: 'ES_NUM_REPLICAS', default: '1', doc: 'Replicas of each Jaeger index (as Jaeger).', parse: parseInteger(0, 64) }),
  esRetentionDays: v({
    name: 'ES_RETENTION_DAYS', default: '',
    doc: 'The collector deletes Jaeger span and service indices created more than this many days ago (1-36500), every hour, by the rules of Jaeger\'s es-index-cleaner. Unset: nothing is deleted.',
    parse: parseRetentionDays,
  }),
  esTimeoutMs: v({
    name: 'ES_TIMEOUT', default: '30s',
    doc: 'One Elasticsearch request (span writes, span and log reads) taking longer is abandoned: a write is tried again, a read answers 503.',
    parse: parseDurationMs,
  }),
  esRetryMaxDelayMs: v({
    name: 'ES_RETRY_MAX_DELAY', default: '30s',
    doc: 'Longest wait between two tries of a span write or of the index template install while Elasticsearch is down or busy (jittered backoff from 500 ms; a longer Retry-After wins). Spans are retried without a deadline.',
    parse: parseDurationMs,
  }),
};
