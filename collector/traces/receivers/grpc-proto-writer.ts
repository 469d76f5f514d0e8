/**
 * A small protobuf writer for the few messages the gRPC endpoints answer with (google.rpc.Status with RetryInfo,
 * Jaeger's SamplingStrategyResponse): fields are appended to a growing byte list, sub-messages written by a callback.
 */

export class ProtoWriter {
  private readonly out: number[] = [];

  varintField(field: number, value: number): this {
    if (value === 0) return this; // proto3 leaves default values out
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  doubleField(field: number, value: number): this {
    if (value === 0 && !Object.is(value, -0)) return this;
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    for (const x of b) this.out.push(x);
    return this;
  }

  stringField(field: number, value: string): this {
    if (value === '') return this;
    return this.bytesField(field, Buffer.from(value, 'utf8'));
  }

  bytesField(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    for (const x of value) this.out.push(x);
    return this;
  }

  /** A sub-message, written even when it is empty (presence matters for message fields). */
  messageField(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytesField(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.from(this.out);
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A non-negative integer below 2^53, or a negative int32 (ten bytes, two's complement, as protobuf writes it). */
  private varint(value: number): void {
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        this.out.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.out.push(Number(v));
      return;
    }
    let v = value;
    while (v >= 0x80) {
      this.out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.out.push(v);
  }
}
