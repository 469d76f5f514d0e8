/**
 * LogEvents → the NDJSON body of an Elasticsearch `_bulk` request: per event an action line and the record.
 *
 * Index names follow log-pilot: `<target>-YYYY.MM.DD` from the record's UTC date (`daily`), or `<target>-YYYY.MM`
 * (`monthly`), or `<target>` (`none`); `datastream` writes to the data stream `logs-<dataset>-<namespace>`
 * (Elasticsearch's Logs naming, ./log-index-templates.ts dataStreamName) with the `create` action (data streams
 * accept nothing else; a replayed record then answers 409, which means "already there").
 * Every action carries the record's deterministic `_id`, so a replay overwrites (or, for a data stream, is refused
 * as a duplicate) instead of duplicating.
 *
 * The action line's text up to the id is cached per target and period, so an event costs a few concatenations and
 * one write.
 */
import { BufferPool, ByteWriter } from '../../platform/byte-writer.js';
import type { LogEvent } from '../../model/log-record.js';
import type { BulkItems } from './bulk-items.js';
import { NO_SHARED, type CompactItems } from './compact-items.js';
import { dataStreamName } from './log-index-templates.js';

export type IndexRotation = 'daily' | 'monthly' | 'none' | 'datastream';

interface CachedAction {
  /** The period [fromMs, toMs) this head is valid for. */
  fromMs: number;
  toMs: number;
  index: string;
  head: string;
  /** The head's UTF-8 byte length: where the id starts in an encoded item. */
  headBytes: number;
}

const DAY_MS = 86_400_000;
/** Characters that would need escaping inside a JSON string. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;

/** An id as it stands between the quotes of the action line. */
function escapedId(id: string): string {
  return NEEDS_ESCAPE.test(id) ? JSON.stringify(id).slice(1, -1) : id;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

export class BulkEncoder {
  private readonly cache = new Map<string, CachedAction>();
  /** Buffers of encoded items their user is done with (see `recycle`). */
  private readonly pool = new BufferPool(8, 16 * 1024 * 1024);

  constructor(readonly rotation: IndexRotation, readonly dataStreamNamespace = 'default') {}

  /** The index (or data stream) a record of `target` at `timestampMs` goes to. */
  indexName(target: string, timestampMs: number): string {
    return this.cached(target, timestampMs).index;
  }

  /** One event's two lines, each ending with `\n`. */
  encodeOne(event: LogEvent): string {
    return this.cached(event.target, event.timestampMs).head + escapedId(event.id) + '"}}\n' + event.json + '\n';
  }

  /** A whole `_bulk` body, in the order of `events` (the response's items come back in the same order). */
  encode(events: readonly LogEvent[]): string {
    let body = '';
    for (let i = 0; i < events.length; i++) body += this.encodeOne(events[i]!);
    return body;
  }

  /** The events as encoded bulk items (./bulk-items.ts), written item by item into one buffer (platform/byte-writer.ts). */
  encodeItems(events: readonly LogEvent[]): BulkItems {
    const n = events.length;
    const ends = new Uint32Array(n);
    let chars = 0;
    for (let i = 0; i < n; i++) chars += events[i]!.json.length + events[i]!.id.length;
    const out = new ItemWriter(Math.ceil(chars * 1.05) + 96 * n, this.pool);
    for (let i = 0; i < n; i++) {
      const e = events[i]!;
      const action = this.cached(e.target, e.timestampMs);
      if (!out.writeItem(action.head + e.id + '"}}\n' + e.json + '\n', action.headBytes, e.id.length)) out.write(this.encodeOne(e));
      ends[i] = out.length;
    }
    return { bytes: out.bytes(), ends };
  }

  /**
   * The events in the disk buffer's compact form (./compact-items.ts): the id and the record per item, the action
   * heads once, and a record's shared text (LogEvent.shared) left out of it, stored once. An item is one write of
   * the id and what comes before the shared text and one of what comes after (writing more, shorter parts made
   * more calls into the buffer than the bytes saved).
   */
  encodeCompact(events: readonly LogEvent[]): CompactItems {
    const n = events.length;
    const ends = new Uint32Array(n);
    const headOf = new Uint32Array(n);
    const sharedOf = new Uint32Array(n).fill(NO_SHARED);
    const sharedAt = new Uint32Array(n);
    const heads: string[] = [];
    const shared: string[] = [];
    let chars = 0;
    for (let i = 0; i < n; i++) chars += events[i]!.json.length + events[i]!.id.length;
    const out = new ItemWriter(Math.ceil(chars * 1.05) + 2 * n, this.pool);
    let head = '';
    let headNo = 0;
    let text: string | undefined;
    let cuttable = false;
    let textNo = -1;
    for (let i = 0; i < n; i++) {
      const e = events[i]!;
      const h = this.cached(e.target, e.timestampMs).head;
      if (h !== head) {
        headNo = heads.indexOf(h);
        if (headNo < 0) headNo = heads.push(h) - 1;
        head = h;
      }
      headOf[i] = headNo;
      const { shared: cut, beforeShared: before, afterShared: after } = e;
      const split = cut !== undefined && before !== undefined && after !== undefined && before.length + cut.length + after.length === e.json.length;
      const first = split ? before : e.json + '\n';
      let recordAt = out.length + e.id.length + 1;
      if (!out.writeItem(e.id + '\n' + first, 0, e.id.length)) {
        out.write(escapedId(e.id) + '\n');
        recordAt = out.length;
        out.write(first);
      }
      if (split) {
        if (cut !== text) {
          text = cut;
          // A text with a newline would cut the item's lines apart: stored in its record instead (never so for JSON).
          cuttable = cut.length > 0 && !cut.includes('\n');
          textNo = shared.indexOf(cut);
        }
        if (cuttable) {
          if (textNo < 0) textNo = shared.push(cut) - 1;
          sharedOf[i] = textNo;
          sharedAt[i] = out.length - recordAt;
        } else out.write(cut);
        out.write(after + '\n');
      }
      ends[i] = out.length;
    }
    return { heads, headOf, shared, sharedOf, sharedAt, bytes: out.bytes(), ends };
  }

  /** `items` (made by `encodeItems` or `encodeCompact`) are no longer read by anyone: their buffer may be reused. */
  recycle(items: BulkItems | CompactItems): void {
    this.pool.give(items.bytes);
  }

  private cached(target: string, ms: number): CachedAction {
    const hit = this.cache.get(target);
    if (hit !== undefined && ms >= hit.fromMs && ms < hit.toMs) return hit;
    const made = this.make(target, Number.isFinite(ms) ? ms : Date.now());
    this.cache.set(target, made);
    return made;
  }

  private make(target: string, ms: number): CachedAction {
    const d = new Date(ms);
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    let index = target;
    let fromMs = -Infinity;
    let toMs = Infinity;
    if (this.rotation === 'daily') {
      fromMs = Math.floor(ms / DAY_MS) * DAY_MS;
      toMs = fromMs + DAY_MS;
      index = `${target}-${y}.${pad2(m + 1)}.${pad2(d.getUTCDate())}`;
    } else if (this.rotation === 'monthly') {
      fromMs = Date.UTC(y, m, 1);
      toMs = Date.UTC(y, m + 1, 1);
      index = `${target}-${y}.${pad2(m + 1)}`;
    }
    if (this.rotation === 'datastream') index = dataStreamName(target, this.dataStreamNamespace);
    const action = this.rotation === 'datastream' ? 'create' : 'index';
    const head = `{"${action}":{"_index":${JSON.stringify(index)},"_id":"`;
    return { fromMs, toMs, index, head, headBytes: Buffer.byteLength(head) };
  }
}

/**
 * Items written with their id as it is, checked after: testing every id with a regular expression first took
 * ~0.2 s per million records, about a sixth of what the disk buffer adds to a record (bench/pilot-pipeline,
 * es-buffer), and ids are plain ASCII (pilot/record-encoder.ts) but for a rare caller's.
 */
class ItemWriter extends ByteWriter {
  /**
   * Writes `text`, whose `idChars` characters from byte `idAt` are the id, unless the id is not plain printable
   * ASCII without a quote or backslash: then nothing is written and the answer is false (the caller escapes it).
   */
  writeItem(text: string, idAt: number, idChars: number): boolean {
    const start = this.off;
    this.write(text);
    const buf = this.buf;
    // A character outside ASCII makes a byte above 0x7e at its place or before: the id's bytes are its characters.
    for (let k = start + idAt, end = k + idChars; k < end; k++) {
      const c = buf[k]!;
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.off = start;
        return false;
      }
    }
    return true;
  }
}
