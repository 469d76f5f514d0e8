/**
 * Small typed arrays cut from large shared ones. A typed array of its own takes memory of its own outside the heap
 * (allocated, zeroed, tracked and later swept by the garbage collector); a view of a slab takes none. The Jaeger
 * compact walk hands on five small arrays per datagram (model/jaeger-thrift/jaeger-compact-spans.ts): as copies of their
 * own they cost ≈ a fifth of the walk.
 *
 * A slab lives as long as any view of it does: views are for data that goes away with its batch (the spans waiting
 * in the collector's queue), and an array too large for a slab's share gets memory of its own.
 */

type Slabbed = Int32Array | Float64Array;

export class TypedSlab<T extends Slabbed> {
  private slab: T;
  private used = 0;

  /** `make(n)` makes a zeroed array of n elements; a slab holds `slabLength` of them. */
  constructor(private readonly make: (length: number) => T, private readonly slabLength: number) {
    this.slab = make(slabLength);
  }

  /** A copy of `from[0 … length)`, a view of the current slab (or, beyond a quarter of a slab, an array of its own). */
  copy(from: T, length: number): T {
    if (length > this.slabLength >>> 2) return from.slice(0, length) as T;
    if (this.used + length > this.slabLength) {
      this.slab = this.make(this.slabLength);
      this.used = 0;
    }
    const start = this.used;
    this.used = start + length;
    const view = this.slab.subarray(start, start + length) as T;
    view.set(from.subarray(0, length));
    return view;
  }
}
