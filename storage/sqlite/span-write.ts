/**
 * The embedded store's span write path: the rows one batch of spans adds (span-schema.ts). The caller runs `write`
 * inside one transaction per batch and calls `forget` when that transaction rolls back, so no cache keeps what the
 * database lost.
 *
 * Each cost here was measured by bench/traces-to-store.bench.ts (and the 1M-span write of bench/query.bench.ts)
 * before it was kept: the tag index holds each distinct tag once per group, keyed by hash and epoch first, so a
 * batch's rows land in a few recent pages rather than all over the index; Jaeger compact spans are stored as slices
 * of their datagram, never decoded, and a trace's consecutive spans as one row (a run); processes, names and
 * listed tags are found by identity or by a hash already computed. Figures and what was tried and dropped:
 * docs/design/span-write-path.md.
 */
import type { Statement } from 'better-sqlite3';
import { chunkSpans, parentSpanId, spanKindOf, type Process, type Span, type SpanChunk } from '../../model/span.js';
import { shortString } from '../../model/short-strings.js';
import {
  FIRST_TAG, HAS_PARENT, ID_SLOTS, JaegerCompactSpans, KIND_END, KIND_START, KIND_TYPE, LOGS_AT, LOG_FIELDS_REPEATED, OP_END,
  OP_START, PARENT_ID, PLACE_SLOTS, SPAN_ID, STRUCT_END, STRUCT_START, TAGS_AT, TAGS_HASHED, TAG_END,
} from '../../model/jaeger-thrift/jaeger-compact-spans.js';
import { CompactSpanTags } from '../../model/jaeger-thrift/jaeger-compact-tags.js';
import { TAG_BINARY, TAG_STRING } from '../../model/jaeger-thrift/jaeger-thrift.js';
import { hex64 } from '../../model/jaeger-thrift/thrift-reader.js';
import type { Db } from './database.js';
import { JsonBytes } from './json-bytes.js';
import { encodeProcessTags, tagValueString, writeSpanData } from './span-codec.js';
import { TagHashSet } from './tag-hash-set.js';
import { TagListing } from './tag-listing.js';

export { MAX_LISTED_VALUES } from './tag-listing.js';

/** How often (µs of span time) the last-seen time of a known service / operation / process is refreshed. */
export const LAST_SEEN_REFRESH_US = 3_600_000_000;
/**
 * Spans per group of the tag index: a batch of the collector's queue (1,000 spans) is one group. Its rows say which
 * groups hold a tag; a search checks each candidate span's own tags.
 */
export const GROUP_SPANS = 1_024;
/**
 * Span ids per epoch of the tag index: its rows are keyed (epoch, tag, group), so a batch's new rows land in the
 * newest epoch's few pages instead of all over the index (see span-schema.ts v3).
 */
export const TAG_EPOCH_SPANS = 16_384;
/**
 * Span ids per epoch of the trace index: its rows are keyed (epoch, trace id, first span id), the epoch being the
 * first span id's, so a batch's one row per trace lands in the newest epoch's few pages instead of at a random place
 * of the whole index (span-schema.ts v4). A trace is read with one seek per epoch.
 */
export const TRACE_EPOCH_SPANS = 16_384;
/**
 * Spans of one trace that follow each other in a Jaeger compact datagram are stored as one row, up to this many
 * (span-schema.ts v7).
 */
export const MAX_RUN_SPANS = 64;
/**
 * The spans of a run start within this many µs of each other: a run row's start is its latest span's, so a search
 * up to time t takes run rows up to t + RUN_EXTENT_US for candidates.
 */
export const RUN_EXTENT_US = 60_000_000;
/** Wire spans are numbered `chunk * WIRE_STRIDE + index` while a batch is grouped by trace. */
const WIRE_STRIDE = 2 ** 20;
/** Index rows per INSERT statement. */
const ROWS_PER_INSERT = 64;

/** The tag index epoch of a group (SQL: `grp / TAG_EPOCH_SPANS`, integer division). */
export function tagEpoch(grp: number): number {
  return Math.floor(grp / TAG_EPOCH_SPANS);
}

/** The trace index epoch of a trace range starting at span id `first` (SQL: `first / TRACE_EPOCH_SPANS`). */
export function traceEpoch(first: number): number {
  return Math.floor(first / TRACE_EPOCH_SPANS);
}

export interface SpanRowWriterOptions {
  /**
   * Whether `group_tags` and `trace_spans` have their epoch columns (schema versions 3 and 4 on); false only for the
   * version 2 migration, which writes the version 2 tables.
   */
  epochs?: boolean;
}

interface SeenService {
  lastSeenUs: number;
  operations: Map<string, Map<string, number>>;
}

interface ProcessEntry {
  id: number;
  lastSeenUs: number;
}

export class SpanRowWriter {
  private readonly insertSpan: Statement;
  private insertWireSpan: Statement | undefined;
  private readonly insertGroup: Statement;
  private readonly insertTraceSpans: Statement;
  private readonly lastId: Statement;
  private readonly insertTagRows: Statement[] = [];
  /** The parameters of a whole tag index INSERT, reused. */
  private tagParams: number[] | undefined;
  private readonly insertName: Statement;
  private readonly insertProcess: Statement;
  private readonly insertProcessTag: Statement;
  private readonly touchProcess: Statement;
  private readonly upsertService: Statement;
  private readonly upsertOperation: Statement;
  private names = new Map<string, number>();
  private processByObject = new WeakMap<Process, ProcessEntry>();
  private processByKey = new Map<string, ProcessEntry>();
  /** Last-seen µs written per service, and per operation and span kind of it. */
  private seen = new Map<string, SeenService>();
  /** The names `seenAt` handled last, and when their last-seen times are due a refresh (-∞: look them up). */
  private readonly lastSeen = { service: '', operation: '', kind: '', dueUs: Number.NEGATIVE_INFINITY };
  /** `tag_keys` / `tag_values`, and the hashes of listed values. */
  private readonly listing: TagListing;
  /** Walks a wire span's tags. */
  private readonly wireTags = new CompactSpanTags();
  /** The kind of the wire span being written, from its tags. */
  private kind: string | undefined;

  private readonly epochs: boolean;
  /** The distinct tag hashes of the group being written. */
  private readonly hashes = new TagHashSet();
  /** Where each span's data is written. */
  private readonly data = new JsonBytes();

  constructor(private readonly db: Db, options: SpanRowWriterOptions = {}) {
    this.epochs = options.epochs ?? true;
    this.listing = new TagListing(db);
    this.insertSpan = db.prepare(
      // The data comes as the UTF-8 bytes of its JSON (json-bytes.ts), stored as the text they are.
      'INSERT INTO spans (id, trace_id, grp, span_id, parent_id, process, service, operation, start_us, duration_us, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT))',
    );
    this.insertGroup = db.prepare('INSERT INTO span_groups (grp, spans) VALUES (?, ?)');
    this.insertTraceSpans = this.epochs
      ? db.prepare('INSERT INTO trace_spans (epoch, trace_id, first, spans) VALUES (?, ?, ?, ?)')
      : db.prepare('INSERT INTO trace_spans (trace_id, first, spans) VALUES (?, ?, ?)');
    // The last span id taken: a run row's last span's.
    this.lastId = db.prepare(this.epochs ? 'SELECT id + n - 1 FROM spans ORDER BY id DESC LIMIT 1' : 'SELECT max(id) FROM spans').pluck();
    this.insertName = db.prepare('INSERT INTO span_names (name) VALUES (?) ON CONFLICT(name) DO UPDATE SET name = excluded.name RETURNING id').pluck();
    this.insertProcess = db.prepare(
      `INSERT INTO processes (service, tags, last_seen_us) VALUES (?, ?, ?)
       ON CONFLICT(service, tags) DO UPDATE SET last_seen_us = max(last_seen_us, excluded.last_seen_us) RETURNING id`,
    ).pluck();
    this.insertProcessTag = db.prepare('INSERT OR IGNORE INTO process_tags (key, value, process) VALUES (?, ?, ?)');
    this.touchProcess = db.prepare('UPDATE processes SET last_seen_us = max(last_seen_us, ?) WHERE id = ?');
    this.upsertService = db.prepare(
      'INSERT INTO services (name, last_seen_us) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET last_seen_us = max(last_seen_us, excluded.last_seen_us)',
    );
    this.upsertOperation = db.prepare(
      'INSERT INTO operations (service, name, kind, last_seen_us) VALUES (?, ?, ?, ?) ON CONFLICT(service, name, kind) DO UPDATE SET last_seen_us = max(last_seen_us, excluded.last_seen_us)',
    );
  }

  /**
   * Writes the spans' rows; run inside a transaction. Spans get consecutive ids, those of one trace next to each
   * other; every `GROUP_SPANS` of them form a group whose id is its first span's. Spans still in a Jaeger compact
   * datagram are written from its bytes (`writeWireSpan`); any other wire form is decoded first.
   */
  write(chunks: readonly SpanChunk[]): void {
    // The spans of each trace: a span in the model, or a wire span as `chunk number * WIRE_STRIDE + index`.
    const traces = new Map<string, Array<Span | number>>();
    const wire: JaegerCompactSpans[] = [];
    const add = (traceId: string, span: Span | number): void => {
      const same = traces.get(traceId);
      if (same === undefined) traces.set(traceId, [span]);
      else same.push(span);
    };
    for (const chunk of chunks) {
      // A datagram whose spans Jaeger's translation changes is written decoded (model/jaeger-thrift/jaeger-otel-translate.ts).
      if (chunk instanceof JaegerCompactSpans && chunk.plain && chunk.count < WIRE_STRIDE) {
        const base = (wire.push(chunk) - 1) * WIRE_STRIDE;
        const ids = chunk.ids;
        let traceId = '';
        for (let i = 0, o = 0; i < chunk.count; i++, o += ID_SLOTS) {
          // Spans of a datagram mostly share their trace: one string for a run of them.
          if (i === 0 || ids[o] !== ids[o - ID_SLOTS] || ids[o + 1] !== ids[o + 1 - ID_SLOTS] || ids[o + 2] !== ids[o + 2 - ID_SLOTS] || ids[o + 3] !== ids[o + 3 - ID_SLOTS]) {
            traceId = hex64(ids[o]!, ids[o + 1]!) + hex64(ids[o + 2]!, ids[o + 3]!);
          }
          add(traceId, base + i);
        }
      } else {
        for (const span of chunkSpans(chunk)) add(span.traceId, span);
      }
    }
    let id = ((this.lastId.get() as number | null) ?? 0) + 1;
    let grp = 0;
    let groupEnd = 0;
    this.hashes.clear();
    const closeGroup = (): void => {
      if (grp === 0) return;
      this.insertGroup.run(grp, id - grp);
      this.insertTags(grp, this.hashes);
      this.hashes.clear();
    };
    for (const [traceId, ofTrace] of traces) {
      const traceBlob = Buffer.from(traceId, 'hex');
      if (this.epochs) this.insertTraceSpans.run(traceEpoch(id), traceBlob, id, ofTrace.length);
      else this.insertTraceSpans.run(traceBlob, id, ofTrace.length);
      for (let k = 0; k < ofTrace.length;) {
        if (id >= groupEnd) {
          closeGroup();
          grp = id;
          groupEnd = id + GROUP_SPANS;
        }
        const span = ofTrace[k]!;
        if (typeof span === 'number') {
          const chunk = wire[Math.floor(span / WIRE_STRIDE)]!;
          const n = this.runLength(chunk, span % WIRE_STRIDE, ofTrace, k, Math.min(MAX_RUN_SPANS, groupEnd - id));
          this.writeWireRun(chunk, span % WIRE_STRIDE, n, id, traceBlob, grp);
          id += n;
          k += n;
        } else {
          this.writeSpan(span, id++, traceBlob, grp);
          k++;
        }
      }
    }
    closeGroup();
  }

  /** A span of the model: its data is the JSON of span-codec.ts, its tags hashed while that is written. */
  private writeSpan(span: Span, id: number, traceBlob: Buffer, grp: number): void {
    const service = span.process.serviceName;
    const start = span.startTimeMicros;
    const data = this.data;
    data.reset();
    writeSpanData(data, span, this.addTag);
    this.insertSpan.run(
      id, traceBlob, grp, span.spanId, parentSpanId(span) ?? null, this.processId(span.process, start), this.nameId(service),
      this.nameId(span.operationName), start, span.durationMicros, data.bytes(),
    );
    this.seenAt(service, span.operationName, spanKindOf(span), start);
  }

  /**
   * How many of a trace's spans from `ofTrace[k]` on (wire span `i` of `chunk`) form a run (span-schema.ts v7): the
   * next spans of the same datagram, their structs one after another, starting within `RUN_EXTENT_US` of each
   * other, at most `max`. Only the store's current tables have runs.
   */
  private runLength(chunk: JaegerCompactSpans, i: number, ofTrace: ReadonlyArray<Span | number>, k: number, max: number): number {
    if (!this.epochs) return 1;
    const times = chunk.times;
    const places = chunk.places;
    let low = times[i * 2]!;
    let high = low;
    let n = 1;
    for (const limit = Math.min(max, ofTrace.length - k); n < limit; n++) {
      const next = ofTrace[k + n];
      if (next !== (ofTrace[k] as number) + n) break;
      const j = i + n;
      if (places[j * PLACE_SLOTS + STRUCT_START] !== places[(j - 1) * PLACE_SLOTS + STRUCT_END]) break;
      const start = times[j * 2]!;
      if (start < low) low = start;
      if (start > high) high = start;
      if (high - low > RUN_EXTENT_US) break;
    }
    return n;
  }

  /**
   * Spans `i` … `i + n - 1` of a Jaeger compact datagram, one trace's: their data is their own `Span` structs, a
   * slice of the datagram stored as a BLOB (span-codec.ts reads either form); ids, parent and times come from the
   * walk, the tags from a pass over each struct's bytes (model/jaeger-thrift/jaeger-compact-tags.ts), hashed from those bytes
   * while they are ASCII. More than one span make a run row, whose columns are bounds (span-schema.ts v7).
   */
  private writeWireRun(chunk: JaegerCompactSpans, i: number, n: number, id: number, traceBlob: Buffer, grp: number): void {
    const ids = chunk.ids;
    const places = chunk.places;
    const times = chunk.times;
    const process = chunk.process;
    // Ids in the order the spans' rows would take them one by one (processes, then service, then operation names).
    const processId = this.processId(process, times[i * 2]!);
    const serviceId = this.nameId(process.serviceName);
    let operationId = 0;
    let start = Number.NEGATIVE_INFINITY;
    let duration = 0;
    for (let j = i; j < i + n; j++) {
      // Each span refreshes the process's last-seen time as its own row would.
      if (j > i) this.processId(process, times[j * 2]!);
      const operation = this.wireSpanNames(chunk, j);
      const opId = this.nameId(operation);
      operationId = j === i || opId === operationId ? opId : 0;
      const spanStart = times[j * 2]!;
      if (spanStart > start) start = spanStart;
      if (times[j * 2 + 1]! > duration) duration = times[j * 2 + 1]!;
    }
    const o = i * ID_SLOTS;
    this.insertWireSpan ??= this.db.prepare(
      'INSERT INTO spans (id, trace_id, grp, span_id, parent_id, process, service, operation, start_us, duration_us, data, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertWireSpan.run(
      id, traceBlob, grp, hex64(ids[o + SPAN_ID]!, ids[o + SPAN_ID + 1]!),
      n === 1 && ids[o + HAS_PARENT] === 1 ? hex64(ids[o + PARENT_ID]!, ids[o + PARENT_ID + 1]!) : null,
      processId, serviceId, operationId, start, duration,
      chunk.bytes.subarray(places[i * PLACE_SLOTS + STRUCT_START]!, places[(i + n - 1) * PLACE_SLOTS + STRUCT_END]!), n,
    );
  }

  /**
   * The tags of wire span `i` into the group's hashes (and the listing), its names' last-seen times; returns its
   * operation name.
   */
  private wireSpanNames(chunk: JaegerCompactSpans, i: number): string {
    const p = i * PLACE_SLOTS;
    const places = chunk.places;
    const bytes = chunk.bytes;
    const process = chunk.process;
    const operation = shortString(bytes, places[p + OP_START]!, places[p + OP_END]!);
    let kind: string;
    if (places[p + TAGS_HASHED] === 1) {
      // The walk hashed the tags: a hash already listed (or of a key listing no more) is all there is to it, and a
      // hash the group holds already was seen to earlier in the group.
      const tagHashes = chunk.tagHashes;
      for (let t = places[p + FIRST_TAG]!, end = places[p + TAG_END]!; t < end; t++) {
        const hash = tagHashes[t]!;
        if (this.hashes.add(hash) && !this.listing.isListed(hash)) this.listing.learn(this.wireTags.readTag(bytes, chunk.tagOffsets[t]!), hash);
      }
      const kindType = places[p + KIND_TYPE]!;
      kind = kindType === -1 ? '' : kindType === TAG_STRING ? shortString(bytes, places[p + KIND_START]!, places[p + KIND_END]!) : `Unknown VType: ${kindType}`;
    } else {
      this.kind = undefined;
      this.wireTags.walk(bytes, places[p + TAGS_AT]!, places[p + LOGS_AT]!, places[p + LOG_FIELDS_REPEATED] === 1, this.addWireTag);
      kind = this.kind ?? '';
    }
    this.seenAt(process.serviceName, operation, kind, chunk.times[i * 2]!);
    return operation;
  }

  /** A tag of the span `writeSpanData` is writing. */
  private readonly addTag = (key: string, value: string): void => {
    this.hashes.add(this.listing.hash(key, value));
  };

  /** A tag of the wire span `writeWireSpan` is walking; the first string `span.kind` of its own tags is its kind. */
  private readonly addWireTag = (tag: CompactSpanTags): void => {
    const key = tag.key();
    const stringTyped = tag.vType === TAG_STRING || tag.vType < 0 || tag.vType > TAG_BINARY;
    if (tag.vType === TAG_STRING) {
      this.hashes.add(this.listing.hashAscii(key, tag));
    } else {
      this.hashes.add(this.listing.hash(key, tag.valueText()));
    }
    if (this.kind === undefined && stringTyped && tag.spanTag && key === 'span.kind') this.kind = tag.valueText();
  };

  /** After a rollback: forget every id and last-seen time learnt since the last commit. */
  forget(): void {
    this.names = new Map();
    this.processByObject = new WeakMap();
    this.processByKey = new Map();
    this.seen = new Map();
    this.lastSeen.dueUs = Number.NEGATIVE_INFINITY;
    this.listing.load();
  }

  /** After retention deleted services, operations and processes. */
  forgetLastSeen(): void {
    this.seen = new Map();
    this.lastSeen.dueUs = Number.NEGATIVE_INFINITY;
    this.processByObject = new WeakMap();
    this.processByKey = new Map();
  }

  private insertTags(grp: number, tags: TagHashSet): void {
    const columns = this.epochs ? 3 : 2;
    const epoch = tagEpoch(grp);
    const sorted = tags.sorted();
    // Whole statements of ROWS_PER_INSERT rows from one reused array, then one for the rest.
    const params = (this.tagParams ??= new Array<number>(ROWS_PER_INSERT * columns));
    const whole = sorted.length - (sorted.length % ROWS_PER_INSERT);
    for (let i = 0; i < sorted.length;) {
      const rows = i < whole ? ROWS_PER_INSERT : sorted.length - whole;
      const into = rows === ROWS_PER_INSERT ? params : new Array<number>(rows * columns);
      for (let k = 0, o = 0; k < rows; k++, i++) {
        if (this.epochs) into[o++] = epoch;
        into[o++] = sorted[i]!;
        into[o++] = grp;
      }
      this.tagStatement(rows).run(into);
    }
  }

  private tagStatement(rows: number): Statement {
    let stmt = this.insertTagRows[rows];
    if (stmt === undefined) {
      stmt = this.db.prepare(this.epochs
        ? `INSERT INTO group_tags (epoch, tag, grp) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?)').join(', ')}`
        : `INSERT INTO group_tags (tag, grp) VALUES ${Array.from({ length: rows }, () => '(?, ?)').join(', ')}`);
      this.insertTagRows[rows] = stmt;
    }
    return stmt;
  }

  private nameId(name: string): number {
    let id = this.names.get(name);
    if (id === undefined) {
      id = this.insertName.get(name) as number;
      this.names.set(name, id);
    }
    return id;
  }

  /** The process row, created (with its tag index rows) the first time the process is seen. */
  private processId(process: Process, startUs: number): number {
    let entry = this.processByObject.get(process);
    if (entry === undefined) {
      const tags = encodeProcessTags(process.tags);
      const key = `${process.serviceName}\0${tags}`;
      entry = this.processByKey.get(key);
      if (entry === undefined) {
        const id = this.insertProcess.get(process.serviceName, tags, startUs) as number;
        for (const kv of process.tags) this.insertProcessTag.run(kv.key, tagValueString(kv), id);
        entry = { id, lastSeenUs: startUs };
        this.processByKey.set(key, entry);
      }
      this.processByObject.set(process, entry);
    }
    if (startUs >= entry.lastSeenUs + LAST_SEEN_REFRESH_US) {
      this.touchProcess.run(startUs, entry.id);
      entry.lastSeenUs = startUs;
    }
    return entry.id;
  }

  /**
   * Records the service and operation as seen at `startUs`, writing their rows when new or last written more than
   * `LAST_SEEN_REFRESH_US` earlier. Looked up by the names as they are (nested maps), no key built per span.
   */
  private seenAt(service: string, operation: string, kind: string, startUs: number): void {
    // Spans in a row mostly repeat the last one's names: nothing to look up until its refresh is due.
    const last = this.lastSeen;
    if (startUs < last.dueUs && service === last.service && operation === last.operation && kind === last.kind) return;
    let entry = this.seen.get(service);
    if (entry === undefined) {
      entry = { lastSeenUs: Number.NEGATIVE_INFINITY, operations: new Map() };
      this.seen.set(service, entry);
    }
    if (startUs >= entry.lastSeenUs + LAST_SEEN_REFRESH_US) {
      this.upsertService.run(service, startUs);
      entry.lastSeenUs = startUs;
    }
    let kinds = entry.operations.get(operation);
    if (kinds === undefined) {
      kinds = new Map();
      entry.operations.set(operation, kinds);
    }
    let kindSeenUs = kinds.get(kind);
    if (kindSeenUs === undefined || startUs >= kindSeenUs + LAST_SEEN_REFRESH_US) {
      this.upsertOperation.run(service, operation, kind, startUs);
      kinds.set(kind, startUs);
      kindSeenUs = startUs;
    }
    last.service = service;
    last.operation = operation;
    last.kind = kind;
    last.dueUs = Math.min(entry.lastSeenUs, kindSeenUs) + LAST_SEEN_REFRESH_US;
  }
}
