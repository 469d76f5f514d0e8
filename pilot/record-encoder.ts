/**
 * Lines → records (the README's "Records"), the pilot's hot path, built the way pino builds its log lines: everything
 * constant for a (container, declaration, file) — `source`, `target`, `host`, the container's metadata, the tags, the
 * record id's prefix — is serialised ONCE into a JSON fragment, and each line only adds its own parts:
 *
 *   {"@timestamp":"…","message":"…","stream":"stdout",<constant fragment>,<the format's fields>[,"parse_error":"…"][,"truncated":true]}
 *
 * - `@timestamp`: the `time_key` field when declared and readable, else the engine's time (stdout), else the read
 *   time; UTC ISO 8601 with milliseconds.
 * - `message`: the line, for every format but `json` (whose own fields stand for it) and for any failed line.
 * - `json` lines: their fields go at the top level. Fast path: when none of the line's keys is a record field, the
 *   line's own JSON text is spliced in as it is (no re-serialisation). Otherwise the record's field keeps its name
 *   and the line's value moves to `original_<name>` (see record-fields.ts); no key is ever written twice.
 * - A line the format rejects is shipped anyway: `message` holds the raw line, `parse_error` the reason; so is a
 *   json line past PILOT_JSON_MAX_KEYS or PILOT_JSON_MAX_DEPTH (the reason names the limit; `onLimit` counts it). A
 *   `time_key` value that cannot be read also sets `parse_error` (the line's fields are kept, `@timestamp` falls
 *   back as above).
 * - `truncated: true` marks a line cut at PILOT_MAX_LINE_BYTES.
 * - The record id is `<prefix>-<position>`: the prefix (22 base64url characters of a SHA-256 of container id,
 *   declaration name, file path and file key) is computed once per file; the position is the byte offset after the
 *   line in that file. The same line re-read after a restart gets the same id, so Elasticsearch overwrites it.
 */
import { createHash } from 'node:crypto';
import type { ContainerMeta } from '../model/container.js';
import type { LogEvent } from '../model/log-record.js';
import type { LogDeclaration } from './log-declarations.js';
import type { Stream } from './docker-json-log.js';
import type { FormatOutcome } from './formats/format.js';
import { jsonMembers, keyCount, keyMarks } from './json-members.js';
import { renamedField } from './record-fields.js';
import { traceContextOfFields, traceContextOfText, type TraceContext } from './trace-context.js';
import type { UserPattern } from '../platform/user-pattern.js';

export interface RecordEncoderOptions {
  /** `host`: the host's name. */
  hostName: string;
  /** `k8s_node_name` (NODE_NAME), '' for none. */
  nodeName: string;
  /** Told of each line shipped raw for passing a limit of its format (json: `keys`, `depth`), for the self-metric. */
  onLimit?: (limit: 'keys' | 'depth') => void;
  /** PILOT_TRACE_ID_PATTERN compiled (./trace-context.ts); without it, ids are taken from fields only. */
  tracePattern?: UserPattern;
}

export interface FileRecordEncoder {
  /**
   * One line (or multiline record) → its record.
   * @param line the text (no newline at the end)
   * @param position byte offset just after the line in its file (names the record)
   * @param truncated the line was cut at the line limit
   * @param stream `stdout` / `stderr` for standard output, null for a file
   * @param engineTimeMs the engine's time for the line (stdout), NaN when none
   * @param readTimeMs when the line was read (the fallback time); NaN = now
   * @param problem why the runtime's own framing of the line could not be read (a malformed CRI entry): the line is
   *   shipped raw with it as parse_error, the format not tried
   */
  encode(line: string, position: number, truncated: boolean, stream: Stream | null, engineTimeMs: number, readTimeMs: number, problem?: string): LogEvent;
}

export interface RecordEncoder {
  readonly declaration: LogDeclaration;
  /**
   * The encoder of one file of the declaration. `path` is the file's path inside the container (ignored for
   * stdout, whose `source` is `stdout`); `fileKey` tells apart files that had the same path at different times
   * (e.g. device:inode plus a generation bumped on copytruncate), so a rotated file's offsets never reuse an id.
   */
  forFile(path: string, fileKey: string): FileRecordEncoder;
}

/** Earliest and latest times written: ES dates and the daily index need a four-digit year. */
const MIN_TIME_MS = 0;
const MAX_TIME_MS = 253402300799999;

let lastMinuteMs = NaN;
let lastMinuteHead = '';

/**
 * ms (within MIN_TIME_MS..MAX_TIME_MS) → ISO string. The `YYYY-MM-DDTHH:MM:` head is built once per minute and the
 * seconds and milliseconds by hand: standard output lines each carry their own engine time, and a Date per line
 * was a sixth of that case's CPU (bench/pilot-pipeline, stdout).
 */
function isoOf(ms: number): string {
  if (!Number.isInteger(ms)) return new Date(ms).toISOString();
  const rest = ms % 60_000;
  const minuteMs = ms - rest;
  if (minuteMs !== lastMinuteMs) {
    lastMinuteHead = new Date(minuteMs).toISOString().slice(0, 17);
    lastMinuteMs = minuteMs;
  }
  const s = (rest / 1000) | 0;
  const milli = rest - s * 1000;
  return lastMinuteHead + (s < 10 ? '0' : '') + s + (milli < 10 ? '.00' : milli < 100 ? '.0' : '.') + milli + 'Z';
}

const STREAM_FRAGMENT: Record<Stream, string> = { stdout: ',"stream":"stdout"', stderr: ',"stream":"stderr"' };

/** `,"k":"v"` for every non-empty value, in order. */
function constantFragment(pairs: Array<[string, string]>): string {
  let out = '';
  for (const [k, v] of pairs) if (v !== '') out += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  return out;
}

export function createRecordEncoder(meta: ContainerMeta, decl: LogDeclaration, options: RecordEncoderOptions): RecordEncoder {
  const stdout = decl.source.kind === 'stdout';
  const metaPairs: Array<[string, string]> = [
    ['target', decl.target],
    ['host', options.hostName],
    ['docker_container', meta.name],
    ['docker_container_id', meta.id],
    ['docker_app', meta.app],
    ['docker_service', meta.service],
    ['k8s_pod', meta.k8sPod],
    ['k8s_pod_namespace', meta.k8sNamespace],
    ['k8s_container_name', meta.k8sContainer],
    ['k8s_pod_uid', meta.k8sPodUid ?? ''],
    ['k8s_container_restart', meta.k8sRestart ?? ''],
    ['k8s_node_name', options.nodeName],
    ...Object.entries(decl.tags),
  ];
  // The names this declaration's records own: a line's field with one of them is renamed.
  const owned = new Set<string>(['@timestamp', 'source', 'parse_error', 'truncated']);
  if (stdout) owned.add('stream');
  if (decl.lineFormat.keepsMessage) owned.add('message');
  for (const [k, v] of metaPairs) if (v !== '') owned.add(k);

  // csv and regexp know their field names up front: their JSON keys (renamed where needed) are built here.
  const known = decl.lineFormat.fieldNames;
  const keyFragments = new Map<string, string>();
  if (known) {
    for (const k of known) {
      const name = owned.has(k) ? renamedField(k, (c) => owned.has(c) || known.includes(c)) : k;
      keyFragments.set(k, `,${JSON.stringify(name)}:`);
    }
  }

  return {
    declaration: decl,
    forFile(path: string, fileKey: string): FileRecordEncoder {
      const source = stdout ? 'stdout' : path;
      const fragment = constantFragment([['source', source], ...metaPairs]);
      const idPrefix = createHash('sha256').update(`${meta.recordKey ?? meta.id}\0${decl.name}\0${source}\0${fileKey}`).digest('base64url').slice(0, 22) + '-';
      return new Encoder(meta, decl, fragment, idPrefix, owned, keyFragments, options.onLimit ?? ignoreLimit, options.tracePattern);
    },
  };
}

function ignoreLimit(): void {}

class Encoder implements FileRecordEncoder {
  private readonly parse: (line: string) => FormatOutcome;
  private readonly keepsMessage: boolean;
  private readonly isJson: boolean;

  constructor(
    private readonly meta: ContainerMeta,
    private readonly decl: LogDeclaration,
    private readonly fragment: string,
    private readonly idPrefix: string,
    private readonly owned: ReadonlySet<string>,
    private readonly keyFragments: ReadonlyMap<string, string>,
    private readonly onLimit: (limit: 'keys' | 'depth') => void,
    private readonly tracePattern: UserPattern | undefined,
  ) {
    this.parse = decl.lineFormat.parse;
    this.keepsMessage = decl.lineFormat.keepsMessage;
    this.isJson = decl.format === 'json';
  }

  encode(line: string, position: number, truncated: boolean, stream: Stream | null, engineTimeMs: number, readTimeMs: number, problem?: string): LogEvent {
    const outcome: FormatOutcome = problem === undefined ? this.parse(line) : { ok: false, reason: problem };
    let fields = '';
    let failure = '';
    let timeMs = !Number.isNaN(engineTimeMs) ? engineTimeMs : !Number.isNaN(readTimeMs) ? readTimeMs : Date.now();
    if (outcome.ok) {
      if (outcome.fields !== null) {
        fields = outcome.rawJson !== null ? this.jsonFields(outcome.fields, outcome.rawJson, outcome.keys) : this.knownFields(outcome.fields);
        if (this.decl.timeKey !== '') {
          const value = outcome.fields[this.decl.timeKey];
          const t = value === undefined ? NaN : this.decl.parseTime!(value);
          if (t >= MIN_TIME_MS && t <= MAX_TIME_MS) timeMs = t;
          else failure = value === undefined ? `time_key "${this.decl.timeKey}" is missing` : `time_key "${this.decl.timeKey}": ${JSON.stringify(value).slice(0, 100)} does not fit the time format`;
        }
      }
    } else {
      failure = outcome.reason;
      if (outcome.limit !== undefined) this.onLimit(outcome.limit);
    }
    if (!(timeMs >= MIN_TIME_MS && timeMs <= MAX_TIME_MS)) timeMs = Date.now();
    const lineFields = outcome.ok ? outcome.fields : null;
    let trace: TraceContext | undefined = lineFields !== null ? traceContextOfFields(lineFields) : undefined;
    if (trace === undefined && this.tracePattern !== undefined) trace = traceContextOfText(line, this.tracePattern);

    // The record is what comes before the constant fragment, the fragment, and what comes after it: the parts are
    // kept apart too, for an output that stores the fragment once (LogEvent.shared).
    let before = '{"@timestamp":"' + isoOf(timeMs) + '"';
    if (this.keepsMessage || !outcome.ok) before += ',"message":' + JSON.stringify(line);
    if (stream !== null) before += STREAM_FRAGMENT[stream];
    let after = fields;
    if (failure !== '') after += ',"parse_error":' + JSON.stringify(failure);
    if (truncated) after += ',"truncated":true';
    // The ids in one form (./trace-context.ts) under one name, unless the line or the pilot has that name already.
    if (trace !== undefined) {
      if (!this.owned.has('trace_id') && (lineFields === null || !('trace_id' in lineFields))) after += ',"trace_id":"' + trace.traceId + '"';
      if (trace.spanId !== '' && !this.owned.has('span_id') && (lineFields === null || !('span_id' in lineFields))) after += ',"span_id":"' + trace.spanId + '"';
    }
    after += '}';
    return {
      json: before + this.fragment + after,
      target: this.decl.target,
      timestampMs: timeMs,
      id: this.idPrefix + position,
      containerId: this.meta.id,
      containerName: this.meta.name,
      app: this.meta.app,
      service: this.meta.service,
      text: line,
      traceId: trace?.traceId,
      spanId: trace === undefined || trace.spanId === '' ? undefined : trace.spanId,
      beforeShared: before,
      shared: this.fragment,
      afterShared: after,
    };
  }

  /**
   * A json line's fields: its own text when no key is ours, it is one physical line and no key is written twice,
   * else its members rewritten from that text (json-members.ts: values as written, so integers beyond 2^53 keep
   * their digits; a key written twice kept once).
   */
  private jsonFields(obj: Record<string, unknown>, raw: string, counted: number | undefined): string {
    let clash = false;
    // Its keys at every depth, for the check that none is written twice (json-members.ts, mayRepeatKeys): the json
    // format counted them for its limits.
    let keys = counted ?? 0;
    for (const k in obj) {
      if (this.owned.has(k)) clash = true;
      if (counted !== undefined) continue;
      keys++;
      const v = obj[k];
      if (typeof v === 'object' && v !== null) keys += keyCount(v);
    }
    if (keys === 0) return '';
    if (!clash && raw.indexOf('\n') < 0 && keyMarks(raw) === keys) {
      const open = raw.indexOf('{');
      return ',' + raw.slice(open + 1, raw.lastIndexOf('}'));
    }
    const renamed = new Set<string>();
    return jsonMembers(raw, obj, (k, members) => {
      if (!this.owned.has(k)) return k;
      const name = renamedField(k, (c) => this.owned.has(c) || members.has(c) || renamed.has(c));
      renamed.add(name);
      return name;
    });
  }

  private knownFields(values: Record<string, unknown>): string {
    let out = '';
    for (const k in values) out += (this.keyFragments.get(k) ?? `,${JSON.stringify(k)}:`) + JSON.stringify(values[k]);
    return out;
  }
}
