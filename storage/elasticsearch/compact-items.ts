/**
 * Bulk items in the disk buffer's compact form: per item the document's id and its source line, which of a few
 * action heads (`{"index":{"_index":"…","_id":"`) it goes with, and — when the record holds text many records share
 * (a container's constant fields, LogEvent.shared) — which shared text was cut out of it and where. The action line
 * (~85 bytes) and the shared text (~200 bytes of a ~380-byte record) are put back when the items are replayed
 * (./bulk-items.ts).
 *
 * Why: with Elasticsearch down every byte of a batch is encoded, checksummed, written and made durable by the pilot
 * (the kernel's writeback of an fdatasync is charged to the caller): ~540 bytes per 171-byte input line had made
 * the buffered case cost a third more CPU than the console output; ~260 remain (bench/pilot-pipeline, es-buffer).
 *
 * Pure: no I/O, never throws.
 */
import type { BulkItems } from './bulk-items.js';

/** `sharedOf[i]` of an item from which no shared text was cut. */
export const NO_SHARED = 0xffff_ffff;

export interface CompactItems {
  /** The distinct action heads: an action line's text up to its id (an item's action is `head + id + '"}}'`). */
  heads: readonly string[];
  /** `headOf[i]`: the index in `heads` of item i's head. */
  headOf: Uint32Array;
  /** The distinct texts cut out of the items' records. */
  shared: readonly string[];
  /** `sharedOf[i]`: the index in `shared` of the text cut out of item i's record, or NO_SHARED. */
  sharedOf: Uint32Array;
  /** `sharedAt[i]`: the byte offset in item i's record (as stored) where that text goes back. */
  sharedAt: Uint32Array;
  /** Per item its id (JSON-escaped: no quote, backslash or newline left raw), `\n`, its source line, `\n`. */
  bytes: Buffer;
  /** `ends[i]`: the offset in `bytes` just past item i. */
  ends: Uint32Array;
}

const ACTION_TAIL = Buffer.from('"}}', 'latin1');

/**
 * The NDJSON items `compact` stands for, or the reason it cannot stand for any (an item without its two parts, a
 * head or shared text number out of range, a shared text's place past its record).
 */
export function expandItems(compact: CompactItems): BulkItems | string {
  const { headOf, sharedOf, sharedAt, bytes, ends } = compact;
  const n = ends.length;
  const heads = compact.heads.map((h) => Buffer.from(h, 'utf8'));
  const shared = compact.shared.map((t) => Buffer.from(t, 'utf8'));
  let size = bytes.length;
  for (let i = 0; i < n; i++) {
    const h = heads[headOf[i]!];
    if (h === undefined) return `item ${i} names head ${headOf[i]} of ${heads.length}`;
    size += h.length + ACTION_TAIL.length;
    if (sharedOf[i] === NO_SHARED) continue;
    const t = shared[sharedOf[i]!];
    if (t === undefined) return `item ${i} names shared text ${sharedOf[i]} of ${shared.length}`;
    size += t.length;
  }
  const out = Buffer.allocUnsafe(size);
  const outEnds = new Uint32Array(n);
  let at = 0;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = ends[i]!;
    const idEnd = bytes.indexOf(10, start);
    if (idEnd < 0 || idEnd >= end - 1 || bytes[end - 1] !== 10) return `item ${i} is not an id and a line`;
    at += heads[headOf[i]!]!.copy(out, at);
    at += bytes.copy(out, at, start, idEnd);
    at += ACTION_TAIL.copy(out, at);
    if (sharedOf[i] === NO_SHARED) {
      at += bytes.copy(out, at, idEnd, end); // `\n`, the source line and its `\n`, as stored
    } else {
      const cut = idEnd + 1 + sharedAt[i]!;
      if (cut > end - 1) return `item ${i} puts its shared text past its record`;
      at += bytes.copy(out, at, idEnd, cut);
      at += shared[sharedOf[i]!]!.copy(out, at);
      at += bytes.copy(out, at, cut, end);
    }
    outEnds[i] = at;
    start = end;
  }
  return { bytes: out, ends: outEnds };
}
