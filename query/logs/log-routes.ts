/**
 * The log API (the README's "Traces (collector) and the query API"):
 * - `GET /api/logs`: search, newest first, in the v1 envelope (`data` the records, `total` every match, `limit`,
 *   `offset`). Filters: `container` (name or id), `app`, `service`, `target`, `traceId` / `spanId` (the trace and
 *   span a record names: 16 or 32 hex digits), `start` / `end` (ms since the epoch or RFC 3339), `q` (full text: every word must occur; `word*` a prefix; "a phrase"), `limit`, `offset`.
 * - `GET /api/logs/tail`: the same filters as server-sent events, one `data:` record per event with its `id:`, from
 *   now on (or after `Last-Event-ID` when the client reconnects).
 * - `GET /api/logs/histogram`: how many records match per time bucket, the same filters as `/api/logs` (`limit` and
 *   `offset` ignored), `buckets` about how many (default 60, 1 to 500): `data` is `{startMs, intervalMs, counts}`
 *   (bucket i from startMs + i·intervalMs), `total` the counts' sum, which is the search's total.
 * - `GET /api/logs/download`: the search's records as newline-delimited JSON, newest first, at most
 *   100 × QUERY_MAX_LOGS.
 * The records are sent as stored, never parsed and re-serialised.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import type { LogQuery, LogReader } from '../../storage/log-search.js';
import { MAX_HISTOGRAM_BUCKETS } from '../../storage/log-histogram.js';
import type { Logger } from '../../platform/log.js';
import { normalizeSpanId, normalizeTraceId } from '../../model/trace-ids.js';
import { firstValue, sendV1Error } from '../jaeger/envelope.js';
import { parseGoInt, parseRfc3339Micros, type Parsed } from '../jaeger/go-params.js';

export interface LogRouteOptions {
  reader: LogReader;
  maxLogs: number;
  /** How often a live tail looks for new records. */
  tailIntervalMs?: number;
  /** Comment line sent to keep idle tails open through proxies. */
  heartbeatMs?: number;
  log: Logger;
}

const DEFAULT_LIMIT = 100;
const DEFAULT_BUCKETS = 60;
const DOWNLOAD_CHUNK = 1000;
/** A tail cursor a reader may have made (storage/log-search.ts); the reader itself judges it. */
const CURSOR = /^[\w.-]{1,8192}$/;

function timeMs(q: unknown, name: string): Parsed<number | undefined> {
  const raw = firstValue(q, name);
  if (raw === '') return { value: undefined };
  if (/^\d+$/.test(raw)) return { value: Number(raw) };
  const t = parseRfc3339Micros(raw);
  return 'error' in t ? { error: `unable to parse param '${name}': expecting ms since the epoch or an RFC 3339 time` } : { value: Math.floor(t.value / 1000) };
}

function count(q: unknown, name: string, fallback: number, max: number): Parsed<number> {
  const raw = firstValue(q, name);
  if (raw === '') return { value: fallback };
  const n = parseGoInt(raw, 32);
  if ('error' in n) return { error: `unable to parse param '${name}': ${n.error}` };
  if (n.value < 0) return { error: `unable to parse param '${name}': must not be negative` };
  return { value: Math.min(n.value, max) };
}

export function parseLogQuery(q: unknown, maxLogs: number): Parsed<LogQuery> {
  const start = timeMs(q, 'start');
  if ('error' in start) return start;
  const end = timeMs(q, 'end');
  if ('error' in end) return end;
  if (start.value !== undefined && end.value !== undefined && start.value > end.value) return { error: "'start' should not be after 'end'" };
  const limit = count(q, 'limit', DEFAULT_LIMIT, maxLogs);
  if ('error' in limit) return limit;
  const offset = count(q, 'offset', 0, Number.MAX_SAFE_INTEGER);
  if ('error' in offset) return offset;
  const text = firstValue(q, 'q');
  const trace = firstValue(q, 'traceId');
  const traceId = trace === '' ? undefined : normalizeTraceId(trace);
  if (trace !== '' && traceId === undefined) return { error: "unable to parse param 'traceId': expecting 16 or 32 hex digits, not all zero" };
  const span = firstValue(q, 'spanId');
  const spanId = span === '' ? undefined : normalizeSpanId(span);
  if (span !== '' && spanId === undefined) return { error: "unable to parse param 'spanId': expecting 16 hex digits, not all zero" };
  return {
    value: {
      container: firstValue(q, 'container') || undefined,
      app: firstValue(q, 'app') || undefined,
      service: firstValue(q, 'service') || undefined,
      target: firstValue(q, 'target') || undefined,
      traceId,
      spanId,
      startMs: start.value,
      endMs: end.value,
      text: text || undefined,
      limit: limit.value,
      offset: offset.value,
    },
  };
}

export function registerLogRoutes(app: FastifyInstance, options: LogRouteOptions): void {
  const { reader } = options;
  const tails = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of tails) end();
  });

  app.get('/api/logs', async (req, reply) => {
    const parsed = parseLogQuery(req.query, options.maxLogs);
    if ('error' in parsed) return sendV1Error(reply, 400, parsed.error);
    const q = parsed.value;
    const [hits, total] = [await reader.search(q), await reader.count(q)];
    const body = `{"data":[${hits.map((h) => h.json).join(',')}],"total":${total},"limit":${q.limit},"offset":${q.offset ?? 0},"errors":null}`;
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.get('/api/logs/histogram', async (req, reply) => {
    const parsed = parseLogQuery(req.query, options.maxLogs);
    if ('error' in parsed) return sendV1Error(reply, 400, parsed.error);
    const buckets = count(req.query, 'buckets', DEFAULT_BUCKETS, MAX_HISTOGRAM_BUCKETS);
    if ('error' in buckets) return sendV1Error(reply, 400, buckets.error);
    if (buckets.value < 1) return sendV1Error(reply, 400, "unable to parse param 'buckets': must be at least 1");
    const { limit, offset, ...q } = parsed.value;
    const histogram = await reader.histogram(q, buckets.value);
    const total = histogram.counts.reduce((a, b) => a + b, 0);
    return reply.type('application/json; charset=utf-8').send({ data: histogram, total, errors: null });
  });

  app.get('/api/logs/download', async (req, reply) => {
    const parsed = parseLogQuery(req.query, options.maxLogs);
    if ('error' in parsed) return sendV1Error(reply, 400, parsed.error);
    const q = parsed.value;
    const max = options.maxLogs * 100;
    async function* lines(): AsyncGenerator<string> {
      if (reader.scan) {
        for await (const hits of reader.scan(q, max)) if (hits.length > 0) yield hits.map((h) => h.json).join('\n') + '\n';
        return;
      }
      let sent = 0;
      while (sent < max) {
        const hits = await reader.search({ ...q, offset: (q.offset ?? 0) + sent, limit: Math.min(DOWNLOAD_CHUNK, max - sent) });
        if (hits.length === 0) return;
        yield hits.map((h) => h.json).join('\n') + '\n';
        sent += hits.length;
      }
    }
    return reply
      .type('application/x-ndjson')
      .header('content-disposition', 'attachment; filename="logs.ndjson"')
      .send(Readable.from(lines()));
  });

  app.get('/api/logs/tail', async (req, reply) => {
    const parsed = parseLogQuery(req.query, options.maxLogs);
    if ('error' in parsed) return sendV1Error(reply, 400, parsed.error);
    const q = { ...parsed.value, offset: undefined };
    const lastEventId = req.headers['last-event-id'];
    let cursor = typeof lastEventId === 'string' && CURSOR.test(lastEventId) ? lastEventId : (await reader.readAfter(q, undefined)).cursor;
    startStream(reply, options, tails, async (write) => {
      const next = await reader.readAfter(q, cursor);
      for (const hit of next.hits) write(`id: ${hit.cursor}\ndata: ${hit.json}\n\n`);
      cursor = next.cursor;
    });
  });
}

/** Hijacks the reply into an event stream polled by `poll` until the client leaves or the server closes. */
function startStream(
  reply: FastifyReply,
  options: LogRouteOptions,
  tails: Set<() => void>,
  poll: (write: (chunk: string) => void) => Promise<void>,
): void {
  reply.hijack();
  const res = reply.raw;
  const headers: Record<string, string> = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' };
  for (const [k, v] of Object.entries(reply.getHeaders())) if (typeof v === 'string') headers[k] = v;
  res.writeHead(200, headers);
  // A HEAD has its headers and no stream: Node sends a HEAD's headers only when it ends, so leaving it open hung it.
  if (reply.request.method === 'HEAD') {
    res.end();
    return;
  }
  res.write(': tailing\n\n');
  let busy = false;
  let lastWriteMs = Date.now();
  const write = (chunk: string): void => {
    res.write(chunk);
    lastWriteMs = Date.now();
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    poll(write)
      .then(() => {
        if (Date.now() - lastWriteMs >= (options.heartbeatMs ?? 15_000)) write(': keep-alive\n\n');
      })
      .catch((err: unknown) => {
        options.log.warn('log tail read failed', { err });
        end();
      })
      .finally(() => {
        busy = false;
      });
  }, options.tailIntervalMs ?? 1000);
  timer.unref();
  const end = (): void => {
    clearInterval(timer);
    tails.delete(end);
    if (!res.writableEnded) res.end();
  };
  tails.add(end);
  res.on('close', end);
}
