/**
 * LogEvents → the NDJSON body of an Elasticsearch `_bulk` request: per event an action line and the record.
 *
 * Index names follow log-pilot: `<target>-YYYY.MM.DD` from the record's UTC date (`daily`), or `<target>-YYYY.MM`
 * (`monthly`), or `<target>` (`none`); `datastream` writes to the data stream `<target>` with the `create` action
 * (data streams accept nothing else; a replayed record then answers 409, which means "already there").
 * Every action carries the record's deterministic `_id`, so a replay overwrites (or, for a data stream, is refused
 * as a duplicate) instead of duplicating.
 *
 * The action line's text up to the id is cached per target and period, so an event costs two concatenations.
 */
import { BufferPool, ByteWriter } from '../byte-writer.js';
import type { LogEvent } from '../model/log-record.js';
import type { BulkItems } from './bulk-items.js';

export type IndexRotation = 'daily' | 'monthly' | 'none' | 'datastream';

interface CachedAction {
  /** The period [fromMs, toMs) this head is valid for. */
  fromMs: number;
  toMs: number;
  index: string;
  head: string;
}

const DAY_MS = 86_400_000;
/** Characters that would need escaping inside a JSON string. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

export class BulkEncoder {
  private readonly cache = new Map<string, CachedAction>();
  /** Buffers of encoded items their user is done with (see `recycle`). */
  private readonly pool = new BufferPool(8, 16 * 1024 * 1024);

  constructor(readonly rotation: IndexRotation) {}

  /** The index (or data stream) a record of `target` at `timestampMs` goes to. */
  indexName(target: string, timestampMs: number): string {
    return this.cached(target, timestampMs).index;
  }

  /** One event's two lines, each ending with `\n`. */
  encodeOne(event: LogEvent): string {
    const id = NEEDS_ESCAPE.test(event.id) ? JSON.stringify(event.id).slice(1, -1) : event.id;
    return this.cached(event.target, event.timestampMs).head + id + '"}}\n' + event.json + '\n';
  }

  /** A whole `_bulk` body, in the order of `events` (the response's items come back in the same order). */
  encode(events: readonly LogEvent[]): string {
    let body = '';
    for (let i = 0; i < events.length; i++) body += this.encodeOne(events[i]!);
    return body;
  }

  /** The events as encoded bulk items (./bulk-items.ts), written item by item into one buffer (core/byte-writer.ts). */
  encodeItems(events: readonly LogEvent[]): BulkItems {
    const n = events.length;
    const ends = new Uint32Array(n);
    let chars = 0;
    for (let i = 0; i < n; i++) chars += events[i]!.json.length + events[i]!.id.length;
    const out = new ByteWriter(Math.ceil(chars * 1.05) + 96 * n, this.pool);
    for (let i = 0; i < n; i++) {
      out.write(this.encodeOne(events[i]!));
      ends[i] = out.length;
    }
    return { bytes: out.bytes(), ends };
  }

  /** `items` (made by `encodeItems`) are no longer read by anyone: their buffer may be reused. */
  recycle(items: BulkItems): void {
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
    const action = this.rotation === 'datastream' ? 'create' : 'index';
    return { fromMs, toMs, index, head: `{"${action}":{"_index":${JSON.stringify(index)},"_id":"` };
  }
}
