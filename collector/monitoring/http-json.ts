/**
 * An `aliyun.monitoring.http` body → points (Telegraf's httpjson, without its most common complaint: strings and
 * booleans are kept). The body is a JSON object or an array of objects, one point each; nested keys are joined
 * with `_` (array items by index); keys named in `aliyun.monitoring.tags` become tags; numbers become float
 * fields, booleans boolean fields, other strings string fields; nulls and empty keys are left out. Pure: never
 * throws, bounded in depth, fields per point and points per body (what is past a bound is skipped and reported).
 */
import { bool, float, makePoint, str, type FieldValue, type MetricPoint } from '../../model/metric-point.js';

export interface HttpJsonLimits {
  /** Deeper values are skipped (and reported). */
  maxDepth: number;
  /** Fields per point beyond this are skipped (and reported). */
  maxFields: number;
  /** Objects (points) per body. */
  maxPoints: number;
}

export const DEFAULT_HTTP_JSON_LIMITS: HttpJsonLimits = { maxDepth: 16, maxFields: 1000, maxPoints: 1000 };

export type HttpJsonResult = { ok: true; points: MetricPoint[]; warnings: string[] } | { ok: false; reason: string };

export function parseHttpJson(
  body: string,
  options: { measurement: string; tagKeys: readonly string[]; tags: Record<string, string>; timeNs: bigint; limits?: HttpJsonLimits },
): HttpJsonResult {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    const head = body.trimStart().slice(0, 40).replace(/\s+/g, ' ');
    return { ok: false, reason: `the body is not JSON (${(err as Error).message}; it starts with ${JSON.stringify(head)})` };
  }
  const limits = options.limits ?? DEFAULT_HTTP_JSON_LIMITS;
  const objects = Array.isArray(doc) ? doc : [doc];
  if (objects.length === 0) return { ok: true, points: [], warnings: [] };
  if (!Array.isArray(doc) && (doc === null || typeof doc !== 'object')) {
    return { ok: false, reason: `the body is ${doc === null ? 'null' : typeof doc}, not a JSON object or an array of objects` };
  }
  // Warnings are summed over the body: an array of a million scalars is one warning, not a million.
  const skipped = { notObjects: 0, firstNotObject: -1, empty: 0, deep: 0, fields: 0 };
  const points: MetricPoint[] = [];
  let cut = false;
  for (const [i, obj] of objects.entries()) {
    if (points.length >= limits.maxPoints) {
      cut = true;
      break;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      if (skipped.notObjects++ === 0) skipped.firstNotObject = i;
      continue;
    }
    const flat = new Map<string, FieldValue>();
    const tags = new Map<string, string>(Object.entries(options.tags));
    const state = { skippedDeep: 0, skippedFields: 0 };
    flatten(obj as Record<string, unknown>, '', 1, options.tagKeys, flat, tags, limits, state);
    skipped.deep += state.skippedDeep;
    skipped.fields += state.skippedFields;
    if (flat.size === 0) {
      skipped.empty++;
      continue;
    }
    points.push(makePoint(options.measurement, tags, flat, options.timeNs));
  }
  const warnings: string[] = [];
  if (skipped.notObjects > 0) warnings.push(`${skipped.notObjects} array item(s) that are not objects were skipped (the first at index ${skipped.firstNotObject})`);
  if (skipped.empty > 0) warnings.push(`${skipped.empty} object(s) without any field were skipped`);
  if (skipped.deep > 0) warnings.push(`${skipped.deep} value(s) nested deeper than ${limits.maxDepth} levels were skipped`);
  if (skipped.fields > 0) warnings.push(`${skipped.fields} field(s) beyond ${limits.maxFields} per object were skipped`);
  if (cut) warnings.push(`only the first ${limits.maxPoints} objects were read`);
  return { ok: true, points, warnings };
}

function flatten(
  value: Record<string, unknown> | unknown[],
  prefix: string,
  depth: number,
  tagKeys: readonly string[],
  fields: Map<string, FieldValue>,
  tags: Map<string, string>,
  limits: HttpJsonLimits,
  state: { skippedDeep: number; skippedFields: number },
): void {
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [k, v] of entries) {
    if (k === '') continue; // no name to give it: line protocol has no empty keys
    const key = prefix === '' ? k : `${prefix}_${k}`;
    if (v !== null && typeof v === 'object') {
      if (depth >= limits.maxDepth) state.skippedDeep++;
      else flatten(v as Record<string, unknown>, key, depth + 1, tagKeys, fields, tags, limits, state);
      continue;
    }
    if (tagKeys.includes(key)) {
      if (v !== null && v !== undefined) tags.set(key, String(v));
      continue;
    }
    let field: FieldValue | undefined;
    if (typeof v === 'number') field = Number.isFinite(v) ? float(v) : undefined;
    else if (typeof v === 'boolean') field = bool(v);
    else if (typeof v === 'string') field = str(v);
    if (field === undefined) continue;
    if (fields.size >= limits.maxFields && !fields.has(key)) {
      state.skippedFields++;
      continue;
    }
    fields.set(key, field);
  }
}

/** `httpjson_<container name>`, the name sanitised to a measurement-friendly form. */
export function httpJsonMeasurement(containerName: string): string {
  return `httpjson_${containerName.replace(/^\//, '').replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}
