/**
 * Jaeger's Elasticsearch indices: names (`[prefix-]jaeger-span-YYYY-MM-DD`, `[prefix-]jaeger-service-YYYY-MM-DD`,
 * one per UTC day of the span's start) and the composable index templates Jaeger installs for Elasticsearch 8
 * (`mappings/jaeger-span-8.json`, `jaeger-service-8.json`: keyword fields with `ignore_above` 256, nested `tags`,
 * `process.tags`, `logs.fields`, `references`, and `tag.*` / `process.tag.*` dynamic keyword maps).
 *
 * Shipwatch's additions, all of them new fields beside Jaeger's (its documents read and search as before): the
 * service template maps `spanKind`; the span template maps `scope.tags` (OTLP scope attributes) and
 * `references.tags` (OTLP link attributes) as nested key/value lists like `tags`, so tag searches match them, and
 * keeps `otlp` (what an OTLP span carried beyond Jaeger's model) stored but not indexed.
 * `spanMappingAdditions` is the same pair as a put-mapping body, for span indices created before they existed. Pure.
 */

export interface JaegerIndexNames {
  spanPrefix: string;
  servicePrefix: string;
}

/** Jaeger's `IndexPrefix.Apply`: a non-empty prefix is joined with `-`, unless it already ends with one. */
export function jaegerIndexNames(prefix: string): JaegerIndexNames {
  const p = prefix === '' || prefix.endsWith('-') ? prefix : `${prefix}-`;
  return { spanPrefix: `${p}jaeger-span-`, servicePrefix: `${p}jaeger-service-` };
}

/** `2017-01-26` of a time in µs (UTC). */
export function indexDate(timeMicros: number): string {
  const day = Math.floor(timeMicros / 1000 / DAY_MS);
  // Nearly every span of a batch falls on the day of the one before: formatted once a day, not once a span.
  if (day !== lastDay) {
    lastDay = day;
    lastDate = new Date(day * DAY_MS).toISOString().slice(0, 10);
  }
  return lastDate;
}

let lastDay = Number.NaN;
let lastDate = '';

const DAY_MS = 86_400_000;

/**
 * The daily indices covering [startMicros, endMicros], newest first (as Jaeger lists them). Past `maxDays` the
 * list would only make a long URL, so the wildcard pattern is used instead.
 */
export function dailyIndices(prefix: string, startMicros: number, endMicros: number, maxDays = 60): string[] {
  const startDay = Math.floor(startMicros / 1000 / DAY_MS);
  const endDay = Math.floor(endMicros / 1000 / DAY_MS);
  if (endDay < startDay) return [];
  if (endDay - startDay + 1 > maxDays) return [`${prefix}*`];
  const out: string[] = [];
  for (let d = endDay; d >= startDay; d--) out.push(prefix + new Date(d * DAY_MS).toISOString().slice(0, 10));
  return out;
}

const keyword = { type: 'keyword', ignore_above: 256 } as const;
const nestedKeyValues = { type: 'nested', dynamic: false, properties: { key: keyword, value: keyword, type: keyword } } as const;
const tagMaps = [
  { span_tags_map: { mapping: keyword, path_match: 'tag.*' } },
  { process_tags_map: { mapping: keyword, path_match: 'process.tag.*' } },
];

function settings(shards: number, replicas: number): Record<string, unknown> {
  return {
    'index.number_of_shards': shards,
    'index.number_of_replicas': replicas,
    'index.mapping.nested_fields.limit': 50,
    'index.requests.cache.enable': true,
  };
}

export interface TemplateOptions {
  prefix: string;
  shards: number;
  replicas: number;
  priority?: number;
}

const SPAN_ADDITIONS = {
  references: { type: 'nested', dynamic: false, properties: { tags: nestedKeyValues } },
  scope: { type: 'object', dynamic: false, properties: { tags: nestedKeyValues } },
  otlp: { type: 'object', enabled: false },
} as const;

/**
 * Shipwatch's fields of a span document (jaeger-dbmodel.ts): a reference's `tags` (link attributes), `scope.tags`
 * (scope attributes) and `otlp` (not indexed), as a `PUT <index>/_mapping` body. Only new fields, so Elasticsearch merges it into a span
 * index made from an older template (Jaeger's or Shipwatch's); documents written before it stay unsearchable by
 * those fields until reindexed.
 */
export function spanMappingAdditions(): { properties: typeof SPAN_ADDITIONS } {
  return { properties: SPAN_ADDITIONS };
}

/**
 * `PUT _index_template/<name>` bodies, by template name: Jaeger's two templates, as Jaeger installs them (name,
 * pattern, priority, settings, mappings), and Shipwatch's two, its fields added, under `<name>-shipwatch` one priority
 * higher. Elasticsearch makes a new index from the highest-priority template that matches (no merging), so new daily
 * indices have Shipwatch's fields whichever of Jaeger and Shipwatch installed its templates last, and Jaeger's tools
 * find Jaeger's templates where Jaeger puts them.
 */
export function jaegerIndexTemplates(o: TemplateOptions): Array<{ name: string; body: Record<string, unknown> }> {
  const names = jaegerIndexNames(o.prefix);
  const priority = o.priority ?? 0;
  const spanProperties = {
    traceID: keyword,
    parentSpanID: keyword,
    spanID: keyword,
    operationName: keyword,
    startTime: { type: 'long' },
    startTimeMillis: { type: 'date', format: 'epoch_millis' },
    duration: { type: 'long' },
    flags: { type: 'integer' },
    logs: { type: 'nested', dynamic: false, properties: { timestamp: { type: 'long' }, fields: nestedKeyValues } },
    process: { properties: { serviceName: keyword, tag: { type: 'object' }, tags: nestedKeyValues } },
    references: { type: 'nested', dynamic: false, properties: { refType: keyword, traceID: keyword, spanID: keyword } },
    tag: { type: 'object' },
    tags: nestedKeyValues,
  };
  const template = (pattern: string, p: number, properties: Record<string, unknown>): Record<string, unknown> => ({
    priority: p,
    index_patterns: [pattern],
    template: { settings: settings(o.shards, o.replicas), mappings: { dynamic_templates: tagMaps, properties } },
  });
  const spanName = names.spanPrefix.slice(0, -1);
  const serviceName = names.servicePrefix.slice(0, -1);
  return [
    { name: spanName, body: template(`${names.spanPrefix}*`, priority, spanProperties) },
    { name: serviceName, body: template(`${names.servicePrefix}*`, priority, { serviceName: keyword, operationName: keyword }) },
    {
      name: `${spanName}-shipwatch`,
      body: template(`${names.spanPrefix}*`, priority + 1, {
        ...spanProperties,
        references: { ...spanProperties.references, properties: { ...spanProperties.references.properties, ...SPAN_ADDITIONS.references.properties } },
        scope: SPAN_ADDITIONS.scope,
        otlp: SPAN_ADDITIONS.otlp,
      }),
    },
    { name: `${serviceName}-shipwatch`, body: template(`${names.servicePrefix}*`, priority + 1, { serviceName: keyword, operationName: keyword, spanKind: keyword }) },
  ];
}
