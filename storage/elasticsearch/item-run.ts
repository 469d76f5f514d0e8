/**
 * A run of stored batches as the disk buffer (./disk-buffer.ts) hands it to the bulk sink: the batches as they were
 * stored — compact items (./compact-items.ts) or bulk items (./bulk-items.ts) — with where each item ends once
 * expanded, and nothing copied. It is bulk items too: its `bytes` and `ends` are made on first use, each batch
 * written once, straight into the one buffer of a request's body.
 *
 * Why: a run had been expanded batch by batch into buffers of their own, then joined into one buffer and cut into
 * requests again — two copies of every bulk byte and as many large allocations (bench/es-bulk,
 * docs/design/pilot-pipeline.md, "Item runs").
 *
 * Pure: no I/O, never throws on parts made by `runPart`.
 */
import { sliceItems, type BulkItems } from './bulk-items.js';
import { expandedEnds, sliceCompact, writeExpanded, type CompactItems } from './compact-items.js';

/** A stored batch and where each of its items ends in the NDJSON it stands for. */
export interface RunPart {
  items: BulkItems | CompactItems;
  ends: Uint32Array;
}

/** A stored batch as a run part, or the reason its compact items stand for no bulk lines. */
export function runPart(items: BulkItems | CompactItems): RunPart | string {
  if (!('heads' in items)) return { items, ends: items.ends };
  const ends = expandedEnds(items);
  return typeof ends === 'string' ? ends : { items, ends };
}

export class ItemRun implements BulkItems {
  /** Items in the run. */
  readonly records: number;
  /** Bytes of the NDJSON it stands for. */
  readonly byteLength: number;
  private expanded: BulkItems | undefined;

  constructor(readonly parts: readonly RunPart[]) {
    let records = 0;
    let bytes = 0;
    for (const p of parts) {
      records += p.ends.length;
      if (p.ends.length > 0) bytes += p.ends[p.ends.length - 1]!;
    }
    this.records = records;
    this.byteLength = bytes;
  }

  /** Several runs as one: their parts, in order. */
  static join(runs: readonly ItemRun[]): ItemRun {
    return runs.length === 1 ? runs[0]! : new ItemRun(runs.flatMap((r) => r.parts));
  }

  get bytes(): Buffer {
    return this.expand().bytes;
  }

  get ends(): Uint32Array {
    return this.expand().ends;
  }

  /**
   * Runs of at most `maxRecords` items and `maxBytes` (an item alone may be larger), in order; a part is cut only
   * where a bound falls inside it.
   */
  split(maxRecords: number, maxBytes: number): ItemRun[] {
    if (this.records <= maxRecords && this.byteLength <= maxBytes) return [this];
    const out: ItemRun[] = [];
    let current: RunPart[] = [];
    let records = 0;
    let bytes = 0;
    const close = (): void => {
      if (current.length > 0) out.push(new ItemRun(current));
      current = [];
      records = 0;
      bytes = 0;
    };
    for (const part of this.parts) {
      const n = part.ends.length;
      let from = 0;
      while (from < n) {
        const base = from === 0 ? 0 : part.ends[from - 1]!;
        // As many items from `from` as the bounds let in: at least one when the request is still empty.
        let to = from;
        while (to < n && records + (to - from) < maxRecords && (bytes + part.ends[to]! - base <= maxBytes || (records === 0 && to === from))) to++;
        if (to === from) {
          close();
          continue;
        }
        current.push(slicePart(part, from, to));
        records += to - from;
        bytes += part.ends[to - 1]! - base;
        from = to;
        if (records >= maxRecords || bytes >= maxBytes) close();
      }
    }
    close();
    return out;
  }

  /** The run's NDJSON, each part written once into one buffer. */
  private expand(): BulkItems {
    if (this.expanded !== undefined) return this.expanded;
    if (this.parts.length === 1 && !('heads' in this.parts[0]!.items)) return (this.expanded = this.parts[0]!.items as BulkItems);
    const bytes = Buffer.allocUnsafe(this.byteLength);
    const ends = new Uint32Array(this.records);
    let at = 0;
    let k = 0;
    for (const { items, ends: partEnds } of this.parts) {
      const base = at;
      if ('heads' in items) at = writeExpanded(items, bytes, at);
      else at += items.bytes.copy(bytes, at);
      for (let i = 0; i < partEnds.length; i++) ends[k++] = base + partEnds[i]!;
    }
    return (this.expanded = { bytes, ends });
  }
}

/** Items `[from, to)` of a part. */
function slicePart(part: RunPart, from: number, to: number): RunPart {
  if (from === 0 && to === part.ends.length) return part;
  const items = 'heads' in part.items ? sliceCompact(part.items, from, to) : sliceItems(part.items, from, to);
  const base = from === 0 ? 0 : part.ends[from - 1]!;
  const ends = part.ends.slice(from, to);
  if (base > 0) for (let i = 0; i < ends.length; i++) ends[i]! -= base;
  return { items, ends };
}
