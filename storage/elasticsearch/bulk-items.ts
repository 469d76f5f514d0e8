/**
 * Bulk items already encoded: the NDJSON bytes of `n` items of a `_bulk` body (per item an action line and a source
 * line, each ending with `\n`) and where each item ends. It is the shape the bulk pipeline sends byte ranges of, and
 * what a replay of the disk buffer reads back, without decoding a record (issue "Pilot delivery", speed: the disk
 * buffer had stored whole JSON batches of records, which cost more CPU than the rest of the pilot together,
 * bench/pilot-pipeline es-buffer). The buffer stores these bytes, or the compact form (./compact-items.ts).
 *
 * Pure: no I/O, never throws on well-formed input.
 */

export interface BulkItems {
  /** The items' NDJSON, item after item. */
  bytes: Buffer;
  /** `ends[i]`: the byte offset just past item i's second line (so item i is `[ends[i-1] ?? 0, ends[i])`). */
  ends: Uint32Array;
}

export const NO_ITEMS: BulkItems = Object.freeze({ bytes: Buffer.alloc(0), ends: new Uint32Array(0) });

export function itemCount(items: BulkItems): number {
  return items.ends.length;
}

/** Byte offset where item `i` starts (`i` may equal the count: the end of the bytes). */
export function itemStart(items: BulkItems, i: number): number {
  return i === 0 ? 0 : items.ends[i - 1]!;
}

/** Items `[from, to)`: the bytes are shared, not copied. */
export function sliceItems(items: BulkItems, from: number, to: number): BulkItems {
  if (from === 0 && to === items.ends.length) return items;
  const base = itemStart(items, from);
  const ends = items.ends.slice(from, to);
  if (base > 0) for (let i = 0; i < ends.length; i++) ends[i]! -= base;
  return { bytes: items.bytes.subarray(base, itemStart(items, to)), ends };
}

/** Several runs of items as one, in order. */
export function joinItems(parts: readonly BulkItems[]): BulkItems {
  const nonEmpty = parts.filter((p) => p.ends.length > 0);
  if (nonEmpty.length === 0) return NO_ITEMS;
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  let n = 0;
  for (const p of nonEmpty) n += p.ends.length;
  const ends = new Uint32Array(n);
  let k = 0;
  let base = 0;
  for (const p of nonEmpty) {
    for (let i = 0; i < p.ends.length; i++) ends[k++] = base + p.ends[i]!;
    base += p.bytes.length;
  }
  return { bytes: Buffer.concat(nonEmpty.map((p) => p.bytes), base), ends };
}

/**
 * Items from NDJSON bytes whose lines contain no raw newline (JSON escapes them): every second `\n` ends an item.
 * Undefined when the bytes do not end an item (an odd number of lines, or a missing final newline).
 */
export function itemsOfNdjson(bytes: Buffer): BulkItems | undefined {
  const ends: number[] = [];
  let pos = 0;
  for (;;) {
    const first = bytes.indexOf(10, pos);
    if (first < 0) break;
    const second = bytes.indexOf(10, first + 1);
    if (second < 0) return undefined;
    pos = second + 1;
    ends.push(pos);
  }
  return pos === bytes.length ? { bytes, ends: Uint32Array.from(ends) } : undefined;
}

/** What a dead letter needs of one item: its id and index (from the action line) and the record (the source line). */
export function describeItem(items: BulkItems, i: number): { id: string; index: string; record: string } {
  const start = itemStart(items, i);
  const end = items.ends[i]!;
  const newline = items.bytes.indexOf(10, start);
  const cut = newline < 0 || newline >= end ? end : newline;
  const actionText = items.bytes.toString('utf8', start, cut);
  const record = items.bytes.toString('utf8', Math.min(cut + 1, end), Math.max(cut + 1, end - 1));
  let id = '';
  let index = '';
  try {
    const action = Object.values(JSON.parse(actionText) as Record<string, { _id?: unknown; _index?: unknown }>)[0];
    id = typeof action?._id === 'string' ? action._id : '';
    index = typeof action?._index === 'string' ? action._index : '';
  } catch {
    // Not an action line (a corrupt buffer would have been refused before): the letter keeps the raw text as record.
    return { id, index, record: items.bytes.toString('utf8', start, end) };
  }
  return { id, index, record };
}
