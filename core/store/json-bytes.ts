/**
 * A growable buffer JSON text is written into as UTF-8 bytes, reused from one document to the next: the store's
 * span data is written this way instead of by string concatenation, which made several short-lived strings per tag
 * (≈ 4 KB of garbage per span of 8 tags and 2 logs, whose collection also copied the spans waiting in the queue).
 * The bytes are the text `JSON.stringify` gives for the same values.
 */

export class JsonBytes {
  private buf = Buffer.allocUnsafe(4096);
  /** Bytes written since `reset`. */
  length = 0;

  reset(): void {
    this.length = 0;
  }

  /** The bytes written, a view valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  toString(): string {
    return this.buf.toString('utf8', 0, this.length);
  }

  /** One ASCII character. */
  char(code: number): void {
    if (this.length >= this.buf.length) this.grow(1);
    this.buf[this.length++] = code;
  }

  /** Text known to be ASCII and to need no escaping (punctuation, numbers' text). */
  ascii(s: string): void {
    const n = s.length;
    if (this.length + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let p = this.length;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.length = p;
  }

  /** A JSON string literal: plain ASCII copied as it is, anything else through `JSON.stringify`. */
  string(s: string): void {
    const n = s.length;
    if (this.length + n + 2 > this.buf.length) this.grow(n + 2);
    const buf = this.buf;
    const start = this.length;
    let p = start;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.length = start;
        this.utf8(JSON.stringify(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.length = p;
  }

  private utf8(s: string): void {
    const most = Buffer.byteLength(s, 'utf8');
    if (this.length + most > this.buf.length) this.grow(most);
    this.length += this.buf.write(s, this.length, 'utf8');
  }

  private grow(atLeast: number): void {
    let size = this.buf.length * 2;
    while (size < this.length + atLeast) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}
