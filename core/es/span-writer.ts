/**
 * Spans into Elasticsearch in Jaeger's schema (SPEC §3.5): each span a document of `[prefix-]jaeger-span-YYYY-MM-DD`
 * (./jaeger-dbmodel.ts), each service/operation pair a document of `[prefix-]jaeger-service-YYYY-MM-DD`, the dates
 * those of the span's start (UTC). The index templates are installed at start, and the span indices that already
 * exist get Shipwatch's added fields mapped (scope and link attributes, jaeger-indices.ts) so spans written to them
 * from now on are searchable by those too.
 *
 * Ids are deterministic, so a retried batch overwrites instead of duplicating: a span's `_id` is Jaeger 2's
 * `traceID_spanID_<fnv-1a 64 of the document>`, a service document's is Jaeger's fnv-1a 64 of service and operation
 * (with the span kind appended when there is one, Shipwatch's addition). Service documents already written are
 * remembered (per index) and not sent again.
 *
 * A batch is sent through the one retry helper: 429 / 5xx items and whole-request failures are retried until the
 * deadline, then `writeSpans` rejects (SW_OUTPUT_FAILED) so the collector can answer 503; spans Elasticsearch refuses
 * for their content are counted and logged, never retried.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Counter } from 'prom-client';
import { describe, swError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Span } from '../model/span.js';
import { retry, retryCounters, type RetryCounters, type RetryPolicy } from '../retry.js';
import { counter, type Registry } from '../self-metrics.js';
import type { SpanWriter } from '../span-storage.js';
import { classifyBulkItems, classifyRequestError } from './bulk-response.js';
import { spanKindOf, spanToDb } from './jaeger-dbmodel.js';
import { indexDate, jaegerIndexNames, jaegerIndexTemplates, spanMappingAdditions, type JaegerIndexNames } from './jaeger-indices.js';

/**
 * FNV-1a 64 of the UTF-8 bytes, as Go's `strconv.FormatUint(h, 16)` prints it. Computed on two 32-bit halves:
 * multiplying by the prime 2^40 + 0x1b3 is a shift plus a small product, exact in doubles (BigInt per byte was the
 * slow part of writing a span).
 */
export function fnv1a64Hex(text: string): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const byte of Buffer.from(text, 'utf8')) {
    lo = (lo ^ byte) >>> 0;
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) % 0x100000000;
    lo = loMul % 0x100000000;
  }
  return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0');
}

export interface EsSpanWriterOptions {
  client: Client;
  indexPrefix: string;
  shards: number;
  replicas: number;
  registry: Registry;
  log: Logger;
  retryPolicy?: Partial<RetryPolicy>;
  /** Most documents in one bulk request. */
  maxBatchDocs?: number;
}

class PendingSpanItems extends Error {}

export class EsSpanWriter implements SpanWriter {
  private readonly names: JaegerIndexNames;
  private readonly knownServices = new Set<string>();
  private readonly retryCounters: RetryCounters;
  private readonly written: Counter<'outcome'>;
  private closed = false;

  constructor(private readonly opts: EsSpanWriterOptions) {
    this.names = jaegerIndexNames(opts.indexPrefix);
    this.retryCounters = retryCounters(opts.registry);
    this.written = counter(opts.registry, {
      name: 'shipwatch_es_spans_written_total', help: 'Spans sent to Elasticsearch by outcome (stored, rejected).', labelNames: ['outcome'] as const,
    });
  }

  /** Installs (or updates) Jaeger's index templates; call once before writing. */
  async init(): Promise<void> {
    const templates = jaegerIndexTemplates({ prefix: this.opts.indexPrefix, shards: this.opts.shards, replicas: this.opts.replicas });
    for (const t of templates) {
      try {
        await this.opts.client.indices.putIndexTemplate({ name: t.name, ...t.body });
      } catch (err) {
        throw swError('SW_OUTPUT_FAILED', `cannot install the index template ${t.name}`, err);
      }
    }
    await this.mapAdditionsOnExistingIndices();
  }

  /**
   * Maps the added span fields in span indices made from an older template (today's, typically). Elasticsearch
   * cannot turn on indexing of an object created disabled, so an index made by the first Shipwatch template that
   * kept `scope` unindexed stays without scope search; it is named in a warning (the next daily index has it).
   */
  private async mapAdditionsOnExistingIndices(): Promise<void> {
    const index = `${this.names.spanPrefix}*`;
    const { client } = this.opts;
    try {
      await client.indices.putMapping({ index, allow_no_indices: true, ignore_unavailable: true, expand_wildcards: 'open', ...spanMappingAdditions() });
      const mappings = await client.indices.getMapping({ index, allow_no_indices: true, ignore_unavailable: true, expand_wildcards: 'open' });
      const unindexed = Object.entries(mappings)
        .filter(([, m]) => (m.mappings.properties?.scope as { enabled?: boolean } | undefined)?.enabled === false)
        .map(([name]) => name);
      if (unindexed.length > 0) {
        this.opts.log.warn('span indices created without scope indexing: their spans are not found by scope attributes', { indices: unindexed.sort().join(',') });
      }
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `cannot map the added span fields in the existing ${index} indices`, err);
    }
  }

  async writeSpans(spans: Span[]): Promise<void> {
    if (this.closed) throw swError('SW_OUTPUT_FAILED', 'the Elasticsearch span writer is closed');
    const max = this.opts.maxBatchDocs ?? 2000;
    let lines: string[] = [];
    const newServices: string[] = [];
    const batchServices = new Set<string>();
    for (const span of spans) {
      const date = indexDate(span.startTimeMicros);
      const kind = spanKindOf(span);
      const serviceId = fnv1a64Hex(span.process.serviceName + span.operationName + kind);
      const serviceKey = `${date}/${serviceId}`;
      if (!this.knownServices.has(serviceKey) && !batchServices.has(serviceKey)) {
        batchServices.add(serviceKey);
        newServices.push(serviceKey);
        const doc = kind === ''
          ? { serviceName: span.process.serviceName, operationName: span.operationName }
          : { serviceName: span.process.serviceName, operationName: span.operationName, spanKind: kind };
        lines.push(JSON.stringify({ index: { _index: this.names.servicePrefix + date, _id: serviceId } }), JSON.stringify(doc));
      }
      const doc = spanToDb(span);
      const body = JSON.stringify(doc);
      const id = `${doc.traceID}_${doc.spanID}_${fnv1a64Hex(body)}`;
      lines.push(JSON.stringify({ index: { _index: this.names.spanPrefix + date, _id: id } }), body);
      if (lines.length >= max * 2) {
        await this.send(lines);
        lines = [];
      }
    }
    if (lines.length > 0) await this.send(lines);
    for (const key of newServices) this.knownServices.add(key);
  }

  /** One bulk body (pairs of lines), retried item by item until stored, refused, or the deadline. */
  private async send(lines: string[]): Promise<void> {
    let pending = lines;
    try {
      await retry(
        async () => {
          const body = await this.opts.client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: pending.join('\n') + '\n' });
          const outcomes = classifyBulkItems(body, pending.length / 2, 'index');
          const again: string[] = [];
          outcomes.forEach((o, i) => {
            if (o.kind === 'delivered') this.written.inc({ outcome: 'stored' });
            else if (o.kind === 'retry') again.push(pending[2 * i]!, pending[2 * i + 1]!);
            else {
              this.written.inc({ outcome: 'rejected' });
              this.opts.log.warn('span document refused by Elasticsearch', { index: o.index, status: o.status, reason: o.reason });
            }
          });
          pending = again;
          if (again.length > 0) throw new PendingSpanItems(`${again.length / 2} span documents to retry`);
        },
        {
          operation: 'es.spans.bulk',
          policy: { maxElapsedMs: 30_000, ...this.opts.retryPolicy },
          counters: this.retryCounters,
          classify: (err) => (err instanceof PendingSpanItems ? { retry: true } : classifyRequestError(err)),
        },
      );
    } catch (err) {
      throw swError('SW_OUTPUT_FAILED', `spans not stored in Elasticsearch: ${describe(err)}`, err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
