/**
 * The Elasticsearch queries Jaeger's span reader sends (v1 `spanstore/reader.go`), as request bodies:
 *
 * - a trace search is one bool query over span documents — every condition on the same span — with a `traceIDs`
 *   terms aggregation ordered by each trace's latest matching `startTime`, newest first;
 * - a tag condition matches the nested `tags`, `process.tags` and `logs.fields` (key equal, value a regular
 *   expression), or the promoted `tag.<key>` / `process.tag.<key>` fields (dots in the key replaced by `@`); and,
 *   Shipwatch's addition, the scope attributes (`scope.tags`) and link attributes (`references.tags`), as the
 *   embedded store does (store/span-search.ts) — unmapped in indices older than those fields, hence `ignore_unmapped`;
 * - services and operations are terms aggregations over the service documents.
 *
 * The start time is bounded on `startTimeMillis` (a date, so Elasticsearch can skip shards) and, to the microsecond,
 * on `startTime`. Pure.
 */
import type { TraceQuery } from '../span-storage.js';

export const TRACE_ID_AGG = 'traceIDs';

type Query = Record<string, unknown>;

function nestedTagQuery(path: string, key: string, value: string, ignoreUnmapped = false): Query {
  return {
    nested: {
      path,
      query: { bool: { must: [{ match: { [`${path}.key`]: key } }, { regexp: { [`${path}.value`]: { value } } }] } },
      ...(ignoreUnmapped ? { ignore_unmapped: true } : {}),
    },
  };
}

/** A link attribute: `references.tags` is nested in the nested `references`. */
function linkTagQuery(key: string, value: string): Query {
  return { nested: { path: 'references', query: nestedTagQuery('references.tags', key, value, true), ignore_unmapped: true } };
}

function objectTagQuery(field: string, key: string, value: string): Query {
  return { bool: { must: [{ regexp: { [`${field}.${key}`]: { value } } }] } };
}

export function tagQuery(key: string, value: string, dotReplacement = '@'): Query {
  const kd = key.split('.').join(dotReplacement);
  return {
    bool: {
      should: [
        objectTagQuery('tag', kd, value),
        objectTagQuery('process.tag', kd, value),
        nestedTagQuery('tags', key, value),
        nestedTagQuery('process.tags', key, value),
        nestedTagQuery('logs.fields', key, value),
        nestedTagQuery('scope.tags', key, value, true),
        linkTagQuery(key, value),
      ],
      minimum_should_match: 1,
    },
  };
}

function range(field: string, gte: number | undefined, lte: number | undefined): Query {
  const r: Record<string, number> = {};
  if (gte !== undefined) r.gte = gte;
  if (lte !== undefined) r.lte = lte;
  return { range: { [field]: r } };
}

/** The span-level conditions of a search. */
export function findTraceIdsQuery(q: TraceQuery, dotReplacement = '@'): Query {
  const must: Query[] = [];
  const minDur = q.durationMinMicros !== undefined && q.durationMinMicros > 0 ? q.durationMinMicros : undefined;
  const maxDur = q.durationMaxMicros !== undefined && q.durationMaxMicros > 0 ? q.durationMaxMicros : undefined;
  if (minDur !== undefined || maxDur !== undefined) must.push(range('duration', minDur, maxDur));
  const min = q.startTimeMinMicros;
  const max = q.startTimeMaxMicros;
  if (min !== undefined || max !== undefined) {
    must.push(range('startTimeMillis', min === undefined ? undefined : Math.floor(min / 1000), max === undefined ? undefined : Math.ceil(max / 1000)));
    must.push(range('startTime', min, max));
  }
  if (q.serviceName) must.push({ match: { 'process.serviceName': q.serviceName } });
  if (q.operationName) must.push({ match: { operationName: q.operationName } });
  for (const [k, v] of Object.entries(q.tags ?? {})) must.push(tagQuery(k, v, dotReplacement));
  return { bool: { must } };
}

/** The whole search body: no hits, trace ids by latest start time. */
export function findTraceIdsBody(q: TraceQuery, dotReplacement = '@'): Record<string, unknown> {
  const wanted = Math.max(0, q.offset ?? 0) + Math.max(0, q.numTraces);
  return {
    size: 0,
    query: findTraceIdsQuery(q, dotReplacement),
    aggs: {
      [TRACE_ID_AGG]: {
        terms: { field: 'traceID', size: Math.max(1, wanted), order: { startTime: 'desc' } },
        aggs: { startTime: { max: { field: 'startTime' } } },
      },
    },
  };
}

/** How many traces match (exact below 40 000 traces, Elasticsearch's cardinality precision limit). */
export function countTracesBody(q: TraceQuery, dotReplacement = '@'): Record<string, unknown> {
  return {
    size: 0,
    query: findTraceIdsQuery(q, dotReplacement),
    aggs: { traces: { cardinality: { field: 'traceID', precision_threshold: 40_000 } } },
  };
}

export function servicesBody(maxDocCount: number): Record<string, unknown> {
  return { size: 0, aggs: { distinct_services: { terms: { field: 'serviceName', size: maxDocCount } } } };
}

export function operationsBody(serviceName: string, spanKind: string | undefined, maxDocCount: number): Record<string, unknown> {
  const must: Query[] = [{ term: { serviceName } }];
  if (spanKind !== undefined && spanKind !== '') must.push({ term: { spanKind } });
  return {
    size: 0,
    query: { bool: { must } },
    aggs: {
      distinct_operations: {
        terms: { field: 'operationName', size: maxDocCount },
        aggs: { kinds: { terms: { field: 'spanKind', size: 10, missing: '' } } },
      },
    },
  };
}
