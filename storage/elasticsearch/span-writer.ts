/**
 * Spans into Elasticsearch in Jaeger's schema (`SPAN_STORAGE_TYPE` in the README): each span a document of
 * `[prefix-]jaeger-span-YYYY-MM-DD` (./jaeger-dbmodel.ts), each service/operation pair a document of
 * `[prefix-]jaeger-service-YYYY-MM-DD`, the dates those of the span's start (UTC). The index templates are installed
 * once Elasticsearch answers — in the background from `start()`, tried again with backoff for as long as it takes, and
 * always before the first span is written — and the span indices that already exist get Shipwatch's added fields mapped
 * (scope and link attributes, jaeger-indices.ts) so spans written to them from now on are searchable by those too. So
 * the collector starts while Elasticsearch is down: its receivers fill the bounded span queue, which then pushes back
 * (503, counted UDP drops).
 *
 * Ids are deterministic, so a retried or replayed span, or the same span sent twice, overwrites instead of
 * duplicating: a span's `_id` is `traceID_spanID_<the first 16 hex digits of the SHA-1 of its document>` (Jaeger
 * lets Elasticsearch make span ids; its readers ignore them). Each service/operation pair gets Jaeger's document
 * ({serviceName, operationName} under Jaeger's id, the fnv-1a 64 of service and operation), and, when the span has
 * a kind, Shipwatch's beside it ({serviceName, operationName, spanKind}, hashed with a NUL before the kind so no
 * Jaeger id is taken): Jaeger reads the pairs as its own, Shipwatch lists operations by kind. Service documents
 * already written are remembered (per index) and not sent again.
 *
 * A batch is sent through the one retry helper without a deadline: 429 / 5xx items and whole-request failures
 * (unreachable, timed out, 429 / 5xx honouring Retry-After, 401 / 403 until the credentials are mended) are tried
 * again, only the documents still pending, until each is stored or refused. Spans accepted by the receivers are not
 * dropped for an outage, however long; the bound is the span queue's. Spans Elasticsearch refuses for their content
 * (any other 4xx, for a document or the whole request) are logged and returned as failed, once; a span that a later
 * attempt stores is never counted failed (a request that timed out may have been stored all the same: the next
 * attempt overwrites it by its id). Only `abandon()` (shutdown past its deadline) gives spans up, counted too.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Counter } from 'prom-client';
import { swError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { chunkSpans, spanKindOf, type Span, type SpanChunk } from '../../model/span.js';
import { retry, retryCounters, type RetryCounters, type RetryPolicy, type RetryVerdict } from '../../delivery/retry.js';
import { Sender } from '../../delivery/sender.js';
import type { DeliverySink, SendOutcome } from '../../delivery/sink.js';
import { BufferPool } from '../../platform/byte-writer.js';
import { counter, type Registry } from '../../platform/self-metrics.js';
import type { SpanWriter, SpanWriteResult } from '../span-storage.js';
import { classifyBulkItems, classifyRequestError, requestErrorStatus } from './bulk-response.js';
import type { DbService } from './jaeger-dbmodel.js';
import { indexDate, jaegerIndexNames, jaegerIndexTemplates, spanMappingAdditions, type JaegerIndexNames } from './jaeger-indices.js';
import { withDeadline } from './request-deadline.js';
import { esProblem } from './request-failure.js';
import { BulkBytes, SpanDocWriter } from './span-doc-bytes.js';

/**
 * FNV-1a 64 of the UTF-8 bytes, as Go's `strconv.FormatUint(h, 16)` prints it: Jaeger's id of a service document
 * (hashed once per service and operation: not on a span's path). Computed on four 16-bit limbs in small integers:
 * multiplying by the prime 2^40 + 0x1b3 is a small product per limb plus a shift of the low two into the high two.
 */
export function fnv1a64Hex(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let v0 = 0x2325;
  let v1 = 0x8422;
  let v2 = 0x9ce4;
  let v3 = 0xcbf2;
  for (let i = 0; i < bytes.length; i++) {
    v0 ^= bytes[i]!;
    const t0 = Math.imul(v0, 0x1b3);
    const t1 = Math.imul(v1, 0x1b3) + (t0 >>> 16);
    const t2 = Math.imul(v2, 0x1b3) + (v0 << 8) + (t1 >>> 16);
    v3 = (Math.imul(v3, 0x1b3) + (v1 << 8) + (t2 >>> 16)) & 0xffff;
    v0 = t0 & 0xffff;
    v1 = t1 & 0xffff;
    v2 = t2 & 0xffff;
  }
  return hex64(v0, v1, v2, v3);
}

function hex64(v0: number, v1: number, v2: number, v3: number): string {
  const hi = ((v3 << 16) | v2) >>> 0;
  const lo = ((v1 << 16) | v0) >>> 0;
  return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0');
}

/** `promise`, or false as soon as `signal` aborts (the chain stops while the templates still wait for Elasticsearch). */
function untilAborted(promise: Promise<boolean>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    });
  });
}

export interface EsSpanWriterOptions {
  client: Client;
  indexPrefix: string;
  shards: number;
  replicas: number;
  registry: Registry;
  log: Logger;
  /** Backoff between tries; there is no deadline (`maxElapsedMs` is not taken). */
  retryPolicy?: Partial<Omit<RetryPolicy, 'maxElapsedMs'>>;
  /** Most documents in one bulk request. */
  maxBatchDocs?: number;
  /** ES_TIMEOUT: a request unanswered this long (plus a margin) is abandoned and tried again (default 30 s). */
  requestTimeoutMs?: number;
}

class PendingSpanItems extends Error {}

/**
 * Whole-request failures worth another try. Beyond the transient ones, 401 and 403: refused credentials are mended
 * by an operator, and the spans wait in the queue meanwhile (and /health says so) instead of being thrown away.
 */
function classifyWriteError(err: unknown): RetryVerdict {
  const status = requestErrorStatus(err);
  return status === 401 || status === 403 ? { retry: true } : classifyRequestError(err);
}

export class EsSpanWriter implements SpanWriter, DeliverySink<SpanChunk[]> {
  readonly name = 'elasticsearch-spans';
  private readonly names: JaegerIndexNames;
  private readonly knownServices = new Set<string>();
  /** Service document ids by service, operation and kind: hashed once, not once per span. */
  private readonly serviceIds = new Map<string, string>();
  /** Writes the span documents (shared across sends: each body is written whole before its request leaves). */
  private readonly docs = new SpanDocWriter();
  /**
   * The bulk bodies' buffers, taken back when their request settles: a new ≈ 1 MB buffer a request is memory grown
   * for the garbage collector (bench/spans-to-elasticsearch.bench.ts; docs/design/span-write-path.md).
   */
  private readonly bodyBuffers = new BufferPool(8, 16 * 1024 * 1024);
  private readonly retryCounters: RetryCounters;
  private readonly written: Counter<'outcome'>;
  private readonly spanRetries: Counter;
  private readonly policy: Partial<RetryPolicy>;
  /** How long one request may go unanswered before it is abandoned and tried again. */
  private readonly timeoutMs: number;
  private readonly abort = new AbortController();
  /** The background install of the index templates: true once installed, false when given up (shutdown). */
  private templates: Promise<boolean> | undefined;
  private templatesInstalled = false;
  /** When the first template request left, while none has been answered: a node that hangs shows as waiting. */
  private firstTryMs: number | undefined;
  /** Since when, and why, requests fail; undefined while they go through. */
  private failing: { sinceMs: number; reason: string } | undefined;
  private closed = false;

  constructor(private readonly opts: EsSpanWriterOptions) {
    this.names = jaegerIndexNames(opts.indexPrefix);
    this.retryCounters = retryCounters(opts.registry);
    this.written = counter(opts.registry, {
      name: 'shipwatch_es_spans_written_total', help: 'Spans sent to Elasticsearch by outcome (stored, rejected, abandoned at shutdown), each span once.',
      labelNames: ['outcome'] as const,
    });
    this.spanRetries = counter(opts.registry, {
      name: 'shipwatch_es_span_retries_total', help: 'Span documents sent to Elasticsearch again after a failed attempt (once per attempt).',
    });
    this.policy = { ...opts.retryPolicy, maxElapsedMs: Number.POSITIVE_INFINITY };
    // A margin past the client's own timeout, which stays the one that words a slow answer.
    this.timeoutMs = (opts.requestTimeoutMs ?? 30_000) + 5_000;
  }

  /**
   * Starts installing the index templates in the background (once); the promise says whether they were installed
   * (false: given up at shutdown). Writes wait for it.
   */
  start(): Promise<boolean> {
    return (this.templates ??= this.installTemplates());
  }

  /** Installs the index templates now (start() and wait); rejects only when the writer is closed first. */
  async init(): Promise<void> {
    if (!(await this.start())) throw swError('SW_OUTPUT_FAILED', 'index templates not installed: the Elasticsearch span writer was closed');
  }

  problem(): string | undefined {
    if (this.templates === undefined) return undefined;
    const parts: string[] = [];
    const now = Date.now();
    if (this.failing) parts.push(`${this.failing.reason}, for ${Math.round((now - this.failing.sinceMs) / 1000)} s`);
    else if (!this.templatesInstalled && this.firstTryMs !== undefined) parts.push(`no answer yet (asked ${Math.round((now - this.firstTryMs) / 1000)} s ago)`);
    if (!this.templatesInstalled) parts.push('index templates not installed');
    return parts.length === 0 ? undefined : `elasticsearch: ${parts.join('; ')}`;
  }

  private installTemplates(): Promise<boolean> {
    const { client } = this.opts;
    const templates = jaegerIndexTemplates({ prefix: this.opts.indexPrefix, shards: this.opts.shards, replicas: this.opts.replicas });
    this.firstTryMs = Date.now();
    return retry(
      async () => {
        // A request sent while connections were reset never settled, its signal heeded or not: the try is left.
        await withDeadline(this.abort.signal, this.timeoutMs, async (signal) => {
          for (const t of templates) await client.indices.putIndexTemplate({ name: t.name, ...t.body }, { signal });
          await this.mapAdditionsOnExistingIndices(signal);
        });
      },
      {
        operation: 'es.spans.templates',
        policy: this.policy,
        counters: this.retryCounters,
        signal: this.abort.signal,
        // A refusal (400) is retried too, slowly: nothing can be written without the templates, and /health names it.
        classify: (err) => {
          const verdict = classifyWriteError(err);
          if (!verdict.retry) this.opts.log.error('Elasticsearch refused the span index templates; trying again', { error: esProblem(err) });
          return verdict.retry ? verdict : { retry: true };
        },
        onRetry: ({ error }) => this.failed(error),
      },
    ).then(
      () => {
        this.templatesInstalled = true;
        this.firstTryMs = undefined;
        this.answered();
        this.opts.log.info('span index templates installed', { prefix: this.opts.indexPrefix });
        return true;
      },
      (err: unknown) => {
        // Only shutdown ends the loop (everything else is retried): the writes waiting for it give their spans up.
        this.opts.log.warn('span index templates not installed: shutting down', { error: esProblem(err) });
        return false;
      },
    );
  }

  /**
   * Maps the added span fields in span indices made from an older template (today's, typically). Elasticsearch
   * cannot turn on indexing of an object created disabled, so an index made by the first Shipwatch template that
   * kept `scope` unindexed stays without scope search; it is named in a warning (the next daily index has it).
   */
  private async mapAdditionsOnExistingIndices(signal: AbortSignal): Promise<void> {
    const index = `${this.names.spanPrefix}*`;
    const { client } = this.opts;
    const options = { signal };
    const open = { allow_no_indices: true, ignore_unavailable: true, expand_wildcards: 'open' } as const;
    const mappings = await client.indices.getMapping({ index, ...open }, options);
    // An index that mapped `otlp` itself (made from Jaeger's template alone, Shipwatch writing to it) cannot have it
    // turned into an unindexed object: it gets the other fields only, and is named.
    const mappedOtlp = Object.entries(mappings)
      .filter(([, m]) => {
        const otlp = m.mappings.properties?.otlp as { enabled?: boolean } | undefined;
        return otlp !== undefined && otlp.enabled !== false;
      })
      .map(([name]) => name)
      .sort();
    const additions = spanMappingAdditions();
    await client.indices.putMapping({ index: [index, ...mappedOtlp.map((n) => `-${n}`)], ...open, ...additions }, options);
    if (mappedOtlp.length > 0) {
      const { otlp: _otlp, ...rest } = additions.properties;
      await client.indices.putMapping({ index: mappedOtlp, ...open, properties: rest }, options);
      this.opts.log.warn('span indices that mapped the otlp field from documents: kept as they are', { indices: mappedOtlp.join(',') });
    }
    const unindexed = Object.entries(mappings)
      .filter(([, m]) => (m.mappings.properties?.scope as { enabled?: boolean } | undefined)?.enabled === false)
      .map(([name]) => name);
    if (unindexed.length > 0) {
      this.opts.log.warn('span indices created without scope indexing: their spans are not found by scope attributes', { indices: unindexed.sort().join(',') });
    }
  }

  /** A request failed and will be tried again: /health says why from now on; the first failure is logged. */
  private failed(error: unknown): void {
    const reason = error instanceof PendingSpanItems ? error.message : esProblem(error);
    if (this.failing === undefined) this.opts.log.warn('Elasticsearch requests failing; spans wait in the queue and are tried again', { reason });
    this.failing = { sinceMs: this.failing?.sinceMs ?? Date.now(), reason };
  }

  /** A request went through. */
  private answered(): void {
    if (this.failing === undefined) return;
    this.opts.log.info('Elasticsearch answers again', { failingForMs: Date.now() - this.failing.sinceMs });
    this.failing = undefined;
  }

  /**
   * Stores spans through the delivery chain's sender (delivery/sender.ts) without a deadline: for a caller that
   * holds its spans itself (tests, tools). The collector plugs this writer into its chain as a sink instead.
   */
  async writeSpans(spans: Span[]): Promise<SpanWriteResult> {
    if (this.closed) throw swError('SW_OUTPUT_FAILED', 'the Elasticsearch span writer is closed');
    let failed = 0;
    const sink: DeliverySink<SpanChunk[]> = {
      name: this.name,
      classify: (err) => this.classify(err),
      send: async (batch, signal) => {
        const outcome = await this.send(batch, signal);
        failed += outcome.rejectedCount ?? 0;
        return outcome;
      },
    };
    this.oneShot ??= { log: this.opts.log, registry: this.opts.registry, retryPolicy: this.opts.retryPolicy };
    const result = await new Sender({ sink, ...this.oneShot, onProblem: () => undefined }).send([spans], this.abort.signal);
    if (result === 'stopped') {
      this.written.inc({ outcome: 'abandoned' }, spans.length);
      return { failed: spans.length };
    }
    return { failed };
  }

  private oneShot: { log: Logger; registry: Registry; retryPolicy: EsSpanWriterOptions['retryPolicy'] } | undefined;

  /** The backoff between tries (ES_RETRY_MAX_DELAY), for the chain that sends through this writer. */
  get retryPolicy(): EsSpanWriterOptions['retryPolicy'] {
    return this.opts.retryPolicy;
  }

  /** Whole-request failures worth another try (the sink's `classify`). */
  classify(err: unknown): RetryVerdict {
    return classifyWriteError(err);
  }

  /**
   * One bulk request of the spans (the sink's `send`): items answered 429 / 5xx come back to send again, spans
   * refused for their content are counted rejected (and logged), a request that fails as a whole throws.
   */
  async send(chunks: SpanChunk[], signal: AbortSignal): Promise<SendOutcome<SpanChunk[]>> {
    // Before the first write: a daily index made without the templates would keep the wrong mapping all day.
    if (!this.templatesInstalled && !(await untilAborted(this.start(), signal))) throw swError('SW_OUTPUT_FAILED', 'index templates not installed: shutting down');
    /** Per document: the index of its span in `spans` (a service document: the span that brought it). */
    const spanOf: number[] = [];
    const isSpan: boolean[] = [];
    const newServices: string[] = [];
    const batchServices = new Set<string>();
    const spans = chunks.length === 1 ? chunkSpans(chunks[0]!) : chunks.flatMap(chunkSpans);
    // ≈ 1.6 KB a typical span with its action line: one buffer, grown only for larger spans.
    const body = new BulkBytes(this.bodyBuffers.take(spans.length * 1800));
    body.reserve(spans.length * 1800);
    const addService = (i: number, date: string, text: string, serviceName: string, operationName: string, spanKind: string): void => {
      let id = this.serviceIds.get(text);
      if (id === undefined) {
        if (this.serviceIds.size >= 100_000) this.serviceIds.clear();
        id = fnv1a64Hex(text);
        this.serviceIds.set(text, id);
      }
      const key = `${date}/${id}`;
      if (this.knownServices.has(key) || batchServices.has(key)) return;
      batchServices.add(key);
      newServices.push(key);
      const doc: DbService = spanKind === '' ? { serviceName, operationName } : { serviceName, operationName, spanKind };
      body.write(JSON.stringify({ index: { _index: this.names.servicePrefix + date, _id: id } }));
      body.byte(0x0a);
      body.write(JSON.stringify(doc));
      body.byte(0x0a);
      spanOf.push(i);
      isSpan.push(false);
    };
    let lastDate = '';
    let spanIndex = '';
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const date = indexDate(span.startTimeMicros);
      if (date !== lastDate) {
        lastDate = date;
        spanIndex = this.names.spanPrefix + date;
      }
      const serviceName = span.process.serviceName;
      const operationName = span.operationName;
      // Jaeger's own document, byte for byte and under its id, so a cluster both write to holds one per pair.
      addService(i, date, serviceName + operationName, serviceName, operationName, '');
      const kind = spanKindOf(span);
      // Shipwatch's, beside it: the span kind, under an id no Jaeger document has (a NUL before the kind).
      if (kind !== '') addService(i, date, `${serviceName}${operationName}\u0000${kind}`, serviceName, operationName, kind);
      // Deterministic id (the document's hash): a replayed or retried span overwrites its own document.
      this.docs.writeSpan(body, spanIndex, span);
      spanOf.push(i);
      isSpan.push(true);
    }
    let response: unknown;
    try {
      // Only what is read of the answer: the items' index, id, version, shards and sequence numbers made ≈ 200 bytes a
      // document for the client to parse, and every span is answered.
      response = await withDeadline(signal, this.timeoutMs, (tried) => {
        const request = this.opts.client.transport.request(
          { method: 'POST', path: '/_bulk', querystring: { filter_path: 'errors,items.*.status,items.*.error' }, bulkBody: body.bytes() },
          { signal: tried },
        );
        // Given back only once the client is done with the body (a deadline may answer first).
        const giveBack = (): void => this.bodyBuffers.give(body.bytes());
        request.then(giveBack, giveBack);
        return request;
      });
    } catch (err) {
      this.failed(err);
      if (classifyWriteError(err).retry) this.spanRetries.inc(spans.length);
      throw err;
    }
    const outcomes = classifyBulkItems(response as Parameters<typeof classifyBulkItems>[0], isSpan.length, 'index');
    const again = new Set<number>();
    let stored = 0;
    let rejected = 0;
    let reason = '';
    outcomes.forEach((o, d) => {
      if (o.kind === 'delivered') {
        if (isSpan[d]) stored++;
      } else if (o.kind === 'retry') {
        // A service document answered 429 / 5xx is sent again with the span that brought it.
        again.add(spanOf[d]!);
        reason ||= o.reason;
      } else {
        if (isSpan[d]) rejected++;
        const date = indexDate(spans[spanOf[d]!]!.startTimeMicros);
        const index = (isSpan[d] ? this.names.spanPrefix : this.names.servicePrefix) + date;
        this.opts.log.warn(isSpan[d] ? 'span document refused by Elasticsearch' : 'service document refused by Elasticsearch', { index, status: o.status, reason: o.reason });
      }
    });
    this.written.inc({ outcome: 'stored' }, stored);
    this.written.inc({ outcome: 'rejected' }, rejected);
    if (!signal.aborted) for (const key of newServices) this.knownServices.add(key);
    if (again.size === 0) {
      this.answered();
      return { delivered: stored, rejectedCount: rejected };
    }
    const retrySpans = [...again].sort((a, b) => a - b).map((i) => spans[i]!);
    this.spanRetries.inc(retrySpans.length);
    const pending = new PendingSpanItems(`${again.size} documents answered 429 or 5xx (${reason})`);
    this.failed(pending);
    // A span stored whose service document is sent again counts once, when it is stored again with it.
    let storedAgain = 0;
    outcomes.forEach((o, d) => {
      if (isSpan[d] && o.kind === 'delivered' && again.has(spanOf[d]!)) storedAgain++;
    });
    return { delivered: stored - storedAgain, rejectedCount: rejected, retry: { batch: [retrySpans], records: retrySpans.length, reason: pending.message } };
  }

  abandon(): void {
    this.abort.abort(swError('SW_OUTPUT_FAILED', 'the Elasticsearch span writer gave up its writes (shutdown)'));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abandon();
  }
}
