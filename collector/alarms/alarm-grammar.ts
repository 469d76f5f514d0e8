/**
 * The two ways to write an alarm rule, parsed here (pure: no I/O, never throws, a failure is a reason to show):
 *
 * - The rules file (COLLECTOR_ALARM_RULES), JSON: `{"rules": [{"name", "measurement", "field", "tags",
 *   "statistic", "window", "comparison", "threshold", "for", "labels", "annotations"}]}`. Every problem of the file
 *   is reported at once, each naming the rule; a file with any problem is refused whole (the rules read before stay).
 * - A container's label `<prefix>.monitoring.alarm.<name>=<measurement>.<field>[{k=v,…}]:<statistic>:<window>:<comparison>:<threshold>[:<for>]`,
 *   e.g. `aliyun.monitoring.alarm.cpu-high=docker_container_cpu.usage_percent:avg:5m:>:80:1m`, with
 *   `<prefix>.monitoring.alarm.<name>.contact=<who>` and `.summary=<text>` beside it. The rule watches that container
 *   only (its `container_name` tag). The field is what follows the last `.` of the metric.
 */
import { AGGREGATES } from '../../storage/sqlite/metric-query.js';
import { ALARM_COMPARISONS, type AlarmComparison, type AlarmRule, type AlarmStatistic } from '../../model/alarm.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** A window shorter than this holds at most one collected point; one longer than this is a report, not an alarm. */
const MIN_WINDOW_MS = 1000;
const MAX_WINDOW_MS = 86_400_000;

/** `500ms`, `30s`, `5m`, `1h`; a bare number is seconds (the configuration's durations). */
export function parseAlarmDuration(raw: string): number | undefined {
  const m = DURATION.exec(raw.trim());
  return m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!) : undefined;
}

function windowProblem(windowMs: number | undefined, raw: unknown): string | undefined {
  if (windowMs === undefined) return `window "${String(raw)}" is not a duration (write 30s, 5m, 1h)`;
  if (windowMs < MIN_WINDOW_MS || windowMs > MAX_WINDOW_MS) return `window "${String(raw)}" must be between 1s and 1d`;
  return undefined;
}

function statisticOf(raw: unknown): AlarmStatistic | undefined {
  return AGGREGATES.find((a) => a === raw);
}

function comparisonOf(raw: unknown): AlarmComparison | undefined {
  return ALARM_COMPARISONS.find((c) => c === raw);
}

function thresholdOf(raw: unknown): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function stringMap(raw: unknown, what: string, problems: string[]): Record<string, string> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${what} must be an object of strings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') problems.push(`${what}.${k} must be a string`);
    else out[k] = String(v);
  }
  return out;
}

const FILE_KEYS = new Set(['name', 'measurement', 'field', 'tags', 'statistic', 'window', 'comparison', 'threshold', 'for', 'labels', 'annotations']);

/** One rule of the file; the problems found, each without the rule's name. */
function fileRule(raw: unknown, problems: string[]): AlarmRule | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push('must be an object');
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!FILE_KEYS.has(key)) problems.push(`unknown key "${key}"`);
  const name = r['name'];
  if (typeof name !== 'string' || !NAME.test(name)) problems.push('"name" must be letters, digits, "_" or "-"');
  for (const key of ['measurement', 'field']) if (typeof r[key] !== 'string' || r[key] === '') problems.push(`"${key}" must be a non-empty string`);
  const statistic = statisticOf(r['statistic'] ?? 'avg');
  if (statistic === undefined) problems.push(`"statistic" "${String(r['statistic'])}" is not one of ${AGGREGATES.join(', ')}`);
  const windowMs = typeof r['window'] === 'string' || typeof r['window'] === 'number' ? parseAlarmDuration(String(r['window'])) : undefined;
  const wp = windowProblem(windowMs, r['window']);
  if (wp) problems.push(wp);
  const comparison = comparisonOf(r['comparison']);
  if (comparison === undefined) problems.push(`"comparison" "${String(r['comparison'])}" is not one of ${ALARM_COMPARISONS.join(' ')}`);
  const threshold = thresholdOf(r['threshold']);
  if (threshold === undefined) problems.push(`"threshold" "${String(r['threshold'])}" is not a number`);
  const forMs = r['for'] === undefined ? 0 : typeof r['for'] === 'string' || typeof r['for'] === 'number' ? parseAlarmDuration(String(r['for'])) : undefined;
  if (forMs === undefined) problems.push(`"for" "${String(r['for'])}" is not a duration`);
  const tags = stringMap(r['tags'], '"tags"', problems);
  const labels = stringMap(r['labels'], '"labels"', problems);
  const annotations = stringMap(r['annotations'], '"annotations"', problems);
  if (problems.length > 0) return undefined;
  return {
    id: name as string, name: name as string, measurement: r['measurement'] as string, field: r['field'] as string, tags, statistic: statistic!,
    windowMs: windowMs!, comparison: comparison!, threshold: threshold!, forMs: forMs!, labels, annotations, source: 'file',
  };
}

/** The rules file's text: every rule, or every problem (each naming its rule) when there is any. */
export function parseRulesFile(text: string): { ok: true; rules: AlarmRule[] } | { ok: false; problems: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const list = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>)['rules'] : undefined;
  if (!Array.isArray(list)) return { ok: false, problems: ['the file must be an object with a "rules" array'] };
  const problems: string[] = [];
  const rules: AlarmRule[] = [];
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const own: string[] = [];
    const rule = fileRule(raw, own);
    const name = (raw as { name?: unknown } | null)?.name;
    const which = typeof name === 'string' && name !== '' ? `rule "${name}"` : `rule #${i + 1}`;
    for (const p of own) problems.push(`${which}: ${p}`);
    if (rule === undefined) return;
    if (seen.has(rule.id)) problems.push(`${which}: the name is used twice`);
    seen.add(rule.id);
    rules.push(rule);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rules };
}

/** `measurement.field` or `measurement.field{k=v,k2=v2}`. */
function metricOf(raw: string): Parsed<{ measurement: string; field: string; tags: Record<string, string> }> {
  const m = /^([^{}]+?)(?:\{([^{}]*)\})?$/.exec(raw);
  if (!m) return { ok: false, reason: `metric "${raw}" must be <measurement>.<field> or <measurement>.<field>{tag=value,…}` };
  const dot = m[1]!.lastIndexOf('.');
  if (dot <= 0 || dot === m[1]!.length - 1) return { ok: false, reason: `metric "${m[1]}" must be <measurement>.<field>` };
  const tags: Record<string, string> = {};
  for (const pair of (m[2] ?? '').split(',').filter((p) => p.trim() !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return { ok: false, reason: `tag matcher "${pair}" must be tag=value` };
    tags[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return { ok: true, value: { measurement: m[1]!.slice(0, dot), field: m[1]!.slice(dot + 1), tags } };
}

/**
 * A container's alarm label value (`<metric>:<statistic>:<window>:<comparison>:<threshold>[:<for>]`) as the rule
 * `<container>/<name>` watching that container only.
 */
export function parseAlarmLabel(container: string, name: string, value: string, extra: { contact?: string; summary?: string } = {}): Parsed<AlarmRule> {
  if (!NAME.test(name)) return { ok: false, reason: `alarm name "${name}" must be letters, digits, "_" or "-"` };
  const parts = value.split(':').map((p) => p.trim());
  if (parts.length < 5 || parts.length > 6) {
    return { ok: false, reason: `"${value}" must be <measurement>.<field>:<statistic>:<window>:<comparison>:<threshold>[:<for>]` };
  }
  const [metricText, statText, windowText, cmpText, thresholdText, forText] = parts as [string, string, string, string, string, string | undefined];
  const metric = metricOf(metricText);
  if (!metric.ok) return metric;
  const statistic = statisticOf(statText);
  if (statistic === undefined) return { ok: false, reason: `statistic "${statText}" is not one of ${AGGREGATES.join(', ')}` };
  const windowMs = parseAlarmDuration(windowText);
  const wp = windowProblem(windowMs, windowText);
  if (wp) return { ok: false, reason: wp };
  const comparison = comparisonOf(cmpText);
  if (comparison === undefined) return { ok: false, reason: `comparison "${cmpText}" is not one of ${ALARM_COMPARISONS.join(' ')}` };
  const threshold = thresholdOf(thresholdText);
  if (threshold === undefined) return { ok: false, reason: `threshold "${thresholdText}" is not a number` };
  const forMs = forText === undefined ? 0 : parseAlarmDuration(forText);
  if (forMs === undefined) return { ok: false, reason: `for "${forText}" is not a duration` };
  const labels: Record<string, string> = {};
  if (extra.contact !== undefined && extra.contact !== '') labels['contact'] = extra.contact;
  const annotations: Record<string, string> = {};
  if (extra.summary !== undefined && extra.summary !== '') annotations['summary'] = extra.summary;
  return {
    ok: true,
    value: {
      id: `${container}/${name}`, name, measurement: metric.value.measurement, field: metric.value.field,
      tags: { ...metric.value.tags, container_name: container }, statistic, windowMs: windowMs!, comparison, threshold, forMs,
      labels, annotations, source: 'label', container,
    },
  };
}

/** Every alarm rule among a container's labels, and each refused one's reason naming the label. */
export function alarmLabels(container: string, labels: Readonly<Record<string, string>>, prefix: string): { rules: AlarmRule[]; problems: string[] } {
  const head = `${prefix}.monitoring.alarm.`;
  const rules: AlarmRule[] = [];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (!key.startsWith(head)) continue;
    const name = key.slice(head.length);
    if (name.endsWith('.contact') || name.endsWith('.summary')) {
      if (labels[head + name.slice(0, name.lastIndexOf('.'))] === undefined) problems.push(`label ${key}: no alarm ${head}${name.slice(0, name.lastIndexOf('.'))} beside it`);
      continue;
    }
    if (name.includes('.')) {
      problems.push(`label ${key}: unknown alarm label (an alarm has .contact and .summary only)`);
      continue;
    }
    const parsed = parseAlarmLabel(container, name, value, { contact: labels[`${key}.contact`], summary: labels[`${key}.summary`] });
    if (parsed.ok) rules.push(parsed.value);
    else problems.push(`label ${key}: ${parsed.reason}`);
  }
  rules.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { rules, problems };
}
