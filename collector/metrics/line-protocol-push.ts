/**
 * Line protocol pushed to the collector's admin port, answered as InfluxDB answers (Telegraf's `influxdb` and
 * `influxdb_v2` outputs, and InfluxDB client libraries, work against it unchanged):
 *
 * - `POST /api/v2/write?bucket=&org=&precision=ns|us|ms|s` — InfluxDB 2.x. A body with any bad line is refused
 *   whole (InfluxDB 2.x parses the batch before writing and writes nothing when it fails): 400
 *   `{"code":"invalid","message":"unable to parse '<line>': <reason> (line N)","line":N}`. An empty body is 400
 *   "writing requires points"; no bucket is 404 "bucket not found"; a bad precision 400.
 * - `POST /write?db=&precision=n|ns|u|us|ms|s|m|h` — InfluxDB 1.x. Partial writes as 1.x does them: the good
 *   lines are kept, and the answer is 400 `{"error":"partial write: unable to parse '<line>': <reason> (line N)
 *   dropped=K","line":N}` (without "partial write" when no line was good). An empty body is 204; no `db` is 400.
 * - `Content-Encoding: gzip` bodies are inflated; bad gzip is 400. A body larger than `maxBodyBytes`, compressed
 *   or once inflated, is 413 (`{"code":"request too large",…}` / `{"error":"Request Entity Too Large"}`).
 * - 204 on success. Lines without a timestamp get the time of the request.
 * - With COLLECTOR_AUTH_TOKEN set, a push without it is 401 (SW_UNAUTHORIZED), before its body is read. The token
 *   is taken as `Authorization: Bearer` or `Token` (InfluxDB 2), Basic auth's password or `?p=` (InfluxDB 1.x).
 * - A line over one of the limits (`limits`: fields per line, bytes of a tag value, a string field, a series key)
 *   and a point of a new series a sink refuses (`admit`: the store's series per measurement) are dropped alone, in
 *   both APIs, as InfluxDB drops points it will not store: the other lines are kept and the answer is 400 with
 *   "partial write: <first reason, naming the limit and its variable> dropped=K" (without "partial write" when
 *   nothing was kept), counted in `shipwatch_line_protocol_refused_total{reason}`.
 *
 * - While an output is full and blocks (INFLUXDB_BUFFER_WHEN_FULL=block), a push is answered 503 with Retry-After
 *   before its body is parsed; a 204 is sent only once the outputs hold the points (`settled`: a durable queue's
 *   are on disk) within 4 s, else 503 too. A client that sends again after a 503 does no harm: a point with the same series and
 *   timestamp overwrites itself.
 *
 * A large body never holds the event loop for long: it is parsed in slices and its points handed over in chunks,
 * with a turn of the loop between them. The points go to `onPoints` (the metric outputs), which must not block.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Logger } from '../../platform/log.js';
import type { MetricPoint, PointRefusal } from '../../model/metric-point.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import { parseLineProtocolSliced, type LimitName, type LineFailure, type LineLimits } from './line-protocol-parser.js';
import type { Precision } from './line-protocol-precision.js';
import { nextTurn } from '../../platform/turns.js';

export interface PushContext {
  api: 'v1' | 'v2';
  /** v1 `db`, v2 `bucket`. */
  database: string;
  /** v2 `org` (may be empty). */
  org: string;
}

export interface LineProtocolPushOptions {
  /** Largest body, compressed and once inflated. */
  maxBodyBytes: number;
  onPoints: (points: MetricPoint[], context: PushContext) => void;
  /** Which points the outputs would refuse (MetricSink.admit); those are dropped and answered as a partial write. */
  admit?: (points: readonly MetricPoint[]) => readonly PointRefusal[];
  /** True while an output is out of room and blocks: the push is answered 503 with Retry-After. */
  full?: () => boolean;
  /** Resolves once the outputs hold every point handed over (false when some could not be kept). */
  settled?: () => Promise<boolean>;
  /** Limits of one line; default the parser's (DEFAULT_LINE_LIMITS). */
  limits?: Readonly<LineLimits>;
  log: Logger;
  registry: Registry;
}

const inflate = promisify(gunzip);

const V1_PRECISIONS: Record<string, Precision> = { n: 'ns', ns: 'ns', u: 'us', us: 'us', µ: 'us', ms: 'ms', s: 's', m: 'm', h: 'h' };
const V2_PRECISIONS: Record<string, Precision> = { ns: 'ns', us: 'us', ms: 'ms', s: 's' };

type Answer = { status: number; body?: Record<string, unknown>; retryAfterS?: number };

/** Retry-After of a push refused while an output is full: about the time a target that is back takes a few batches. */
const FULL_RETRY_AFTER_S = 5;
/**
 * Longest a push waits for the outputs to keep its points (an append that found the queue full waits for space);
 * past it the answer is 503 and the client sends again (a point kept twice overwrites itself). InfluxDB clients
 * give up on a write after 5–10 s.
 */
const SETTLE_TIMEOUT_MS = 4_000;

/** The variable that sets each limit, named in the answer so that whoever reads it knows what to raise. */
const LIMIT_VARIABLES: Readonly<Record<LimitName, string>> = {
  fields_per_line: 'COLLECTOR_WRITE_MAX_FIELDS',
  tag_value_bytes: 'COLLECTOR_WRITE_MAX_TAG_VALUE',
  field_value_bytes: 'COLLECTOR_WRITE_MAX_STRING_FIELD',
  series_key_bytes: 'COLLECTOR_WRITE_MAX_SERIES_KEY',
};

/**
 * Points handed to `onPoints` (and `admit`) at a time, with a turn of the event loop between chunks past SLICE_MS.
 * The outputs take them synchronously: 5,000 Telegraf lines cost the Prometheus series 40–60 ms.
 */
const CHUNK_POINTS = 1_000;
/** Longest run of parsing or handing over before other requests get their turn. */
const SLICE_MS = 10;

/** Registers both write routes, in their own context so that every content type reaches them as bytes. */
export async function registerLineProtocolPush(app: FastifyInstance, options: LineProtocolPushOptions): Promise<void> {
  const requests = counter(options.registry, {
    name: 'shipwatch_line_protocol_requests_total', help: 'Line protocol pushes, by API and answer status.', labelNames: ['api', 'status'] as const,
  });
  const received = counter(options.registry, { name: 'shipwatch_line_protocol_points_total', help: 'Points taken from line protocol pushes.', labelNames: ['api'] as const });
  const badLines = counter(options.registry, { name: 'shipwatch_line_protocol_bad_lines_total', help: 'Pushed lines that did not parse.', labelNames: ['api'] as const });
  const refused = counter(options.registry, {
    name: 'shipwatch_line_protocol_refused_total',
    help: 'Pushed points refused for a limit (fields_per_line, tag_value_bytes, field_value_bytes, series_key_bytes, or a sink\'s, e.g. series_per_measurement).',
    labelNames: ['api', 'reason'] as const,
  });

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxBodyBytes }, (_req, body, done) => done(null, body));
    // Fastify's own body-limit and parser errors, in each API's shape.
    scope.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const api = req.url.startsWith('/api/v2/') ? 'v2' : 'v1';
      const status = err.statusCode === 413 ? 413 : err.statusCode !== undefined && err.statusCode < 500 ? err.statusCode : 500;
      if (status >= 500) options.log.error('line protocol push failed', { err });
      const answer = status === 413 ? tooLarge(api) : api === 'v2' ? { status, body: { code: 'invalid', message: err.message } } : { status, body: { error: err.message } };
      requests.inc({ api, status: String(answer.status) });
      void reply.status(answer.status).send(answer.body);
    });

    const handle = async (api: 'v1' | 'v2', req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const answer = await write(api, req);
      requests.inc({ api, status: String(answer.status) });
      if (answer.retryAfterS !== undefined) void reply.header('retry-after', String(answer.retryAfterS));
      if (answer.body === undefined) await reply.status(answer.status).send();
      else await reply.status(answer.status).send(answer.body);
    };

    const write = async (api: 'v1' | 'v2', req: FastifyRequest): Promise<Answer> => {
      const query = req.query as Record<string, string | undefined>;
      const precisionRaw = query.precision ?? 'ns';
      const precision = (api === 'v2' ? V2_PRECISIONS : V1_PRECISIONS)[precisionRaw];
      if (precision === undefined) {
        return api === 'v2'
          ? { status: 400, body: { code: 'invalid', message: 'invalid precision; valid precision units are ns, us, ms, and s' } }
          : { status: 400, body: { error: `invalid precision ${JSON.stringify(precisionRaw)}; valid precisions are n, ns, u, us, ms, s, m and h` } };
      }
      const database = (api === 'v2' ? query.bucket : query.db) ?? '';
      if (database === '') {
        return api === 'v2' ? { status: 404, body: { code: 'not found', message: 'bucket not found' } } : { status: 400, body: { error: 'database is required' } };
      }
      if (options.full?.() === true) return unavailable(api, 'the metric outputs are full: their targets are out of reach or slow; send again later');
      const body = await readBody(api, req, options.maxBodyBytes);
      if (!Buffer.isBuffer(body)) return body;
      if (body.length === 0) {
        return api === 'v2' ? { status: 400, body: { code: 'invalid', message: 'writing requires points' } } : { status: 204 };
      }
      const result = await parseLineProtocolSliced(body, { precision, limits: options.limits }, SLICE_MS);
      const context: PushContext = { api, database, org: query.org ?? '' };
      let syntax = 0;
      for (const f of result.failures) {
        if (f.limit === undefined) syntax++;
        else refused.inc({ api, reason: f.limit });
      }
      if (syntax > 0) badLines.inc({ api }, syntax);
      // InfluxDB 2.x writes nothing of a body that does not parse; a line over a limit is only dropped.
      if (api === 'v2' && syntax > 0) return { status: 400, body: { code: 'invalid', message: describeFailure(result.failures), line: result.failures[0]!.line } };
      const { kept, refusals } = await handOver(result.points, context);
      if (kept > 0 && options.settled !== undefined && !(await settledWithin(options.settled, SETTLE_TIMEOUT_MS))) {
        return unavailable(api, 'the metric outputs could not keep every point (full or failing); send again later');
      }
      if (kept > 0) received.inc({ api }, kept);
      for (const r of refusals) refused.inc({ api, reason: r.reason });
      const dropped = result.failures.length + refusals.length;
      if (dropped === 0) return { status: 204 };
      const first = result.failures.length > 0 ? describeFailure(result.failures) : refusals[0]!.message;
      const message = kept === 0 ? first : `partial write: ${first} dropped=${dropped}`;
      const line = result.failures[0]?.line;
      const where = line === undefined ? {} : { line };
      return api === 'v2' ? { status: 400, body: { code: 'invalid', message, ...where } } : { status: 400, body: { error: message, ...where } };
    };

    /** The points to `onPoints` in chunks, less those `admit` refuses; a turn of the event loop when a run is long. */
    const handOver = async (points: MetricPoint[], context: PushContext): Promise<{ kept: number; refusals: PointRefusal[] }> => {
      const refusals: PointRefusal[] = [];
      let kept = 0;
      let sliceStart = performance.now();
      for (let from = 0; from < points.length; from += CHUNK_POINTS) {
        let chunk = points.length <= CHUNK_POINTS ? points : points.slice(from, from + CHUNK_POINTS);
        const refusing = options.admit?.(chunk) ?? [];
        if (refusing.length > 0) {
          const out = new Set<number>();
          for (const r of refusing) {
            if (out.has(r.index)) continue;
            out.add(r.index);
            refusals.push(r);
          }
          chunk = chunk.filter((_, i) => !out.has(i));
        }
        if (chunk.length > 0) options.onPoints(chunk, context);
        kept += chunk.length;
        if (performance.now() - sliceStart >= SLICE_MS) {
          await nextTurn();
          sliceStart = performance.now();
        }
      }
      return { kept, refusals };
    };

    // Pushed data: behind COLLECTOR_AUTH_TOKEN (not the admin port's token), sent the ways InfluxDB clients send it.
    const config = { access: 'ingest', influxCredentials: true } as const;
    scope.post('/api/v2/write', { config }, (req, reply) => handle('v2', req, reply));
    scope.post('/write', { config }, (req, reply) => handle('v1', req, reply));
  });
}

/** The body as bytes, inflated when gzip; or the answer that refuses it. */
async function readBody(api: 'v1' | 'v2', req: FastifyRequest, maxBodyBytes: number): Promise<Buffer | Answer> {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return raw;
  if (encoding !== 'gzip') {
    const message = `unsupported Content-Encoding ${JSON.stringify(encoding)}; send identity or gzip`;
    return api === 'v2' ? { status: 415, body: { code: 'unsupported media type', message } } : { status: 415, body: { error: message } };
  }
  try {
    return await inflate(raw, { maxOutputLength: maxBodyBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(api);
    const message = `unable to read data: gzip: ${(err as Error).message}`;
    return api === 'v2' ? { status: 400, body: { code: 'invalid', message } } : { status: 400, body: { error: message } };
  }
}

/** Whether `settled` says the points are kept within `timeoutMs` (false past it). */
async function settledWithin(settled: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([settled(), late]);
  } finally {
    clearTimeout(timer);
  }
}

function unavailable(api: 'v1' | 'v2', message: string): Answer {
  return api === 'v2'
    ? { status: 503, body: { code: 'unavailable', message }, retryAfterS: FULL_RETRY_AFTER_S }
    : { status: 503, body: { error: message }, retryAfterS: FULL_RETRY_AFTER_S };
}

function tooLarge(api: 'v1' | 'v2'): Answer {
  return api === 'v2'
    ? { status: 413, body: { code: 'request too large', message: 'unable to read data: points batch is too large' } }
    : { status: 413, body: { error: 'Request Entity Too Large' } };
}

/** InfluxDB's wording for the first bad line, with its number (and how many more there are). */
function describeFailure(failures: LineFailure[]): string {
  const f = failures[0]!;
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more bad line${failures.length > 2 ? 's' : ''})` : '';
  const reason = f.limit === undefined ? f.reason : `${f.reason} (${LIMIT_VARIABLES[f.limit]})`;
  return `unable to parse '${f.text}': ${reason} (line ${f.line}, column ${f.column})${more}`;
}
