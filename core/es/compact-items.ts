/**
 * Bulk items in the disk buffer's compact form: per item the document's id and its source line, and which of a few
 * action heads (`{"index":{"_index":"…","_id":"`) it goes with. The action line, ~85 of the ~470 bytes an item
 * takes as NDJSON, is rebuilt from the head and the id when the items are replayed (./bulk-items.ts).
 *
 * Why: with Elasticsearch down every byte of a batch is encoded, checksummed, written and made durable by the pilot
 * (the kernel's writeback of an fdatasync is charged to the caller); the action lines repeat what a head and an id
 * say (bench/pilot-pipeline, es-buffer).
 *
 * Pure: no I/O, never throws.
 */
import type { BulkItems } from './bulk-items.js';

export interface CompactItems {
  /** The distinct action heads: an action line's text up to its id (an item's action is `head + id + '"}}'`). */
  heads: readonly string[];
  /** `headOf[i]`: the index in `heads` of item i's head. */
  headOf: Uint32Array;
  /** Per item its id (JSON-escaped: no quote, backslash or newline left raw), `\n`, its source line, `\n`. */
  bytes: Buffer;
  /** `ends[i]`: the offset in `bytes` just past item i. */
  ends: Uint32Array;
}

const ACTION_TAIL = Buffer.from('"}}', 'latin1');

/**
 * The NDJSON items `compact` stands for, or the reason it cannot stand for any (an item without its two parts, a
 * head number out of range).
 */
export function expandItems(compact: CompactItems): BulkItems | string {
  const { heads, headOf, bytes, ends } = compact;
  const n = ends.length;
  const headBytes = heads.map((h) => Buffer.from(h, 'utf8'));
  let size = bytes.length;
  for (let i = 0; i < n; i++) {
    const h = headBytes[headOf[i]!];
    if (h === undefined) return `item ${i} names head ${headOf[i]} of ${heads.length}`;
    size += h.length + ACTION_TAIL.length;
  }
  const out = Buffer.allocUnsafe(size);
  const outEnds = new Uint32Array(n);
  let at = 0;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = ends[i]!;
    const idEnd = bytes.indexOf(10, start);
    if (idEnd < 0 || idEnd >= end - 1 || bytes[end - 1] !== 10) return `item ${i} is not an id and a line`;
    at += headBytes[headOf[i]!]!.copy(out, at);
    at += bytes.copy(out, at, start, idEnd);
    at += ACTION_TAIL.copy(out, at);
    // `\n`, the source line and its `\n`, as stored.
    at += bytes.copy(out, at, idEnd, end);
    outEnds[i] = at;
    start = end;
  }
  return { bytes: out, ends: outEnds };
}
