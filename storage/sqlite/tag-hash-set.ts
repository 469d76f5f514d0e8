/**
 * The distinct tag hashes (model/tag-hash.ts) of one span group, as the writer gathers them: an open-addressing table over
 * a `Float64Array` instead of a `Set<number>`. A hash is a 52-bit integer, beyond a small integer, so a `Set` boxes
 * every one it is given (one heap number per tag of every span, ≈ 14 per span of the Jaeger bench) and hashes the
 * box; here the hash is its own slot index (its low bits come from the second lane of model/tag-hash.ts) and nothing is
 * allocated per tag. Reused from group to group.
 */

const INITIAL_SLOTS = 4_096;

export class TagHashSet {
  /** hash + 1 per used slot; 0 is empty. */
  private slots = new Float64Array(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds the hash; false when it was there already. */
  add(hash: number): boolean {
    const stored = hash + 1;
    const slots = this.slots;
    const mask = this.mask;
    // `>>> 0` keeps the low 32 bits of the integer.
    for (let i = (hash >>> 0) & mask; ; i = (i + 1) & mask) {
      const at = slots[i]!;
      if (at === stored) return false;
      if (at === 0) {
        slots[i] = stored;
        if (++this.count * 2 > slots.length) this.grow();
        return true;
      }
    }
  }

  has(hash: number): boolean {
    const stored = hash + 1;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = (hash >>> 0) & mask; ; i = (i + 1) & mask) {
      const at = slots[i]!;
      if (at === stored) return true;
      if (at === 0) return false;
    }
  }

  /** The hashes, ascending. */
  sorted(): Float64Array {
    const out = new Float64Array(this.count);
    let n = 0;
    for (const stored of this.slots) if (stored !== 0) out[n++] = stored - 1;
    return out.sort();
  }

  clear(): void {
    if (this.count === 0) return;
    this.slots.fill(0);
    this.count = 0;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Float64Array(old.length * 2);
    this.mask = this.slots.length - 1;
    this.count = 0;
    for (const stored of old) if (stored !== 0) this.add(stored - 1);
  }
}
