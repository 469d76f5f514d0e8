/**
 * Strings written one after another into one growing buffer, as UTF-8.
 *
 * Why not build one string and convert it at the end: a batch's records joined with `+` make a rope of thousands of
 * pieces that has to be flattened into a new string and then encoded; writing each record into the buffer costs
 * about half as much (bench/pilot-pipeline: the console output spent 30% of its time in that conversion, the
 * Elasticsearch output's encoding twice as long before).
 */
export class ByteWriter {
  protected buf: Buffer;
  protected off = 0;

  /**
   * `estimateBytes`: the expected total (ASCII text: its character count); the buffer grows past it if needed.
   * `pool`: where to take a buffer from, when one large enough waits there.
   */
  constructor(estimateBytes: number, pool?: BufferPool) {
    const size = Math.max(64, estimateBytes);
    this.buf = pool?.take(size) ?? Buffer.allocUnsafe(size);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.off;
  }

  write(text: string): void {
    // A character takes up to 3 bytes in UTF-8: only near the end is the exact size worth measuring.
    if (this.buf.length - this.off < 3 * text.length) {
      const need = Buffer.byteLength(text);
      if (this.buf.length - this.off < need) this.grow(need);
    }
    this.off += this.buf.write(text, this.off, 'utf8');
  }

  byte(b: number): void {
    if (this.off === this.buf.length) this.grow(1);
    this.buf[this.off++] = b;
  }

  /** What was written (a view of the buffer, not a copy, valid until the next write or reset). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  /** What was written, decoded. */
  toString(): string {
    return this.buf.toString('utf8', 0, this.off);
  }

  /** Starts again at the beginning of the same buffer. */
  reset(): void {
    this.off = 0;
  }

  /** Room for `need` more bytes. */
  protected grow(need: number): void {
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.off + need));
    this.buf.copy(grown, 0, 0, this.off);
    this.buf = grown;
  }
}

/**
 * Buffers given back once nothing reads them any more, for the next ByteWriter. Batches of the same size come one
 * after another: reusing their buffers spares the allocator and the garbage collector, which counts every new
 * buffer as memory grown and runs full collections after each few tens of MiB (bench/pilot-pipeline, es-buffer).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly maxBuffers: number, private readonly maxBufferBytes: number) {}

  /** A buffer of at least `bytes`, or undefined. */
  take(bytes: number): Buffer | undefined {
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i]!.length >= bytes) return this.free.splice(i, 1)[0];
    }
    return undefined;
  }

  /**
   * Gives back the whole buffer `view` is a view of. The caller must not read `view` (or any view of it) after.
   * A memory of `Buffer.poolSize` or less is never kept: it may be Node's shared pool, which holds other live
   * buffers (a small `allocUnsafe` is cut from it, at offset 0 about one time in twenty-five).
   */
  give(view: Buffer): void {
    const whole = view.buffer;
    if (view.byteOffset !== 0 || whole.byteLength > this.maxBufferBytes || whole.byteLength <= Buffer.poolSize) return;
    if (this.free.length >= this.maxBuffers) this.free.shift();
    this.free.push(Buffer.from(whole, 0, whole.byteLength));
  }
}
