/**
 * Spans in Jaeger's Elasticsearch schema reduced to what the Monitor tab counts (query/monitor/span-metrics.ts):
 * the spans of some services started in a window, read in pages of their service, operation, times and tags; kind
 * and error are read from the tags here (both the nested `tags` and Jaeger's tags-as-fields `tag` object), so a
 * span without a kind counts as `unspecified`.
 */
import { swError } from '../../platform/errors.js';
import type { SpanMetricSample, SpanMetricsQuery } from '../span-storage.js';
import { dailyIndices } from './jaeger-indices.js';

const PAGE = 5_000;

type Search = (index: string[], body: Record<string, unknown>) => Promise<Record<string, unknown>>;

interface Doc {
  operationName?: string;
  startTime?: number;
  duration?: number;
  process?: { serviceName?: string };
  tags?: Array<{ key?: string; value?: unknown }>;
  tag?: Record<string, unknown>;
}

export async function esSpanMetricSamples(search: Search, spanPrefix: string, query: SpanMetricsQuery): Promise<SpanMetricSample[]> {
  const kinds = new Set(query.kinds);
  const out: SpanMetricSample[] = [];
  const indices = dailyIndices(spanPrefix, query.fromUs, query.toUs);
  let after: unknown[] | undefined;
  for (;;) {
    const resp = await search(indices, {
      size: PAGE,
      _source: ['operationName', 'startTime', 'duration', 'process.serviceName', 'tags.key', 'tags.value', 'tag.span@kind', 'tag.error', 'tag.otel@status_code'],
      query: { bool: { filter: [{ terms: { 'process.serviceName': query.services } }, { range: { startTime: { gte: query.fromUs, lte: query.toUs } } }] } },
      sort: [{ startTime: 'asc' }, { _doc: 'asc' }],
      ...(after ? { search_after: after } : {}),
    });
    const hits = (resp.hits as { hits?: Array<{ _source: Doc; sort: unknown[] }> } | undefined)?.hits ?? [];
    for (const { _source: d } of hits) {
      let kind = '';
      let error = false;
      const see = (key: string, value: unknown): void => {
        if (key === 'span.kind' && typeof value === 'string') kind = value;
        else if (key === 'error' && (value === true || value === 'true')) error = true;
        else if (key === 'otel.status_code' && value === 'ERROR') error = true;
      };
      for (const t of d.tags ?? []) if (typeof t.key === 'string') see(t.key, t.value);
      for (const [k, v] of Object.entries(d.tag ?? {})) see(k.replaceAll('@', '.'), v);
      if (!kinds.has(kind)) continue;
      if (out.length === query.limit) {
        throw swError('SW_BAD_REQUEST', `more than ${query.limit} spans in the window: shorten the lookback or ask for fewer services`);
      }
      out.push({ service: d.process?.serviceName ?? '', operation: d.operationName ?? '', startUs: Number(d.startTime ?? 0), durationUs: Number(d.duration ?? 0), error });
    }
    if (hits.length < PAGE) return out;
    after = hits[hits.length - 1]!.sort;
  }
}
