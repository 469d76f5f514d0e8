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
 * Where each item of `compact` ends in the NDJSON it stands for (what `expandItems` would make), or the reason it
 * cannot stand for any (an item without its two parts, a head or shared text number out of range, a shared text's
 * place past its record). Nothing is copied: a run's stored batches are sized and checked with this, and written
 * once, into their request's body (`writeExpanded`).
 */
export function expandedEnds(compact: CompactItems): Uint32Array | string {
  const { headOf, sharedOf, sharedAt, bytes, ends } = compact;
  const n = ends.length;
  const headBytes = compact.heads.map((h) => Buffer.byteLength(h) + ACTION_TAIL.length);
  const sharedBytes = compact.shared.map((t) => Buffer.byteLength(t));
  const out = new Uint32Array(n);
  let size = 0;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const h = headBytes[headOf[i]!];
    if (h === undefined) return `item ${i} names head ${headOf[i]} of ${headBytes.length}`;
    const end = ends[i]!;
    const idEnd = bytes.indexOf(10, start);
    if (end <= start || idEnd < 0 || idEnd >= end - 1 || bytes[end - 1] !== 10) return `item ${i} is not an id and a line`;
    size += h + end - start;
    if (sharedOf[i] !== NO_SHARED) {
      const t = sharedBytes[sharedOf[i]!];
      if (t === undefined) return `item ${i} names shared text ${sharedOf[i]} of ${sharedBytes.length}`;
      if (idEnd + 1 + sharedAt[i]! > end - 1) return `item ${i} puts its shared text past its record`;
      size += t;
    }
    out[i] = size;
    start = end;
  }
  return out;
}

/**
 * Writes the NDJSON items `compact` stands for into `out` at `at` (room for them made by the caller, from
 * `expandedEnds`, which also checked them); returns the offset after them.
 */
export function writeExpanded(compact: CompactItems, out: Buffer, at: number): number {
  const { headOf, sharedOf, sharedAt, bytes, ends } = compact;
  const heads = compact.heads.map((h) => Buffer.from(h, 'utf8'));
  const shared = compact.shared.map((t) => Buffer.from(t, 'utf8'));
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!;
    const idEnd = bytes.indexOf(10, start);
    at += heads[headOf[i]!]!.copy(out, at);
    at += bytes.copy(out, at, start, idEnd);
    at += ACTION_TAIL.copy(out, at);
    if (sharedOf[i] === NO_SHARED) {
      at += bytes.copy(out, at, idEnd, end); // `\n`, the source line and its `\n`, as stored
    } else {
      const cut = idEnd + 1 + sharedAt[i]!;
      at += bytes.copy(out, at, idEnd, cut);
      at += shared[sharedOf[i]!]!.copy(out, at);
      at += bytes.copy(out, at, cut, end);
    }
    start = end;
  }
  return at;
}

/**
 * The NDJSON items `compact` stands for, or the reason it cannot stand for any (see `expandedEnds`).
 */
export function expandItems(compact: CompactItems): BulkItems | string {
  const ends = expandedEnds(compact);
  if (typeof ends === 'string') return ends;
  const out = Buffer.allocUnsafe(ends.length === 0 ? 0 : ends[ends.length - 1]!);
  writeExpanded(compact, out, 0);
  return { bytes: out, ends };
}

/** Items `[from, to)` of `compact`: the tables and bytes are views, not copies. */
export function sliceCompact(compact: CompactItems, from: number, to: number): CompactItems {
  if (from === 0 && to === compact.ends.length) return compact;
  const base = from === 0 ? 0 : compact.ends[from - 1]!;
  const ends = compact.ends.slice(from, to);
  if (base > 0) for (let i = 0; i < ends.length; i++) ends[i]! -= base;
  return {
    heads: compact.heads, headOf: compact.headOf.subarray(from, to), shared: compact.shared,
    sharedOf: compact.sharedOf.subarray(from, to), sharedAt: compact.sharedAt.subarray(from, to),
    bytes: compact.bytes.subarray(base, to === 0 ? 0 : compact.ends[to - 1]!), ends,
  };
}
