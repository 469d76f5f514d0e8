/**
 * The composable index templates of the pilot's log indices (docs/design/log-mapping.md): one per target, named
 * `shipwatch-logs-<target>`, so Elasticsearch maps a new index from Shipwatch's rules instead of from its first
 * documents (a first line `2026-12-06` had made `message` a date and every later line a refusal).
 *
 * - Patterns: `<target>` (rotation none) and `<target>-1*` … `<target>-9*` (the daily and monthly dates), not
 *   `<target>-*`, which would take Jaeger's `<target>-span-…` or another target's indices. A data stream's template
 *   names its stream exactly and carries `data_stream: {}`.
 * - Priority: above Elasticsearch's built-ins (`logs-*-*` is 100), plus the name's length: where the patterns of two
 *   targets overlap (`app-1*` and `app-1x-1*`), the longer target wins and the two never share a priority (which
 *   Elasticsearch refuses for overlapping templates).
 * - Versioned (`version`, `_meta.managed_by`): a template of this version or newer is left as it stands, so pilots
 *   of several versions on one cluster do not overwrite each other back and forth, and an operator's edit with a
 *   higher version stays.
 *
 * Mapping: `@timestamp` date, `message` text with a `keyword` sub-field, the record's container and Kubernetes fields
 * keyword (with the `.keyword` sub-field the dynamic mapping gave them, which queries name), tags keyword, no date or numeric detection (a string stays a string), parsed json strings keyword up to 1024
 * characters (names like `msg` or `error` text with a keyword sub-field), booleans keyword (so `true` then `yes`
 * both fit), numbers as long/double with `ignore_malformed` (a later string is kept in `_source`, not refused),
 * depth and field limits raised and fields beyond the limit left unindexed rather than refusing the document. What
 * still conflicts (a number then an object, an object then a string, `_id`, an empty key) is stored in the safe
 * shape (./log-safe-shape.ts) under `json_text`, mapped here. Pure.
 */

/** 2: `trace_id` and `span_id` mapped keyword (the logs of a trace). */
export const LOG_TEMPLATE_VERSION = 2;
/** Above Elasticsearch's built-in templates (`logs`, `metrics`, `synthetics`: 100). */
const BASE_PRIORITY = 200;
/** Data stream templates: apart from the targets' so a stream and an index template never share a priority. */
const STREAM_BASE_PRIORITY = 2000;
/** Fields per index: the pilot's own (~20) plus PILOT_JSON_MAX_KEYS (1000) of one line, and room for variety. */
export const TOTAL_FIELDS_LIMIT = 2000;
/** Object depth: PILOT_JSON_MAX_DEPTH (20) plus room; deeper lines are shipped raw by the pilot. */
export const DEPTH_LIMIT = 32;

/** The record's own string fields (pilot/record-fields.ts), mapped keyword; kept as they are in the safe shape. */
export const KEYWORD_RECORD_FIELDS = [
  'stream', 'source', 'target', 'host',
  'docker_container', 'docker_container_id', 'docker_app', 'docker_service',
  'k8s_pod', 'k8s_pod_namespace', 'k8s_container_name', 'k8s_node_name',
] as const;

/** The field of the safe shape holding the parsed fields Elasticsearch refused, as JSON text. */
export const SAFE_SHAPE_FIELD = 'json_text';
/** The field of the safe shape holding Elasticsearch's reason for refusing the document as it was. */
export const MAPPING_ERROR_FIELD = 'mapping_error';

export interface LogIndexTemplate {
  name: string;
  body: {
    index_patterns: string[];
    priority: number;
    version: number;
    _meta: Record<string, string>;
    data_stream?: Record<string, never>;
    template: { settings: Record<string, unknown>; mappings: Record<string, unknown> };
  };
}

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
const textWithKeyword = { type: 'text', fields: { keyword } } as const;

function mappings(dataStream: { dataset: string; namespace: string } | undefined): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    // Never ignore_malformed (the index setting below): a data stream refuses a timestamp that may be left out.
    '@timestamp': { type: 'date', ignore_malformed: false },
    message: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 2048 } } },
    parse_error: textWithKeyword,
    truncated: { type: 'boolean' },
    // The trace and span a record names (pilot/trace-context.ts), found by the log API's traceId and by Grafana links.
    trace_id: keyword,
    span_id: keyword,
    [SAFE_SHAPE_FIELD]: { type: 'text' },
    [MAPPING_ERROR_FIELD]: textWithKeyword,
  };
  // The `.keyword` sub-field the dynamic mapping gave these fields before templates: the log API's filters and the
  // Kibana views and dashboards written against log-pilot-era indices name `docker_container.keyword` and the like.
  for (const f of KEYWORD_RECORD_FIELDS) properties[f] = { ...keyword, fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
  if (dataStream !== undefined) {
    // Elasticsearch's Logs conventions, for Kibana's Logs views: the stream's parts as constants, no bytes per document.
    properties['data_stream'] = {
      properties: {
        type: { type: 'constant_keyword', value: 'logs' },
        dataset: { type: 'constant_keyword', value: dataStream.dataset },
        namespace: { type: 'constant_keyword', value: dataStream.namespace },
      },
    };
  }
  return {
    dynamic: true,
    date_detection: false,
    numeric_detection: false,
    dynamic_templates: [
      { shipwatch_text_strings: { match_mapping_type: 'string', match_pattern: 'regex', match: '^(msg|.*message|.*_msg|err|error|.*_error|exception|.*stack.*)$', mapping: textWithKeyword } },
      { shipwatch_strings: { match_mapping_type: 'string', mapping: keyword } },
      { shipwatch_booleans: { match_mapping_type: 'boolean', mapping: { type: 'keyword' } } },
      { shipwatch_longs: { match_mapping_type: 'long', mapping: { type: 'long' } } },
      { shipwatch_doubles: { match_mapping_type: 'double', mapping: { type: 'double' } } },
    ],
    properties,
  };
}

function settings(): Record<string, unknown> {
  return {
    'index.mapping.ignore_malformed': true,
    'index.mapping.total_fields.limit': TOTAL_FIELDS_LIMIT,
    // Elasticsearch 8.14+: a document bringing fields past the limit is stored, the extra ones only in _source.
    'index.mapping.total_fields.ignore_dynamic_beyond_limit': true,
    'index.mapping.depth.limit': DEPTH_LIMIT,
  };
}

/** The template of a target's indices (`daily`, `monthly`, `none`). */
export function targetTemplate(target: string): LogIndexTemplate {
  const patterns = [target];
  for (let d = 1; d <= 9; d++) patterns.push(`${target}-${d}*`);
  return {
    name: `shipwatch-logs-${target}`,
    body: {
      index_patterns: patterns,
      priority: BASE_PRIORITY + target.length,
      version: LOG_TEMPLATE_VERSION,
      _meta: { managed_by: 'shipwatch', description: `Shipwatch pilot log indices of target ${target}` },
      template: { settings: settings(), mappings: mappings(undefined) },
    },
  };
}

/**
 * A target's data stream name in Elasticsearch's Logs naming, `logs-<dataset>-<namespace>`: the dataset is the target
 * with `-` written `_` (the scheme keeps `-` to part type, dataset and namespace).
 */
export function dataStreamName(target: string, namespace: string): string {
  return `logs-${target.replaceAll('-', '_')}-${namespace}`;
}

/** The template of one data stream `logs-<dataset>-<namespace>`. */
export function dataStreamTemplate(stream: string): LogIndexTemplate {
  const [, dataset = '', namespace = ''] = /^logs-(.*)-([^-]*)$/.exec(stream) ?? [];
  return {
    name: `shipwatch-logs-stream-${stream}`,
    body: {
      index_patterns: [stream],
      priority: STREAM_BASE_PRIORITY + stream.length,
      version: LOG_TEMPLATE_VERSION,
      _meta: { managed_by: 'shipwatch', description: `Shipwatch pilot log data stream ${stream}` },
      data_stream: {},
      // Standard, not logsdb (Elasticsearch 9's default for logs-*-* streams): logsdb sorts on an object `host.name`,
      // and the records' `host` is a string.
      template: { settings: { ...settings(), 'index.mode': 'standard' }, mappings: mappings({ dataset, namespace }) },
    },
  };
}

const DAILY_SUFFIX = /-\d{4}\.\d{2}\.\d{2}$/;
const MONTHLY_SUFFIX = /-\d{4}\.\d{2}$/;

/** The template an index (or stream) the bulk encoder names under `rotation` needs. */
export function templateForIndex(index: string, rotation: 'daily' | 'monthly' | 'none' | 'datastream'): LogIndexTemplate {
  if (rotation === 'datastream') return dataStreamTemplate(index);
  if (rotation === 'daily') return targetTemplate(index.replace(DAILY_SUFFIX, ''));
  if (rotation === 'monthly') return targetTemplate(index.replace(MONTHLY_SUFFIX, ''));
  return targetTemplate(index);
}

/**
 * The template without what an Elasticsearch refused it for, when that is an optional part: the setting an
 * Elasticsearch older than 8.14 does not know, or the `constant_keyword` fields a distribution without X-Pack's
 * mappers lacks. Undefined when the refusal names neither (or the template has none of them left).
 */
export function simplerTemplate(t: LogIndexTemplate, refusal: string): LogIndexTemplate | undefined {
  const settings = { ...t.body.template.settings };
  const mappings = { ...t.body.template.mappings };
  const properties = { ...(mappings['properties'] as Record<string, unknown>) };
  if (/ignore_dynamic_beyond_limit/.test(refusal) && 'index.mapping.total_fields.ignore_dynamic_beyond_limit' in settings) {
    delete settings['index.mapping.total_fields.ignore_dynamic_beyond_limit'];
  } else if (/constant_keyword/.test(refusal) && 'data_stream' in properties) {
    delete properties['data_stream'];
    mappings['properties'] = properties;
  } else return undefined;
  return { name: t.name, body: { ...t.body, template: { settings, mappings } } };
}
