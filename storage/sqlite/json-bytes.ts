/**
 * A growable buffer JSON text is written into as UTF-8 bytes, reused from one document to the next: the store's
 * span data is written this way instead of by string concatenation, which made several short-lived strings per tag
 * (≈ 4 KB of garbage per span of 8 tags and 2 logs, whose collection also copied the spans waiting in the queue).
 * The bytes are the text `JSON.stringify` gives for the same values.
 */
import { ByteWriter } from '../../platform/byte-writer.js';

export class JsonBytes extends ByteWriter {
  constructor() {
    super(4096);
  }

  /** Text known to be ASCII and to need no escaping (punctuation, numbers' text). */
  ascii(s: string): void {
    const n = s.length;
    if (this.off + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let p = this.off;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.off = p;
  }

  /** A JSON string literal: plain ASCII copied as it is, anything else through `JSON.stringify`. */
  string(s: string): void {
    const n = s.length;
    if (this.off + n + 2 > this.buf.length) this.grow(n + 2);
    const buf = this.buf;
    const start = this.off;
    let p = start;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.off = start;
        this.write(JSON.stringify(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.off = p;
  }
}
