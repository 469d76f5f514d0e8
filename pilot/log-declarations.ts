/**
 * A container's log declarations (the README's "Declaring logs"), read from its labels and environment, as log-pilot
 * reads them:
 *
 *   labels  `<prefix>.logs.<name>=<source>` and `<prefix>.logs.<name>.<setting>=<value>`
 *   env     `<prefix>_logs_<name>=<source>` and `<prefix>_logs_<name>_<setting>=<value>`
 *
 * Settings: `format` (none|json|csv|regexp), `format.keys`, `format.pattern`, `format.time_key`,
 * `format.time_format`, `tags` (k1=v1,k2=v2), `target`, `multiline.pattern`, `multiline.max_lines`,
 * `multiline.max_bytes`, `multiline.timeout` (in env, dots become `_`).
 *
 * Beyond log-pilot (which turned every `_` of an env name into a `.`, so `aliyun_logs_my_app` became log `my` with
 * a setting `app`): an env setting is recognised by its known suffix, matched from the end, and only when the part
 * before it is itself declared; otherwise the whole rest is the name. So `aliyun_logs_my_app=stdout` is log
 * `my_app`, and `aliyun_logs_my_app_format=json` sets its format.
 *
 * Target (the index base name): `.target`, else a tag `target=` (not kept as a field: `target` is one), else a tag
 * `index=` (log-pilot's filebeat output indexed by it; it stays a field), else the name; lower-cased, since
 * Elasticsearch refuses upper case. Multiline bounds default to 500 lines, 1 MiB and 5 s (filebeat's lines and
 * timeout; bytes kept at the line limit's order of size).
 *
 * Precedence when one setting is given twice: environment over labels (log-pilot copied env over labels), then the
 * first prefix of PILOT_LOG_PREFIX; a differing duplicate is reported. A bad declaration is skipped with a warning
 * naming the container, the label or variable and the reason; the container's other declarations survive.
 */
import { parseDurationMs, parseInteger, parseSizeBytes, Problem } from '../platform/config/schema.js';
import type { ContainerMeta } from '../model/container.js';
import { compileUserPattern, type UserPattern } from '../platform/user-pattern.js';
import { createCsvFormat } from './formats/csv.js';
import { FORMAT_NAMES, type FormatName, type LineFormat } from './formats/format.js';
import { createJsonFormat, type JsonLineLimits } from './formats/json.js';
import { createNoneFormat } from './formats/none.js';
import { compileGroupPattern, createRegexpFormat } from './formats/regexp.js';
import { compileTimeFormat, type TimeParser } from './formats/time-format.js';
import { parseLogSource, type LogSource } from './log-source.js';
import { RESERVED_TAG_KEYS, parseTags } from './declaration-tags.js';

export interface MultilineSpec {
  /** A line matching it starts a new record (a RegExp, or a container's pattern compiled by platform/user-pattern.ts). */
  pattern: Pick<UserPattern, 'test'>;
  maxLines: number;
  maxBytes: number;
  /** A pending record is flushed when no line came for this long. */
  timeoutMs: number;
}

export interface LogDeclaration {
  name: string;
  source: LogSource;
  format: FormatName;
  lineFormat: LineFormat;
  /** `.format.time_key` ('' when none) and its compiled `.format.time_format`. */
  timeKey: string;
  parseTime: TimeParser | null;
  /** Fields added to every record (never one of the record's own fields; `target` is not a tag). */
  tags: Readonly<Record<string, string>>;
  /** Index base name, lower case. */
  target: string;
  multiline: MultilineSpec | null;
  /** The label or variable that declared the source, for messages. */
  declaredBy: string;
}

export interface DeclarationWarning {
  /** Container name. */
  container: string;
  /** The label or environment variable concerned. */
  label: string;
  reason: string;
  /** True when the declaration was skipped, false for a setting ignored while the declaration was kept. */
  skipped: boolean;
}

export interface DeclarationOptions {
  /** PILOT_LOG_PREFIX. */
  prefixes: readonly string[];
  /** PILOT_JSON_MAX_KEYS and PILOT_JSON_MAX_DEPTH; Elasticsearch's defaults when absent. */
  jsonLimits?: JsonLineLimits;
}

export interface Declarations {
  declarations: LogDeclaration[];
  warnings: DeclarationWarning[];
}

export const MULTILINE_DEFAULTS = Object.freeze({ maxLines: 500, maxBytes: 1024 * 1024, timeoutMs: 5000 });
const MULTILINE_MAX_BYTES_LIMIT = 64 * 1024 * 1024;

const SETTINGS = [
  'format', 'format.keys', 'format.pattern', 'format.time_key', 'format.time_format', 'tags', 'target',
  'multiline.pattern', 'multiline.max_lines', 'multiline.max_bytes', 'multiline.timeout',
] as const;
/** Env suffixes, longest first so `_format_time_format` is not read as `_format`. */
const ENV_SUFFIXES = SETTINGS.map((s) => ({ suffix: '_' + s.replace(/\./g, '_'), setting: s }))
  .sort((a, b) => b.suffix.length - a.suffix.length);
/** log-pilot settings accepted without effect (fluentd's keep_time_key is always on here). */
const IGNORED_SETTINGS = new Set(['format.keep_time_key']);

const NAME_RE = /^[A-Za-z0-9_-]+$/;
/** Elasticsearch index names: lower case, none of `\ / * ? " < > | , # :` nor space, not starting with `-_+`. */
const TARGET_RE = /^[a-z0-9][^\\/*?"<>|,#:\s]*$/;
const TARGET_MAX_CHARS = 200;

interface Setting { value: string; from: string }
type RawDeclaration = Map<string, Setting>; // '' = the source

/** Collects settings per name; the first writer wins (env before labels, prefixes in order). */
function collect(meta: ContainerMeta, prefixes: readonly string[], warn: (label: string, reason: string, skipped: boolean) => void): Map<string, RawDeclaration> {
  const byName = new Map<string, RawDeclaration>();
  const put = (name: string, setting: string, value: string, from: string): void => {
    let decl = byName.get(name);
    if (!decl) byName.set(name, (decl = new Map()));
    const prev = decl.get(setting);
    if (!prev) decl.set(setting, { value, from });
    else if (prev.value !== value) warn(from, `also set by ${prev.from}; "${prev.value}" is used`, false);
  };
  for (const prefix of prefixes) {
    const head = `${prefix}_logs_`;
    const keys = Object.keys(meta.env).filter((k) => k.startsWith(head) && k.length > head.length);
    const rests = new Set(keys.map((k) => k.slice(head.length)));
    const labelNames = new Set(Object.keys(meta.labels).filter((l) => l.startsWith(`${prefix}.logs.`))
      .map((l) => l.slice(prefix.length + 6).split('.')[0]!));
    for (const key of keys) {
      const rest = key.slice(head.length);
      if (rest === 'custom_config') { warn(key, "log-pilot's custom config is not supported", false); continue; }
      const match = ENV_SUFFIXES.find(({ suffix }) => {
        if (!rest.endsWith(suffix) || rest.length === suffix.length) return false;
        const base = rest.slice(0, -suffix.length);
        return rests.has(base) || labelNames.has(base);
      });
      if (match) put(rest.slice(0, -match.suffix.length), match.setting, meta.env[key]!, key);
      else put(rest, '', meta.env[key]!, key);
    }
  }
  for (const prefix of prefixes) {
    const head = `${prefix}.logs.`;
    for (const label of Object.keys(meta.labels).sort()) {
      if (!label.startsWith(head)) continue;
      const rest = label.slice(head.length);
      if (rest === 'custom.config') { warn(label, "log-pilot's custom config is not supported", false); continue; }
      const dot = rest.indexOf('.');
      // A trailing dot (`<prefix>.logs.x.`) is an unknown setting, never the source.
      put(dot < 0 ? rest : rest.slice(0, dot), dot < 0 ? '' : rest.slice(dot + 1) || '.', meta.labels[label]!, label);
    }
  }
  return byName;
}

function suffixHint(name: string): string {
  const m = ENV_SUFFIXES.find(({ suffix }) => name.endsWith(suffix) && name.length > suffix.length);
  return m ? ` (if this sets ${m.setting} of log "${name.slice(0, -m.suffix.length)}", declare that log's source too)` : '';
}

function buildFormat(name: string, get: (s: string) => Setting | undefined, jsonLimits: JsonLineLimits | undefined): { format: FormatName; lineFormat: LineFormat } | { label: string; reason: string } {
  const f = get('format');
  const format = (f?.value.trim().toLowerCase() || 'none') as FormatName;
  if (!FORMAT_NAMES.includes(format)) return { label: f!.from, reason: `unknown format "${f!.value}" (allowed: ${FORMAT_NAMES.join(', ')})` };
  if (format === 'csv') {
    const k = get('format.keys');
    const keys = (k?.value ?? '').split(',').map((s) => s.trim());
    if (!k || keys.every((s) => s === '')) return { label: f!.from, reason: `format csv needs ${name}'s format.keys (a,b,c)` };
    if (keys.some((s) => s === '')) return { label: k.from, reason: `"${k.value}" holds an empty key` };
    const dup = keys.find((s, i) => keys.indexOf(s) !== i);
    if (dup) return { label: k.from, reason: `key "${dup}" is given twice` };
    return { format, lineFormat: createCsvFormat(keys) };
  }
  if (format === 'regexp') {
    const p = get('format.pattern');
    if (!p || p.value === '') return { label: f!.from, reason: `format regexp needs ${name}'s format.pattern` };
    const compiled = compileGroupPattern(p.value);
    if (typeof compiled === 'string') return { label: p.from, reason: compiled };
    return { format, lineFormat: createRegexpFormat(compiled.re, compiled.groups) };
  }
  return { format, lineFormat: format === 'json' ? createJsonFormat(jsonLimits) : createNoneFormat() };
}

function buildMultiline(get: (s: string) => Setting | undefined): MultilineSpec | null | { label: string; reason: string } {
  const p = get('multiline.pattern');
  const bounds = ['multiline.max_lines', 'multiline.max_bytes', 'multiline.timeout'].map(get).filter((s) => s !== undefined);
  if (!p) return bounds.length > 0 ? { label: bounds[0]!.from, reason: 'multiline bounds without multiline.pattern' } : null;
  const pattern = compileUserPattern(p.value);
  // Mapped to the declaration's warning.
  if (typeof pattern === 'string') return { label: p.from, reason: `multiline pattern ${pattern}` };
  if (p.value === '' || pattern.test('')) return { label: p.from, reason: `multiline pattern /${p.value}/ matches every line` };
  const spec: MultilineSpec = { pattern, ...MULTILINE_DEFAULTS };
  const parsers = {
    'multiline.max_lines': [parseInteger(1, 100_000), 'maxLines'],
    'multiline.max_bytes': [parseSizeBytes, 'maxBytes'],
    'multiline.timeout': [parseDurationMs, 'timeoutMs'],
  } as const;
  for (const [setting, [parse, key]] of Object.entries(parsers)) {
    const s = get(setting);
    if (!s) continue;
    const v = parse(s.value);
    if (v instanceof Problem) return { label: s.from, reason: v.reason };
    if (key === 'maxBytes' && (v < 1 || v > MULTILINE_MAX_BYTES_LIMIT)) return { label: s.from, reason: `"${s.value}" is not from 1 byte to 64MiB` };
    if (key === 'timeoutMs' && (v < 10 || v > 600_000)) return { label: s.from, reason: `"${s.value}" is not from 10ms to 10m` };
    spec[key] = v;
  }
  return spec;
}

function buildOne(name: string, raw: RawDeclaration, options: DeclarationOptions, warn: (label: string, reason: string, skipped: boolean) => void): LogDeclaration | { label: string; reason: string } {
  const get = (s: string): Setting | undefined => raw.get(s);
  const anyFrom = [...raw.values()][0]!.from;
  if (!NAME_RE.test(name)) return { label: anyFrom, reason: `log name "${name}" may hold only letters, digits, "-" and "_"` };
  const src = get('');
  if (!src) return { label: anyFrom, reason: `settings for log "${name}" but no source (${name}=stdout or a path)` };
  const source = parseLogSource(src.value);
  if (typeof source === 'string') return { label: src.from, reason: source + suffixHint(name) };

  for (const [setting, s] of raw) {
    if (setting !== '' && !(SETTINGS as readonly string[]).includes(setting)) {
      warn(s.from, IGNORED_SETTINGS.has(setting) ? `${setting} has no effect here` : `unknown setting "${setting}" ignored`, false);
    }
  }
  const fmt = buildFormat(name, get, options.jsonLimits);
  if ('reason' in fmt) return fmt;
  for (const s of ['format.keys', 'format.pattern'] as const) {
    const given = get(s);
    if (given && !(s === 'format.keys' ? fmt.format === 'csv' : fmt.format === 'regexp')) warn(given.from, `${s} ignored with format ${fmt.format}`, false);
  }

  const tk = get('format.time_key');
  const tf = get('format.time_format');
  let timeKey = '';
  let parseTime: TimeParser | null = null;
  if (tk && tk.value.trim() !== '') {
    if (fmt.format === 'none') warn(tk.from, 'time_key ignored with format none (a plain line has no fields)', false);
    else {
      const compiled = compileTimeFormat(tf?.value);
      if (typeof compiled === 'string') return { label: tf!.from, reason: compiled };
      const names = fmt.lineFormat.fieldNames;
      if (names && !names.includes(tk.value.trim())) return { label: tk.from, reason: `time_key "${tk.value}" is not one of the fields (${names.join(', ')})` };
      timeKey = tk.value.trim();
      parseTime = compiled;
    }
  } else if (tf) warn(tf.from, 'time_format ignored without time_key', false);

  const t = get('tags');
  const tagResult = parseTags(t?.value ?? '');
  if (typeof tagResult === 'string') return { label: t!.from, reason: tagResult };
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(tagResult)) {
    if (k === 'target') continue;
    if (RESERVED_TAG_KEYS.has(k)) warn(t!.from, `tag "${k}" ignored: it is a record field`, false);
    else tags[k] = v;
  }

  const targetSetting = get('target');
  const explicit = targetSetting?.value.trim() || tagResult['target'] || tagResult['index'] || '';
  const target = (explicit || name).toLowerCase();
  const targetFrom = targetSetting?.from ?? t?.from ?? src.from;
  if (!TARGET_RE.test(target) || target.length > TARGET_MAX_CHARS) {
    return { label: targetFrom, reason: `target "${target}" is not a valid index name (lower case letters, digits, "-", "_", "."; at most ${TARGET_MAX_CHARS})` };
  }
  if (targetSetting && tagResult['target'] && targetSetting.value.trim().toLowerCase() !== tagResult['target'].toLowerCase()) {
    warn(t!.from, `tag target="${tagResult['target']}" differs from ${targetSetting.from}; "${target}" is used`, false);
  }

  const multiline = buildMultiline(get);
  if (multiline && 'reason' in multiline) return multiline;

  return Object.freeze({
    name, source, format: fmt.format, lineFormat: fmt.lineFormat, timeKey, parseTime,
    tags: Object.freeze(tags), target, multiline, declaredBy: src.from,
  });
}

/** Reads every declaration of a container. Pure; never throws. */
export function parseDeclarations(meta: ContainerMeta, options: DeclarationOptions): Declarations {
  const warnings: DeclarationWarning[] = [];
  const warn = (label: string, reason: string, skipped: boolean): void => {
    warnings.push({ container: meta.name, label, reason, skipped });
  };
  const declarations: LogDeclaration[] = [];
  for (const [name, raw] of collect(meta, options.prefixes, warn)) {
    const built = buildOne(name, raw, options, warn);
    if ('reason' in built && !('source' in built)) warn(built.label, built.reason, true);
    else declarations.push(built as LogDeclaration);
  }
  declarations.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { declarations, warnings };
}
