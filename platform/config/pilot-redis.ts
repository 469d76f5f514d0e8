/**
 * The pilot's `redis` output: log-pilot's variables (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_DATATYPE,
 * REDIS_TIMEOUT, REDIS_WORKER, REDIS_BULK_MAX_SIZE: what its filebeat template passes to filebeat's redis output,
 * with filebeat's defaults), REDIS_URL as one address for all of them, and Shipwatch's own for the disk buffer.
 * Spread into the pilot section.
 */
import { Problem, parseDurationMs, parseEnum, parseInteger, parseSizeBytes, parseString, v } from './schema.js';

/** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS); '' when unset. */
export function parseRedisUrl(raw: string): string | Problem {
  const t = raw.trim();
  if (t === '') return '';
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return new Problem(`"${raw}" is not a URL (write redis://host:port or rediss://host:port)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return new Problem(`"${raw}" is not a redis:// or rediss:// URL`);
  if (u.hostname === '') return new Problem(`"${raw}" names no host`);
  if (u.port !== '' && Number(u.port) === 0) return new Problem(`"${raw}" has port 0`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,5}$/.test(db)) return new Problem(`"${raw}": the path is a database number (/0, /1, …), not "${u.pathname}"`);
  return t;
}

export const pilotRedis = {
  redisUrl: v({
    name: 'REDIS_URL', default: '',
    doc: 'Redis for the redis output as one URL, redis://[:password@]host[:port][/db] or rediss:// for TLS (wins over REDIS_HOST and REDIS_PORT; REDIS_PASSWORD applies when the URL has no password).',
    parse: parseRedisUrl,
  }),
  redisHost: v({ name: 'REDIS_HOST', default: '', doc: 'Redis host for the redis output when REDIS_URL is not set.', parse: parseString }),
  redisPort: v({ name: 'REDIS_PORT', default: '6379', doc: 'Port of REDIS_HOST.', parse: parseInteger(1, 65535) }),
  redisPassword: v({ name: 'REDIS_PASSWORD', default: '', doc: 'Redis password (AUTH).', parse: parseString, secret: true }),
  redisDataType: v({
    name: 'REDIS_DATATYPE', default: 'list',
    doc: 'list: each record is RPUSHed onto the list named by its target. channel (PUBLISH) is refused: Redis keeps nothing for a subscriber that is not there, so no acknowledgement could move the file positions.',
    parse: (raw: string) => {
      const t = parseEnum(['list', 'channel'] as const)(raw);
      if (t === 'channel') return new Problem('channel is not supported: a PUBLISH reaches only the subscribers listening then, so records would be lost while none is; use list');
      return t;
    },
  }),
  redisTimeoutMs: v({
    name: 'REDIS_TIMEOUT', default: '5s', doc: 'Connecting to Redis, or one batch of RPUSHes taking longer, is abandoned and tried again.',
    parse: (raw: string) => {
      const n = parseDurationMs(raw);
      return n instanceof Problem || (n >= 100 && n <= 600_000) ? n : new Problem('must be from 100ms to 10m');
    },
  }),
  redisConcurrency: v({ name: 'REDIS_WORKER', default: '1', doc: 'Batches sent to Redis at once (more than 1 may reorder a list after a failed batch).', parse: parseInteger(1, 16) }),
  redisBatchMaxEvents: v({ name: 'REDIS_BULK_MAX_SIZE', default: '2048', doc: 'Most records in one batch (one MULTI … EXEC round trip).', parse: parseInteger(1, 20_000) }),
  redisFlushIntervalMs: v({ name: 'REDIS_FLUSH_INTERVAL', default: '1s', doc: 'Longest a record waits for its Redis batch to fill.', parse: parseDurationMs }),
  redisBufferMaxBytes: v({
    name: 'REDIS_BUFFER_MAX_SIZE', default: '256MiB', doc: 'Disk budget of the redis output\'s buffer, where every record waits until Redis takes it.', parse: parseSizeBytes,
  }),
  redisBufferWhenFull: v({
    name: 'REDIS_BUFFER_WHEN_FULL', default: 'block',
    doc: 'block (pause tailing until space frees) or drop (drop new records, counted).', parse: parseEnum(['block', 'drop'] as const),
  }),
};
